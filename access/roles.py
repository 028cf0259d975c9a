"""Roles and what each may do.

Every API route names the one permission it needs (``api.auth.needs``); a role is a set of
permissions. Least privilege: an operator watches and acknowledges, an inspector reviews and
handles cases, a patrol checks rooms, an auditor reads (footage and, later, the audit trail), an
admin manages users and cameras. Station scopes narrow any of these to some stations' objects.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    OPERATOR = "operator"
    INSPECTOR = "inspector"
    PATROL = "patrol"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(enum.StrEnum):
    SIGNED_IN = "signed_in"
    """Any user: their own account, tokens and language."""
    CAMERAS_READ = "cameras_read"
    """The camera list, states, snapshots, the event stream and alarms."""
    CAMERAS_CONTROL = "cameras_control"
    """Pause recording, disable a camera."""
    LIVE_VIEW = "live_view"
    """Live video (WHEP) and the wall's layouts, tours and screens."""
    WALL_EDIT = "wall_edit"
    """Save layouts and tours, push a screen."""
    ALARMS_ACK = "alarms_ack"
    FOOTAGE_READ = "footage_read"
    """Recorded footage: coverage, playback, segment files."""
    CASES_READ = "cases_read"
    """Cases, tags, interrogation sessions, holds, completeness reports, export lists."""
    CASES_WRITE = "cases_write"
    """Create and change cases, tags, sessions, holds."""
    EXPORTS_CREATE = "exports_create"
    USERS_MANAGE = "users_manage"
    APPROVE = "approve"
    """Four-eyes: approve or refuse another user's export of interrogation footage or hold
    release."""
    AUDIT_READ = "audit_read"
    """The audit trail: search, export, verify."""
    METRICS_READ = "metrics_read"
    PATROL_READ = "patrol_read"
    """Patrol plans, runs, findings, bulletins and reference pictures."""
    PATROL_RUN = "patrol_run"
    """Run checks and patrols, record and verify findings, edit plans, take reference
    pictures."""
    FINDINGS_RECTIFY = "findings_rectify"
    """A station's answer to a finding: what was rectified, with evidence."""


_ALL_READ = {Permission.SIGNED_IN, Permission.CAMERAS_READ}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(
        _ALL_READ | {Permission.LIVE_VIEW, Permission.WALL_EDIT, Permission.ALARMS_ACK}
    ),
    Role.INSPECTOR: frozenset(
        _ALL_READ
        | {
            Permission.LIVE_VIEW,
            Permission.FOOTAGE_READ,
            Permission.CASES_READ,
            Permission.CASES_WRITE,
            Permission.EXPORTS_CREATE,
            Permission.APPROVE,
            Permission.PATROL_READ,
            Permission.FINDINGS_RECTIFY,
        }
    ),
    Role.PATROL: frozenset(
        _ALL_READ
        | {
            Permission.LIVE_VIEW,
            Permission.FOOTAGE_READ,
            Permission.PATROL_READ,
            Permission.PATROL_RUN,
        }
    ),
    Role.AUDITOR: frozenset(
        _ALL_READ
        | {
            Permission.FOOTAGE_READ,
            Permission.CASES_READ,
            Permission.AUDIT_READ,
            Permission.PATROL_READ,
        }
    ),
    Role.ADMIN: frozenset(Permission),
}


def permissions_of(roles: frozenset[Role]) -> frozenset[Permission]:
    """Everything a user with ``roles`` may do."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def parse_roles(text: str) -> frozenset[Role]:
    """``"operator,inspector"`` → roles; raises ValueError naming an unknown role."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("at least one role is needed")
    roles = set()
    for name in names:
        try:
            roles.add(Role(name))
        except ValueError:
            known = ", ".join(role.value for role in Role)
            raise ValueError(f"unknown role {name!r} (roles: {known})") from None
    return frozenset(roles)


def format_roles(roles: frozenset[Role]) -> str:
    return ",".join(sorted(role.value for role in roles))
