"""Where live viewers get their packets: the camera's main hub, or a sub-stream hub on demand.

The main stream is always read (the recorder needs it), so viewers of the main stream add no
camera connection. A camera's ``substream_url`` (low resolution, for grid tiles) is opened only
while someone watches it and closed ``substream_idle_seconds`` after the last viewer leaves; a
camera without one serves its main stream to grid tiles as well. The live audio of a stream
(``relay.audio``) is created with it and shared by every listener of that stream.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from configs.schema import IngestSettings
from ingest.clock import Clock
from ingest.events import StateChange
from ingest.hub import Hub
from ingest.runtime import CameraRuntime
from ingest.supervisor import CameraWorker
from relay.audio import LiveAudio
from relay.transcode import H264Rendition

logger = logging.getLogger(__name__)


class StreamChoice(enum.StrEnum):
    """Which of a camera's streams a viewer asks for."""

    MAIN = "main"
    SUB = "sub"


@dataclass
class LiveStream:
    """One readable stream of a camera and who is watching it."""

    camera_id: str
    choice: StreamChoice
    hub: Hub
    audio: LiveAudio
    worker: CameraWorker | None = None
    """Only for sub-streams, which this module opens and closes."""
    viewers: int = 0
    idle_since: float = field(default_factory=time.monotonic)
    rendition: H264Rendition | None = None
    """The H.264 made from an H.265 stream while any of its viewers needs it."""
    rendition_viewers: int = 0


class LiveSources:
    """Event loop only. Hands out streams and keeps sub-stream connections only while used."""

    def __init__(
        self,
        cameras: dict[str, CameraRuntime[Any]],
        ingest: IngestSettings,
        clock: Clock,
        *,
        idle_seconds: float,
    ) -> None:
        self._cameras = cameras
        self._ingest = ingest
        self._clock = clock
        self._idle_seconds = idle_seconds
        self._streams: dict[tuple[str, StreamChoice], LiveStream] = {}

    def acquire(self, runtime: CameraRuntime[Any], wanted: StreamChoice) -> LiveStream:
        """A stream for one more viewer (sub falls back to main when there is none)."""
        camera = runtime.camera
        choice = (
            StreamChoice.SUB
            if wanted is StreamChoice.SUB and camera.substream_url
            else (StreamChoice.MAIN)
        )
        key = (camera.id, choice)
        stream = self._streams.get(key)
        if stream is None:
            loop = asyncio.get_running_loop()
            if choice is StreamChoice.MAIN:
                hub = runtime.hub
                worker = None
            else:
                hub = Hub(camera.id, gop_cache_max_packets=self._ingest.gop_cache_max_packets)
                worker = CameraWorker(
                    camera, hub, self._ingest, self._clock, _ignore_state, substream=True
                )
                worker.start()
                logger.info("[%s] sub-stream opened for live view", camera.id)
            stream = LiveStream(camera.id, choice, hub, LiveAudio(hub, loop), worker)
            self._streams[key] = stream
        stream.viewers += 1
        return stream

    def video_hub(self, stream: LiveStream) -> tuple[Hub, bool]:
        """Where one more viewer of ``stream`` gets its video: the stream's own hub, or — for
        H.265 — the stream's H.264 rendition, started for its first viewer (then True)."""
        info = stream.hub.stream_info
        if info is None or info.video_codec != "hevc":
            return stream.hub, False
        if stream.rendition is None:
            stream.rendition = H264Rendition(stream.hub)
            stream.rendition.start()
            logger.info("[%s] H.265 → H.264 for live view started", stream.camera_id)
        stream.rendition_viewers += 1
        return stream.rendition.hub, True

    def release(self, stream: LiveStream, *, transcoded: bool = False) -> None:
        """One viewer fewer (``transcoded``: one that watched the H.264 rendition)."""
        if transcoded and stream.rendition is not None:
            stream.rendition_viewers = max(0, stream.rendition_viewers - 1)
            if stream.rendition_viewers == 0:
                stream.rendition.stop()
                stream.rendition = None
                logger.info("[%s] H.265 → H.264 for live view stopped", stream.camera_id)
        stream.viewers = max(0, stream.viewers - 1)
        if stream.viewers == 0:
            stream.idle_since = time.monotonic()

    def close_idle(self, *, force: bool = False) -> list[CameraWorker]:
        """Forget streams nobody watches; sub-stream workers idle long enough are stopped and
        returned (join them off the event loop)."""
        now = time.monotonic()
        stopped: list[CameraWorker] = []
        for key, stream in list(self._streams.items()):
            if stream.viewers > 0:
                continue
            if stream.worker is not None:
                if not force and now - stream.idle_since < self._idle_seconds:
                    continue
                stream.worker.stop()
                stopped.append(stream.worker)
                logger.info("[%s] sub-stream closed (no viewer)", stream.camera_id)
            del self._streams[key]
        return stopped

    def streams(self) -> list[LiveStream]:
        return list(self._streams.values())


def _ignore_state(_change: StateChange) -> None:
    """Sub-stream state is not a camera state: the camera's state is its main stream's."""
