"""Writing the audit trail from the routes: who (the signed-in user), from where (address, user
agent), what, on which object, and how it ended. The action waits for its row."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from access.audit import AuditTrail, Outcome, Record
from access.principal import Principal
from api.state import AppState
from relay.peers import LiveSession


def record_of(
    request: Request,
    action: str,
    principal: Principal | None,
    *,
    object_type: str = "",
    object_id: str = "",
    site_id: str | None = None,
    outcome: Outcome = Outcome.OK,
    details: dict[str, Any] | None = None,
    user: str | None = None,
) -> Record:
    return Record(
        action=action,
        user=principal.name if principal is not None else user,
        address=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", ""),
        object_type=object_type,
        object_id=object_id,
        site_id=site_id,
        outcome=outcome,
        details={
            **(details or {}),
            **({"via": "token"} if principal and principal.token_id else {}),
        },
    )


def _via(principal: Principal | None) -> dict[str, Any]:
    return {"via": "token"} if principal is not None and principal.token_id else {}


def audit(request: Request, action: str, principal: Principal | None, **what: Any) -> None:
    """Append an entry (call from a sync route: it runs in the thread pool)."""
    state: AppState = request.app.state.casewatch
    state.audit.append(record_of(request, action, principal, **what))


async def audit_async(
    request: Request, action: str, principal: Principal | None, **what: Any
) -> None:
    """Append an entry from an async route (off the event loop)."""
    state: AppState = request.app.state.casewatch
    await asyncio.to_thread(state.audit.append, record_of(request, action, principal, **what))


def live_view_auditor(
    trail: AuditTrail, site_of: Callable[[str], str | None]
) -> Callable[[LiveSession, str], Awaitable[None]]:
    """The relay's ``on_closed``: each ended live view as an entry with how long it lasted."""

    async def ended(session: LiveSession, reason: str) -> None:
        owner = session.owner if isinstance(session.owner, Principal) else None
        record = Record(
            action="live_view_end",
            user=owner.name if owner is not None else None,
            object_type="camera",
            object_id=session.camera_id,
            site_id=site_of(session.camera_id),
            details={
                "session": session.id[:8],
                "seconds": round(time.monotonic() - session.created, 1),
                "reason": reason,
            },
        )
        await asyncio.to_thread(trail.append, record)

    return ended
