"""Alarms: the active ones and the recent log; acknowledgement by an operator."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from access.principal import Principal
from access.roles import Permission
from api.audit import audit_async
from api.auth import needs
from api.deps import MAX_ID, DbSession, Empty, State
from api.errors import NotFound
from recorder.models import Alarm

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])


@router.get("")
def list_alarms(
    state: State,
    viewer: Annotated[Principal, needs(Permission.CAMERAS_READ)],
    session: DbSession,
    active: Annotated[bool, Query(description="only alarms whose condition still holds")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Newest first."""
    data = [
        alarm
        for alarm in state.alarms.recent(session, active=active, limit=limit)
        if alarm.get("site") is None or viewer.sees(alarm["site"])
    ]
    return {"data": data, "count": len(data)}


@router.post("/{alarm_id}/ack")
async def acknowledge(
    alarm_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    state: State,
    principal: Annotated[Principal, needs(Permission.ALARMS_ACK)],
    _body: Empty = None,
) -> dict[str, Any]:
    """Acknowledge an alarm as the signed-in user (again: no change)."""

    def find() -> Alarm | None:
        with state.sessions() as session:
            return session.get(Alarm, alarm_id)

    alarm = await asyncio.to_thread(find)
    if alarm is None or (alarm.site_id is not None and not principal.sees(alarm.site_id)):
        raise NotFound(f"no alarm {alarm_id}", field="alarm_id")  # another station's: none
    acked = await state.alarms.acknowledge(alarm_id, principal.name)
    await audit_async(
        request, "alarm_ack", principal, object_type="alarm", object_id=str(alarm_id),
        site_id=acked.get("site"), details={"kind": acked.get("kind")},
    )  # fmt: skip
    return acked
