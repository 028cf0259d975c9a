"""Coverage and gap causes (table tests of the pure function)."""

from recorder.coverage import Gap, GapCause, RunSpan, SegmentSpan, StateMark, compute
from recorder.models import RunEndReason, SegmentStatus

OK, DELETED = SegmentStatus.OK, SegmentStatus.DELETED
S = 1_000_000


def seg(a: float, b: float, status: SegmentStatus = OK) -> SegmentSpan:
    return SegmentSpan(int(a * S), int(b * S), status)


def gap(a: float, b: float, cause: GapCause) -> Gap:
    return Gap(int(a * S), int(b * S), cause)


def test_contiguous_segments_have_no_gap() -> None:
    result = compute(
        start_us=0, end_us=20 * S, segments=[seg(0, 10), seg(10, 20)], runs=[RunSpan(0, None, None)]
    )
    assert result.gaps == [] and result.percent == 100.0 and result.recorded == [(0, 20 * S)]


def test_gap_cause_comes_from_the_run_that_ended_before_it() -> None:
    runs = [RunSpan(0, 10 * S, RunEndReason.CAMERA_DISCONNECTED), RunSpan(15 * S, None, None)]
    result = compute(start_us=0, end_us=20 * S, segments=[seg(0, 10), seg(15, 20)], runs=runs)
    assert result.gaps == [gap(10, 15, GapCause.CAMERA_OFFLINE)]
    assert result.percent == 75.0


def test_recorder_restart_splits_the_gap() -> None:
    runs = [RunSpan(0, 10 * S, RunEndReason.RECORDER_CRASHED), RunSpan(30 * S, None, None)]
    result = compute(
        start_us=0,
        end_us=40 * S,
        segments=[seg(0, 10), seg(30, 40)],
        runs=runs,
        recorder_starts=[int(20 * S)],
        events=[StateMark(int(21 * S), "offline")],
    )
    assert result.gaps == [
        gap(10, 20, GapCause.RECORDER_DOWN),
        gap(20, 30, GapCause.CAMERA_OFFLINE),
    ]


def test_deleted_footage_and_never_recorded() -> None:
    result = compute(
        start_us=0, end_us=30 * S, segments=[seg(5, 10, DELETED), seg(10, 20)], runs=[]
    )
    assert result.gaps == [
        gap(0, 5, GapCause.NOT_RECORDING),
        gap(5, 10, GapCause.DELETED_BY_RETENTION),
        gap(20, 30, GapCause.NOT_RECORDING),
    ]


def test_open_segment_counts_as_recorded() -> None:
    result = compute(
        start_us=0,
        end_us=20 * S,
        segments=[seg(0, 10)],
        runs=[RunSpan(0, None, None)],
        live_span=(10 * S, 20 * S),
    )
    assert result.gaps == [] and result.percent == 100.0


def test_a_run_that_failed_before_writing_gives_its_part_of_the_hole_its_cause() -> None:
    runs = [
        RunSpan(0, 10 * S, RunEndReason.CAMERA_DISCONNECTED),
        RunSpan(14 * S, 14 * S, RunEndReason.WRITE_ERROR),  # reconnected, but the disk failed
        RunSpan(18 * S, None, None),
    ]
    result = compute(start_us=0, end_us=20 * S, segments=[seg(0, 10), seg(18, 20)], runs=runs)
    assert result.gaps == [
        gap(10, 14, GapCause.CAMERA_OFFLINE),
        gap(14, 18, GapCause.WRITE_ERROR),
    ]


def test_a_hole_inside_a_failed_run_takes_its_cause() -> None:
    """The disk filled while a segment was closing: its last fragment never reached the disk."""
    runs = [RunSpan(0, 12 * S, RunEndReason.DISK_FULL), RunSpan(16 * S, None, None)]
    result = compute(
        start_us=0, end_us=20 * S, segments=[seg(0, 9), seg(10, 12), seg(16, 20)], runs=runs
    )
    assert result.gaps == [gap(9, 10, GapCause.DISK_FULL), gap(12, 16, GapCause.DISK_FULL)]
