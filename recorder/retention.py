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

logger = logging.getLogger(__name__)

DAY_US = 86_400 * 1_000_000
PAGE = 2_000
"""Segments planned and marked per transaction."""
PRUNE_EVERY_SECONDS = 3_600.0
"""How often the logs are pruned (``retention.log_keep_days``)."""


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
        self._present_bytes: int | None = None
        self._pruned_at: float | None = None
        self._counted_through_id = 0

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
                self.prune_if_due()
            except Exception:
                logger.exception("retention pass failed")

    def prune_if_due(self) -> dict[str, int] | None:
        """Remove logs older than ``log_keep_days`` (at most hourly); returns what went."""
        now = self._clock.monotonic()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY_SECONDS:
            return None
        self._pruned_at = now
        before = self._clock.wall_us() - int(self._settings.log_keep_days * DAY_US)
        with self._sessions.begin() as session:
            removed = catalog.prune_logs(session, before_us=before)
        if any(removed.values()):
            logger.info(
                "pruned logs older than %g days: %s",
                self._settings.log_keep_days,
                ", ".join(f"{count} {name}" for name, count in removed.items() if count),
            )
        return removed

    def present_bytes(self, session: Session) -> int:
        """Bytes of present footage: summed over the catalog once, then kept by adding what was
        written since (by segment id) and subtracting what retention deletes."""
        added, self._counted_through_id = catalog.present_bytes_since(
            session, after_id=self._counted_through_id
        )
        self._present_bytes = (self._present_bytes or 0) + added
        return self._present_bytes

    def bytes_to_free(self, session: Session) -> int:
        need = 0
        if self._settings.max_bytes is not None:
            need = self.present_bytes(session) - self._settings.max_bytes
        free = shutil.disk_usage(self._root).free
        return max(need, self._settings.min_free_bytes - free, 0)

    def run_once(self) -> Plan:
        """One pass; returns what it deleted and the space it could not free.

        The pass walks every present segment oldest first, a page at a time (no fixed window:
        held footage in front of unheld footage cannot stall it), plans each page with ``plan``
        and marks the page's choice ``deleted`` in one statement that checks the holds again
        (``catalog.delete_unless_held``); only then are the files unlinked."""
        now = self._clock.wall_us()
        max_age = self._settings.max_age_days
        max_age_us = int(max_age * DAY_US) if max_age is not None else None
        age_limit = now - max_age_us if max_age_us is not None else None
        with self._sessions() as session:
            need = self.bytes_to_free(session)
            # for planning; the delete statement checks the holds again when it marks
            holds = [Hold(h.camera_id, h.start_us, h.end_us) for h in catalog.active_holds(session)]
        freed = 0
        deleted: list[int] = []
        after: tuple[int, int] | None = None
        while True:
            wanted = need - freed
            with self._sessions() as session:
                rows = catalog.present_segments_after(
                    session,
                    after=after,
                    before_us=None if wanted > 0 else age_limit,
                    limit=PAGE,
                )
                if not rows or (wanted <= 0 and age_limit is None):
                    break
            after = (rows[-1].start_us, rows[-1].id)
            candidates = [
                Candidate(r.id, r.camera_id, r.start_us, r.end_us, r.size_bytes) for r in rows
            ]
            page = plan(candidates, holds, now_us=now, max_age_us=max_age_us, bytes_to_free=wanted)
            if page.delete:
                with self._sessions.begin() as session:
                    marked = catalog.delete_unless_held(session, segment_ids=page.delete, at_us=now)
                by_id = {r.id: r for r in rows}
                for segment_id in marked:
                    (self._root / by_id[segment_id].path).unlink(missing_ok=True)
                    freed += by_id[segment_id].size_bytes
                    if self._present_bytes is not None:
                        self._present_bytes -= by_id[segment_id].size_bytes
                deleted += marked
        self.deleted_total += len(deleted)
        if deleted:
            logger.info("retention deleted %d segments (%d bytes)", len(deleted), freed)
        short_by = max(0, need - freed)
        if short_by > 0:
            message = (
                f"storage needs {short_by} more bytes but only held "
                "footage is left; nothing held was deleted"
            )
            logger.error(message)
            self.on_shortfall(message)
        else:
            self.on_shortfall(None)
        return Plan(deleted, short_by)
