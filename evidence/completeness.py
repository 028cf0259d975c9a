"""The completeness report of an interrogation session (DOMAIN.md: recorded in full, with audio,
without gaps, provably).

Per camera: coverage %, every gap with start, end and cause, audio present % (a track present
and audible, over the whole session), and the segments with their hashes and whether their hash
chain is intact. ``complete`` is true when every camera has no gap and audio throughout (within
``AUDIO_COMPLETE_PERCENT``, which allows for pauses in speech shorter than a frame's silence).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from evidence.audio_presence import audible_spans, overlap_us
from ingest.clock import isoformat_us
from recorder.footage import Footage, camera_footage, gap_json
from recorder.models import CaseTag, SegmentStatus

AUDIO_COMPLETE_PERCENT = 95.0
"""Speech has pauses, but a room is never digitally silent: a microphone that records at least
this share of the session above the silence threshold is working."""


CUT_SLACK_US = 200_000
"""The segment begun at the cut when a session closes may start a hair before the session's end
(arrival-anchored times): such a segment being written is not part of the tag."""


def tag_footage(
    session: Session,
    tag: CaseTag,
    camera_id: str,
    *,
    now_us: int,
    live_span: tuple[int, int] | None,
) -> Footage:
    """One camera's footage over a tag or session (up to now while it is open); ``live_span``
    is the segment that camera is writing."""
    end_us = tag.end_us if tag.end_us is not None else now_us
    if live_span is not None and live_span[0] >= end_us - CUT_SLACK_US:
        live_span = None
    return camera_footage(
        session,
        camera_id=camera_id,
        start_us=tag.start_us,
        end_us=end_us,
        now_us=now_us,
        live_span=live_span,
    )


def footage_summary(footage: Footage, *, name: str) -> dict[str, Any]:
    """One camera's footage over a tag: coverage and every gap with its cause."""
    return {
        "camera_id": footage.camera_id,
        "camera_name": name,
        "start": isoformat_us(footage.start_us),
        "end": isoformat_us(footage.end_us),
        "coverage_percent": footage.coverage.percent,
        "recorded_seconds": round(footage.coverage.recorded_us / 1e6, 3),
        "gaps": [gap_json(gap) for gap in footage.coverage.gaps],
        "in_progress": footage.live_span is not None,
    }


def camera_report(footage: Footage, *, name: str, root: Path) -> dict[str, Any]:
    """One camera's part of the report."""
    start, end = footage.start_us, footage.end_us
    length = max(1, end - start)
    audible: list[tuple[int, int]] = []
    audio_track_us = 0
    segments = []
    previous: str | None = None
    chain_ok = True
    for segment in footage.segments:
        if previous is not None and segment.prev_sha256 != previous:
            chain_ok = False
        previous = segment.sha256
        inside = max(0, min(segment.end_us, end) - max(segment.start_us, start))
        if segment.status == SegmentStatus.OK.value and segment.has_audio:
            audio_track_us += inside
            audible += audible_spans(
                root / segment.path, sha256=segment.sha256, start_us=segment.start_us
            )
        segments.append(
            {
                "id": segment.id,
                "start": isoformat_us(segment.start_us),
                "end": isoformat_us(segment.end_us),
                "size_bytes": segment.size_bytes,
                "sha256": segment.sha256,
                "prev_sha256": segment.prev_sha256,
                "status": segment.status,
                "adopted": segment.adopted,
                "has_audio": segment.has_audio,
            }
        )
    audible.sort()
    audio_percent = round(100.0 * overlap_us(_merge(audible), start, end) / length, 2)
    return {
        **footage_summary(footage, name=name),
        "audio_track_percent": round(100.0 * audio_track_us / length, 2),
        "audio_present_percent": min(100.0, audio_percent),
        "segments": segments,
        "hash_chain_intact": chain_ok,
    }


def summarize(cameras: list[dict[str, Any]]) -> dict[str, Any]:
    """The verdict over all cameras."""
    problems: list[str] = []
    for camera in cameras:
        label = camera["camera_name"]
        for gap in camera["gaps"]:
            problems.append(f"{label}: {gap['duration']} s missing ({gap['cause']})")
        if camera["audio_present_percent"] < AUDIO_COMPLETE_PERCENT:
            problems.append(f"{label}: audio present {camera['audio_present_percent']} %")
        if not camera["hash_chain_intact"]:
            problems.append(f"{label}: hash chain broken")
        if camera["in_progress"]:
            problems.append(f"{label}: last segment still being written (hash pending)")
    return {"complete": not problems, "problems": problems}


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged
