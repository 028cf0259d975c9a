"""The clock policy: UTC wall time in integer microseconds, plus a monotonic clock.

Wall times are integers of microseconds since the Unix epoch, UTC. Code that needs "now" takes a
``Clock`` so tests can drive time; nothing below the composition root calls ``time.time()``.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as day_time
from typing import Protocol

MICROS_PER_SECOND = 1_000_000


class Clock(Protocol):
    """Source of the current time."""

    def wall_us(self) -> int:
        """UTC wall time, microseconds since the epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never steps; only differences are meaningful."""
        ...


class SystemClock:
    """The real clocks of this machine."""

    def wall_us(self) -> int:
        return time.time_ns() // 1000

    def monotonic(self) -> float:
        return time.monotonic()


def datetime_from_us(value: int) -> datetime:
    """Epoch microseconds → aware UTC datetime (exact)."""
    seconds, micros = divmod(value, MICROS_PER_SECOND)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micros)


def us_from_datetime(value: datetime) -> int:
    """Aware datetime → epoch microseconds (exact). Naive datetimes are rejected."""
    if value.tzinfo is None:
        raise ValueError("datetime must carry a time zone")
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def isoformat_us(value: int) -> str:
    """Epoch microseconds → ``2026-11-25T04:50:43.123456Z``."""
    return datetime_from_us(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def day_bounds_us(first: date, last: date, zone: tzinfo) -> tuple[int, int]:
    """[start of day ``first``, start of the day after ``last``) in UTC µs, days in ``zone``
    (the branch's calendar: a day in China starts at 16:00 UTC the day before)."""
    start = datetime.combine(first, day_time(), zone)
    end = datetime.combine(last + timedelta(days=1), day_time(), zone)
    return us_from_datetime(start), us_from_datetime(end)
