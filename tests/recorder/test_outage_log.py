"""Camera events in the catalog: an offline camera retrying every few seconds writes its outage
once, not three rows per retry, for as long as it is down."""

from __future__ import annotations

from ingest.events import CameraState, Cause, StateChange
from recorder.service import OutageLog

CONN, OFF, BACK, LIVE, STALL = (
    CameraState.CONNECTING,
    CameraState.OFFLINE,
    CameraState.BACKOFF,
    CameraState.LIVE,
    CameraState.STALLED,
)


def kept(changes: list[tuple[CameraState, Cause | None, str]]) -> list[CameraState]:
    log = OutageLog()
    return [
        state
        for at, (state, cause, detail) in enumerate(changes)
        if log.worth_keeping(StateChange("cam", state, at, cause, detail))
    ]


def test_an_outage_is_written_once_however_long_it_lasts() -> None:
    refused = (Cause.UNREACHABLE, "connection refused")
    retry = [(CONN, None, ""), (OFF, *refused), (BACK, *refused)]
    assert kept(
        [(CONN, None, ""), (LIVE, None, ""), *retry * 500, (CONN, None, ""), (LIVE, None, "")]
    ) == [CONN, LIVE, CONN, OFF, LIVE]


def test_a_new_cause_is_written() -> None:
    changes = [
        (OFF, Cause.UNREACHABLE, "connection refused"),
        (BACK, Cause.UNREACHABLE, "connection refused"),
        (CONN, None, ""),
        (OFF, Cause.UNAUTHORIZED, "401"),
        (CONN, None, ""),
        (LIVE, None, ""),
        (STALL, Cause.STALLED, "no packet for 3 s"),
    ]
    assert kept(changes) == [OFF, OFF, LIVE, STALL]
