"""Four-eyes (``access.four_eyes``): exports of interrogation footage and hold releases wait for
a second user — an inspector or admin other than the one who asked — who approves or refuses
with a reason. Waiting requests are listed for approvers and announced on the event stream
(``approval``); every step is audited."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from access.principal import Principal
from access.roles import Permission
from api.audit import audit_async
from api.auth import needs
from api.deps import MAX_ID, Empty, State
from api.routes.cases import hold_json, hold_seen
from api.routes.exports import export_visible
from api.state import AppState
from evidence import cases
from evidence.export_service import describe
from monitor.events import Event
from recorder.models import Camera, EvidenceHold

router = APIRouter(prefix="/api/v1", tags=["approvals"])

Approver = Annotated[Principal, needs(Permission.APPROVE)]
HoldId = Annotated[int, Path(ge=1, le=MAX_ID)]
ExportId = Annotated[str, Path(min_length=1, max_length=32)]


class Refusal(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=3, max_length=500)


def announce(state: AppState, kind: str, data: dict[str, Any]) -> None:
    """Publish an ``approval`` event (from a route running in the thread pool)."""
    anyio.from_thread.run_sync(state.events.publish, Event("approval", {"kind": kind, **data}))


@router.get("/approvals")
def waiting(state: State, approver: Approver) -> dict[str, Any]:
    """Requests waiting for a second user (of the approver's stations), oldest first; one's
    own requests are listed too, marked ``mine`` (someone else must decide them)."""
    exports = [
        {**describe(row), "mine": row.created_by == approver.name}
        for row in state.exports.pending()
        if export_visible(state, row, approver)
    ]
    with state.sessions() as session:
        holds = session.scalars(
            select(EvidenceHold)
            .where(EvidenceHold.release_requested_us.is_not(None))
            .where(EvidenceHold.released_us.is_(None))
            .order_by(EvidenceHold.release_requested_us)
        ).all()
        releases = [
            {**hold_json(h), "mine": h.release_requested_by == approver.name}
            for h in holds
            if hold_seen(session, h, approver)
        ]
    return {"exports": exports, "hold_releases": releases}


DECISIONS = {
    ("export", True): "export_approve",
    ("export", False): "export_refuse",
    ("hold_release", True): "hold_release_approve",
    ("hold_release", False): "hold_release_refuse",
}


async def _decided(
    request: Request,
    state: AppState,
    approver: Principal,
    kind: str,
    object_id: str,
    result: dict[str, Any],
    *,
    requested_by: str | None,
    reason: str | None,
    site: str | None = None,
) -> None:
    """Audit a decision (``reason``: a refusal) and announce it on the event stream."""
    await audit_async(
        request, DECISIONS[(kind, reason is None)], approver,
        object_type="hold" if kind == "hold_release" else kind, object_id=object_id,
        site_id=site,
        details={"case": result["case_number"], "requested_by": requested_by,
                 **({"reason": reason} if reason else {})},
    )  # fmt: skip
    state.events.publish(Event("approval", {"kind": kind, **result}))


async def _decide_export(
    request: Request, state: AppState, export_id: str, approver: Principal, reason: str | None
) -> dict[str, Any]:
    def decide() -> dict[str, Any]:
        row = state.exports.get(export_id)
        if row is None or not export_visible(state, row, approver):
            raise cases.NotFoundError(f"no export {export_id}", field="export_id")
        decided = state.exports.decide(
            export_id, by=approver.name, approve=reason is None, reason=reason or ""
        )
        return describe(decided)

    result = await asyncio.to_thread(decide)
    await _decided(
        request, state, approver, "export", export_id, result,
        requested_by=result["created_by"], reason=reason,
    )  # fmt: skip
    return result


@router.post("/exports/{export_id}/approve")
async def approve_export(
    export_id: ExportId, request: Request, state: State, approver: Approver, _body: Empty = None
) -> dict[str, Any]:
    """Queue an export waiting for approval (not one's own)."""
    return await _decide_export(request, state, export_id, approver, None)


@router.post("/exports/{export_id}/refuse")
async def refuse_export(
    export_id: ExportId, body: Refusal, request: Request, state: State, approver: Approver
) -> dict[str, Any]:
    """Refuse an export waiting for approval, with the reason (not one's own)."""
    return await _decide_export(request, state, export_id, approver, body.reason)


async def _decide_release(
    request: Request, state: AppState, hold_id: int, approver: Principal, reason: str | None
) -> dict[str, Any]:
    def decide() -> tuple[dict[str, Any], str | None, str | None]:
        with state.sessions.begin() as session:
            hold = session.get(EvidenceHold, hold_id)
            if hold is None or not hold_seen(session, hold, approver):
                raise cases.NotFoundError(f"no hold {hold_id}", field="hold_id")
            requested_by = hold.release_requested_by
            hold = cases.decide_release(
                session, hold_id, by=approver.name, approve=reason is None,
                now_us=state.clock.wall_us(),
            )  # fmt: skip
            camera = session.get(Camera, hold.camera_id)
            return hold_json(hold), camera.site_id if camera else None, requested_by

    result, site, requested_by = await asyncio.to_thread(decide)
    await _decided(
        request, state, approver, "hold_release", str(hold_id), result,
        requested_by=requested_by, reason=reason, site=site,
    )  # fmt: skip
    return result


@router.post("/holds/{hold_id}/approve-release")
async def approve_release(
    hold_id: HoldId, request: Request, state: State, approver: Approver, _body: Empty = None
) -> dict[str, Any]:
    """Release a hold whose release another user asked for."""
    return await _decide_release(request, state, hold_id, approver, None)


@router.post("/holds/{hold_id}/refuse-release")
async def refuse_release(
    hold_id: HoldId, body: Refusal, request: Request, state: State, approver: Approver
) -> dict[str, Any]:
    """Refuse a hold release another user asked for, with the reason (the hold stands)."""
    return await _decide_release(request, state, hold_id, approver, body.reason)
