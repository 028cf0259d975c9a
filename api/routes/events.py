"""The live event stream of camera state changes (Server-Sent Events)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from sse_starlette.sse import EventSourceResponse

from api.deps import State
from api.events import change_json
from ingest.events import CameraState, StateChange

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.get("/events")
async def events(state: State) -> EventSourceResponse:
    """Current state of every camera first, then each change as it happens."""

    async def generate() -> AsyncIterator[dict[str, str]]:
        stream = state.events.stream()
        for runtime in state.service.cameras.values():
            worker = runtime.worker
            current = StateChange(
                runtime.camera.id,
                worker.state if worker else CameraState.DISABLED,
                worker.since_us if worker else state.started_us,
                worker.cause if worker else None,
                worker.detail if worker else "",
            )
            yield {"event": "camera", "data": change_json(current)}
        async for change in stream:
            yield {"event": "camera", "data": change_json(change)}

    return EventSourceResponse(generate(), ping=15)
