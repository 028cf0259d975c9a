"""The alarm policy as a table: which conditions raise which alarm, and when."""

from __future__ import annotations

import pytest

from configs.schema import AlarmSettings
from monitor.alarm_policy import AlarmKind, CameraCondition, wanted_alarms

SETTINGS = AlarmSettings(offline_after_seconds=2, recording_stopped_after_seconds=5)


def cond(
    down: float | None = None,
    not_recording: float | None = None,
    record: bool = True,
    failure: str | None = None,
) -> CameraCondition:
    return CameraCondition("c", down, "stalled", record, not_recording, failure)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (cond(), set()),
        (cond(down=99), set()),  # down for 1 s: a short flap is an event, not an alarm
        (cond(down=98), {AlarmKind.CAMERA_OFFLINE}),
        (cond(down=50, not_recording=50), {AlarmKind.CAMERA_OFFLINE}),  # one cause, one alarm
        (cond(not_recording=96), set()),
        (cond(not_recording=95), {AlarmKind.RECORDING_STOPPED}),
        (cond(not_recording=10, record=False), set()),  # not meant to record
        # a failed recording path is an alarm at once, naming its cause
        (cond(not_recording=100, failure="disk_full: [Errno 28]"), {AlarmKind.RECORDING_STOPPED}),
        (cond(down=50, not_recording=50, failure="write_error: x"), {AlarmKind.CAMERA_OFFLINE}),
    ],
)
def test_wanted_alarms(condition: CameraCondition, expected: set[AlarmKind]) -> None:
    wanted = wanted_alarms([condition], SETTINGS, now=100.0)
    assert {kind for kind, _camera in wanted} == expected


def test_overdue_sessions_and_storage_are_alarms_of_their_own() -> None:
    wanted = wanted_alarms(
        [cond(down=50)],
        SETTINGS,
        now=100.0,
        overdue_sessions={"c": "session 3 of case A… open for 13.0 h"},
        storage_problem="only held footage is left",
    )
    assert set(wanted) == {
        (AlarmKind.CAMERA_OFFLINE, "c"),
        (AlarmKind.SESSION_OVERDUE, "c"),
        (AlarmKind.STORAGE_FULL, "storage"),
    }


def test_a_recording_failure_names_its_cause() -> None:
    wanted = wanted_alarms([cond(not_recording=100, failure="disk_full: no space")], SETTINGS, 100)
    assert wanted == {(AlarmKind.RECORDING_STOPPED, "c"): "recording failed: disk_full: no space"}


def test_catalog_unavailable_is_an_alarm_of_its_own() -> None:
    wanted = wanted_alarms([cond()], SETTINGS, 100, catalog_problem="catalog writes waited 6 s")
    assert wanted == {(AlarmKind.CATALOG_UNAVAILABLE, "catalog"): "catalog writes waited 6 s"}
