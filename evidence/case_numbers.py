"""Case numbers (DOMAIN.md): A/B/J + 12-digit unit code + YYYYMM + 4-digit serial.

The shapes are configurable (``cases.number_patterns``); the named groups a pattern has are
checked as well: ``month`` must be 01–12, ``year`` between 1990 and 2100.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from configs.schema import CaseNumberPatterns
from recorder.models import CaseType


class CaseNumberError(ValueError):
    """The number does not have the shape of any (or the given) case type."""


@dataclass(frozen=True)
class CaseNumber:
    """A validated case number and what it encodes."""

    number: str
    type: CaseType
    unit_code: str | None


def parse_case_number(
    number: str, patterns: CaseNumberPatterns, *, expected: CaseType | None = None
) -> CaseNumber:
    """Validate ``number``; raise ``CaseNumberError`` with the reason."""
    text = number.strip()
    if not text:
        raise CaseNumberError("the case number is empty")
    for case_type in CaseType:
        match = re.fullmatch(getattr(patterns, case_type.value), text)
        if match is None:
            continue
        if expected is not None and case_type is not expected:
            raise CaseNumberError(
                f"{text} is a {case_type.value} case number, not {expected.value}"
            )
        groups = match.groupdict()
        month = groups.get("month")
        if month is not None and not 1 <= int(month) <= 12:
            raise CaseNumberError(f"{text}: month {month} is not 01–12")
        year = groups.get("year")
        if year is not None and not 1990 <= int(year) <= 2100:
            raise CaseNumberError(f"{text}: year {year} is out of range")
        return CaseNumber(text, case_type, groups.get("unit"))
    raise CaseNumberError(
        f"{text!r} is not a case number (criminal A…, administrative B…, incident J…: letter + "
        "12-digit unit code + YYYYMM + 4-digit serial)"
    )
