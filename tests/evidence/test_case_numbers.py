"""Case number validation as a table."""

from __future__ import annotations

import pytest

from configs.schema import CaseNumberPatterns
from evidence.case_numbers import CaseNumberError, parse_case_number
from recorder.models import CaseType

PATTERNS = CaseNumberPatterns()


@pytest.mark.parametrize(
    ("number", "case_type", "unit"),
    [
        ("A6103020000002026110007", CaseType.CRIMINAL, "610302000000"),
        ("B6103020000012026010001", CaseType.ADMINISTRATIVE, "610302000001"),
        (" J6103020000022025120123 ", CaseType.INCIDENT, "610302000002"),
    ],
)
def test_valid_numbers(number: str, case_type: CaseType, unit: str) -> None:
    parsed = parse_case_number(number, PATTERNS)
    assert parsed.type is case_type and parsed.unit_code == unit
    assert parsed.number == number.strip()


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("", "empty"),
        ("C6103020000002026110007", "is not a case number"),
        ("A610302000000202611007", "is not a case number"),  # serial too short
        ("A6103020000002026130007", "month 13"),
        ("A6103020000001899110007", "year 1899"),
        ("A61030200000020261100070", "is not a case number"),
    ],
)
def test_invalid_numbers(number: str, reason: str) -> None:
    with pytest.raises(CaseNumberError, match=reason):
        parse_case_number(number, PATTERNS)


def test_expected_type_and_custom_format() -> None:
    with pytest.raises(CaseNumberError, match="not administrative"):
        parse_case_number("A6103020000002026110007", PATTERNS, expected=CaseType.ADMINISTRATIVE)
    custom = CaseNumberPatterns(criminal=r"^XS(?P<serial>\d{6})$")
    assert parse_case_number("XS000123", custom).type is CaseType.CRIMINAL
