"""Recorded footage: segments, gaps with causes, coverage; segment download with ranges."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse

from access.principal import Principal
from access.roles import Permission
from api.audit import audit
from api.auth import needs
from api.deps import MAX_ID, DbSession, State, camera_runtime
from api.errors import NotFound
from api.timerange import Instant, time_range
from ingest.clock import isoformat_us
from recorder import catalog
from recorder.footage import camera_footage, gap_json, live_span_json
from recorder.models import Camera, SegmentStatus

router = APIRouter(prefix="/api/v1", tags=["recordings"])

Viewer = Annotated[Principal, needs(Permission.FOOTAGE_READ)]

MAX_RANGE_US = 31 * 86_400 * 1_000_000


@router.get("/recordings")
def recordings(
    state: State,
    session: DbSession,
    viewer: Viewer,
    camera: Annotated[str, Query(min_length=1, max_length=63, description="camera id")],
    start: Annotated[Instant, Query(description="ISO 8601 with time zone")],
    end: Annotated[Instant, Query(description="ISO 8601 with time zone")],
) -> dict[str, Any]:
    """Segments of a camera in [start, end), every gap with its cause, and the coverage."""
    camera_runtime(state, camera, viewer)
    start_us, end_us = time_range(start, end, max_us=MAX_RANGE_US, max_text="31 days")
    now = state.clock.wall_us()
    footage = camera_footage(
        session,
        camera_id=camera,
        start_us=start_us,
        end_us=end_us,
        now_us=now,
        live_span=state.service.live_span(camera),
    )
    result, segments, live = footage.coverage, footage.segments, footage.live_span
    return {
        "camera": camera,
        "start": isoformat_us(start_us),
        "end": isoformat_us(end_us),
        "coverage_percent": result.percent,
        "recorded_seconds": result.recorded_us / 1e6,
        "segments": [
            {
                "id": s.id,
                **({"path": s.path} if viewer.can(Permission.CAMERAS_CONTROL) else {}),
                "start": isoformat_us(s.start_us),
                "end": isoformat_us(s.end_us),
                "duration": (s.end_us - s.start_us) / 1e6,
                "size_bytes": s.size_bytes,
                "sha256": s.sha256,
                "prev_sha256": s.prev_sha256,
                "has_audio": s.has_audio,
                "video": f"{s.video_codec} {s.width}x{s.height}",
                "status": s.status,
                "adopted": s.adopted,
                "url": f"/api/v1/segments/{s.id}/file" if s.status == "ok" else None,
            }
            for s in segments
        ],
        "in_progress": live_span_json(live),
        "gaps": [gap_json(g) for g in result.gaps],
    }


@router.get("/segments/{segment_id}/file", response_class=FileResponse)
def segment_file(
    segment_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    state: State,
    session: DbSession,
    viewer: Viewer,
) -> FileResponse:
    """The segment's MP4; supports HTTP range requests."""
    row = catalog.segment_by_id(session, segment_id=segment_id)
    camera = session.get(Camera, row.camera_id) if row is not None else None
    if row is None or camera is None or not viewer.sees(camera.site_id):
        raise NotFound(f"no segment {segment_id}", field="segment_id")
    if row.status != SegmentStatus.OK.value:
        raise NotFound(f"segment {segment_id} is {row.status}", field="segment_id")
    path = state.settings.storage.path / row.path
    if not path.is_file():
        raise NotFound(f"segment {segment_id}: file missing", field="segment_id")
    audit(
        request, "segment_download", viewer, object_type="segment", object_id=str(segment_id),
        site_id=camera.site_id, details={"camera": row.camera_id},
    )  # fmt: skip
    return FileResponse(
        path, media_type="video/mp4", filename=path.name, headers={"X-Content-SHA256": row.sha256}
    )
