"""One thread per camera: connect, demux, validate, publish; on failure record why and retry.

States: connecting → live → stalled/offline (cause) → backoff → connecting. Every transition is a
``StateChange`` passed to ``on_state`` *on the camera thread*; the composition root hands it to the
event loop. A stall is detected from the packet clock (no video packet for ``stall_seconds``), not
only from socket errors: PyAV's ``demux()`` simply ends when the camera goes away, and a silent
camera is only noticed by libav after about twice its timeout.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from configs.schema import CameraSettings, IngestSettings
from ingest.backoff import Backoff
from ingest.clock import Clock
from ingest.events import CameraState, Cause, StateChange
from ingest.hub import Hub
from ingest.packets import MediaPacket, StreamInfo, StreamKind
from ingest.parameter_sets import leading_parameter_sets, picture_size
from ingest.redact import redact_text
from ingest.source import RtspSource, SourceError, classify
from ingest.timestamps import DropReason, TimestampValidator, to_us

logger = logging.getLogger(__name__)

StateCallback = Callable[[StateChange], None]


@dataclass
class CameraStats:
    """Counters and rates read by other threads (plain attribute reads are atomic enough)."""

    fps: float = 0.0
    bitrate_bps: float = 0.0
    video_packets: int = 0
    audio_packets: int = 0
    bytes_received: int = 0
    dropped: int = 0
    connections: int = 0
    last_packet_wall_us: int | None = None
    _window_start: float = field(default=0.0, repr=False)
    _window_frames: int = field(default=0, repr=False)
    _window_bytes: int = field(default=0, repr=False)

    def count(self, packet: MediaPacket, now: float) -> None:
        size = packet.size
        self.bytes_received += size
        self._window_bytes += size
        self.last_packet_wall_us = packet.wall_us
        if packet.is_video:
            self.video_packets += 1
            self._window_frames += 1
        else:
            self.audio_packets += 1
        elapsed = now - self._window_start
        if elapsed >= 1.0:
            self.fps = self._window_frames / elapsed
            self.bitrate_bps = self._window_bytes * 8 / elapsed
            self._window_start = now
            self._window_frames = 0
            self._window_bytes = 0

    def idle(self) -> None:
        self.fps = 0.0
        self.bitrate_bps = 0.0


class ParameterSetWatch:
    """Watches the parameter sets a camera sends in band with its keyframes; when they change
    mid-stream (resolution, profile), the stream as it was has ended and a new one starts at
    this keyframe: the Hub is told so (``Cause.STREAM_CHANGED``) with the new size. Camera
    thread only; costs a byte comparison per keyframe."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._current: bytes | None = None

    def keyframe(self, packet: MediaPacket, info: StreamInfo) -> StreamInfo:
        """Call before publishing a video keyframe; returns the stream info now in force."""
        data = bytes(packet.packet)
        sets = leading_parameter_sets(data, info.video_codec)
        if not sets:
            return info
        if self._current is None or sets == self._current:
            self._current = sets
            return info
        self._current = sets
        size = picture_size(info.video_codec, data) or (info.width, info.height)
        detail = f"{info.width}x{info.height} → {size[0]}x{size[1]}"
        logger.warning("[%s] the stream changed: %s", info.camera_id, detail)
        changed = dataclasses.replace(
            info, width=size[0], height=size[1], video_parameter_sets=sets
        )
        self._hub.stream_ended(Cause.STREAM_CHANGED, detail)
        self._hub.stream_started(changed)
        return changed


def camera_clock_offset(source: RtspSource, raw: Any, arrival_us: int) -> int | None:
    """The camera's wall clock minus ours at a packet, from its RTCP sender reports.

    libavformat takes the wall time of the first sender report as ``start_time_realtime`` and,
    once reports arrive on a connection with more than one stream, times packets from it: the
    camera's clock at a packet is that start plus the packet's pts. (With video alone the pts
    stay RTP-based, so the caller asks only when there is audio.) The network's delay makes the
    figure a little negative; what a patrol looks for is seconds or hours."""
    realtime = source.container.start_time_realtime
    if not realtime or raw.pts is None:
        return None
    return int(realtime + raw.pts * raw.time_base * 1_000_000) - arrival_us


