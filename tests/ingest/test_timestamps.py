"""Timestamp validation and wall-clock anchoring."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

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


def camera_for(
    minutes: float, ppm: float, *, seed: int = 7
) -> list[tuple[int, int, Timing | DropReason]]:
    """A 25 fps camera whose media clock runs ``ppm`` fast (negative: slow), over a network
    that adds 10–60 ms of jitter: (media µs, arrival µs, timing) of every frame."""
    rng = random.Random(seed)
    v = validator()
    frames = []
    for frame in range(int(minutes * 60 * 25)):
        media_us = frame * 40_000
        real_us = media_us / (1 + ppm * 1e-6)  # when the camera captured it, by real time
        arrival = OPEN + 300_000 + round(real_us) + rng.randint(10_000, 60_000)
        ticks = frame * 3600
        frames.append((media_us, arrival, v.check(V, ticks, ticks, TB, arrival)))
    return frames


@pytest.mark.parametrize("ppm", [500, -500, 50, -50, 0])
def test_a_camera_clock_within_500_ppm_never_cuts_the_run(ppm: float) -> None:
    """Ten minutes: no discontinuity, wall time follows real time, and a minute of wall time
    stays within 500 ppm of a minute of media (catalog durations ≈ media durations)."""
    frames = camera_for(10, ppm)
    timings = [t for _m, _a, t in frames]
    assert all(isinstance(t, Timing) and t.discontinuity is None for t in timings)
    walls = [t.wall_us for t in timings if isinstance(t, Timing)]
    assert walls == sorted(walls)  # continuous and monotonic
    late = [arrival - t.wall_us for _m, arrival, t in frames[-1500:] if isinstance(t, Timing)]
    assert 0 <= min(late) <= 400_000  # still tracks arrival, not drifting away
    for start in range(0, len(frames) - 1500, 1500):  # every minute
        media = frames[start + 1500][0] - frames[start][0]
        wall = walls[start + 1500] - walls[start]
        assert abs(wall - media) <= 0.0005 * media + 1000  # ≤ 30 ms per minute


def test_a_clock_beyond_500_ppm_is_cut_eventually_and_a_step_at_once() -> None:
    frames = camera_for(40, 3000)  # 0.3 %: drifts 7 s in 40 min, the slew takes 1.2 s of it
    cuts = [t for _m, _a, t in frames if isinstance(t, Timing) and t.discontinuity]
    assert cuts and cuts[0].discontinuity is Discontinuity.CLOCK_DRIFT
    v = validator()
    v.check(V, 0, 0, TB, OPEN)
    stepped = v.check(V, 3600, 3600, TB, OPEN + 40_000 + 8_000_000)  # the receiver's clock jumped
    assert isinstance(stepped, Timing) and stepped.discontinuity is Discontinuity.CLOCK_DRIFT
