"""One camera read and recorded in this process: its Hub, its recorder on its own thread behind
the Hub (``SinkThread``: a slow disk never holds up the camera's thread or its viewers) and the
thread that reads it — in a recorder worker process, or in the server with
``recorder.workers: 0``. Built, switched on and off, and stopped the same way in both."""

from __future__ import annotations

import threading
from collections.abc import Callable

from configs.schema import CameraSettings, Settings
from ingest.clock import Clock
from ingest.events import StateChange
from ingest.hub import Hub
from ingest.sink_thread import SinkThread
from ingest.supervisor import CameraWorker
from recorder.camera_recorder import CameraRecorder, RecordingListener
from recorder.runs import RunEndReason

WRITE_BACKLOG_MAX_BYTES = 64 * 1024 * 1024
"""Per camera, the most packet bytes held for a recorder waiting on the disk."""
STOP_SECONDS = 30.0
"""How long stopping waits for a camera's thread, and for its recorder to close the run."""


class LocalCamera:
    """A camera's Hub, recorder (None when it is not recorded) and reader (None while it is
    disabled)."""

    def __init__(
        self,
        camera: CameraSettings,
        hub: Hub,
        settings: Settings,
        listener: RecordingListener,
        clock: Clock,
        *,
        on_state: Callable[[StateChange], None],
        on_write_error: Callable[[str, RunEndReason, str], None] | None,
        last_sha256: str | None,
        last_end_us: int | None,
        paused: bool,
        disabled: bool,
    ) -> None:
        self.camera = camera
        self.hub = hub
        self._settings = settings
        self._clock = clock
        self._on_state = on_state
        self._switching = threading.Lock()
        self.recorder: CameraRecorder | None = None
        self.intake: SinkThread | None = None
        if camera.enabled and camera.record:
            self.recorder = CameraRecorder(
                camera.id,
                settings.storage,
                listener,
                clock,
                last_sha256=last_sha256,
                last_end_us=last_end_us,
                on_error=on_write_error,
            )
            if paused:
                self.recorder.pause(True)
            self.intake = SinkThread(
                self.recorder,
                f"rec-{camera.id}",
                max_seconds=settings.storage.write_backlog_seconds,
                max_bytes=WRITE_BACKLOG_MAX_BYTES,
                on_overrun=self.recorder.backlog_overrun,
            )
            hub.add_sink(self.intake)
        self.reader = self._reader() if camera.enabled and not disabled else None

    def _reader(self) -> CameraWorker:
        return CameraWorker(
            self.camera, self.hub, self._settings.ingest, self._clock, self._on_state
        )

    def start(self) -> None:
        if self.reader is not None:
            self.reader.start()

    def set_enabled(self, enabled: bool) -> None:
        """Start or stop reading the camera. Blocks until a stopped camera's thread has ended
        and its run has closed as ``recording_paused`` ("camera disabled by an operator")."""
        with self._switching:
            if enabled and self.reader is None:
                self.reader = self._reader()
                self.reader.start()
            elif not enabled and self.reader is not None:
                reader, self.reader = self.reader, None
                recorder, intake = self.recorder, self.intake
                if recorder is not None and intake is not None and not recorder.paused:
                    recorder.pause(True, "camera disabled by an operator")
                    reader.stop()
                    reader.join(timeout=STOP_SECONDS)
                    intake.drain(timeout=STOP_SECONDS)  # the run ends as disabled
                    recorder.pause(False)
                else:
                    reader.stop()
                    reader.join(timeout=STOP_SECONDS)

    def stop_reading(self) -> None:
        """Ask the reader to stop (returns at once: many cameras stop together)."""
        if self.reader is not None:
            self.reader.stop()

    def close(self) -> None:
        """After `stop_reading`: wait for the reader, then have the recorder close its run as
        ``recorder_stopped``. A recorder thread that does not finish in time (a hung disk)
        keeps its open run for recovery."""
        if self.reader is not None:
            self.reader.join(timeout=STOP_SECONDS)
        # the camera thread ends its stream as it exits and the recorder thread closes the run;
        # once the intake is closed nothing else reaches the recorder
        intake, recorder = self.intake, self.recorder
        if intake is not None and recorder is not None and intake.close(timeout=STOP_SECONDS):
            recorder.stop()
