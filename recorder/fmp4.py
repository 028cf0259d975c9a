"""Reading the top-level boxes of a fragmented MP4, to adopt a file cut short by a crash."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class FragmentScan:
    """Where the last complete fragment of a file ends."""

    has_header: bool  # ftyp + moov present
    fragments: int  # complete moof+mdat pairs
    complete_bytes: int  # offset just after the last complete box worth keeping
    file_bytes: int


def scan(path: Path) -> FragmentScan:
    """Walk top-level boxes; a box that runs past the end of the file is incomplete."""
    size = path.stat().st_size
    offset = 0
    has_ftyp = has_moov = False
    fragments = 0
    keep = 0
    pending_moof = False
    with path.open("rb") as handle:
        while offset + 8 <= size:
            handle.seek(offset)
            header = handle.read(16)
            box_size, box_type = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) >= 16:
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:
                box_size = size - offset
            if box_size < 8 or offset + box_size > size:
                break
            offset += box_size
            if box_type == b"ftyp":
                has_ftyp = True
            elif box_type == b"moov":
                has_moov = True
                keep = offset
            elif box_type == b"moof":
                pending_moof = True
            elif box_type == b"mdat" and pending_moof:
                pending_moof = False
                fragments += 1
                keep = offset
            elif box_type == b"mfra" and not pending_moof:
                keep = offset
    return FragmentScan(has_ftyp and has_moov, fragments, keep, size)
