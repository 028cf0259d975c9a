"""Timestamp validation and wall-clock anchoring."""

from __future__ import annotations

from fractions import Fraction

from ingest.packets import StreamKind
from ingest.timestamps import Discontinuity, DropReason, TimestampValidator, Timing

TB = Fraction(1, 90_000)
V, A = StreamKind.VIDEO, StreamKind.AUDIO
OPEN = 1_700_000_000_000_000


def validator() -> TimestampValidator:
    return TimestampValidator(opened_wall_us=OPEN, max_jump_us=10_000_000, max_drift_us=5_000_000)


def test_wall_time_is_anchored_at_open_and_advanced_by_media_time() -> None:
    v = validator()
    first = v.check(V, 9000, 9000, TB, OPEN + 800_000)  # arrived late: the opener was probing
    later = v.check(V, 9000 + 90_000, 9000 + 90_000, TB, OPEN + 1_010_000)
    assert isinstance(first, Timing) and isinstance(later, Timing)
    assert first.wall_us == OPEN and later.wall_us == OPEN + 1_000_000
    assert later.epoch == 0 and later.discontinuity is None


def test_missing_and_non_increasing_timestamps_are_dropped() -> None:
    v = validator()
    assert v.check(V, None, 0, TB, OPEN) is DropReason.NO_TIMESTAMP
    assert isinstance(v.check(V, 3600, 3600, TB, OPEN), Timing)
    assert v.check(V, 3600, 3600, TB, OPEN) is DropReason.NOT_INCREASING
    assert v.check(V, 100, 100, TB, OPEN) is DropReason.NOT_INCREASING
    assert isinstance(v.check(A, 100, 100, TB, OPEN), Timing)  # streams are independent
    assert v.dropped[DropReason.NOT_INCREASING] == 2


def test_large_jump_either_way_starts_a_new_epoch() -> None:
    v = validator()
    v.check(V, 0, 0, TB, OPEN)
    jumped = v.check(V, 90_000 * 60, 90_000 * 60, TB, OPEN + 40_000)
    assert isinstance(jumped, Timing)
    assert jumped.discontinuity is Discontinuity.TIMESTAMP_JUMP and jumped.epoch == 1
    assert jumped.wall_us == OPEN + 40_000  # re-anchored on arrival
    back = v.check(V, 0, 0, TB, OPEN + 80_000)
    assert isinstance(back, Timing) and back.discontinuity is Discontinuity.TIMESTAMP_JUMP


def test_media_clock_running_away_from_real_time_is_a_drift() -> None:
    v = validator()
    v.check(V, 0, 0, TB, OPEN)
    # 9 s of media arrive within 1 s of real time (a flood / a fast clock), in small steps
    result = None
    for step in range(1, 91):
        result = v.check(V, step * 9000, step * 9000, TB, OPEN + step * 11_000)
        if isinstance(result, Timing) and result.discontinuity:
            break
    assert isinstance(result, Timing) and result.discontinuity is Discontinuity.CLOCK_DRIFT
