"""Each camera's reference picture: its view as it should be, for the comparing checks.

A camera's first patrol whose picture checks all pass keeps its picture as the reference (a
patrol user can take a new one after a camera is moved on purpose). Scene changed, and the
stricter forms of blurred, covered and colour cast, compare against it. References are PNG at
the analysis size (lossless, so a comparison never measures JPEG artefacts), one file per
camera id (ids are validated identifiers, safe as file names), replaced atomically. A loaded
reference is kept in memory until its file changes: a patrol compares with it every time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from patrol.picture import Picture
from recorder.files import write_durably


class ReferenceStore:
    """Reference pictures under one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: dict[str, tuple[tuple[int, int], Picture]] = {}
        """camera id → (the file's inode and modification time, its picture); a new reference
        is a new file (replaced atomically), so either tells it apart"""

    def path(self, camera_id: str) -> Path:
        return self.directory / f"{camera_id}.png"

    def load(self, camera_id: str) -> Picture | None:
        """The camera's reference, or None (none yet, or unreadable)."""
        import cv2

        path = self.path(camera_id)
        try:
            status = path.stat()
        except FileNotFoundError:
            return None
        loaded = self._loaded.get(camera_id)
        version = (status.st_ino, status.st_mtime_ns)
        if loaded is not None and loaded[0] == version:
            return loaded[1]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            return None
        picture = Picture.from_bgr(image)
        self._loaded[camera_id] = (version, picture)
        return picture

    def save(self, camera_id: str, picture: Picture) -> None:
        """Keep ``picture`` (its analysis-size colour) as the camera's reference."""
        import cv2

        ok, encoded = cv2.imencode(".png", picture.colour())
        if not ok:
            raise ValueError("PNG encoding failed")
        write_durably(self.path(camera_id), np.asarray(encoded).tobytes())

    def forget(self, camera_id: str) -> None:
        """Drop the camera's reference (the next passing patrol takes a new one)."""
        self.path(camera_id).unlink(missing_ok=True)
