"""A recorder worker process: the cameras it was given, read and recorded exactly as the server
would, with everything the server needs sent over its two channels (`recorder.worker_channel`).

Started by `recorder.worker_pool` as ``python -m recorder.worker_process CONTROL_FD MEDIA_FD``
with a pickled `WorkerStart` on standard input. Per camera it runs today's code unchanged: the
demux thread (`ingest.supervisor.CameraWorker`), the Hub and the recorder on its own thread
behind the Hub. The worker never opens the catalog: its recorders' listener sends their rows to
the server. It exits when asked to (every run closed as ``recorder_stopped``) or when the server
is gone (its channel closes); a recorder that cannot close in time leaves its file to the
server's recovery, as after any crash.
"""

from __future__ import annotations

import collections
import logging
import pickle
import resource
import signal
import socket
import sys
import threading
from typing import Any

from configs.schema import CameraSettings
from ingest import wire
from ingest.clock import Clock, SystemClock
from ingest.events import Cause, StateChange
from ingest.hub import Hub
from ingest.logsetup import configure as configure_logging
from ingest.packets import MediaPacket, StreamInfo
from ingest.timestamps import Discontinuity
from recorder.camera_recorder import FinishedSegment, RecordingListener
from recorder.local_camera import STOP_SECONDS, LocalCamera
from recorder.runs import RunEndReason
from recorder.worker_channel import Channel, ChannelClosed, WorkerCamera, WorkerStart

logger = logging.getLogger(__name__)

BEAT_SECONDS = 1.0
"""How often the worker reports (its heartbeat)."""
MEDIA_BACKLOG_MAX_BYTES = 32 * 1024 * 1024
"""Media frames held for a server that does not keep up; beyond it, a camera's packets are
dropped until its next keyframe (viewers resynchronise there; recording never waits)."""


class MediaSender:
    """One thread writes the media channel; camera threads queue frames without ever waiting.
    When the server falls behind by `MEDIA_BACKLOG_MAX_BYTES`, a camera's live packets are
    dropped until its next video keyframe (announced by a discontinuity): the recording path
    never pays for a slow viewer."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._frames: collections.deque[tuple[bytes, Any]] = collections.deque()
        self._bytes = 0
        self._ready = threading.Condition()
        self._skipping: set[int] = set()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="media-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def live(self, camera: int, packet: MediaPacket) -> None:
        """Queue a watched camera's packet (dropped, to its next keyframe, when behind)."""
        with self._ready:
            if camera in self._skipping:
                if not (packet.is_video and packet.keyframe):
                    return
                self._skipping.discard(camera)
                self._put(wire.discontinuity_frame(camera, Discontinuity.PACKETS_DROPPED))
            elif self._bytes > MEDIA_BACKLOG_MAX_BYTES:
                self._skipping.add(camera)
                return
            self._put(wire.packet_frame(camera, packet))

    def frames(self, *frames: tuple[bytes, Any]) -> None:
        """Queue frames that are never dropped (stream changes, replies), in order, together."""
        with self._ready:
            for frame in frames:
                self._put(frame)

    def _put(self, frame: tuple[bytes, Any]) -> None:
        self._frames.append(frame)
        self._bytes += len(frame[0]) + len(frame[1])
        self._ready.notify()

    def close(self, timeout: float) -> None:
        """Send what is queued (for at most ``timeout`` seconds), then stop."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._frames and not self._closed:
                    self._ready.wait()
                if not self._frames:
                    return
                frame = self._frames.popleft()
                self._bytes -= len(frame[0]) + len(frame[1])
            try:
                wire.send(self._sock, frame)
            except OSError:  # the server is gone: the control channel ends the worker
                return


class Forward:
    """A watched camera's Hub sink: its stream, onto the media channel."""

    def __init__(self, camera: int, sender: MediaSender) -> None:
        self._camera = camera
        self._sender = sender

    def stream_started(self, info: StreamInfo) -> None:
        self._sender.frames(wire.stream_started_frame(self._camera, info))

    def packet(self, packet: MediaPacket) -> None:
        self._sender.live(self._camera, packet)

    def discontinuity(self, reason: Discontinuity) -> None:
        self._sender.frames(wire.discontinuity_frame(self._camera, reason))

    def stream_ended(self, cause: Cause, detail: str) -> None:
        self._sender.frames(wire.stream_ended_frame(self._camera, cause, detail))


