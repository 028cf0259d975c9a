"""The recording service: every camera's thread, hub and recorder, and the catalog writer.

The cameras run in recorder worker processes (`recorder.worker_pool`; `recorder.workers`), or
with ``workers: 0`` in this process; either way the API, the relay and the alarms read them
through the same runtime objects, and this process's one catalog writer applies every row.

Start order: recovery (disk ⇄ catalog) → camera rows → recorder start mark → writer → cameras.
Stop order: cameras → recorder threads drain (each closes its run as ``recorder_stopped``) →
writer drains → done (`recorder.local_camera`: how each camera is read and recorded).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from configs.schema import Settings
from ingest.clock import Clock
from ingest.events import CameraState, StateChange
from ingest.hub import Hub
from ingest.runtime import CameraRuntime
from recorder import catalog
from recorder.camera_recorder import (
    FinishedSegment,
    RecordingFailure,
    RecordingListener,
)
from recorder.catalog_writer import CatalogWriter
from recorder.local_camera import LocalCamera
from recorder.models import RunEndReason, Segment, SegmentStatus
from recorder.recovery import Report, recover
from recorder.worker_pool import WorkerPool

logger = logging.getLogger(__name__)


class RecorderControl(Protocol):
    """What the API, alarms and cases read and control of a camera's recorder: a
    `CameraRecorder` in this process, or a worker's (`recorder.remote.RemoteRecorder`)."""

    live_span: tuple[int, int] | None

    @property
    def recording(self) -> bool: ...

    @property
    def failure(self) -> RecordingFailure | None: ...

    @property
    def paused(self) -> bool: ...

    def pause(self, paused: bool, detail: str = ...) -> None: ...

    def request_cut(self) -> None: ...


RecordingRuntime = CameraRuntime[RecorderControl]
"""A camera's runtime as the recording service builds it."""


class _CatalogListener(RecordingListener):
    """Turns recorder events into ordered catalog writes."""

    def __init__(self, writer: CatalogWriter, last_recorded: dict[str, int]) -> None:
        self._writer = writer
        self._last_recorded = last_recorded

    def run_started(self, camera_id: str, run_id: str, start_us: int) -> None:
        self._writer.submit(
            lambda s: catalog.open_run(s, run_id=run_id, camera_id=camera_id, start_us=start_us)
        )

    def segment_finished(self, segment: FinishedSegment) -> None:
        row = Segment(
            camera_id=segment.camera_id,
            run_id=segment.run_id,
            path=segment.path,
            start_us=segment.start_us,
            end_us=segment.end_us,
            size_bytes=segment.written.size_bytes,
            sha256=segment.written.sha256,
            prev_sha256=segment.prev_sha256,
            video_codec=segment.video_codec,
            width=segment.width,
            height=segment.height,
            audio_codec=segment.audio_codec,
            has_audio=segment.written.audio_packets > 0,
            video_packets=segment.written.video_packets,
            audio_packets=segment.written.audio_packets,
            adopted=False,
            status=SegmentStatus.OK.value,
        )
        self._writer.submit(lambda s: catalog.add_segment(s, row))
        self._last_recorded[segment.camera_id] = segment.end_us

    def run_ended(
        self, camera_id: str, run_id: str, end_us: int, reason: RunEndReason, detail: str
    ) -> None:
        self._writer.submit(
            lambda s: catalog.end_run(s, run_id=run_id, end_us=end_us, reason=reason, detail=detail)
        )


class OutageLog:
    """Which camera state changes are worth a catalog row: a camera that stays down retries
    every few seconds (connecting → offline → backoff), and only the first failure of such an
    outage, a change of its cause, and the camera's return are kept (gap causes need no more).
    Thread-safe: each camera's changes come from its own thread."""

    _RETRYING = frozenset({CameraState.CONNECTING, CameraState.BACKOFF})
    _FAILED = frozenset({CameraState.OFFLINE, CameraState.STALLED})

    def __init__(self) -> None:
        self._failing: dict[str, tuple[CameraState, str | None, str]] = {}

    def worth_keeping(self, change: StateChange) -> bool:
        failure = self._failing.get(change.camera_id)
        if change.state in self._RETRYING and failure is not None:
            return False
        if change.state in self._FAILED:
            key = (change.state, change.cause.value if change.cause else None, change.detail)
            if failure == key:
                return False
            self._failing[change.camera_id] = key
            return True
        if change.state not in self._RETRYING:
            self._failing.pop(change.camera_id, None)
        return True


