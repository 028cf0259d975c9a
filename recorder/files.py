"""Durable files: fsync a file or a directory, and the SHA-256 of a file or any byte stream.

A file is durable only when its bytes and the directory entry that names it are both on disk
(recorder/DESIGN.md, "Writing a segment"): every writer of segments, export packages and keys
uses these, so the procedure is written once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

CHUNK = 1 << 20


def fsync_file(path: Path) -> None:
    """Flush a written file's bytes to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path: Path) -> None:
    """Flush a directory, so the entries created or renamed in it survive a power loss."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_directories(directory: Path) -> None:
    """Create ``directory`` and its missing parents, fsyncing each new directory's parent so
    the new entries survive a power loss (a camera's first day and hour directories)."""
    missing = []
    current = directory
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        fsync_directory(new.parent)


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` all at once: written beside it, fsynced, renamed over it,
    its directory fsynced. A reader sees the old file or the new one, never half of one."""
    make_directories(path.parent)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)
    fsync_directory(path.parent)


def sha256_stream(
    stream: IO[bytes], *, each_chunk: Callable[[], None] | None = None
) -> tuple[int, str]:
    """(size, hex SHA-256) of what is left to read in ``stream``; ``each_chunk`` is called after
    every 1 MiB read and may raise to abandon the work (a cancelled export)."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if each_chunk is not None:
            each_chunk()
    return size, digest.hexdigest()


def sha256_file(path: Path, *, each_chunk: Callable[[], None] | None = None) -> tuple[int, str]:
    """(size, hex SHA-256) of a file."""
    with path.open("rb") as file:
        return sha256_stream(file, each_chunk=each_chunk)
