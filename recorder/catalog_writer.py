"""A single thread that applies catalog writes in order, retrying while the database is away.

Camera threads never wait for the database: they submit commands (closures over a Session) and go
on recording. Order is preserved, so a camera's segment rows are inserted in hash-chain order.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

Command = Callable[[Session], None]


class CatalogWriter:
    """Runs submitted commands one by one, each in its own transaction."""

    def __init__(self, sessions: sessionmaker[Session], *, retry_seconds: float = 1.0) -> None:
        self._sessions = sessions
        self._queue: queue.Queue[Command | None] = queue.Queue()
        self._retry = retry_seconds
        self._thread = threading.Thread(target=self._run, name="catalog-writer", daemon=True)
        self._idle = threading.Condition()
        self._pending = 0
        self.failures = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, command: Command) -> None:
        """Any thread: queue a write."""
        with self._idle:
            self._pending += 1
        self._queue.put(command)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every submitted command is applied; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def stop(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            command = self._queue.get()
            if command is None:
                return
            while True:
                try:
                    with self._sessions.begin() as session:
                        command(session)
                    break
                except IntegrityError:
                    self.failures += 1
                    logger.exception("catalog write violates a constraint and was skipped")
                    break
                except SQLAlchemyError:
                    self.failures += 1
                    logger.exception("catalog write failed; retrying in %.1f s", self._retry)
                    time.sleep(self._retry)
                except Exception:
                    self.failures += 1
                    logger.exception("catalog command failed and was skipped")
                    break
            with self._idle:
                self._pending -= 1
                if not self._pending:
                    self._idle.notify_all()