class Listener(RecordingListener):
    """A recorder's catalog events, sent to the server's catalog writer."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    def run_started(self, camera_id: str, run_id: str, start_us: int) -> None:
        self._send("run_started", camera=camera_id, run_id=run_id, start_us=start_us)

    def segment_finished(self, segment: FinishedSegment) -> None:
        written = segment.written
        self._send(
            "segment",
            camera=segment.camera_id,
            run_id=segment.run_id,
            path=segment.path,
            start_us=segment.start_us,
            end_us=segment.end_us,
            prev_sha256=segment.prev_sha256,
            size_bytes=written.size_bytes,
            sha256=written.sha256,
            video_packets=written.video_packets,
            audio_packets=written.audio_packets,
            video_codec=segment.video_codec,
            width=segment.width,
            height=segment.height,
            audio_codec=segment.audio_codec,
        )

    def run_ended(
        self, camera_id: str, run_id: str, end_us: int, reason: RunEndReason, detail: str
    ) -> None:
        self._send(
            "run_ended",
            camera=camera_id,
            run_id=run_id,
            end_us=end_us,
            reason=reason.value,
            detail=detail,
        )

    def _send(self, kind: str, **fields: Any) -> None:
        try:
            self._channel.send(kind, **fields)
        except ChannelClosed:  # the server is gone; its recovery adopts the file
            logger.warning("catalog event %s lost: the server is gone", kind)


class Camera(LocalCamera):
    """One camera of this worker: read and recorded as in-process, plus its place in the
    server's list and, while watched, its forwarding sink."""

    def __init__(self, index: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.index = index
        self.forward: Forward | None = None


class Worker:
    """This process: its cameras, its channels, its heartbeat."""

    def __init__(
        self, start: WorkerStart, control: Channel, sender: MediaSender, clock: Clock
    ) -> None:
        self._start = start
        self._settings = start.settings
        self._control = control
        self._sender = sender
        self._clock = clock
        self._listener = Listener(control)
        self._stop = threading.Event()
        sites = {camera.id: camera for _, camera in self._settings.cameras()}
        self.cameras: dict[int, Camera] = {}
        for given in start.cameras:
            camera = self._build(sites[given.id], given)
            self.cameras[given.index] = camera

    def _build(self, settings: CameraSettings, given: WorkerCamera) -> Camera:
        hub = _ReportingHub(
            settings.id, self, gop_cache_max_packets=self._settings.ingest.gop_cache_max_packets
        )
        return Camera(
            given.index,
            settings,
            hub,
            self._settings,
            self._listener,
            self._clock,
            on_state=self._state,
            on_write_error=self._write_error,
            last_sha256=given.last_sha256,
            last_end_us=given.last_end_us,
            paused=given.paused,
            disabled=given.disabled,
        )

    # -- what the worker tells the server -----------------------------------------------------

    def _state(self, change: StateChange) -> None:
        with _quiet():
            self._control.send(
                "state",
                camera=change.camera_id,
                state=change.state.value,
                at_us=change.at_us,
                cause=change.cause.value if change.cause else None,
                detail=change.detail,
            )

    def stream_changed(self, camera_id: str, info: StreamInfo | None) -> None:
        """A camera's stream began or ended (camera thread)."""
        with _quiet():
            self._control.send(
                "stream", camera=camera_id, info=wire.describe(info) if info else None
            )

    def _write_error(self, camera_id: str, reason: RunEndReason, detail: str) -> None:
        with _quiet():
            self._control.send("write_error", camera=camera_id, reason=reason.value, detail=detail)

    def beat(self) -> None:
        """Every second: each camera's counters and recording state (the heartbeat)."""
        report: dict[str, Any] = {}
        for camera in self.cameras.values():
            entry: dict[str, Any] = {"picture": camera.hub.has_picture()}
            if camera.reader is not None:
                stats = camera.reader.stats
                entry |= {
                    "fps": stats.fps,
                    "bitrate_bps": stats.bitrate_bps,
                    "video_packets": stats.video_packets,
                    "audio_packets": stats.audio_packets,
                    "dropped": stats.dropped,
                    "clock_offset_us": camera.reader.camera_clock_offset_us,
                }
            if camera.recorder is not None:
                failure = camera.recorder.failure
                entry |= {
                    "recording": camera.recorder.recording,
                    "paused": camera.recorder.paused,
                    "live_span": camera.recorder.live_span,
                    "failure": (
                        [failure.reason.value, failure.detail, failure.at_us] if failure else None
                    ),
                }
            report[camera.camera.id] = entry
        self._control.send("beat", cameras=report)

    # -- what the server asks -----------------------------------------------------------------

    def handle(self, message: dict[str, Any]) -> None:
        kind = message["t"]
        if kind == "stop":
            self._stop.set()
            return
        camera = self.cameras[int(message["c"])]
        if kind == "watch":
            self._watch(camera)
        elif kind == "unwatch":
            if camera.forward is not None:
                camera.hub.remove_sink(camera.forward)
                camera.forward = None
        elif kind == "recent":
            self._reply(camera, int(message["id"]), keyframe_only=bool(message["keyframe"]))
        elif kind == "pause" and camera.recorder is not None:
            camera.recorder.pause(bool(message["paused"]), str(message["detail"]))
        elif kind == "cut" and camera.recorder is not None:
            camera.recorder.request_cut()
        elif kind == "enable":  # stopping a camera waits for its run to close: not here
            threading.Thread(
                target=camera.set_enabled, args=(bool(message["enabled"]),), daemon=True
            ).start()

    def _watch(self, camera: Camera) -> None:
        if camera.forward is not None:  # watched already: a new replay for the new watcher
            camera.hub.remove_sink(camera.forward)
        camera.forward = Forward(camera.index, self._sender)
        camera.hub.add_sink(camera.forward, replay=True)
        self._sender.frames(wire.replayed_frame(camera.index))

    def _reply(self, camera: Camera, request: int, *, keyframe_only: bool) -> None:
        media = camera.hub.recent_media()
        if media is None:
            self._sender.frames(
                wire.reply_begin_frame(camera.index, request, None, None),
                wire.reply_end_frame(camera.index, request),
            )
            return
        packets = media.gop[:1] if keyframe_only else media.gop
        self._sender.frames(
            wire.reply_begin_frame(camera.index, request, media.info, media.gop_seconds),
            *(wire.packet_frame(camera.index, packet, reply=True) for packet in packets),
            wire.reply_end_frame(camera.index, request),
        )

    # -- life -------------------------------------------------------------------------------------

    def run(self) -> None:
        """Start the cameras, then beat until asked to stop or the server is gone."""
        for camera in self.cameras.values():
            camera.start()
        threading.Thread(target=self._listen, name="control", daemon=True).start()
        while not self._stop.wait(BEAT_SECONDS):
            try:
                self.beat()
            except ChannelClosed:
                logger.warning("worker %d: the server is gone; stopping", self._start.worker)
                break
        self.stop()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._control.receive()
            except ChannelClosed:
                self._stop.set()
                return
            try:
                self.handle(message)
            except Exception:  # a request this worker cannot serve must not end its cameras
                logger.exception("worker %d: cannot handle %r", self._start.worker, message)

    def stop(self) -> None:
        for camera in self.cameras.values():
            camera.stop_reading()
        for camera in self.cameras.values():
            camera.close()
        self._sender.close(timeout=STOP_SECONDS)
        with _quiet():
            self._control.send("stopped")


class _ReportingHub(Hub):
    """A Hub that also tells the server when its stream begins and ends (for ``stream_info``
    of a camera nobody watches)."""

    def __init__(self, camera_id: str, worker: Worker, *, gop_cache_max_packets: int) -> None:
        super().__init__(camera_id, gop_cache_max_packets=gop_cache_max_packets)
        self._worker = worker

    def stream_started(self, info: StreamInfo) -> None:
        super().stream_started(info)
        self._worker.stream_changed(self.camera_id, info)

    def stream_ended(self, cause: Cause, detail: str) -> None:
        super().stream_ended(cause, detail)
        self._worker.stream_changed(self.camera_id, None)


class _quiet:
    """Messages to a server that is gone are dropped (the worker is about to stop)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: object, trace: object) -> bool:
        return isinstance(error, ChannelClosed)


def main(argv: list[str]) -> int:
    """Entry point (the server starts it; not a command for people)."""
    if len(argv) != 2:
        print("usage: python -m recorder.worker_process CONTROL_FD MEDIA_FD", file=sys.stderr)
        return 2
    # written by the server that started us, through a pipe only it holds
    start: WorkerStart = pickle.load(sys.stdin.buffer)  # noqa: S301
    configure_logging(start.settings.logging.level)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the server
    # stops the workers in order
    limit = start.settings.recorder.worker_max_open_files
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(limit, hard), hard))
    control = Channel(socket.socket(fileno=int(argv[0])))
    sender = MediaSender(socket.socket(fileno=int(argv[1])))
    sender.start()
    worker = Worker(start, control, sender, SystemClock())
    logger.info("worker %d: %d cameras", start.worker, len(worker.cameras))
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
