"""The one mapping of domain errors to HTTP: status, field and headers a client sees."""

from __future__ import annotations

import pytest

from access import users
from access.service import SignInFailed, SignInLocked
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
        (ExportRequestError("waits", field="export_id", kind="conflict"), 409, "export_id"),
        (ExportRequestError("yours", field="export_id", kind="forbidden"), 403, "export_id"),
        (ExportRequestError("10 waiting", field="case", kind="busy"), 429, "case"),
        (cases.ForbiddenError("yours", field="hold_id"), 403, "hold_id"),
        (SignInFailed("wrong"), 401, "password"),
        (SignInLocked(30.0), 429, "name"),
        (users.UnknownUser("x"), 404, "name"),
        (users.UserExists("x"), 409, "name"),
        (users.UserError("weak", field="password"), 422, "password"),
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
