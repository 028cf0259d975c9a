"""Times in API queries and bodies: ISO 8601 with a time zone, turned into UTC microseconds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from api.errors import BadRequest
from ingest.clock import us_from_datetime

EARLIEST_YEAR, LATEST_YEAR = 1970, 2200
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def _iso_text(value: Any) -> Any:
    """Only ISO 8601 text: a bare number (``0.5``) is not read as a Unix time."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO.match(value.strip()):
        raise ValueError("give an ISO 8601 time, e.g. 2026-11-25T08:00:00+08:00")
    return value


def _in_range(value: datetime) -> datetime:
    if value.tzinfo is not None:
        try:
            year = value.astimezone(UTC).year
        except (OverflowError, ValueError):
            year = 0
        if not EARLIEST_YEAR <= year <= LATEST_YEAR:
            raise ValueError(f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


Instant = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_in_range)]
"""A time in an API query or body: ISO 8601 text between 1970 and 2200 (its zone is required
by ``parse_instant``)."""

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day_text(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DAY.match(value.strip()):
        raise ValueError("give a day as YYYY-MM-DD, e.g. 2026-11-25")
    return value


def _day_in_range(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


BranchDay = Annotated[date, BeforeValidator(_day_text), AfterValidator(_day_in_range)]
"""A day of the branch's calendar (YYYY-MM-DD, in its ``timezone``)."""


def parse_instant(value: datetime, field: str) -> int:
    """UTC µs of ``value``; a time without a zone is refused (it would be guessed otherwise)."""
    if value.tzinfo is None:
        raise BadRequest(f"{field}: give a time zone (e.g. 2026-11-25T08:00:00Z)", field=field)
    return us_from_datetime(value)


def time_range(
    start: datetime, end: datetime | int, *, max_us: int, max_text: str
) -> tuple[int, int]:
    """(start µs, end µs) of a query; ``end`` may already be µs (a default). End after start,
    at most ``max_us`` apart (``max_text`` says how long that is)."""
    start_us = parse_instant(start, "start")
    end_us = end if isinstance(end, int) else parse_instant(end, "end")
    if end_us <= start_us:
        raise BadRequest("end: must be after start", field="end")
    if end_us - start_us > max_us:
        raise BadRequest(f"end: the range may span at most {max_text}", field="end")
    return start_us, end_us
