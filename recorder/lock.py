"""One writer per storage directory: ``serve`` holds an exclusive lock on the storage root while
it records, and ``check --repair`` (which truncates, adopts and quarantines files) takes the same
lock, so it can never run against a live server and cut the file that server is writing.

The lock is ``flock`` on ``<storage>/.casewatch.lock``: the kernel drops it when the holder dies,
so a crash never leaves a stale lock. The file records the holder's pid and purpose for the
message the other side prints. The server's recorder worker processes inherit its descriptor,
so the lock is held until the last of them exits: a server started after a crash of the previous
one cannot record over files that one of its workers is still closing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".casewatch.lock"


class StorageBusy(Exception):
    """Another casewatch process holds the storage; the message names it."""


@contextlib.contextmanager
def storage_lock(root: Path, purpose: str, *, wait_seconds: float = 0.0) -> Iterator[int]:
    """Hold the storage's exclusive lock for the block (yields its descriptor, for worker
    processes to inherit); raises ``StorageBusy`` when another process holds it for longer
    than ``wait_seconds``."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                holder = path.read_text(encoding="utf-8", errors="replace").strip() or "unknown"
                raise StorageBusy(
                    f"storage.path: {root} is in use by another casewatch ({holder}); stop it first"
                ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, {purpose}".encode())
        yield fd
    finally:
        os.close(fd)  # the lock is released once no process holds the descriptor
