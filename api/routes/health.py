"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import DbSession, State
from ingest.clock import isoformat_us

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/health")
def health(state: State, session: DbSession) -> dict[str, Any]:
    """200 when the catalog answers; counts cameras by state."""
    session.execute(text("SELECT 1"))
    states: dict[str, int] = {}
    for runtime in state.service.cameras.values():
        name = runtime.worker.state.value if runtime.worker else "disabled"
        states[name] = states.get(name, 0) + 1
    return {
        "status": "ok",
        "started": isoformat_us(state.started_us),
        "cameras": states,
        "catalog_write_failures": state.service.writer.failures,
    }
