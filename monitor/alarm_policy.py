"""Which alarms should be active now: a pure function of the cameras' conditions.

* ``camera_offline``: the camera failed (offline, stalled, or retrying after a failure) for at
  least ``alarms.offline_after_seconds``. A camera still making its first connection is not
  alarmed.
* ``recording_stopped``: a camera that should record is live but its recording path failed
  (disk full, write error, a muxer error: raised at once, naming the cause), or it has not
  recorded for ``alarms.recording_stopped_after_seconds`` for any other reason. While the camera
  itself is down only ``camera_offline`` is raised: one cause, one alarm.
* ``session_overdue``: a camera's interrogation session is open longer than
  ``cases.session_max_hours`` (forgotten to close, or a session that must be split).
* ``finding_overdue``: a camera has a patrol finding past its rectification deadline.
* ``storage_full``: retention needs space but only held footage is left; nothing held is
  deleted, so recording will stop when the disk fills.
* ``catalog_unavailable``: catalog writes wait (the database is locked, stopped or unreachable);
  footage goes on being written and its rows land when the catalog returns.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from configs.schema import AlarmSettings


class AlarmKind(enum.StrEnum):
    """What an alarm is about."""

    CAMERA_OFFLINE = "camera_offline"
    RECORDING_STOPPED = "recording_stopped"
    SESSION_OVERDUE = "session_overdue"
    FINDING_OVERDUE = "finding_overdue"
    STORAGE_FULL = "storage_full"
    CATALOG_UNAVAILABLE = "catalog_unavailable"


AlarmKey = tuple[AlarmKind, str]


@dataclass(frozen=True, slots=True)
class CameraCondition:
    """One camera as the alarm policy sees it (times on the monotonic clock, seconds)."""

    camera_id: str
    down_since: float | None
    down_detail: str
    should_record: bool
    not_recording_since: float | None
    recording_failure: str | None = None
    """Why the recording path failed (``cause: detail``), while it is failed."""


STORAGE = "storage"
"""The subject of storage alarms (no camera)."""
CATALOG = "catalog"
"""The subject of catalog alarms (no camera)."""


def wanted_alarms(
    conditions: list[CameraCondition],
    settings: AlarmSettings,
    now: float,
    *,
    overdue_sessions: dict[str, str] | None = None,
    overdue_findings: dict[str, str] | None = None,
    storage_problem: str | None = None,
    catalog_problem: str | None = None,
) -> dict[AlarmKey, str]:
    """The alarms that should be active, each with its detail text."""
    wanted: dict[AlarmKey, str] = {}
    for camera_id, detail in (overdue_sessions or {}).items():
        wanted[(AlarmKind.SESSION_OVERDUE, camera_id)] = detail
    for camera_id, detail in (overdue_findings or {}).items():
        wanted[(AlarmKind.FINDING_OVERDUE, camera_id)] = detail
    if storage_problem:
        wanted[(AlarmKind.STORAGE_FULL, STORAGE)] = storage_problem
    if catalog_problem:
        wanted[(AlarmKind.CATALOG_UNAVAILABLE, CATALOG)] = catalog_problem
    for condition in conditions:
        if condition.down_since is not None:
            if now - condition.down_since >= settings.offline_after_seconds:
                wanted[(AlarmKind.CAMERA_OFFLINE, condition.camera_id)] = condition.down_detail
            continue
        if condition.should_record and condition.recording_failure is not None:
            wanted[(AlarmKind.RECORDING_STOPPED, condition.camera_id)] = (
                f"recording failed: {condition.recording_failure}"
            )
        elif (
            condition.should_record
            and condition.not_recording_since is not None
            and now - condition.not_recording_since >= settings.recording_stopped_after_seconds
        ):
            wanted[(AlarmKind.RECORDING_STOPPED, condition.camera_id)] = (
                "the camera is live but its footage is not being recorded"
            )
    return wanted