class CameraWorker:
    """Reads one camera on its own named thread and publishes into its hub."""

    def __init__(
        self,
        camera: CameraSettings,
        hub: Hub,
        settings: IngestSettings,
        clock: Clock,
        on_state: StateCallback,
        *,
        substream: bool = False,
    ) -> None:
        self.camera = camera
        self.substream = substream
        self.hub = hub
        self._settings = settings
        self._clock = clock
        self._on_state = on_state
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"cam-{camera.id}{'-sub' if substream else ''}", daemon=True
        )
        b = settings.backoff
        self._backoff = Backoff(b.initial_seconds, b.factor, b.max_seconds, b.reset_after_seconds)
        self.stats = CameraStats()
        self.state = CameraState.CONNECTING
        self.cause: Cause | None = None
        self.detail = ""
        self.since_us = clock.wall_us()
        self._connection = 0
        self.camera_clock_offset_us: int | None = None
        """The camera's wall clock minus ours, measured at its last keyframe (None: unknown).
        See `camera_clock_offset`."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop (returns at once); ``join`` waits for it."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- camera thread --------------------------------------------------------------

    def _set_state(self, state: CameraState, cause: Cause | None = None, detail: str = "") -> None:
        self.state, self.cause, self.detail = state, cause, detail
        self.since_us = self._clock.wall_us()
        change = StateChange(self.camera.id, state, self.since_us, cause, detail)
        try:
            self._on_state(change)
        except Exception:
            logger.exception("[%s] state callback failed", self.camera.id)

    def _run(self) -> None:
        url = self.camera.connect_url(substream=self.substream)
        while not self._stop.is_set():
            # while retrying, keep showing why the camera is down
            self._set_state(CameraState.CONNECTING, self.cause, self.detail)
            opened_wall = self._clock.wall_us()
            connected_at = self._clock.monotonic()
            try:
                source = RtspSource.open(
                    url,
                    connect_timeout=self._settings.connect_timeout_seconds,
                    # libav notices a silent socket only after about twice its read timeout,
                    # so it gets half the stall time: a stall is declared at ≈ stall_seconds.
                    read_timeout=self._settings.stall_seconds / 2,
                )
            except SourceError as error:
                logger.warning("[%s] cannot open: %s", self.camera.id, error)
                self._set_state(CameraState.OFFLINE, error.cause, error.detail)
            else:
                cause, detail = self._pump(source, opened_wall)
                self._backoff.connected_for(self._clock.monotonic() - connected_at)
                if cause is Cause.STOPPED:
                    break
                state = CameraState.STALLED if cause is Cause.STALLED else CameraState.OFFLINE
                logger.warning("[%s] disconnected: %s %s", self.camera.id, cause.value, detail)
                self._set_state(state, cause, detail)
            self.stats.idle()
            delay = self._backoff.next_delay()
            self._set_state(CameraState.BACKOFF, self.cause, self.detail)
            if self._stop.wait(delay):
                break
        self._set_state(CameraState.STOPPED, Cause.STOPPED)

    def _pump(self, source: RtspSource, opened_wall: int) -> tuple[Cause, str]:
        """Demux until the stream ends, stalls, fails or we are stopped."""
        self._connection += 1
        self.stats.connections += 1
        video, audio = source.video, source.audio
        info = StreamInfo.of_streams(self.camera.id, self._connection, video, audio, opened_wall)
        validator = TimestampValidator(
            opened_wall_us=opened_wall,
            max_jump_us=int(self._settings.max_timestamp_jump_seconds * 1_000_000),
            max_drift_us=int(self._settings.max_clock_drift_seconds * 1_000_000),
        )
        watch = ParameterSetWatch(self.hub)
        stall = self._settings.stall_seconds
        mono_anchor = self._clock.monotonic()
        wall_anchor = self._clock.wall_us()
        last_video = mono_anchor
        live = False
        self.hub.stream_started(info)
        cause, detail = Cause.STREAM_ENDED, "the camera ended the stream"
        started = time.monotonic()
        try:
            for raw in source.packets():
                now = self._clock.monotonic()
                if self._stop.is_set():
                    cause, detail = Cause.STOPPED, "casewatch stopped"
                    break
                is_video = raw.stream is video
                if is_video:
                    last_video = now
                elif now - last_video > stall:
                    cause, detail = Cause.STALLED, f"no video packet for {stall:g} s"
                    break
                # arrival on the monotonic clock: a wall-clock step cannot bend a running recording
                arrival = wall_anchor + int((now - mono_anchor) * 1_000_000)
                kind = StreamKind.VIDEO if is_video else StreamKind.AUDIO
                time_base = raw.time_base
                timing = validator.check(kind, raw.dts, raw.pts, time_base, arrival)
                if isinstance(timing, DropReason):
                    self.stats.dropped += 1
                    continue
                if timing.discontinuity is not None:
                    logger.warning("[%s] discontinuity: %s", self.camera.id, timing.discontinuity)
                    self.hub.discontinuity(timing.discontinuity)
                duration = raw.duration or 0
                packet = MediaPacket(
                    packet=raw,
                    kind=kind,
                    keyframe=bool(raw.is_keyframe),
                    dts_us=timing.dts_us,
                    pts_us=timing.pts_us,
                    duration_us=to_us(duration, time_base),
                    wall_us=timing.wall_us,
                    epoch=timing.epoch,
                    time_base=time_base,
                )
                if not live and is_video:
                    live = True
                    self._set_state(CameraState.LIVE)
                if packet.keyframe and is_video:
                    info = watch.keyframe(packet, info)
                    if audio is not None:
                        self.camera_clock_offset_us = camera_clock_offset(source, raw, arrival)
                self.stats.count(packet, now)
                self.hub.publish(packet)
        except Exception as error:
            failure = classify(error, elapsed=time.monotonic() - started, timeout=float("inf"))
            if self._stop.is_set():
                cause, detail = Cause.STOPPED, "casewatch stopped"
            elif self._clock.monotonic() - last_video >= stall * 0.5:
                cause, detail = Cause.STALLED, f"no video packet for {stall:g} s"
            else:
                cause, detail = Cause.READ_ERROR, failure.detail
        finally:
            self.camera_clock_offset_us = None
            self.hub.stream_ended(cause, detail)
            source.close()
        return cause, redact_text(detail)
