"""The segment path codec is reversible and strict."""

import pytest

from recorder import pathcodec

CASES = [
    ("qj-int-1", 0, "qj-int-1/1970-01-01/00/qj-int-1_19700101T000000.000000Z.mp4"),
    ("cam", 1_764_052_243_123_456, "cam/2025-11-25/06/cam_20251125T063043.123456Z.mp4"),
    ("a_b", 1_764_028_799_999_999, "a_b/2025-11-24/23/a_b_20251124T235959.999999Z.mp4"),
]


@pytest.mark.parametrize(("camera", "start", "path"), CASES)
def test_round_trip(camera: str, start: int, path: str) -> None:
    assert pathcodec.encode(camera, start) == path
    assert pathcodec.decode(path) == pathcodec.SegmentName(camera, start)


@pytest.mark.parametrize(
    "path",
    [
        "cam/2025-11-25/06/other_20251125T063043.123456Z.mp4",  # camera differs
        "cam/2025-11-26/06/cam_20251125T063043.123456Z.mp4",  # day differs
        "cam/2025-11-25/07/cam_20251125T063043.123456Z.mp4",  # hour differs
        "cam/2025-11-25/06/cam_20251125T063043Z.mp4",
        "../etc/passwd",
        "cam/2025-11-25/06/cam_20251325T063043.123456Z.mp4",
    ],
)
def test_rejects_foreign_names(path: str) -> None:
    assert pathcodec.decode(path) is None


def test_encode_rejects_unsafe_ids() -> None:
    with pytest.raises(ValueError):
        pathcodec.encode("../x", 0)
