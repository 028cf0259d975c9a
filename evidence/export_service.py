"""The export worker: queues export requests and builds them one at a time in the background.

``create`` validates a request and stores it ``queued`` (resolved to camera ranges, so a re-run
builds the same package). One worker thread claims the oldest queued export, asks recording
cameras to finish the segment that holds the end of a range (waiting up to
``cases.close_wait_seconds``), builds the package with ``evidence.export.build_package``
(progress stored as it goes) and marks it ``done`` only after the package was renamed into
place. Exports run strictly one after another on a node: disk and CPU stay with recording.

At start-up, exports left ``running`` by a stopped or killed process go back to ``queued`` and
are built again from scratch; the work directory with their leftovers is removed. Finished
packages are deleted after ``export.keep_days`` (the row stays, its download answers 410).
The signing key is loaded or created at start; if that fails the server still records and the
export endpoints answer 503 with the reason.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from configs.schema import Area, Settings
from evidence.export import ExportJob, build_package, work_root
from evidence.export_errors import ExportCancelled, ExportFailed
from evidence.export_request import ExportRequestError, Item, Selection, find_case, resolve
from evidence.signing import SigningKey, SigningKeyError, load_or_create
from ingest.clock import Clock, isoformat_us
from recorder.models import Export, ExportStatus, Segment, TagKind
from recorder.service import RecordingService

logger = logging.getLogger(__name__)

DAY_US = 86_400 * 1_000_000
PROGRESS_INTERVAL_S = 0.5
EXPIRE_INTERVAL_S = 3600.0
IDLE_WAIT_S = 60.0


MAX_UNFINISHED_PER_USER = 10
"""Exports one user may have waiting for approval, queued or running at once."""
UNFINISHED = (
    ExportStatus.PENDING_APPROVAL.value,
    ExportStatus.QUEUED.value,
    ExportStatus.RUNNING.value,
)


class ExportsUnavailable(Exception):
    """Exports cannot be made on this node now (no signing key)."""


class ExportService:
    """Export queue and worker thread. ``start``/``stop`` block (call them off the event loop)."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        clock: Clock,
        recording: RecordingService | None = None,
        catalog_checkpoint: Callable[[], dict[str, Any] | None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._recording = recording
        self._catalog_checkpoint = catalog_checkpoint
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.key: SigningKey | None = None
        self.key_error: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Load (or create) the signing key, re-queue interrupted exports, start the worker."""
        try:
            self.key = load_or_create(self._settings.export.signing_key)
        except SigningKeyError as error:
            self.key_error = f"export.signing_key: {error}"
            logger.error("exports disabled: %s", self.key_error)
        self._settings.export.path.mkdir(parents=True, exist_ok=True)
        self._requeue_interrupted()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="exports", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker; a build in progress is abandoned and re-run at the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _requeue_interrupted(self) -> None:
        shutil.rmtree(work_root(self._settings), ignore_errors=True)
        with self._sessions.begin() as session:
            result = session.execute(
                update(Export)
                .where(Export.status == ExportStatus.RUNNING.value)
                .values(status=ExportStatus.QUEUED.value, progress=0.0, started_us=None)
            )
            count = cast(CursorResult[Any], result).rowcount
        if count:
            logger.warning("%d interrupted export(s) queued to be built again", count)

    # -- requests (any thread) ---------------------------------------------------------------

    @property
    def public_key(self) -> SigningKey:
        if self.key is None:
            raise ExportsUnavailable(self.key_error or "exports are not started")
        return self.key

    def create(self, number: str, selection: Selection, by: str | None) -> Export:
        """Validate and queue an export — or, four-eyes, hold it ``pending_approval`` when it
        takes interrogation footage; raises ``ExportRequestError`` or ``ExportsUnavailable``."""
        self.public_key  # noqa: B018 - no key, no export
        now = self._clock.wall_us()
        with self._sessions.begin() as session:
            waiting = session.scalar(
                select(func.count())
                .select_from(Export)
                .where(Export.created_by == by, Export.status.in_(UNFINISHED))
            )
            if by is not None and (waiting or 0) >= MAX_UNFINISHED_PER_USER:
                raise ExportRequestError(
                    f"you have {MAX_UNFINISHED_PER_USER} exports waiting or running; let them "
                    "finish first",
                    field="case",
                    kind="busy",
                )
            case = find_case(session, number, self._settings.cases.number_patterns)
            items = resolve(session, case=case, selection=selection, now_us=now, live=self._live)
            pending = self._settings.access.four_eyes and self._interrogation(items)
            row = Export(
                id=secrets.token_hex(8),
                case_number=case.number,
                request=json.dumps(
                    {
                        "selection": _selection_json(selection),
                        "items": [item.to_json() for item in items],
                    },
                    ensure_ascii=False,
                ),
                status=(ExportStatus.PENDING_APPROVAL if pending else ExportStatus.QUEUED).value,
                progress=0.0,
                created_by=by,
                created_us=now,
            )
            session.add(row)
        logger.info(
            "export %s of case %s %s (%d ranges)", row.id, case.number, row.status, len(items)
        )
        self._wake.set()
        return row

    def _interrogation(self, items: Sequence[Item]) -> bool:
        """Whether an export takes interrogation footage: a session or an interrogation tag,
        or a camera of an interrogation room."""
        rooms = {c.id for _site, c in self._settings.cameras() if c.area is Area.INTERROGATION}
        return any(
            item.camera_id in rooms
            or any(s.get("session") or s.get("kind") == TagKind.INTERROGATION for s in item.sources)
            for item in items
        )

    def decide(self, export_id: str, *, by: str, approve: bool, reason: str = "") -> Export:
        """Four-eyes: a second user approves (queued) or refuses (with a reason) an export
        waiting for approval. The requester cannot decide their own request."""
        with self._sessions.begin() as session:
            row = session.get(Export, export_id)
            if row is None:
                raise ExportRequestError(
                    f"no export {export_id}", field="export_id", kind="not_found"
                )
            if row.status != ExportStatus.PENDING_APPROVAL.value:
                raise ExportRequestError(
                    f"export {export_id} is {row.status}, not waiting for approval",
                    field="export_id",
                    kind="conflict",
                )
            if row.created_by == by:
                raise ExportRequestError(
                    "a second user must approve: you asked for this export",
                    field="export_id",
                    kind="forbidden",
                )
            row.status = (ExportStatus.QUEUED if approve else ExportStatus.REFUSED).value
            row.decided_by, row.decided_us = by, self._clock.wall_us()
            if not approve:
                row.error = f"refused by {by}: {reason}"
        self._wake.set()
        return row

    def pending(self) -> Sequence[Export]:
        """Exports waiting for a second user, oldest first."""
        with self._sessions() as session:
            return session.scalars(
                select(Export)
                .where(Export.status == ExportStatus.PENDING_APPROVAL.value)
                .order_by(Export.created_us)
            ).all()

    def get(self, export_id: str) -> Export | None:
        with self._sessions() as session:
            return session.get(Export, export_id)

    def for_case(self, number: str) -> Sequence[Export]:
        """The case's exports, newest first; raises ``ExportRequestError`` for a bad number."""
        with self._sessions() as session:
            case = find_case(session, number, self._settings.cases.number_patterns)
            return session.scalars(
                select(Export)
                .where(Export.case_number == case.number)
                .order_by(Export.created_us.desc())
            ).all()

    def queue_position(self, row: Export) -> int | None:
        """1 for the next export to run, … ; None unless queued."""
        if row.status != ExportStatus.QUEUED.value:
            return None
        with self._sessions() as session:
            ahead = session.scalar(
                select(func.count())
                .select_from(Export)
                .where(Export.status == ExportStatus.QUEUED.value)
                .where(Export.created_us < row.created_us)
            )
        return int(ahead or 0) + 1

    # -- the worker ----------------------------------------------------------------------------

    def _run(self) -> None:
        next_expiry = 0.0
        while not self._stopping.is_set():
            if time.monotonic() >= next_expiry:
                self.expire()
                next_expiry = time.monotonic() + EXPIRE_INTERVAL_S
            job = self._claim() if self.key is not None else None
            if job is None:
                self._wake.wait(IDLE_WAIT_S)
                self._wake.clear()
                continue
            self._build(job)

    def _claim(self) -> ExportJob | None:
        """Mark the oldest queued export running (atomically: one node, one builder)."""
        with self._sessions.begin() as session:
            row = session.scalars(
                select(Export)
                .where(Export.status == ExportStatus.QUEUED.value)
                .order_by(Export.created_us, Export.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            result = session.execute(
                update(Export)
                .where(Export.id == row.id, Export.status == ExportStatus.QUEUED.value)
                .values(
                    status=ExportStatus.RUNNING.value,
                    started_us=self._clock.wall_us(),
                    progress=0.0,
                    error=None,
                )
            )
            claimed = cast(CursorResult[Any], result).rowcount
            if not claimed:
                return None
            items = [Item.from_json(item) for item in json.loads(row.request)["items"]]
            return ExportJob(row.id, row.case_number, items, row.created_by, row.created_us)

    def _build(self, job: ExportJob) -> None:
        assert self.key is not None
        logger.info("export %s: building", job.export_id)
        started = time.monotonic()
        try:
            self._flush(job.items)
            built = build_package(
                job,
                settings=self._settings,
                sessions=self._sessions,
                key=self.key,
                clock=self._clock,
                live_span=self._live_span,
                progress=self._progress_writer(job.export_id),
                cancelled=self._stopping.is_set,
                catalog_checkpoint=self._catalog_checkpoint,
            )
        except ExportCancelled:
            logger.info("export %s: stopped; it is built again at the next start", job.export_id)
            self._finish(job.export_id, status=ExportStatus.QUEUED, progress=0.0, started_us=None)
            return
        except ExportFailed as error:
            logger.warning("export %s failed: %s", job.export_id, error)
            self._finish(job.export_id, status=ExportStatus.FAILED, error=str(error))
            return
        except OSError as error:
            logger.error("export %s: cannot write the package: %s", job.export_id, error)
            reason = f"cannot write the package: {error.strerror or error}"
            self._finish(job.export_id, status=ExportStatus.FAILED, error=reason)
            return
        except Exception as error:
            logger.exception("export %s: unexpected error", job.export_id)
            self._finish(job.export_id, status=ExportStatus.FAILED, error=f"internal: {error}")
            return
        logger.info(
            "export %s done: %s, %d bytes in %.2f s",
            job.export_id,
            built.path.name,
            built.size,
            time.monotonic() - started,
        )
        self._finish(
            job.export_id,
            status=ExportStatus.DONE,
            progress=1.0,
            path=str(built.path),
            size_bytes=built.size,
            sha256=built.sha256,
        )

    def _finish(self, export_id: str, *, status: ExportStatus, **values: Any) -> None:
        if status is not ExportStatus.QUEUED:
            values["finished_us"] = self._clock.wall_us()
        with self._sessions.begin() as session:
            session.execute(
                update(Export).where(Export.id == export_id).values(status=status.value, **values)
            )

    def _progress_writer(self, export_id: str) -> Any:
        last = [0.0]

        def write(fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_INTERVAL_S:
                return
            last[0] = now
            with self._sessions.begin() as session:
                session.execute(
                    update(Export)
                    .where(Export.id == export_id)
                    .values(progress=round(min(max(fraction, 0.0), 0.99), 3))
                )

        return write

    # -- recording cameras -----------------------------------------------------------------------

    def _live_span(self, camera_id: str) -> tuple[int, int] | None:
        """The segment being written by this camera, if any."""
        if self._recording is None:
            return None
        runtime = self._recording.cameras.get(camera_id)
        if runtime is None or runtime.recorder is None or not runtime.recorder.recording:
            return None
        return self._recording.live_span(camera_id)

    def _live(self, camera_id: str, start_us: int, end_us: int) -> bool:
        span = self._live_span(camera_id)
        return (
            span is not None and span[0] < end_us and max(span[1], self._clock.wall_us()) > start_us
        )

    def _flush(self, items: Sequence[Item]) -> None:
        """Have the segments holding the ends of the ranges written and catalogued, so footage
        up to the end is in the package (waits at most ``cases.close_wait_seconds``).

        A camera whose segment being written started before a range's end is asked to cut at
        the next keyframe; the wait for it is over once that segment has its catalog row (the
        newest row ends after the start of the segment that was being written).
        """
        waiting: dict[str, int] = {}  # camera → start of its segment being written
        for item in items:
            span = self._live_span(item.camera_id)
            if span is not None and span[0] < item.end_us:
                waiting[item.camera_id] = span[0]
        for camera_id in waiting:
            runtime = self._recording.cameras.get(camera_id) if self._recording else None
            if runtime is not None and runtime.recorder is not None:
                runtime.recorder.request_cut()
        deadline = time.monotonic() + self._settings.cases.close_wait_seconds
        while waiting and time.monotonic() < deadline and not self._stopping.is_set():
            self._stopping.wait(0.1)
            with self._sessions() as session:
                rows = session.execute(
                    select(Segment.camera_id, func.max(Segment.end_us))
                    .where(Segment.camera_id.in_(list(waiting)))
                    .group_by(Segment.camera_id)
                ).all()
            ends = {camera_id: int(end) for camera_id, end in rows}
            waiting = {c: start for c, start in waiting.items() if ends.get(c, 0) <= start}
        if waiting:
            logger.warning("export: segments of %s not catalogued in time", ", ".join(waiting))

    # -- retention of packages -------------------------------------------------------------------

    def expire(self) -> int:
        """Delete packages finished more than ``export.keep_days`` ago; how many were deleted."""
        cutoff = self._clock.wall_us() - int(self._settings.export.keep_days * DAY_US)
        deleted = 0
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(Export).where(
                    Export.status == ExportStatus.DONE.value,
                    Export.path.is_not(None),
                    Export.finished_us < cutoff,
                )
            ).all()
            for row in rows:
                assert row.path is not None
                Path(row.path).unlink(missing_ok=True)
                row.path = None
                row.error = f"package deleted after {self._settings.export.keep_days:g} days"
                deleted += 1
        if deleted:
            logger.info("deleted %d expired export package(s)", deleted)
        return deleted


def _selection_json(selection: Selection) -> dict[str, Any]:
    data = asdict(selection)
    if selection.ranges is not None:
        data["ranges"] = [
            {
                "camera": spec.camera,
                "start": isoformat_us(spec.start_us),
                "end": isoformat_us(spec.end_us),
            }
            for spec in selection.ranges
        ]
    return data


def describe(row: Export, *, position: int | None = None) -> dict[str, Any]:
    """The API's view of an export."""
    ready = row.status == ExportStatus.DONE.value and row.path is not None
    request = json.loads(row.request)
    return {
        "id": row.id,
        "case_number": row.case_number,
        "status": row.status,
        "progress": 1.0 if row.status == ExportStatus.DONE.value else round(row.progress, 3),
        "queue_position": position,
        "size": row.size_bytes,
        "sha256": row.sha256,
        "error": row.error,
        "created_by": row.created_by,
        "created_at": isoformat_us(row.created_us),
        "decided_by": row.decided_by,
        "decided_at": isoformat_us(row.decided_us) if row.decided_us else None,
        "started_at": isoformat_us(row.started_us) if row.started_us else None,
        "finished_at": isoformat_us(row.finished_us) if row.finished_us else None,
        "ranges": len(request.get("items", [])),
        "file_name": Path(row.path).name if ready and row.path else None,
        "download_url": f"/api/v1/exports/{row.id}/download" if ready else None,
    }
