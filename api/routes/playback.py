"""Recorded playback: a camera's footage from a wall time as one streamed fragmented MP4.

``GET /api/v1/playback/{camera}?start=ISO[&end=ISO]`` streams from the keyframe at or before
``start`` (stream copy, no re-encode) up to ``end`` (default ``start`` + 10 min, at most 1 h) or the
first gap, whichever comes first; the headers say what the body holds (``playback.index.Plan``):

* ``X-Playback-Start`` — wall time of the first frame (media time 0): ``wall = start + currentTime``
* ``X-Playback-End`` — wall time where the stream stops, and ``X-Playback-Stop`` why: ``end``,
  ``gap``, ``discontinuity`` (footage goes on at ``X-Playback-Next`` in a new run or format) or
  ``recorded_end`` (nothing later is catalogued yet; the segment being written plays once closed)
* ``X-Playback-Gap`` — ``START/END CAUSE`` of the gap it stops at (absent when it stops at ``end``)
* ``X-Playback-Next`` — where footage resumes after that gap, if before ``end``: request it next
* ``X-Playback-Skipped-Gap`` — when ``start`` lay in a gap, the gaps up to where the stream begins
* ``X-Playback-Codecs`` (RFC 6381, for ``MediaSource.addSourceBuffer``), ``X-Playback-Fps``

Refused: unknown camera 404; a time without zone 400, unreadable 422; ``end`` not after ``start``
or more than 1 h after it 400; nothing playable in the range 404 whose ``error`` names the gaps'
causes (``gaps`` lists them); more than ``MAX_STREAMS`` streams at once 503 with Retry-After.

``GET /api/v1/playback/{camera}/index?start&end`` lists the playable pieces, the gaps with their
causes and the segments of a range, for a timeline. ffmpeg is killed when the client goes away;
each stream is logged (camera, start, end, bytes).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from access.principal import Principal
from access.roles import Permission
from api.audit import audit_async
from api.auth import needs
from api.deps import CameraId, State, camera_runtime
from api.errors import Unavailable
from api.state import AppState
from api.timerange import Instant, parse_instant, time_range
from ingest.clock import isoformat_us
from playback.index import (
    DEFAULT_SPAN_US,
    MAX_SPAN_US,
    US,
    MediaError,
    NoFootage,
    Plan,
    pieces_of,
    plan_playback,
)
from playback.stream import POOL, PlaybackStream, as_h264, start_stream
from recorder.footage import Footage, camera_footage, gap_json, live_span_json

logger = logging.getLogger(__name__)


class VideoChoice(enum.StrEnum):
    """How a stream's video comes: as recorded, or H.264 for a browser without H.265."""

    COPY = "copy"
    H264 = "h264"


router = APIRouter(prefix="/api/v1", tags=["playback"])
Viewer = Annotated[Principal, needs(Permission.FOOTAGE_READ)]

MAX_INDEX_US = 7 * 86_400 * US
MAX_STREAMS = 64
"""Concurrent playback streams (one ffmpeg each) per node."""
_active: set[PlaybackStream] = set()


