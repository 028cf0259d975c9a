"""Alarms: the active ones and the recent log; acknowledgement by an operator."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import DbSession, State

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])


class AckBody(BaseModel):
    """Who acknowledges."""

    model_config = ConfigDict(extra="forbid")
    by: str | None = Field(default=None, min_length=1, max_length=100, description="operator")


@router.get("")
def list_alarms(
    state: State,
    session: DbSession,
    active: Annotated[bool, Query(description="only alarms whose condition still holds")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Newest first."""
    data = state.alarms.recent(session, active=active, limit=limit)
    return {"data": data, "count": len(data)}


@router.post("/{alarm_id}/ack")
async def acknowledge(
    alarm_id: int, state: State, body: Annotated[AckBody | None, Body()] = None
) -> dict[str, Any]:
    """Acknowledge an alarm (again: no change)."""
    return await state.alarms.acknowledge(alarm_id, body.by if body else None)
