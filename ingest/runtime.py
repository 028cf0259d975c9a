"""The per-camera runtime: what is live about one camera, read by the recorder and the relay.

Ingest owns the camera's Hub and its supervised worker thread; the consumer that records the
camera (the recorder package's ``CameraRecorder``) is a type parameter, so the relay reads the
same object without knowing the recorder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from configs.schema import CameraSettings, SiteSettings
from ingest.hub import Hub
from ingest.supervisor import CameraWorker

RecorderT = TypeVar("RecorderT")


@dataclass
class CameraRuntime(Generic[RecorderT]):
    """Everything live about one camera: its settings, Hub, worker thread (``None`` while the
    camera is disabled) and recorder (``None`` when it is not recorded)."""

    site: SiteSettings
    camera: CameraSettings
    hub: Hub
    worker: CameraWorker | None
    recorder: RecorderT | None
