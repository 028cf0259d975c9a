"""Cameras: state, cause, rates, recording status, snapshots."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from access.principal import Principal
from access.roles import Permission
from api.audit import audit_async
from api.auth import needs
from api.deps import CameraId, State, camera_runtime
from api.errors import Conflict, Unavailable
from api.state import AppState
from ingest.clock import isoformat_us
from ingest.redact import hide_addresses
from ingest.snapshot import decode_keyframe, jpeg
from recorder.lossless_audio import stored_codec
from recorder.service import RecordingRuntime

router = APIRouter(prefix="/api/v1/cameras", tags=["cameras"])

Viewer = Annotated[Principal, needs(Permission.CAMERAS_READ)]


def describe(
    runtime: RecordingRuntime, last_recorded_us: int | None, session: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A camera as the API shows it (no catalog query: the wall polls this)."""
    worker, recorder, camera = runtime.worker, runtime.recorder, runtime.camera
    live = recorder.live_span if recorder is not None else None
    last = max(filter(None, [last_recorded_us, live[1] if live else None]), default=None)
    info = runtime.hub.stream_info
    recording = bool(recorder is not None and recorder.recording)
    failure = recorder.failure if recorder is not None else None
    return {
        "id": camera.id,
        "name": camera.name,
        "site": runtime.site.id,
        "site_name": runtime.site.name,
        "area": camera.area.value,
        "room": camera.room_name(),
        "enabled": camera.enabled,
        "state": worker.state.value if worker else "disabled",
        "cause": worker.cause.value if worker and worker.cause else None,
        "detail": hide_addresses(worker.detail) if worker else "",
        "since": isoformat_us(worker.since_us) if worker else None,
        "fps": round(worker.stats.fps, 2) if worker else 0.0,
        "bitrate_bps": round(worker.stats.bitrate_bps) if worker else 0,
        "video": None
        if info is None
        else {"codec": info.video_codec, "width": info.width, "height": info.height},
        "audio": None
        if info is None or not info.has_audio
        else {
            "codec": info.audio_codec,  # as the camera sends it
            "stored_codec": stored_codec(info.audio_codec),  # G.711: FLAC, without loss
            "sample_rate": info.audio_sample_rate,
        },
        "recording": recording,
        "recording_failure": None
        if failure is None or recording
        else {
            "cause": failure.reason.value,
            "detail": failure.detail,
            "since": isoformat_us(failure.at_us),
        },
        "has_substream": camera.substream_url is not None,
        "recording_paused": bool(recorder is not None and recorder.paused),
        "session": session,  # the open interrogation session holding this camera
        "last_recorded": isoformat_us(last) if last else None,
    }


@router.get("")
def list_cameras(state: State, viewer: Viewer) -> dict[str, Any]:
    """Every configured camera (of the user's stations) with its live state."""
    last = state.service.last_recorded
    data = [
        describe(rt, last.get(rt.camera.id), _badge(state, rt.camera.id))
        for rt in state.service.cameras.values()
        if viewer.sees(rt.site.id)
    ]
    return {"data": data, "count": len(data)}


def _badge(state: AppState, camera_id: str) -> dict[str, Any] | None:
    open_session = state.case_sessions.for_camera(camera_id)
    return open_session.badge() if open_session is not None else None


@router.get("/{camera_id}")
def get_camera(camera_id: CameraId, state: State, viewer: Viewer) -> dict[str, Any]:
    runtime = camera_runtime(state, camera_id, viewer)
    return describe(runtime, state.service.last_recorded.get(camera_id), _badge(state, camera_id))


class CameraChange(BaseModel):
    """What an operator may change at run time (remembered across restarts)."""

    model_config = ConfigDict(extra="forbid")
    recording: bool | None = Field(default=None, description="false pauses recording")
    enabled: bool | None = Field(default=None, description="false stops reading the camera")


@router.patch("/{camera_id}")
async def change_camera(
    camera_id: CameraId,
    body: CameraChange,
    request: Request,
    state: State,
    admin: Annotated[Principal, needs(Permission.CAMERAS_CONTROL)],
) -> dict[str, Any]:
    """Pause/resume recording or disable/enable a camera — never while an interrogation session
    holds it (the footage of an interrogation must be complete)."""
    runtime = camera_runtime(state, camera_id, admin)
    stopping = body.recording is False or body.enabled is False
    held = state.case_sessions.for_camera(camera_id)
    if stopping and held is not None:
        raise Conflict(
            f"camera {camera_id!r} is in open session {held.id} of case {held.case_number}; "
            "it cannot stop recording until the session is closed",
            field="recording" if body.recording is False else "enabled",
        )
    try:
        if body.recording is not None:
            await asyncio.to_thread(state.service.set_recording, camera_id, body.recording)
        if body.enabled is not None:
            await asyncio.to_thread(state.service.set_enabled, camera_id, body.enabled)
    except ValueError as error:
        raise Conflict(str(error), field="enabled") from None
    await audit_async(
        request, "camera_change", admin, object_type="camera", object_id=camera_id,
        site_id=runtime.site.id, details=body.model_dump(exclude_none=True),
    )  # fmt: skip
    return describe(runtime, state.service.last_recorded.get(camera_id), _badge(state, camera_id))


@router.get(
    "/{camera_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def snapshot(camera_id: CameraId, request: Request, state: State, viewer: Viewer) -> Response:
    """JPEG of the camera's latest keyframe (no second connection to the camera)."""
    runtime = camera_runtime(state, camera_id, viewer)
    await audit_async(
        request, "snapshot", viewer, object_type="camera", object_id=camera_id,
        site_id=runtime.site.id,
    )  # fmt: skip
    latest = await asyncio.to_thread(runtime.hub.latest_keyframe)  # a worker may be asked
    if latest is None:
        raise Unavailable(
            f"camera {camera_id!r} has no picture yet (state: "
            f"{runtime.worker.state.value if runtime.worker else 'disabled'})"
        )
    info, keyframe = latest
    try:
        body = await asyncio.to_thread(lambda: jpeg(decode_keyframe(info, keyframe)))
    except ValueError as error:
        raise Unavailable(f"camera {camera_id!r}: {error}") from None
    return Response(body, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
