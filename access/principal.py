"""The signed-in user a request acts as."""

from __future__ import annotations

from dataclasses import dataclass

from access.roles import Permission, Role, permissions_of


@dataclass(frozen=True, slots=True)
class Principal:
    """A user as one request sees them: roles, station scope, and how they signed in."""

    user_id: int
    name: str
    display_name: str
    roles: frozenset[Role]
    sites: frozenset[str] | None
    """The stations they see; ``None``: every station."""
    language: str
    session_id: str | None = None
    """The sign-in session (cookie) the request came with, if any."""
    csrf: str | None = None
    """That session's CSRF token (a cookie request that changes state must echo it)."""
    token_id: int | None = None
    """The API token the request came with, if any."""

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def sees(self, site_id: str | None) -> bool:
        """True when objects of station ``site_id`` exist for this user."""
        return self.sites is None or site_id in self.sites
