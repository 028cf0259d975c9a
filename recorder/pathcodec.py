"""The reversible segment path codec: path ⇄ (camera id, start time).

``{camera}/{YYYY-MM-DD}/{HH}/{camera}_{YYYYMMDD}T{HHMMSS}.{ffffff}Z.mp4``, UTC. The camera id and
the start time in microseconds can be read back from the name alone, so a file found without a
catalog row (after a crash) can be adopted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from configs.schema import IDENTIFIER_PATTERN
from ingest.clock import datetime_from_us, us_from_datetime

SUFFIX = ".mp4"
_CAMERA = IDENTIFIER_PATTERN.strip("^$")
_NAME = re.compile(
    rf"^(?P<camera>{_CAMERA})/(?P<day>\d{{4}}-\d{{2}}-\d{{2}})/(?P<hour>\d{{2}})/"
    rf"(?P=camera)_(?P<stamp>\d{{8}}T\d{{6}}\.\d{{6}})Z\.mp4$"
)


@dataclass(frozen=True, slots=True)
class SegmentName:
    """What a segment's path says about it."""

    camera_id: str
    start_us: int


def encode(camera_id: str, start_us: int) -> str:
    """Relative POSIX path of the segment of ``camera_id`` starting at ``start_us``."""
    if not re.fullmatch(_CAMERA, camera_id):
        raise ValueError(f"invalid camera id {camera_id!r}")
    if start_us < 0:
        raise ValueError("start before 1970")
    moment = datetime_from_us(start_us)
    return (
        f"{camera_id}/{moment:%Y-%m-%d}/{moment:%H}/"
        f"{camera_id}_{moment:%Y%m%dT%H%M%S}.{moment.microsecond:06d}Z{SUFFIX}"
    )


def decode(relative_path: str | PurePosixPath) -> SegmentName | None:
    """The camera and start of a relative segment path, or None if it is not one of ours."""
    match = _NAME.match(str(relative_path))
    if match is None:
        return None
    from datetime import UTC, datetime

    try:
        moment = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None
    if f"{moment:%Y-%m-%d}" != match["day"] or f"{moment:%H}" != match["hour"]:
        return None
    return SegmentName(match["camera"], us_from_datetime(moment))
