"""Coverage of a time range and the cause of every gap (invariant 2). Pure functions.

A gap's cause comes from how the recording run before it ended; where the recorder process started
inside a gap, the part before the start is ``recorder_down`` and the part after takes the camera's
state from its events. Footage deleted by retention or found missing is a gap with that cause.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from recorder.models import RunEndReason, SegmentStatus

TOLERANCE_US = 10_000  # holes shorter than this are rounding, not gaps


class GapCause(enum.StrEnum):
    """Why footage is missing."""

    CAMERA_OFFLINE = "camera_offline"
    CAMERA_STALLED = "camera_stalled"
    RECORDER_DOWN = "recorder_down"
    DISK_FULL = "disk_full"
    WRITE_ERROR = "write_error"
    MUX_ERROR = "mux_error"
    STORAGE_STALLED = "storage_stalled"
    CLOCK_DRIFT = "clock_drift"
    TIMESTAMP_JUMP = "timestamp_jump"
    STREAM_CHANGED = "stream_changed"
    DELETED_BY_RETENTION = "deleted_by_retention"
    FOOTAGE_LOST = "footage_lost"
    CAMERA_CONNECTING = "camera_connecting"
    NOT_RECORDING = "not_recording"
    RECORDING_PAUSED = "recording_paused"


REASON_TO_CAUSE = {
    RunEndReason.CAMERA_DISCONNECTED: GapCause.CAMERA_OFFLINE,
    RunEndReason.CAMERA_STALLED: GapCause.CAMERA_STALLED,
    RunEndReason.RECORDER_STOPPED: GapCause.RECORDER_DOWN,
    RunEndReason.RECORDER_CRASHED: GapCause.RECORDER_DOWN,
    RunEndReason.DISK_FULL: GapCause.DISK_FULL,
    RunEndReason.WRITE_ERROR: GapCause.WRITE_ERROR,
    RunEndReason.MUX_ERROR: GapCause.MUX_ERROR,
    RunEndReason.STORAGE_STALLED: GapCause.STORAGE_STALLED,
    RunEndReason.CLOCK_DRIFT: GapCause.CLOCK_DRIFT,
    RunEndReason.TIMESTAMP_JUMP: GapCause.TIMESTAMP_JUMP,
    RunEndReason.STREAM_CHANGED: GapCause.STREAM_CHANGED,
    RunEndReason.RECORDING_PAUSED: GapCause.RECORDING_PAUSED,
}


@dataclass(frozen=True, slots=True)
class SegmentSpan:
    start_us: int
    end_us: int
    status: SegmentStatus


@dataclass(frozen=True, slots=True)
class RunSpan:
    started_us: int
    ended_us: int | None
    end_reason: RunEndReason | None


@dataclass(frozen=True, slots=True)
class StateMark:
    """A camera event: at this time the camera was in ``state`` (offline, stalled, live…)."""

    at_us: int
    state: str


@dataclass(frozen=True, slots=True)
class Gap:
    start_us: int
    end_us: int
    cause: GapCause


@dataclass(frozen=True, slots=True)
class Coverage:
    start_us: int
    end_us: int
    recorded: list[tuple[int, int]]
    gaps: list[Gap]

    @property
    def recorded_us(self) -> int:
        return sum(end - start for start, end in self.recorded)

    @property
    def percent(self) -> float:
        length = self.end_us - self.start_us
        return 100.0 if length <= 0 else round(100.0 * self.recorded_us / length, 3)


def compute(
    *,
    start_us: int,
    end_us: int,
    segments: Sequence[SegmentSpan],
    runs: Sequence[RunSpan],
    recorder_starts: Sequence[int] = (),
    events: Sequence[StateMark] = (),
    live_span: tuple[int, int] | None = None,
) -> Coverage:
    """Recorded spans and causal gaps of [start_us, end_us)."""
    pieces: list[tuple[int, int, GapCause | None]] = []  # (start, end, None=recorded)
    for segment in segments:
        cause = None
        if segment.status == SegmentStatus.DELETED:
            cause = GapCause.DELETED_BY_RETENTION
        elif segment.status == SegmentStatus.LOST:
            cause = GapCause.FOOTAGE_LOST
        pieces.append((segment.start_us, segment.end_us, cause))
    if live_span is not None:
        pieces.append((live_span[0], live_span[1], None))
    pieces.sort(key=lambda piece: (piece[0], piece[2] is not None))

    recorded: list[tuple[int, int]] = []
    gaps: list[Gap] = []
    cursor = start_us
    for piece_start, piece_end, cause in pieces:
        piece_start, piece_end = max(piece_start, start_us), min(piece_end, end_us)
        if piece_end <= cursor:
            continue
        if piece_start - cursor > TOLERANCE_US:
            gaps.extend(_explain(cursor, piece_start, runs, recorder_starts, events))
        piece_start = max(piece_start, cursor)
        if cause is None:
            if recorded and piece_start - recorded[-1][1] <= TOLERANCE_US:
                recorded[-1] = (recorded[-1][0], piece_end)
            else:
                recorded.append((piece_start, piece_end))
        else:
            _append_gap(gaps, Gap(piece_start, piece_end, cause))
        cursor = piece_end
    if end_us - cursor > TOLERANCE_US:
        gaps.extend(_explain(cursor, end_us, runs, recorder_starts, events))
    merged: list[Gap] = []
    for gap in gaps:
        _append_gap(merged, gap)
    return Coverage(start_us, end_us, recorded, merged)


def _append_gap(gaps: list[Gap], gap: Gap) -> None:
    if gaps and gaps[-1].cause == gap.cause and gap.start_us - gaps[-1].end_us <= TOLERANCE_US:
        gaps[-1] = Gap(gaps[-1].start_us, gap.end_us, gap.cause)
    else:
        gaps.append(gap)


def _explain(
    hole_start: int,
    hole_end: int,
    runs: Sequence[RunSpan],
    recorder_starts: Sequence[int],
    events: Sequence[StateMark],
) -> list[Gap]:
    """Split a hole at recorder starts and at the starts of runs that ended inside it (a run
    that failed before any of its footage was catalogued: its part takes that run's cause),
    and give each part its cause."""
    restarts = {t for t in recorder_starts if hole_start < t < hole_end}
    failed_runs = {
        run.started_us
        for run in runs
        if run.ended_us is not None and hole_start < run.started_us < hole_end
    }
    bounds = [hole_start, *sorted(restarts | failed_runs), hole_end]
    gaps: list[Gap] = []
    for part_start, part_end in itertools.pairwise(bounds):
        if part_start in restarts and part_start not in failed_runs:
            cause = _cause_from_events(part_start, part_end, events)
        else:
            cause = _cause_before(part_start, runs)
            if restarts and part_start == hole_start and cause is GapCause.NOT_RECORDING:
                cause = GapCause.RECORDER_DOWN
        _append_gap(gaps, Gap(part_start, part_end, cause))
    return gaps


def _cause_before(at_us: int, runs: Sequence[RunSpan]) -> GapCause:
    """The cause from the run that ended last at or before ``at_us``; a hole inside a run that
    ended with a reason (footage its fault kept from the disk) takes that run's reason."""
    for run in runs:
        if (
            run.ended_us is not None
            and run.end_reason is not None
            and run.started_us <= at_us < run.ended_us - TOLERANCE_US
        ):
            return REASON_TO_CAUSE.get(run.end_reason, GapCause.NOT_RECORDING)
    best: RunSpan | None = None
    for run in runs:
        if (
            run.ended_us is not None
            and run.ended_us <= at_us + TOLERANCE_US
            and (best is None or (best.ended_us or 0) < run.ended_us)
        ):
            best = run
    if best is None or best.end_reason is None:
        return GapCause.NOT_RECORDING
    return REASON_TO_CAUSE.get(best.end_reason, GapCause.NOT_RECORDING)


def _cause_from_events(start_us: int, end_us: int, events: Sequence[StateMark]) -> GapCause:
    """After a recorder start: what the camera was doing (offline, stalled) during the part."""
    states = {event.state for event in events if start_us <= event.at_us < end_us}
    if "stalled" in states:
        return GapCause.CAMERA_STALLED
    if "offline" in states or "backoff" in states:
        return GapCause.CAMERA_OFFLINE
    if "connecting" in states or "live" in states:
        return GapCause.CAMERA_CONNECTING
    return GapCause.NOT_RECORDING
