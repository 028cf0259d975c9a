"""Who may do what: users, roles and station scopes, sign-in sessions and API tokens."""
