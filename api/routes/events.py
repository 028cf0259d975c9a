"""The live event stream (Server-Sent Events): camera states, recording, alarms, screen pushes.

A new client first gets the current state of every camera and its recording flag, then each
change as it happens. A kiosk page passes ``?screen=NAME``: it is then listed as a connected wall
screen and first gets the view last pushed to that name.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query
from sse_starlette.sse import EventSourceResponse

from access.principal import Principal
from access.roles import Permission
from api.auth import needs
from api.deps import State
from api.errors import TooManyRequests
from api.routes.exports import case_visible
from api.state import AppState
from ingest.clock import isoformat_us
from ingest.events import CameraState, StateChange
from monitor.events import Event, camera_event
from monitor.screens import TooManyScreens

router = APIRouter(prefix="/api/v1", tags=["events"])

SCREEN_NAME = r"^[\w.-]{1,64}$"
MAX_STREAMS_PER_USER = 32
"""A user's event streams at once (a wall of several screens under one operator fits)."""


@router.get("/events")
async def events(
    state: State,
    viewer: Annotated[Principal, needs(Permission.CAMERAS_READ)],
    screen: Annotated[
        str | None,
        Query(pattern=SCREEN_NAME, description="register this connection as a named wall screen"),
    ] = None,
) -> EventSourceResponse:
    """Current state first, then every change (event names: camera, recording, alarm, screen)."""

    if screen and not state.screens.has_room_for(screen):
        raise TooManyScreens
    if state.revocations.streams_of(viewer.user_id) >= MAX_STREAMS_PER_USER:
        raise TooManyRequests(
            f"you have {MAX_STREAMS_PER_USER} event streams open already; close one",
            retry_after=5,
        )

    async def generate() -> AsyncIterator[dict[str, str]]:
        # registered before the snapshot is taken: no change can fall between the two
        listener = state.events.listen()
        registered = state.screens.connect(screen) if screen else None
        handle, revoked = state.revocations.watch(viewer)
        try:
            now = isoformat_us(state.clock.wall_us())
            for runtime in state.service.cameras.values():
                if not viewer.sees(runtime.site.id):
                    continue
                worker = runtime.worker
                current = StateChange(
                    runtime.camera.id,
                    worker.state if worker else CameraState.DISABLED,
                    worker.since_us if worker else state.started_us,
                    worker.cause if worker else None,
                    worker.detail if worker else "",
                )
                yield _sse(camera_event(current))
                recording = bool(runtime.recorder is not None and runtime.recorder.recording)
                yield _sse(
                    Event(
                        "recording",
                        {"camera_id": runtime.camera.id, "recording": recording, "at": now},
                    )
                )
            if registered is not None and registered.view is not None:
                yield _sse(Event("screen", registered.view))
            ended = asyncio.ensure_future(revoked.wait())
            try:
                while True:
                    event = asyncio.ensure_future(listener.get())
                    await asyncio.wait({event, ended}, return_when=asyncio.FIRST_COMPLETED)
                    if ended.done():
                        event.cancel()
                        return  # the user's sign-in ended: so does the stream
                    if await _visible(state, viewer, event.result()):
                        yield _sse(event.result())
            finally:
                ended.cancel()
        finally:
            state.revocations.unwatch(handle)
            listener.close()
            if screen:
                state.screens.disconnect(screen)

    return EventSourceResponse(generate(), ping=15)


async def _visible(state: AppState, viewer: Principal, event: Event) -> bool:
    """Events about a camera or station outside the viewer's scope do not exist for them: every
    station and camera an event names must be in scope (an unknown camera cannot be placed, so
    it hides the event); events that name none (the catalog is down) are for everyone. Four-eyes
    requests (``approval``) name a case: they reach only users who read cases, of that case's
    stations. Patrol runs (``patrol``) reach users who read patrols across stations, findings
    (``finding``) those of the finding's station."""
    data = event.data
    if event.kind in ("patrol", "finding"):
        if not viewer.can(Permission.PATROL_READ):
            return False
        if event.kind == "patrol" and viewer.sites is not None:
            return False  # a run spans stations; a station follows its findings
    if event.kind == "approval":
        if not viewer.can(Permission.CASES_READ):
            return False
        number = data.get("case_number")
        scoped = viewer.sites is not None and number is not None
        if scoped and not await asyncio.to_thread(case_visible, state, str(number), viewer):
            return False
    if viewer.sites is None:
        return True
    sites = {str(data[key]) for key in ("site_id", "site") if data.get(key) is not None}
    cameras = [data.get("camera_id"), *data.get("camera_ids", []), *data.get("cameras", [])]
    for camera in filter(None, cameras):
        runtime = state.service.cameras.get(str(camera))
        if runtime is None:
            return False
        sites.add(runtime.site.id)
    return all(viewer.sees(site) for site in sites)


def _sse(event: Event) -> dict[str, str]:
    return {"event": event.kind, "data": event.json()}
