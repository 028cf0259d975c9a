"""The passthrough video track: H.264 from the camera's hub to one viewer, never decoded.

aiortc only packetizes what ``recv`` returns when it is an ``av.Packet`` (no encoder runs), so
each viewer costs the RTP packetization of the camera's bitrate and nothing more. The track
subscribes to the hub on its first ``recv`` — i.e. when the connection is up and aiortc starts
sending — so the viewer starts at the cached keyframe with a fresh GOP, not at the next IDR.
"""

from __future__ import annotations

import asyncio
import logging
from fractions import Fraction
from typing import Any, TypeAlias

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.packet import Packet as AnyPacket

from ingest.hub import GopReplayed, Hub, StreamEnded, StreamStarted, Subscription
from ingest.hub import SubscriptionClosed as HubClosed
from ingest.packets import MediaPacket
from ingest.parameter_sets import annexb_parameter_sets, with_parameter_sets
from relay.timeline import RTP_VIDEO_CLOCK, Timeline, to_rtp_ticks

logger = logging.getLogger(__name__)

Packet: TypeAlias = "AnyPacket[Any]"

RTP_TIME_BASE = Fraction(1, RTP_VIDEO_CLOCK)


class PassthroughVideoTrack(MediaStreamTrack):
    """One viewer's video: the camera's H.264 access units with a viewer-local timeline.

    Runs on the event loop. Survives camera reconnects (the viewer keeps its peer connection and
    the picture resumes at the next keyframe); ends when the camera's codec cannot be played.
    """

    kind = "video"

    def __init__(self, hub: Hub, *, queue_packets: int, codec: str = "h264") -> None:
        super().__init__()
        self._hub = hub
        self.codec = codec
        """``h264``, or ``hevc`` for a viewer that took H.265 (parameter sets in band)."""
        self._queue_packets = queue_packets
        self._subscription: Subscription | None = None
        self._timeline = Timeline()
        self._parameter_sets = b""
        self._connection = 0
        self.packets_sent = 0
        self.first_packet_at: float | None = None

    async def recv(self) -> Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._subscription is None:
            self._subscription = self._hub.subscribe(
                asyncio.get_running_loop(), max_items=self._queue_packets
            )
        while True:
            try:
                item = await self._subscription.get()
            except HubClosed:
                self.stop()
                raise MediaStreamError from None
            if isinstance(item, MediaPacket):
                return self._packet(item)  # a subscription carries video only
            elif isinstance(item, StreamStarted):
                self._stream_started(item)
            elif isinstance(item, GopReplayed):
                self._timeline.live()
            elif isinstance(item, StreamEnded):
                logger.debug("[%s] live stream ended: %s", self._hub.camera_id, item.cause)

    def _stream_started(self, item: StreamStarted) -> None:
        info = item.info
        if info.video_codec != self.codec:
            logger.warning(
                "[%s] %s cannot be relayed over WebRTC; ending the live view",
                self._hub.camera_id,
                info.video_codec,
            )
            self.stop()
            raise MediaStreamError
        self._connection = info.connection
        self._parameter_sets = (
            annexb_parameter_sets(info.video_extradata)
            if self.codec == "h264"
            else b""  # H.265 cameras send their parameter sets before every keyframe
        )
        self._timeline.new_connection()

    def _packet(self, item: MediaPacket) -> Packet:
        data = bytes(item.packet)
        if item.keyframe:
            data = with_parameter_sets(data, self._parameter_sets)
        out = av.Packet(data)
        ticks = to_rtp_ticks(self._timeline.map(item.pts_us, self._connection, item.epoch))
        out.pts = ticks
        out.dts = ticks
        out.time_base = RTP_TIME_BASE
        self.packets_sent += 1
        if self.first_packet_at is None:
            self.first_packet_at = asyncio.get_running_loop().time()
        return out

    def stop(self) -> None:
        super().stop()
        if self._subscription is not None:
            self._subscription.close()
