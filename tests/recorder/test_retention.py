"""Retention never deletes held footage (table tests of the pure plan)."""

from recorder.retention import Candidate, Hold, plan

DAY = 86_400 * 1_000_000
NOW = 100 * DAY


def c(i: int, day: float, camera: str = "cam", size: int = 100) -> Candidate:
    return Candidate(i, camera, int(day * DAY), int(day * DAY) + 60_000_000, size)


def test_age_limit_deletes_only_old_unheld() -> None:
    holds = [Hold("cam", int(1 * DAY), int(2 * DAY))]
    result = plan(
        [c(1, 1.5), c(2, 5), c(3, 95)], holds, now_us=NOW, max_age_us=90 * DAY, bytes_to_free=0
    )
    assert result.delete == [2] and result.short_by_bytes == 0


def test_space_pressure_takes_oldest_unheld_first() -> None:
    result = plan(
        [c(3, 30), c(1, 10), c(2, 20)], [], now_us=NOW, max_age_us=None, bytes_to_free=150
    )
    assert result.delete == [1, 2]


def test_only_held_footage_left_raises_shortfall_and_deletes_nothing() -> None:
    holds = [Hold("cam", 0, None)]  # open-ended hold
    result = plan([c(1, 1), c(2, 2)], holds, now_us=NOW, max_age_us=DAY, bytes_to_free=500)
    assert result.delete == [] and result.short_by_bytes == 500


def test_hold_of_another_camera_does_not_protect() -> None:
    result = plan(
        [c(1, 1, camera="a")], [Hold("b", 0, None)], now_us=NOW, max_age_us=DAY, bytes_to_free=0
    )
    assert result.delete == [1]
