"""H.265 cameras on the wall: one H.264 rendition per camera, made only while someone watches.

Browsers' WebRTC takes H.264, not the H.265 main streams of station cameras. A camera's
``H264Rendition`` decodes its H.265 once and encodes H.264 once for all of its viewers; viewers
subscribe to the rendition's own ``hub`` (with its own cached GOP) exactly as they would to the
camera's. It starts with the first viewer and stops after the last (``relay.sources``).

Time to first frame: the rendition starts from the camera's cached GOP — it decodes every cached
frame (H.265 frames depend on the keyframe) but encodes only the newest, as an IDR, so the first
viewer sees the present at once instead of waiting for the camera's next keyframe.

Costs stay off the paths that matter: the camera thread only queues packets (the rendition is a
hub sink that never blocks), decoding and encoding run on the rendition's own thread, and a
rendition that falls behind (a slow CPU) drops what it has queued and resumes at the next
keyframe — the recording never waits for it, and other cameras never do either.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from fractions import Fraction
from typing import Any

import av
from av.video.frame import PictureType

from ingest.events import Cause
from ingest.hub import Hub
from ingest.packets import MediaPacket, StreamInfo, StreamKind
from ingest.timestamps import Discontinuity

logger = logging.getLogger(__name__)

US = Fraction(1, 1_000_000)
MAX_BACKLOG_PACKETS = 100
"""Packets queued for the rendition thread before it is deemed behind (4 s at 25 fps)."""
KEYFRAME_SECONDS = 2.0
"""Longest stretch between H.264 keyframes (each camera keyframe also makes one)."""
X264_OPTIONS = {
    "preset": "ultrafast",
    "tune": "zerolatency",  # no lookahead, no B-frames, sliced threads: a frame in, a packet out
    "profile": "baseline",  # what every WebRTC H.264 decoder takes
    "crf": "25",
    "forced-idr": "1",  # a frame marked I becomes an IDR: a viewer can start there
}


class H264Rendition:
    """A camera's H.265 as H.264 for live viewers. ``start``/``stop`` on the event loop; the sink
    methods on the camera thread; the work on the rendition's thread."""

    def __init__(self, source: Hub) -> None:
        self.source = source
        self.hub = Hub(source.camera_id)
        self._queue: collections.deque[tuple[str, Any]] = collections.deque()
        self._wake = threading.Condition()
        self._stopped = False
        self._replaying = False
        self._thread = threading.Thread(
            target=self._run, name=f"h264-{source.camera_id}", daemon=True
        )
        self._decoder: Any = None
        self._encoder: Any = None
        self._info: StreamInfo | None = None
        self._last_frame: Any = None
        self._wall_offset_us = 0
        self._epoch = 0
        self._next_keyframe_us: int | None = None
        self._waiting_for_keyframe = False
        self.frames_decoded = 0
        self.frames_encoded = 0
        self.dropped_packets = 0
        self.started_at: float | None = None
        self.first_packet_at: float | None = None

    # -- event loop ---------------------------------------------------------------------------

    def start(self) -> None:
        """Begin: attach to the camera's hub, starting from its cached GOP."""
        self.started_at = time.monotonic()
        self._thread.start()
        self._replaying = True
        try:
            self.source.add_sink(self, replay=True)
        finally:
            self._replaying = False
        self._put("replayed", None)

    def stop(self) -> None:
        """End (does not wait for the thread, which finishes the frame it is on)."""
        self.source.remove_sink(self)
        with self._wake:
            self._stopped = True
            self._wake.notify()

    # -- camera thread (hub sink): only queue -------------------------------------------------

    def stream_started(self, info: StreamInfo) -> None:
        self._put("start", info)

    def packet(self, packet: MediaPacket) -> None:
        if packet.is_video:
            self._put("replay" if self._replaying else "packet", packet)

    def discontinuity(self, reason: Discontinuity) -> None:
        self._put("discontinuity", reason)

    def stream_ended(self, cause: Cause, detail: str) -> None:
        self._put("end", (cause, detail))

    def _put(self, kind: str, item: Any) -> None:
        with self._wake:
            if kind == "packet" and len(self._queue) >= MAX_BACKLOG_PACKETS:
                # behind: what is queued is stale; resume at the camera's next keyframe
                self.dropped_packets += sum(1 for k, _ in self._queue if k == "packet")
                self._queue = collections.deque((k, i) for k, i in self._queue if k != "packet")
                self._queue.append(("behind", None))
            self._queue.append((kind, item))
            self._wake.notify()

    # -- rendition thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    break
                kind, item = self._queue.popleft()
            try:
                self._handle(kind, item)
            except Exception:  # a bad frame costs that GOP, never the thread
                logger.exception("[%s] H.264 rendition: %s failed", self.source.camera_id, kind)
                self._waiting_for_keyframe = True
        self.hub.stream_ended(Cause.STOPPED, "no viewer")

    def _handle(self, kind: str, item: Any) -> None:
        if kind == "start":
            self._open(item)
        elif kind in ("packet", "replay"):
            self._decode(item, encode=kind == "packet")
        elif kind == "replayed":
            if self._last_frame is not None:
                self._encode(self._last_frame, keyframe=True)  # the present, at once
        elif kind == "behind":
            self._waiting_for_keyframe = True
        elif kind == "discontinuity":
            self._waiting_for_keyframe = True
            self.hub.discontinuity(item)
        elif kind == "end":
            self._decoder = self._encoder = self._info = None
            self.hub.stream_ended(*item)

    def _open(self, info: StreamInfo) -> None:
        decoder = av.CodecContext.create(info.video_codec, "r")
        if info.decoder_extradata:
            decoder.extradata = info.decoder_extradata
        decoder.thread_type = "SLICE"  # frame threads would hold frames back: latency
        self._decoder = decoder
        self._encoder = None  # made at the first frame, when its size is known
        self._info = info
        self._last_frame = None
        self._waiting_for_keyframe = True

    def _decode(self, packet: MediaPacket, *, encode: bool) -> None:
        if self._decoder is None:
            return
        if self._waiting_for_keyframe:
            if not packet.keyframe:
                return
            self._waiting_for_keyframe = False
        raw = av.Packet(bytes(packet.packet))
        raw.pts, raw.dts, raw.time_base = packet.pts_us, packet.dts_us, US
        self._wall_offset_us = packet.wall_us - packet.dts_us
        self._epoch = packet.epoch
        for frame in self._decoder.decode(raw):
            self.frames_decoded += 1
            self._last_frame = frame
            if encode:
                self._encode(frame, keyframe=packet.keyframe)

    def _encode(self, frame: Any, *, keyframe: bool) -> None:
        if self._encoder is None:
            self._start_encoder(frame)
        pts_us = int(frame.pts) if frame.pts is not None else 0
        due = self._next_keyframe_us is None or pts_us >= self._next_keyframe_us
        frame = frame.reformat(format="yuv420p")
        frame.pts, frame.time_base = pts_us, US
        frame.pict_type = PictureType.I if keyframe or due else PictureType.NONE
        for out in self._encoder.encode(frame):
            self._publish(out)

    def _start_encoder(self, frame: Any) -> None:
        assert self._info is not None
        encoder = av.CodecContext.create("libx264", "w")
        encoder.width, encoder.height = frame.width, frame.height
        encoder.pix_fmt = "yuv420p"
        encoder.time_base = US
        encoder.options = dict(X264_OPTIONS)
        encoder.open()
        self._encoder = encoder
        self._next_keyframe_us = None
        self.hub.stream_started(
            StreamInfo(
                camera_id=self._info.camera_id,
                connection=self._info.connection,
                video_stream=None,
                audio_stream=None,
                video_codec="h264",
                width=frame.width,
                height=frame.height,
                audio_codec=None,
                audio_sample_rate=None,
                opened_wall_us=self._info.opened_wall_us,
                video_extradata=bytes(encoder.extradata or b""),
            )
        )

    def _publish(self, out: Any) -> None:
        dts_us = int(out.dts if out.dts is not None else out.pts)
        pts_us = int(out.pts)
        if out.is_keyframe:
            self._next_keyframe_us = pts_us + int(KEYFRAME_SECONDS * 1_000_000)
        self.frames_encoded += 1
        if self.first_packet_at is None:
            self.first_packet_at = time.monotonic()
        self.hub.publish(
            MediaPacket(
                packet=out,
                kind=StreamKind.VIDEO,
                keyframe=bool(out.is_keyframe),
                dts_us=dts_us,
                pts_us=pts_us,
                duration_us=0,
                wall_us=dts_us + self._wall_offset_us,
                epoch=self._epoch,
                time_base=US,
            )
        )
