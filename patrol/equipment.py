"""Equipment checks: pure functions on what the server knows of a camera and its footage.

Online (the camera's connection), recording (how old its newest footage is), coverage (the
share of the last hours recorded, every gap with its cause), audio (a track that is audible) and
clock (the camera's own clock, as its RTCP sender reports carry it, against the server's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from patrol.picture import Measurement


@dataclass(frozen=True)
class Footage:
    """Coverage of the window the coverage check looks at."""

    start_us: int
    end_us: int
    percent: float
    gaps: list[dict[str, Any]] = field(default_factory=list)


def online(state: str, detail: str) -> Measurement:
    """The camera is connected and sending (value: its state)."""
    return Measurement(state, 0.0, state == "live", detail if state != "live" else "")


def recording(
    *, records: bool, newest_footage_us: int | None, now_us: int, max_age_seconds: float
) -> Measurement:
    """Footage is being written (value: age of the newest footage in seconds)."""
    if not records:
        return Measurement(None, max_age_seconds, None, "this camera is not recorded")
    if newest_footage_us is None:
        return Measurement(None, max_age_seconds, False, "nothing was ever recorded")
    age = max(0.0, (now_us - newest_footage_us) / 1_000_000)
    return Measurement(age, max_age_seconds, age <= max_age_seconds)


def coverage(footage: Footage | None, *, min_percent: float) -> Measurement:
    """The window was recorded (value: its share recorded, %); gaps are listed by the caller."""
    if footage is None:
        return Measurement(None, min_percent, None, "nothing recorded to cover")
    hours = (footage.end_us - footage.start_us) / 3_600_000_000
    if hours <= 0:
        return Measurement(None, min_percent, None, "the camera is new: nothing to cover yet")
    gaps = len(footage.gaps)
    detail = f"last {hours:.1f} h, {gaps} gap{'s' if gaps != 1 else ''}"
    return Measurement(footage.percent, min_percent, footage.percent >= min_percent, detail)


def audio(*, has_track: bool, level_dbfs: float | None, min_dbfs: float) -> Measurement:
    """The room is heard: an audio track whose level is above silence (value: RMS dBFS)."""
    if not has_track:
        return Measurement(None, min_dbfs, False, "the camera sends no audio track")
    if level_dbfs is None:
        return Measurement(None, min_dbfs, None, "no audio received in the last seconds")
    return Measurement(level_dbfs, min_dbfs, level_dbfs >= min_dbfs)


def clock(offset_seconds: float | None, *, max_offset_seconds: float) -> Measurement:
    """The camera's clock is right (value: camera minus server, in seconds)."""
    if offset_seconds is None:
        return Measurement(
            None, max_offset_seconds, None, "the camera's clock is unknown (no RTCP sender report)"
        )
    ok = abs(offset_seconds) <= max_offset_seconds
    return Measurement(offset_seconds, max_offset_seconds, ok)
