"""The one mapping of domain errors to HTTP: status, field and headers a client sees."""

from __future__ import annotations

import pytest

from api.errors import from_domain
from evidence import cases
from evidence.export_request import ExportRequestError
from evidence.export_service import ExportsUnavailable
from monitor.alarms import AlarmNotFound
from relay.errors import CapacityError, OfferError, RelayError, SessionNotFound, UnsupportedStream


@pytest.mark.parametrize(
    ("error", "status", "field"),
    [
        (cases.NotFoundError("no case A1", field="number"), 404, "number"),
        (cases.ConflictError("case A1 is closed", field="number"), 409, "number"),
        (cases.CaseError("cannot", field="room"), 409, "room"),
        (OfferError("no video"), 400, "sdp"),
        (UnsupportedStream("H.265"), 422, "camera"),
        (CapacityError("64 viewers"), 503, None),
        (SessionNotFound("no session"), 404, "session"),
        (RelayError("odd"), 400, None),
        (ExportRequestError("bad tag", field="tags.0"), 400, "tags.0"),
        (ExportRequestError("no tag 9", field="tags.0", kind="not_found"), 404, "tags.0"),
        (ExportRequestError("nothing", field="ranges", kind="no_footage"), 422, "ranges"),
        (ExportsUnavailable("no signing key"), 503, None),
        (AlarmNotFound(7), 404, "alarm_id"),
    ],
)
def test_domain_errors_map_to_status_and_field(
    error: Exception, status: int, field: str | None
) -> None:
    http = from_domain(error)
    assert (http.status, http.field) == (status, field)
    assert http.message


def test_capacity_tells_when_to_retry() -> None:
    assert from_domain(CapacityError("busy")).headers == {"Retry-After": "5"}


def test_an_unmapped_error_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        from_domain(KeyError("x"))
