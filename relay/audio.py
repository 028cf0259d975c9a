"""Camera audio for live viewers, once per camera, shared, only while someone listens.

G.711 (PCMA / PCMU), what station cameras send, is a WebRTC codec: its packets go to the viewers
as they are. Other audio (AAC) WebRTC cannot carry: it is decoded and encoded to Opus once per
camera. A viewer whose browser would not take the camera's G.711 gets Opus made from it.

``LiveAudio`` is a hub sink (it runs on the camera's thread, so the event loop never decodes or
encodes), attached when the first listener arrives and detached when the last one leaves. Its
packets are handed to every listener's bounded queue; aiortc sends an ``av.Packet`` as it is, so
one packet (or one encode) serves every viewer.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from fractions import Fraction
from typing import Any, TypeAlias

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.packet import Packet as AnyPacket

from ingest.events import Cause
from ingest.hub import Hub
from ingest.packets import MediaPacket, StreamInfo
from ingest.timestamps import Discontinuity

logger = logging.getLogger(__name__)

Packet: TypeAlias = "AnyPacket[Any]"

OPUS_RATE = 48_000
OPUS_FRAME = 960  # 20 ms
OPUS_TIME_BASE = Fraction(1, OPUS_RATE)
OPUS_BITRATE = 48_000
LISTENER_QUEUE = 50  # 1 s of audio
OPUS = "opus"
G711_RATE = 8000
G711_TIME_BASE = Fraction(1, G711_RATE)
WEBRTC_G711 = {"pcm_alaw": "audio/PCMA", "pcm_mulaw": "audio/PCMU"}
"""Camera codecs WebRTC carries as they are, with their RTP names."""


def live_codec(source_codec: str | None, offered: frozenset[str]) -> str:
    """What a viewer gets: the camera's own G.711 when the browser offered it, else Opus."""
    if source_codec is not None and WEBRTC_G711.get(source_codec, "").lower() in offered:
        return source_codec
    return OPUS


class AudioListener:
    """One viewer's queue of audio packets (event loop side) in ``codec`` (``opus`` or the
    camera's G.711)."""

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self._packets: collections.deque[Packet] = collections.deque(maxlen=LISTENER_QUEUE)
        self._ready = asyncio.Event()
        self.closed = False

    def put(self, packets: list[Packet]) -> None:
        """Event loop: queue packets; the oldest go first when the viewer falls behind."""
        self._packets.extend(packets)
        self._ready.set()

    async def get(self) -> Packet:
        while True:
            if self.closed:
                raise MediaStreamError
            if self._packets:
                return self._packets.popleft()
            self._ready.clear()
            await self._ready.wait()

    def close(self) -> None:
        self.closed = True
        self._ready.set()


