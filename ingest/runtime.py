"""The per-camera runtime: what is live about one camera, read by the recorder and the relay.

Ingest owns the camera's Hub and its supervised worker thread; the consumer that records the
camera (the recorder package's ``CameraRecorder``) is a type parameter, so the relay reads the
same object without knowing the recorder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from configs.schema import CameraSettings, SiteSettings
from ingest.events import CameraState, Cause
from ingest.hub import Hub
from ingest.supervisor import CameraStats

RecorderT = TypeVar("RecorderT")


class CameraReader(Protocol):
    """What readers see of the thread that reads a camera: `ingest.supervisor.CameraWorker`
    in this process, or its report from a recorder worker process."""

    state: CameraState
    cause: Cause | None
    detail: str
    since_us: int
    stats: CameraStats
    camera_clock_offset_us: int | None


@dataclass
class CameraRuntime(Generic[RecorderT]):
    """Everything live about one camera: its settings, Hub, reader (``None`` while the camera
    is disabled) and recorder (``None`` when it is not recorded)."""

    site: SiteSettings
    camera: CameraSettings
    hub: Hub
    worker: CameraReader | None
    recorder: RecorderT | None