class RecordingService:
    """Owns the camera threads; thread-safe read access for the API."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        on_state: Callable[[StateChange], None] = lambda change: None,
        on_write_error: Callable[[str, RunEndReason, str], None] | None = None,
        storage_lock_fd: int | None = None,
    ) -> None:
        self.settings = settings
        self._sessions = sessions
        self._clock = clock
        self._on_state = on_state
        self._on_write_error = on_write_error
        self._storage_lock_fd = storage_lock_fd
        """The storage lock's descriptor: the workers inherit it (`recorder.lock`)."""
        self.writer = CatalogWriter(sessions)
        self.last_recorded: dict[str, int] = {}
        """Any thread may read: per camera, the end of its newest segment (kept as segments are
        written, so the cameras API needs no catalog query)."""
        self._listener = _CatalogListener(self.writer, self.last_recorded)
        self.cameras: dict[str, RecordingRuntime] = {}
        self.pool: WorkerPool | None = None
        """The worker processes that own the cameras (None: they run in this process)."""
        self._local: dict[str, LocalCamera] = {}
        """With ``recorder.workers: 0``, the cameras as this process reads and records them."""
        self._outages = OutageLog()
        self.recovery: Report | None = None

    def start(self) -> None:
        root = self.settings.storage.path
        root.mkdir(parents=True, exist_ok=True)
        now = self._clock.wall_us()
        with self._sessions.begin() as session:
            catalog.sync_cameras(session, settings=self.settings, now_us=now)
        with self._sessions.begin() as session:
            self.recovery = recover(session, root, now_us=now)
            catalog.record_start(session, now_us=now)
        self.writer.start()
        last_sha256: dict[str, str] = {}
        with self._sessions() as session:
            flags = catalog.operator_flags(session)
            for _, camera in self.settings.cameras():
                last = catalog.last_segment(session, camera_id=camera.id)
                if last is not None:
                    self.last_recorded[camera.id] = last.end_us
                    last_sha256[camera.id] = last.sha256
        if self.settings.recorder.worker_count() > 0:
            self._start_workers(flags)  # each worker start reads where its cameras are now
        else:
            self._start_here(flags, last_sha256)
        logger.info("recording service started: %d cameras", len(self.cameras))

    def _start_workers(self, flags: dict[str, tuple[bool, bool]]) -> None:
        self.pool = WorkerPool(
            self.settings,
            self._sessions,
            self._clock,
            listener=self._listener,
            submit=self.writer.submit,
            flush=self.writer.flush,
            on_state=self._state_changed,
            on_write_error=self._on_write_error,
            storage_lock_fd=self._storage_lock_fd,
        )
        self.pool.build(flags)
        for camera_id, remote in self.pool.cameras.items():
            reader = remote.reader if self.pool.enabled(camera_id) else None
            self.cameras[camera_id] = RecordingRuntime(
                remote.site, remote.camera, remote.hub, reader, remote.recorder
            )
        self.pool.start()

    def _start_here(self, flags: dict[str, tuple[bool, bool]], last_sha256: dict[str, str]) -> None:
        for site, camera in self.settings.cameras():
            paused, disabled = flags.get(camera.id, (False, False))
            local = LocalCamera(
                camera,
                Hub(camera.id, gop_cache_max_packets=self.settings.ingest.gop_cache_max_packets),
                self.settings,
                self._listener,
                self._clock,
                on_state=self._state_changed,
                on_write_error=self._on_write_error,
                last_sha256=last_sha256.get(camera.id),
                last_end_us=self.last_recorded.get(camera.id),
                paused=paused,
                disabled=disabled,
            )
            self._local[camera.id] = local
            self.cameras[camera.id] = RecordingRuntime(
                site, camera, local.hub, local.reader, local.recorder
            )
        for local in self._local.values():
            local.start()

    def live_span(self, camera_id: str) -> tuple[int, int] | None:
        """Any thread: (start, last packet) of the segment a camera is writing, if any."""
        runtime = self.cameras.get(camera_id)
        if runtime is None or runtime.recorder is None:
            return None
        return runtime.recorder.live_span

    # -- operator controls (any thread but the camera threads) ---------------------------

    def set_recording(self, camera_id: str, recording: bool) -> None:
        """Pause or resume recording of a camera; remembered across restarts."""
        runtime = self.cameras[camera_id]
        if runtime.recorder is None:
            raise ValueError(f"camera {camera_id!r} is not configured to record")
        runtime.recorder.pause(not recording)
        with self._sessions.begin() as session:
            catalog.set_operator_flags(session, camera_id=camera_id, paused=not recording)

    def set_enabled(self, camera_id: str, enabled: bool) -> None:
        """Stop or start reading a camera at all; remembered across restarts. Blocks until a
        stopped camera's thread has ended (call off the event loop)."""
        runtime = self.cameras[camera_id]
        if not runtime.camera.enabled:
            raise ValueError(f"camera {camera_id!r} is disabled in the configuration")
        with self._sessions.begin() as session:
            catalog.set_operator_flags(session, camera_id=camera_id, disabled=not enabled)
        if self.pool is not None:
            self.pool.set_enabled(camera_id, enabled)
            runtime.worker = self.pool.cameras[camera_id].reader if enabled else None
            return
        local = self._local[camera_id]
        local.set_enabled(enabled)
        runtime.worker = local.reader

    def _state_changed(self, change: StateChange) -> None:
        """Camera thread: persist the event if it says something new, then tell the outside
        world (which hears every change)."""
        if self._outages.worth_keeping(change):
            self.writer.submit(
                lambda s: catalog.add_event(
                    s,
                    camera_id=change.camera_id,
                    at_us=change.at_us,
                    state=change.state.value,
                    cause=change.cause.value if change.cause else None,
                    detail=change.detail,
                ),
                droppable=True,
            )
        self._on_state(change)

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.stop()
        for local in self._local.values():
            local.stop_reading()
        for local in self._local.values():
            local.close()
        self.writer.stop()
        logger.info("recording service stopped")
