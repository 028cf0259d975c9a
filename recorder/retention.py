"""Retention by age and by space, never deleting held footage (invariant 3).

``plan`` is pure and table-tested; ``RetentionTask`` gathers the inputs, deletes files and keeps a
tombstone row (status ``deleted``, hash kept) so the hash chain stays verifiable and the gap has
its cause.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from configs.schema import RetentionSettings
from ingest.clock import Clock
from recorder import catalog
from recorder.models import SegmentStatus

logger = logging.getLogger(__name__)

DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    camera_id: str
    start_us: int
    end_us: int
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Hold:
    camera_id: str
    start_us: int
    end_us: int | None  # None: open-ended


@dataclass(frozen=True, slots=True)
class Plan:
    delete: list[int]
    short_by_bytes: int  # space still needed that only held footage could give


def is_held(candidate: Candidate, holds: Sequence[Hold]) -> bool:
    return any(
        hold.camera_id == candidate.camera_id
        and candidate.end_us > hold.start_us
        and (hold.end_us is None or candidate.start_us < hold.end_us)
        for hold in holds
    )


def plan(
    candidates: Sequence[Candidate],
    holds: Sequence[Hold],
    *,
    now_us: int,
    max_age_us: int | None,
    bytes_to_free: int,
) -> Plan:
    """Oldest-first: delete unheld footage past its age, then more until enough space is free."""
    delete: list[int] = []
    freed = 0
    for candidate in sorted(candidates, key=lambda c: c.start_us):
        if is_held(candidate, holds):
            continue
        too_old = max_age_us is not None and candidate.end_us < now_us - max_age_us
        if too_old or freed < bytes_to_free:
            delete.append(candidate.id)
            freed += candidate.size_bytes
    return Plan(delete, max(0, bytes_to_free - freed))


class RetentionTask:
    """Runs retention every ``interval_seconds`` on its own thread."""

    def __init__(
        self,
        settings: RetentionSettings,
        root: Path,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        on_shortfall: Callable[[str | None], None] = lambda message: None,
    ) -> None:
        self._settings = settings
        self._root = root
        self._sessions = sessions
        self._clock = clock
        self.on_shortfall = on_shortfall
        """Called after every pass (retention thread): a message while only held footage is
        left to free space, None otherwise."""
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)
        self.deleted_total = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def wake(self) -> None:
        """Any thread: run a pass now (a write failed for lack of space)."""
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self._settings.interval_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.run_once()
            except Exception:
                logger.exception("retention pass failed")

    def bytes_to_free(self, session: Session) -> int:
        need = 0
        if self._settings.max_bytes is not None:
            need = catalog.present_bytes(session) - self._settings.max_bytes
        free = shutil.disk_usage(self._root).free
        return max(need, self._settings.min_free_bytes - free, 0)

    def run_once(self) -> Plan:
        """One pass; returns what it decided."""
        now = self._clock.wall_us()
        max_age = self._settings.max_age_days
        max_age_us = int(max_age * DAY_US) if max_age is not None else None
        with self._sessions() as session:
            need = self.bytes_to_free(session)
            before = None if need > 0 or max_age_us is None else now - max_age_us
            rows = catalog.present_segments_oldest_first(session, before_us=before, limit=5000)
            candidates = [
                Candidate(r.id, r.camera_id, r.start_us, r.end_us, r.size_bytes) for r in rows
            ]
            paths = {r.id: r.path for r in rows}
            holds = [Hold(h.camera_id, h.start_us, h.end_us) for h in catalog.active_holds(session)]
        decided = plan(candidates, holds, now_us=now, max_age_us=max_age_us, bytes_to_free=need)
        for segment_id in decided.delete:
            (self._root / paths[segment_id]).unlink(missing_ok=True)
            with self._sessions.begin() as session:
                catalog.mark_segment(
                    session, segment_id=segment_id, status=SegmentStatus.DELETED, at_us=now
                )
        self.deleted_total += len(decided.delete)
        if decided.delete:
            logger.info("retention deleted %d segments", len(decided.delete))
        if decided.short_by_bytes > 0:
            message = (
                f"storage needs {decided.short_by_bytes} more bytes but only held "
                "footage is left; nothing held was deleted"
            )
            logger.error(message)
            self.on_shortfall(message)
        else:
            self.on_shortfall(None)
        return decided
