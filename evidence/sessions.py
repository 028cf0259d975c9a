"""Interrogation sessions while they run: open, guard, close with a completeness report.

The service keeps the open sessions in memory (loaded from the catalog at start) so the wall's
session badges and the "cannot stop recording" guard cost no query. Closing a session asks each
of its cameras' recorders to end the current segment at the next keyframe, waits (up to
``cases.close_wait_seconds``) until those segments are in the catalog, then computes the report —
so the report carries the hash of every second of the session. Event loop, except where noted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from configs.schema import Settings
from evidence import cases
from evidence.completeness import camera_report, summarize, tag_footage
from ingest.clock import Clock, isoformat_us
from recorder.models import Case, CaseTag, Segment
from recorder.service import RecordingService

logger = logging.getLogger(__name__)

HOUR_US = 3_600 * 1_000_000

Notify = Callable[[str, dict[str, Any]], None]
"""Event loop: tell the live event stream that something happened (``kind``, JSON object)."""


@dataclass(frozen=True)
class OpenSession:
    """What the wall and the guards need to know of an open session."""

    id: int
    case_number: str
    kind: str
    camera_ids: tuple[str, ...]
    start_us: int

    def badge(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case_number": self.case_number,
            "kind": self.kind,
            "since": isoformat_us(self.start_us),
        }


class SessionService:
    """Open sessions, their guard on cameras, and closing with a report."""

    def __init__(
        self,
        settings: Settings,
        service: RecordingService,
        sessions: sessionmaker[Session],
        notify: Notify,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._service = service
        self._sessions = sessions
        self._notify = notify
        self._clock = clock
        self._open: dict[int, OpenSession] = {}
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._open = await asyncio.to_thread(self._load)

    def _load(self) -> dict[int, OpenSession]:
        with self._sessions() as session:
            tags = cases.open_sessions(session)
            cameras = cases.tag_cameras(session, [t.id for t in tags])
            return {
                t.id: OpenSession(t.id, t.case_number, t.kind, tuple(cameras[t.id]), t.start_us)
                for t in tags
            }

    # -- queries ------------------------------------------------------------------------------

    def for_camera(self, camera_id: str) -> OpenSession | None:
        for open_session in self._open.values():
            if camera_id in open_session.camera_ids:
                return open_session
        return None

    def open_cameras(self) -> set[str]:
        """The cameras of the interrogation sessions open now."""
        return {camera for opened in self._open.values() for camera in opened.camera_ids}

    def overdue(self, now_us: int) -> dict[str, str]:
        """Cameras of sessions open longer than ``cases.session_max_hours``, with a detail."""
        limit = int(self._settings.cases.session_max_hours * HOUR_US)
        result: dict[str, str] = {}
        for open_session in self._open.values():
            if now_us - open_session.start_us > limit:
                hours = (now_us - open_session.start_us) / HOUR_US
                for camera_id in open_session.camera_ids:
                    result[camera_id] = (
                        f"session {open_session.id} of case {open_session.case_number} "
                        f"open for {hours:.1f} h"
                    )
        return result

    # -- open -----------------------------------------------------------------------------------

    async def open(self, case_number: str, spec: cases.TagSpec) -> dict[str, Any]:
        """Open a session (raises ``cases.CaseError``)."""
        async with self._lock:
            tag_id = await asyncio.to_thread(self._open_in_catalog, case_number, spec)
            opened = OpenSession(
                tag_id, case_number, spec.kind.value, tuple(spec.camera_ids), spec.start_us
            )
            self._open[tag_id] = opened
        logger.info(
            "session %d of case %s opened on %s", tag_id, case_number, ", ".join(spec.camera_ids)
        )
        self._publish(opened, status="open")
        return await asyncio.to_thread(self.describe, tag_id)

    def _open_in_catalog(self, case_number: str, spec: cases.TagSpec) -> int:
        with self._sessions.begin() as session:
            case = cases.get_case(session, case_number)
            if case.status != "open":
                raise cases.ConflictError(f"case {case_number} is closed", field="number")
            clash = cases.overlapping_open_session(session, spec.camera_ids)
            if clash is not None:
                raise cases.ConflictError(
                    f"session {clash.id} of case {clash.case_number} is already open in this "
                    "room; close it first",
                    field="room",
                )
            tag = cases.add_tag(
                session, case=case, spec=spec, live_session=True, now_us=self._clock.wall_us()
            )
            return tag.id

    # -- close ----------------------------------------------------------------------------------

    async def close(self, tag_id: int, by: str | None) -> dict[str, Any]:
        """Close a session and return its completeness report (raises ``cases.CaseError``)."""
        async with self._lock:
            end_us = self._clock.wall_us()
            await asyncio.to_thread(self._close_in_catalog, tag_id, end_us)
            closed = self._open.pop(tag_id, None)
        camera_ids = list(closed.camera_ids) if closed else []
        await self._flush_segments(camera_ids, end_us)
        report = await asyncio.to_thread(self._store_report, tag_id, by)
        if closed is not None:
            self._publish(closed, status="closed", end_us=end_us)
        logger.info(
            "session %d closed: %s", tag_id, "complete" if report["complete"] else "INCOMPLETE"
        )
        return report

    def _close_in_catalog(self, tag_id: int, end_us: int) -> None:
        with self._sessions.begin() as session:
            tag = cases.get_tag(session, tag_id, live_session=True)
            cases.close_session(session, tag, end_us=end_us, now_us=end_us)

    async def _flush_segments(self, camera_ids: list[str], end_us: int) -> None:
        """Have each recording camera's segment that covers ``end_us`` written and catalogued."""
        waiting = []
        for camera_id in camera_ids:
            runtime = self._service.cameras.get(camera_id)
            if runtime is not None and runtime.recorder is not None and runtime.recorder.recording:
                runtime.recorder.request_cut()
                waiting.append(camera_id)
        deadline = time.monotonic() + self._settings.cases.close_wait_seconds
        while waiting and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            done = await asyncio.to_thread(self._catalogued_through, waiting, end_us)
            waiting = [c for c in waiting if c not in done]
        if waiting:
            logger.warning("session report: segments of %s not yet written", ", ".join(waiting))

    def _catalogued_through(self, camera_ids: list[str], end_us: int) -> set[str]:
        with self._sessions() as session:
            rows = session.execute(
                select(Segment.camera_id)
                .where(Segment.camera_id.in_(camera_ids), Segment.end_us >= end_us)
                .distinct()
            )
            return {camera_id for (camera_id,) in rows}

    def _store_report(self, tag_id: int, by: str | None) -> dict[str, Any]:
        report = self.report(tag_id)
        report["closed_by"] = by
        with self._sessions.begin() as session:
            tag = cases.get_tag(session, tag_id, live_session=True)
            tag.report = json.dumps(report, ensure_ascii=False)
        return report

    # -- reports and descriptions (any thread) ---------------------------------------------------

    def report(self, tag_id: int) -> dict[str, Any]:
        """The completeness report of a session as things stand now."""
        now = self._clock.wall_us()
        with self._sessions() as session:
            tag = cases.get_tag(session, tag_id, live_session=True)
            case = session.get(Case, tag.case_number)
            camera_ids = cases.tag_cameras(session, [tag_id])[tag_id]
            end_us = tag.end_us if tag.end_us is not None else now
            cameras = []
            for camera_id in camera_ids:
                runtime = self._service.cameras.get(camera_id)
                footage = tag_footage(
                    session,
                    tag,
                    camera_id,
                    now_us=now,
                    live_span=self._service.live_span(camera_id),
                )
                name = runtime.camera.name if runtime else camera_id
                cameras.append(camera_report(footage, name=name, root=self._settings.storage.path))
            return {
                "session": describe_tag(tag, camera_ids),
                "case": {"number": tag.case_number, "title": case.title if case else ""},
                "duration_seconds": round((end_us - tag.start_us) / 1e6, 3),
                "generated_at": isoformat_us(now),
                "final": tag.end_us is not None,
                "cameras": cameras,
                **summarize(cameras),
            }

    def describe(self, tag_id: int) -> dict[str, Any]:
        with self._sessions() as session:
            tag = cases.get_tag(session, tag_id, live_session=True)
            camera_ids = cases.tag_cameras(session, [tag_id])[tag_id]
            data = describe_tag(tag, camera_ids)
            data["report"] = json.loads(tag.report) if tag.report else None
            return data

    def _publish(self, opened: OpenSession, *, status: str, end_us: int | None = None) -> None:
        self._notify(
            "session",
            {
                **opened.badge(),
                "camera_ids": list(opened.camera_ids),
                "status": status,
                "end": isoformat_us(end_us) if end_us else None,
            },
        )


def describe_tag(tag: CaseTag, camera_ids: list[str]) -> dict[str, Any]:
    """A tag or session as the API shows it."""
    return {
        "id": tag.id,
        "case_number": tag.case_number,
        "kind": tag.kind,
        "session": tag.session,
        "status": tag.status,
        "site": tag.site_id,
        "room": tag.room,
        "camera_ids": camera_ids,
        "start": isoformat_us(tag.start_us),
        "end": isoformat_us(tag.end_us) if tag.end_us is not None else None,
        "persons": json.loads(tag.persons),
        "officers": json.loads(tag.officers),
        "note": tag.note,
        "created_at": isoformat_us(tag.created_us),
        "created_by": tag.created_by,
        "closed_at": isoformat_us(tag.closed_us) if tag.closed_us else None,
    }
