"""The alarm monitor: watches every camera, raises and clears alarms, tells the wall.

Runs on the event loop: once a second (and at once after a camera state change) it reads each
camera's state and recording flag, asks ``alarm_policy.wanted_alarms`` what should be active, and
publishes the difference on the event bus. The active alarms live in memory — they are the truth
the wall reads — and each change is written to the catalog's ``alarms`` log as well; while the
catalog is unavailable (itself an alarm) the log waits and is written when it returns, so an
operator is told of an outage of the catalog too. It also publishes ``recording`` events when a
camera starts or stops recording. Alarms left open by a previous process are closed at start-up
and raised again if their condition still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from configs.schema import AlarmSettings
from ingest.clock import Clock, isoformat_us
from ingest.events import CameraState
from ingest.redact import hide_addresses
from monitor.alarm_policy import AlarmKey, AlarmKind, CameraCondition, wanted_alarms
from monitor.events import Event, EventBus
from recorder.models import Alarm
from recorder.service import RecordingRuntime, RecordingService

logger = logging.getLogger(__name__)

TICK_SECONDS = 1.0
FAILED_STATES = frozenset({CameraState.OFFLINE, CameraState.STALLED})
RETRY_STATES = frozenset({CameraState.BACKOFF, CameraState.CONNECTING})
SAVE_WAIT_SECONDS = 1.0
"""How long an alarm waits for its log row (and id) before it is announced without one."""
CATALOG_STALL_SECONDS = 5.0
"""A catalog write waiting this long means the catalog is unavailable."""


class AlarmNotFound(Exception):
    """No alarm with that id."""

    def __init__(self, alarm_id: int) -> None:
        super().__init__(f"no alarm {alarm_id}")
        self.message = str(self)


class AlarmMonitor:
    """Event loop only."""

    def __init__(
        self,
        settings: AlarmSettings,
        service: RecordingService,
        sessions: sessionmaker[Session],
        bus: EventBus,
        clock: Clock,
        *,
        overdue_sessions: Callable[[int], dict[str, str]] = lambda now_us: {},
        overdue_findings: Callable[[int], dict[str, str]] = lambda now_us: {},
    ) -> None:
        self._settings = settings
        self._overdue_sessions = overdue_sessions
        self.overdue_findings = overdue_findings
        self._storage_problem: str | None = None
        self._service = service
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._active: dict[AlarmKey, Alarm] = {}
        self._unsaved: list[Alarm] = []
        """Changes of the alarm log that the catalog has not taken yet (oldest first)."""
        self._down_since: dict[str, float] = {}
        self._not_recording_since: dict[str, float] = {}
        self._recording: dict[str, tuple[bool, str | None]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._saving: asyncio.Future[None] | None = None
        self._unnumbered: list[Alarm] = []
        """Alarms announced before the log gave them an id."""

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self._close_stale)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._saving is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._saving, timeout=10)

    def storage_shortfall(self, message: str | None) -> None:
        """Retention thread: only held footage is left to free space (None: resolved)."""
        self._storage_problem = message

    def poke(self) -> None:
        """A camera changed state: evaluate now rather than at the next tick."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_SECONDS)
            self._wake.clear()
            try:
                await self.evaluate()
            except Exception:  # never let one bad evaluation end the monitor
                logger.exception("alarm evaluation failed; retrying")

    # -- evaluation -----------------------------------------------------------------------------

    def _condition(self, runtime: RecordingRuntime, now: float) -> CameraCondition:
        camera_id = runtime.camera.id
        worker, recorder = runtime.worker, runtime.recorder
        failed = worker is not None and (
            worker.state in FAILED_STATES
            or (worker.state in RETRY_STATES and worker.cause is not None)
        )
        if failed:
            self._down_since.setdefault(camera_id, now)
        else:
            self._down_since.pop(camera_id, None)
        recording = bool(recorder is not None and recorder.recording)
        if recording:
            self._not_recording_since.pop(camera_id, None)
        else:
            self._not_recording_since.setdefault(camera_id, now)
        failure = recorder.failure if recorder is not None and not recording else None
        failure_text = f"{failure.reason.value}: {failure.detail}" if failure else None
        if self._recording.get(camera_id) != (recording, failure_text):
            self._recording[camera_id] = (recording, failure_text)
            self._bus.publish(
                Event(
                    "recording",
                    {
                        "camera_id": camera_id,
                        "recording": recording,
                        "cause": failure.reason.value if failure else None,
                        "detail": failure.detail if failure else None,
                        "at": isoformat_us(self._clock.wall_us()),
                    },
                )
            )
        detail = ""
        if worker is not None and failed:
            cause = worker.cause.value if worker.cause else worker.state.value
            detail = f"{cause}: {hide_addresses(worker.detail)}" if worker.detail else cause
        return CameraCondition(
            camera_id=camera_id,
            down_since=self._down_since.get(camera_id),
            down_detail=detail,
            should_record=runtime.camera.enabled and runtime.camera.record,
            not_recording_since=None if recording else self._not_recording_since[camera_id],
            recording_failure=failure_text,
        )

    async def evaluate(self) -> None:
        now = time.monotonic()
        conditions = [self._condition(rt, now) for rt in self._service.cameras.values()]
        wall = self._clock.wall_us()
        wanted = wanted_alarms(
            conditions,
            self._settings,
            now,
            overdue_sessions=self._overdue_sessions(wall),
            overdue_findings=self.overdue_findings(wall),
            storage_problem=self._storage_problem,
            catalog_problem=self._catalog_problem(),
        )
        changed: list[Alarm] = []
        for key, detail in wanted.items():
            if key not in self._active:
                alarm = self._new_alarm(key, detail, wall)
                self._active[key] = alarm
                changed.append(alarm)
                logger.warning("alarm raised: %s %s %s", key[0].value, key[1], detail)
        for key in [k for k in self._active if k not in wanted]:
            alarm = self._active.pop(key)
            alarm.cleared_us = wall
            changed.append(alarm)
            logger.info("alarm cleared: %s %s", key[0].value, key[1])
        if not changed:
            if self._unsaved:
                self._save_soon()  # what the catalog refused before: once a tick
            return
        self._unsaved.extend(changed)
        # the log gets a moment, so the event carries the alarm's id; a catalog that does not
        # answer must not hold the alarm back: it goes out now and again once it has its id
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._save_soon()), SAVE_WAIT_SECONDS)
        for alarm in changed:
            self._bus.publish(Event("alarm", self.describe(alarm)))
            if alarm.id is None:
                self._unnumbered.append(alarm)

    def _save_soon(self) -> asyncio.Future[None]:
        """Event loop: the background write of the alarm log (one at a time)."""
        if self._saving is None or self._saving.done():
            self._saving = asyncio.ensure_future(asyncio.to_thread(self._save_log))
            self._saving.add_done_callback(self._saved)
        return self._saving

    def _saved(self, _done: asyncio.Future[None]) -> None:
        """Event loop: announce again the alarms that went out before they had an id."""
        for alarm in [a for a in self._unnumbered if a.id is not None]:
            self._unnumbered.remove(alarm)
            self._bus.publish(Event("alarm", self.describe(alarm)))

    def _catalog_problem(self) -> str | None:
        writer = self._service.writer
        waited = writer.stalled_seconds()
        if waited < CATALOG_STALL_SECONDS:
            return None
        return (
            f"catalog writes have waited {waited:.0f} s ({writer.pending} queued; footage is "
            f"kept on disk): {writer.last_error or 'no answer from the database'}"
        )

    # -- catalog ---------------------------------------------------------------------------

    def _close_stale(self) -> None:
        now = self._clock.wall_us()
        with self._sessions.begin() as session:
            for alarm in session.scalars(select(Alarm).where(Alarm.cleared_us.is_(None))):
                alarm.cleared_us = now
                alarm.detail = f"{alarm.detail} (closed at restart)".strip()

    def _new_alarm(self, key: AlarmKey, detail: str, at_us: int) -> Alarm:
        kind, subject = key
        runtime = self._service.cameras.get(subject)
        return Alarm(
            kind=kind.value,
            camera_id=subject if runtime is not None else None,
            site_id=runtime.site.id if runtime else None,
            raised_us=at_us,
            detail=detail,
        )

    def _save_log(self) -> None:
        """Worker thread: write the waiting changes of the alarm log, oldest first; what the
        catalog refuses now waits for the next evaluation."""
        while self._unsaved:
            alarm = self._unsaved[0]
            try:
                with self._sessions.begin() as session:
                    saved = session.merge(alarm)
                    session.flush()
                    alarm.id = saved.id
            except SQLAlchemyError as error:
                logger.debug("alarm log waits for the catalog: %s", error)
                return
            self._unsaved.pop(0)

    def _ack(self, alarm_id: int, by: str | None, at_us: int) -> Alarm:
        with self._sessions.begin() as session:
            alarm = session.get(Alarm, alarm_id)
            if alarm is None:
                raise AlarmNotFound(alarm_id)
            if alarm.acked_us is None:
                alarm.acked_us = at_us
                alarm.acked_by = by
            session.flush()
            session.expunge(alarm)
        for active in self._active.values():
            if active.id == alarm_id:
                active.acked_us, active.acked_by = alarm.acked_us, alarm.acked_by
        return alarm

    async def acknowledge(self, alarm_id: int, by: str | None) -> dict[str, Any]:
        """Mark an alarm acknowledged (idempotent) and tell every wall."""
        alarm = await asyncio.to_thread(self._ack, alarm_id, by, self._clock.wall_us())
        data = self.describe(alarm)
        self._bus.publish(Event("alarm", data))
        return data

    def recent(self, session: Session, *, active: bool, limit: int) -> list[dict[str, Any]]:
        """Newest first: the active alarms (from memory: they need no catalog), or the log."""
        if active:
            alarms = sorted(self._active.values(), key=lambda a: a.raised_us, reverse=True)
            return [self.describe(alarm) for alarm in alarms[:limit]]
        query = select(Alarm).order_by(Alarm.raised_us.desc()).limit(limit)
        return [self.describe(alarm) for alarm in session.scalars(query)]

    def describe(self, alarm: Alarm) -> dict[str, Any]:
        runtime = self._service.cameras.get(alarm.camera_id or "")
        return {
            "id": alarm.id,
            "key": f"{alarm.kind}/{alarm.camera_id or ''}/{alarm.raised_us}",
            "kind": alarm.kind,
            "camera_id": alarm.camera_id,
            "camera_name": runtime.camera.name if runtime else None,
            "site": alarm.site_id,
            "site_name": runtime.site.name if runtime else None,
            "raised_at": isoformat_us(alarm.raised_us),
            "cleared_at": isoformat_us(alarm.cleared_us) if alarm.cleared_us else None,
            "acked_at": isoformat_us(alarm.acked_us) if alarm.acked_us else None,
            "acked_by": alarm.acked_by,
            "detail": alarm.detail,
            "active": alarm.cleared_us is None,
        }


__all__ = ["AlarmKind", "AlarmMonitor", "AlarmNotFound"]
