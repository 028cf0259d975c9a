"""Times in API queries and bodies: ISO 8601 with a time zone, turned into UTC microseconds."""

from __future__ import annotations

from datetime import datetime

from api.errors import BadRequest
from ingest.clock import us_from_datetime


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