class LiveAudio:
    """Hub sink: the camera's G.711 packets as they are, and Opus made once for every listener
    that needs it.

    ``attach``/``detach`` run on the event loop; the sink methods run on the camera thread.
    """

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
        self._hub = hub
        self._loop = loop
        self._lock = threading.Lock()
        self._listeners: list[AudioListener] = []
        self._decoder: av.AudioCodecContext | None = None
        self._resampler: av.AudioResampler | None = None
        self._encoder: av.AudioCodecContext | None = None
        self._source: str | None = None
        self._samples = 0  # Opus timeline in 48 kHz samples, monotonic across reconnects
        self._g711_samples = 0  # G.711 timeline (one byte a sample), likewise
        self.packets_encoded = 0
        self.packets_passed = 0
        self.failed = False

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._listeners)

    def attach(self, codec: str = OPUS) -> AudioListener:
        listener = AudioListener(codec)
        with self._lock:
            first = not self._listeners
            self._listeners = [*self._listeners, listener]
        if first:
            info = self._hub.stream_info
            if info is not None:
                self.stream_started(info)
            self._hub.add_sink(self)
        return listener

    def detach(self, listener: AudioListener) -> None:
        listener.close()
        with self._lock:
            self._listeners = [x for x in self._listeners if x is not listener]
            last = not self._listeners
        if last:
            self._hub.remove_sink(self)

    # -- camera thread -------------------------------------------------------------------------

    def stream_started(self, info: StreamInfo) -> None:
        with self._lock:
            self._decoder = self._resampler = self._encoder = None
            self._source = None
            if info.audio_codec is None:
                return
            self._source = info.audio_codec
            try:
                decoder: Any = av.CodecContext.create(info.audio_codec, "r")
                if info.audio_extradata:
                    decoder.extradata = info.audio_extradata
                if info.audio_sample_rate:
                    decoder.sample_rate = info.audio_sample_rate
                if info.audio_codec in WEBRTC_G711:
                    decoder.layout = "mono"
                encoder = av.CodecContext.create("libopus", "w")
                encoder.sample_rate = OPUS_RATE
                encoder.layout = "stereo"
                encoder.format = "s16"
                encoder.bit_rate = OPUS_BITRATE
                encoder.time_base = OPUS_TIME_BASE
                encoder.open()
            except (av.FFmpegError, ValueError) as error:
                logger.warning(
                    "[%s] live audio as Opus unavailable (%s): %s",
                    info.camera_id, info.audio_codec, error,
                )  # fmt: skip
                return
            self._decoder = decoder
            self._encoder = encoder
            self._resampler = av.AudioResampler(
                format="s16", layout="stereo", rate=OPUS_RATE, frame_size=OPUS_FRAME
            )

    def packet(self, packet: MediaPacket) -> None:
        if packet.is_video:
            return
        with self._lock:
            source = self._source
            listeners = self._listeners
        if not listeners or source is None:
            return
        as_sent = [x for x in listeners if x.codec == source]
        if as_sent:
            self._pass(as_sent, packet)
        if len(as_sent) < len(listeners):
            self._transcode([x for x in listeners if x.codec == OPUS], packet)

    def _pass(self, listeners: list[AudioListener], packet: MediaPacket) -> None:
        """G.711 as the camera sent it, on a timeline of its own samples."""
        data = bytes(packet.packet)
        out = av.Packet(data)
        out.pts = out.dts = self._g711_samples
        out.time_base = G711_TIME_BASE
        self._g711_samples += len(data)
        self.packets_passed += 1
        self._loop.call_soon_threadsafe(self._deliver, listeners, [out])

    def _transcode(self, listeners: list[AudioListener], packet: MediaPacket) -> None:
        with self._lock:
            decoder, resampler, encoder = self._decoder, self._resampler, self._encoder
        if decoder is None or resampler is None or encoder is None:
            return
        out: list[Packet] = []
        try:
            for frame in decoder.decode(av.Packet(bytes(packet.packet))):
                for chunk in resampler.resample(frame):
                    chunk.pts = self._samples
                    chunk.time_base = OPUS_TIME_BASE
                    self._samples += chunk.samples
                    for encoded in encoder.encode(chunk):
                        encoded.time_base = OPUS_TIME_BASE
                        out.append(encoded)
        except (av.FFmpegError, ValueError) as error:
            # a corrupt audio packet costs that packet, not the stream
            logger.debug("[%s] audio packet skipped: %s", self._hub.camera_id, error)
        if out:
            self.packets_encoded += len(out)
            self._loop.call_soon_threadsafe(self._deliver, listeners, out)

    @staticmethod
    def _deliver(listeners: list[AudioListener], packets: list[Packet]) -> None:
        for listener in listeners:
            if not listener.closed:
                listener.put(packets)

    def discontinuity(self, reason: Discontinuity) -> None:
        return None

    def stream_ended(self, cause: Cause, detail: str) -> None:
        with self._lock:
            self._decoder = self._resampler = self._encoder = None
            self._source = None


class LiveAudioTrack(MediaStreamTrack):
    """One viewer's audio track in ``codec``, fed by the camera's shared ``LiveAudio`` (event
    loop)."""

    kind = "audio"

    def __init__(self, audio: LiveAudio, codec: str) -> None:
        super().__init__()
        self._audio = audio
        self.codec = codec
        self._listener: AudioListener | None = None

    async def recv(self) -> Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._listener is None:
            self._listener = self._audio.attach(self.codec)
        return await self._listener.get()

    def stop(self) -> None:
        super().stop()
        if self._listener is not None:
            self._audio.detach(self._listener)
            self._listener = None
