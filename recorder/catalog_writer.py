"""A single thread that applies catalog writes in order, waiting out a catalog that is away.

Camera threads never wait for the database: they submit commands (closures over a Session) and go
on recording. Order is preserved, so a camera's segment rows are inserted in hash-chain order.

Policy while the catalog is unavailable (locked, stopped, unreachable):

* the command at the head is retried with a backoff (0.5 s doubling to 10 s) until it applies;
  everything behind it waits in order. The outage is logged once when it starts and once when it
  ends, and ``stalled_seconds`` (the age of the oldest waiting write) drives the
  ``catalog_unavailable`` alarm.
* the queue is bounded (``max_pending``). Camera events are the first to go: once half of it is
  taken, new ones are dropped (counted in ``dropped``; gap causes are rebuilt from run ends).
  Footage rows (runs, segments) fill the rest; beyond it they are dropped too and counted, and
  their files stay on disk for start-up recovery to adopt — the footage is kept, only its row
  waits for the next start.
* a command that violates a constraint is skipped (counted in ``failures``), never retried.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

Command = Callable[[Session], None]

DEFAULT_MAX_PENDING = 50_000
"""About two days of rows for 16 cameras, or four hours for 200."""
RETRY_INITIAL_SECONDS = 0.5
RETRY_MAX_SECONDS = 10.0


class CatalogWriter:
    """Runs submitted commands one by one, each in its own transaction."""

    def __init__(
        self, sessions: sessionmaker[Session], *, max_pending: int = DEFAULT_MAX_PENDING
    ) -> None:
        self._sessions = sessions
        self._max_pending = max_pending
        self._queue: collections.deque[tuple[float, Command | None]] = collections.deque()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="catalog-writer", daemon=True)
        self.failures = 0
        """Commands skipped because they failed for good."""
        self.dropped = 0
        """Commands not queued because the queue was full (see the module's policy)."""
        self.last_error: str | None = None
        """Why the catalog refuses writes now (``None`` while writes go through)."""

    def start(self) -> None:
        self._thread.start()

    def submit(self, command: Command, *, droppable: bool = False) -> bool:
        """Any thread, never blocks: queue a write; False when the queue policy dropped it
        (``droppable``: an event row, the first to go)."""
        with self._changed:
            limit = self._max_pending // 2 if droppable else self._max_pending
            if len(self._queue) >= limit:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    logger.error(
                        "catalog write queue is full (%d waiting): %d writes dropped so far",
                        len(self._queue),
                        self.dropped,
                    )
                return False
            self._queue.append((time.monotonic(), command))
            self._changed.notify_all()
            return True

    @property
    def pending(self) -> int:
        return len(self._queue)

    def stalled_seconds(self) -> float:
        """Any thread: how long the oldest waiting write has waited (0 when none waits)."""
        with self._changed:
            return time.monotonic() - self._queue[0][0] if self._queue else 0.0

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every submitted command is applied; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._queue:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def stop(self, timeout: float = 30.0) -> None:
        if not self.flush(timeout):
            logger.error("catalog writer stopped with %d writes not applied", self.pending)
        with self._changed:
            self._queue.append((time.monotonic(), None))
            self._changed.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._queue:
                    self._changed.wait()
                command = self._queue[0][1]
            if command is None:
                return
            self._apply(command)
            with self._changed:
                self._queue.popleft()
                self._changed.notify_all()

    def _apply(self, command: Command) -> None:
        delay, outage_started = RETRY_INITIAL_SECONDS, 0.0
        while True:
            try:
                with self._sessions.begin() as session:
                    command(session)
                break
            except IntegrityError:
                self.failures += 1
                logger.exception("catalog write violates a constraint and was skipped")
                break
            except SQLAlchemyError as error:
                if self.last_error is None:
                    outage_started = time.monotonic()
                    logger.error(
                        "catalog unavailable, writes wait (%d queued): %s",
                        self.pending,
                        str(error).splitlines()[0],
                    )
                self.last_error = str(error).splitlines()[0]
                time.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
            except Exception:
                self.failures += 1
                logger.exception("catalog command failed and was skipped")
                break
        if self.last_error is not None:
            self.last_error = None
            logger.warning(
                "catalog available again after %.1f s; %d queued writes follow",
                time.monotonic() - outage_started if outage_started else 0.0,
                self.pending - 1,
            )