class PlaybackResponse(StreamingResponse):
    """Streams a ``PlaybackStream`` and kills its ffmpeg however the response ends."""

    def __init__(self, stream: PlaybackStream) -> None:
        super().__init__(
            stream.chunks(),
            media_type="video/mp4",
            headers={
                **stream.plan.headers(),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.stream.close()
            _active.discard(self.stream)
            logger.info(
                "playback of %s from %s ended after %d bytes",
                self.stream.plan.camera_id,
                isoformat_us(self.stream.plan.start_us),
                self.stream.bytes_sent,
            )


def _footage(state: AppState, camera_id: str, start_us: int, end_us: int) -> Footage:
    live = state.service.live_span(camera_id)
    with state.sessions() as session:
        return camera_footage(
            session,
            camera_id=camera_id,
            start_us=start_us,
            end_us=end_us,
            now_us=state.clock.wall_us(),
            live_span=live,
        )


@router.get(
    "/playback/{camera_id}",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"video/mp4": {}},
            "description": "fragmented MP4, stream copy (video=h264: H.265 made H.264)",
        },
        404: {"description": "unknown camera, or no footage in the range (with the gap causes)"},
    },
)
async def play(
    camera_id: CameraId,
    request: Request,
    state: State,
    viewer: Viewer,
    start: Annotated[Instant, Query(description="ISO 8601 with time zone")],
    end: Annotated[
        Instant | None, Query(description="ISO 8601 with time zone; default start + 10 min")
    ] = None,
    video: Annotated[
        VideoChoice,
        Query(
            description="copy: the recording as it is; h264: H.265 footage made H.264 for a "
            "browser that cannot decode H.265 (H.264 footage is copied either way)"
        ),
    ] = VideoChoice.COPY,
) -> Response:
    """Stream a camera's footage from the keyframe at or before ``start`` (see module doc)."""
    runtime = camera_runtime(state, camera_id, viewer)
    default_end = parse_instant(start, "start") + DEFAULT_SPAN_US
    start_us, end_us = time_range(
        start, end if end is not None else default_end, max_us=MAX_SPAN_US, max_text="1 h"
    )
    await audit_async(
        request, "playback", viewer, object_type="camera", object_id=camera_id,
        site_id=runtime.site.id,
        details={"start": isoformat_us(start_us), "end": isoformat_us(end_us)},
    )  # fmt: skip
    if len(_active) >= MAX_STREAMS:
        raise Unavailable(
            f"{MAX_STREAMS} playback streams are running; retry shortly", retry_after=2
        )
    now_us = state.clock.wall_us()

    def plan() -> Plan:
        footage = _footage(state, camera_id, start_us, end_us)
        planned = plan_playback(
            footage, state.settings.storage.path, start_us=start_us, end_us=end_us, now_us=now_us
        )
        if video is not VideoChoice.H264 or not planned.hevc:
            return planned
        kept = state.renditions.cached(planned)  # made before: stream copy, at once
        if kept is not None:
            return kept
        state.renditions.want(planned)  # for the next time; now it is made on the way
        return as_h264(planned)

    try:
        chosen = await asyncio.to_thread(plan)
    except NoFootage as missing:
        return JSONResponse(
            {
                "error": missing.message,
                "field": "start",
                "gaps": [gap_json(g) for g in missing.gaps],
            },
            status_code=404,
        )
    except MediaError as error:
        raise Unavailable(f"footage of {camera_id!r} cannot be read: {error}") from None
    stream = await start_stream(chosen)
    _active.add(stream)
    logger.info(
        "playback of %s from %s to %s (%d segments)",
        camera_id,
        isoformat_us(chosen.start_us),
        isoformat_us(chosen.end_us),
        len(chosen.segments),
    )
    return PlaybackResponse(stream)


@router.get("/playback/{camera_id}/index")
async def playback_index(
    camera_id: CameraId,
    state: State,
    viewer: Viewer,
    start: Annotated[Instant, Query(description="ISO 8601 with time zone")],
    end: Annotated[Instant, Query(description="ISO 8601 with time zone")],
) -> dict[str, Any]:
    """What can be played of a camera in [start, end): pieces, gaps with causes, segments.

    A player asks for this before it plays: the node gets its ffmpeg processes ready meanwhile."""
    runtime = camera_runtime(state, camera_id, viewer)
    start_us, end_us = time_range(start, end, max_us=MAX_INDEX_US, max_text="7 days")
    POOL.warm()
    footage = await asyncio.to_thread(_footage, state, camera_id, start_us, end_us)
    pieces = pieces_of(footage.segments, state.settings.storage.path)
    live = footage.live_span
    url = f"/api/v1/playback/{camera_id}?start="
    return {
        "camera": camera_id,
        "camera_name": runtime.camera.name,
        "start": isoformat_us(start_us),
        "end": isoformat_us(end_us),
        "coverage_percent": footage.coverage.percent,
        "recorded": [
            {"start": isoformat_us(a), "end": isoformat_us(b)} for a, b in footage.coverage.recorded
        ],
        "pieces": [
            {
                "start": isoformat_us(p.start_us),
                "end": isoformat_us(p.end_us),
                "segments": len(p.segments),
                "url": url + isoformat_us(max(p.start_us, start_us)),
            }
            for p in pieces
        ],
        "gaps": [gap_json(g) for g in footage.coverage.gaps],
        "segments": [
            {
                "id": s.id,
                "start": isoformat_us(s.start_us),
                "end": isoformat_us(s.end_us),
                "status": s.status,
                "has_audio": s.has_audio,
                "sha256": s.sha256,
            }
            for s in footage.segments
        ],
        "in_progress": live_span_json(live),
    }
