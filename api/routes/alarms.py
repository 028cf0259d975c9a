"""Alarms: the active ones and the recent log; acknowledgement by an operator."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from access.principal import Principal
from access.roles import Permission
from api.auth import needs
from api.deps import MAX_ID, DbSession, Empty, State

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
    state: State,
    principal: Annotated[Principal, needs(Permission.ALARMS_ACK)],
    _body: Empty = None,
) -> dict[str, Any]:
    """Acknowledge an alarm as the signed-in user (again: no change)."""
    return await state.alarms.acknowledge(alarm_id, principal.name)
