"""Salvage a segment file that was cut short (a crash, a disk error): keep every complete
fragment, drop the partial one, and read back what it holds.

Used by start-up recovery for files without rows, and by a camera's recorder at once when its
disk fails mid-segment, so the footage written before the fault is catalogued rather than lost to
the recorder's own bookkeeping.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from recorder import fmp4
from recorder.files import sha256_file
from recorder.probe import ProbeResult, probe


class Unsalvageable(Exception):
    """The file holds no playable footage; the message says why."""


@dataclass(frozen=True, slots=True)
class Salvaged:
    """A file cut back to its last complete fragment."""

    info: ProbeResult
    size_bytes: int
    sha256: str
    removed_bytes: int
    """Bytes of a partial fragment that were cut off."""


def salvage(path: Path) -> Salvaged:
    """Truncate ``path`` to its last complete fragment (fsynced) and probe it; raises
    ``Unsalvageable`` when nothing playable is left, ``OSError`` when the disk fails."""
    scan = fmp4.scan(path)
    if not scan.has_header or scan.fragments == 0:
        raise Unsalvageable("no complete fragment")
    if scan.complete_bytes < scan.file_bytes:
        with path.open("r+b") as handle:
            handle.truncate(scan.complete_bytes)
            handle.flush()
            os.fsync(handle.fileno())
    try:
        info = probe(path)
    except OSError:
        raise
    except Exception as error:
        raise Unsalvageable(f"unreadable: {error}") from None
    size, digest = sha256_file(path)
    return Salvaged(info, size, digest, scan.file_bytes - scan.complete_bytes)
