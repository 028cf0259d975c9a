"""A camera's footage over a time range: its segments and coverage with causal gaps.

One query path for every reader (recordings API, case footage, session reports, exports), so a
gap is explained the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ingest.clock import isoformat_us
from recorder import catalog, coverage
from recorder.models import RunEndReason, Segment, SegmentStatus

LIVE_LAG_US = 2_000_000
"""How far behind now the last packet of the segment being written may be, while it still
counts as covering up to now."""


@dataclass(frozen=True)
class Footage:
    """What exists of one camera in [start_us, end_us)."""

    camera_id: str
    start_us: int
    end_us: int
    segments: Sequence[Segment]
    coverage: coverage.Coverage
    live_span: tuple[int, int] | None


def camera_footage(
    session: Session,
    *,
    camera_id: str,
    start_us: int,
    end_us: int,
    now_us: int,
    live_span: tuple[int, int] | None = None,
) -> Footage:
    """Segments and coverage of [start_us, end_us); ``live_span`` is the segment being written,
    up to its last packet. The range is clipped at ``now_us`` for coverage.

    The live span reaches ``now_us`` only while its last packet is at most ``LIVE_LAG_US``
    old (packets in flight between the camera and the file); a recorder that stopped writing
    leaves its span where its footage ends, so the rest is a gap, never claimed coverage."""
    clipped_end = max(min(end_us, now_us), start_us)
    segments = catalog.segments_between(
        session, camera_id=camera_id, start_us=start_us, end_us=end_us
    )
    runs = catalog.runs_between(session, camera_id=camera_id, start_us=start_us, end_us=end_us)
    if live_span is not None and now_us - live_span[1] <= LIVE_LAG_US:
        live_span = (live_span[0], max(live_span[1], now_us))
    result = coverage.compute(
        start_us=start_us,
        end_us=clipped_end,
        segments=[
            coverage.SegmentSpan(s.start_us, s.end_us, SegmentStatus(s.status)) for s in segments
        ],
        runs=[
            coverage.RunSpan(
                r.started_us, r.ended_us, RunEndReason(r.end_reason) if r.end_reason else None
            )
            for r in runs
        ],
        recorder_starts=catalog.recorder_starts_between(session, start_us=start_us, end_us=end_us),
        events=[
            coverage.StateMark(e.at_us, e.state)
            for e in catalog.events_between(
                session, camera_id=camera_id, start_us=start_us, end_us=end_us
            )
        ],
        live_span=live_span,
    )
    return Footage(camera_id, start_us, end_us, segments, result, live_span)


def gap_json(gap: coverage.Gap) -> dict[str, Any]:
    """A gap as every API and report shows it."""
    return {
        "start": isoformat_us(gap.start_us),
        "end": isoformat_us(gap.end_us),
        "duration": round((gap.end_us - gap.start_us) / 1e6, 3),
        "cause": gap.cause.value,
    }


def live_span_json(live_span: tuple[int, int] | None) -> dict[str, str] | None:
    """The segment being written, as the APIs show it (``None`` when there is none)."""
    if live_span is None:
        return None
    return {"start": isoformat_us(live_span[0]), "end": isoformat_us(live_span[1])}
