"""Each camera's reference picture: its view as it should be, for the comparing checks.

A camera's first patrol whose picture checks all pass keeps its picture as the reference (a
patrol user can take a new one after a camera is moved on purpose). Scene changed, and the
stricter forms of blurred, covered and colour cast, compare against it. References are PNG at
the analysis size (lossless, so a comparison never measures JPEG artefacts), one file per
camera id (ids are validated identifiers, safe as file names), replaced atomically.
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

    def path(self, camera_id: str) -> Path:
        return self.directory / f"{camera_id}.png"

    def load(self, camera_id: str) -> Picture | None:
        """The camera's reference, or None (none yet, or unreadable)."""
        import cv2

        path = self.path(camera_id)
        if not path.is_file():
            return None
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        return None if image is None else Picture.from_bgr(image)

    def save(self, camera_id: str, picture: Picture) -> None:
        """Keep ``picture`` (its analysis-size colour) as the camera's reference."""
        import cv2

        ok, encoded = cv2.imencode(".png", picture.bgr)
        if not ok:
            raise ValueError("PNG encoding failed")
        write_durably(self.path(camera_id), np.asarray(encoded).tobytes())

    def forget(self, camera_id: str) -> None:
        """Drop the camera's reference (the next passing patrol takes a new one)."""
        self.path(camera_id).unlink(missing_ok=True)
