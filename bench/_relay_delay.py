"""Delay added by the relay, for bench/relay.py: the same frames seen directly and through WHEP.

    python bench/_relay_delay.py --base http://127.0.0.1:PORT --camera cam1 \
        --rtsp rtsp://127.0.0.1:8554/cam1 --seconds 20

In one process, at the same time:

* a direct RTSP client (PyAV, TCP) decoding the camera's H.264 with ``h264`` in a
  ``CodecContext`` configured like aiortc's decoder;
* two WHEP clients (aiortc) of the same camera through the relay, decoding too: one with
  aiortc's stock jitter buffer, which hands a frame to the decoder only when the first packet of
  the *next* frame arrives (one frame interval late), and one that completes a frame on its RTP
  marker bit, as browsers do. The latter is the relay's figure, the former shows what aiortc's
  receiver adds.

Each picture's arrival is the moment its encoded frame was complete at the client (RTSP: the
demuxer handed the packet over; WHEP: the jitter buffer assembled the frame), taken before
decoding so that decoder and thread scheduling jitter stay out of the figure. Every picture is
then decoded and hashed (luma plane, without line padding). Both paths decode the same bitstream
with the same libavcodec, so a picture has the same hash on both; WHEP arrival − RTSP arrival of
the same picture is the delay added by the relay (ingest queue + passthrough + RTP/SRTP over
loopback + frame reassembly). The simulator repeats its loop every few seconds, so a hash is
matched with the RTSP arrival nearest in time. Frames of the replayed GOP (the first second or
so of a session) are left out by ``--warmup``.

Prints one JSON object on stdout. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import aiortc.rtcrtpreceiver as rtcrtpreceiver
import av
import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.codecs import get_decoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame

PROJECT_ROOT = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, PROJECT_ROOT)  # before bench/ (the script's directory): bench/relay.py ≠ relay

from relay.ice import restrict_host_addresses  # noqa: E402

Arrival = tuple[float, bytes]  # (monotonic seconds, picture hash)


def picture_hash(frame: av.VideoFrame) -> bytes:
    """Hash of the luma plane without the line padding (which differs between decoders)."""
    plane = frame.planes[0]
    width, height, stride = plane.width, plane.height, plane.line_size
    data = memoryview(plane)
    digest = hashlib.blake2b(digest_size=16)
    if stride == width:
        digest.update(data[: width * height])
    else:
        for row in range(height):
            digest.update(data[row * stride : row * stride + width])
    return digest.digest()


@dataclass
class Arrivals:
    """Decoded pictures of one client."""

    items: list[Arrival] = field(default_factory=list)
    decode_errors: int = 0
    """Decoding failures after the first picture (before it: joining mid-GOP, expected)."""
    first: threading.Event = field(default_factory=threading.Event)

    def add(self, arrival: Arrival) -> None:
        self.items.append(arrival)
        self.first.set()

    def failed(self) -> None:
        if self.items:
            self.decode_errors += 1


_ARRIVALS: dict[int, Arrivals] = {}
_LOCK = threading.Lock()


def _arrivals_for(output_q: object) -> Arrivals:
    with _LOCK:
        return _ARRIVALS.setdefault(id(output_q), Arrivals())


def timing_decoder_worker(
    loop: asyncio.AbstractEventLoop,
    input_q: queue.Queue[Any],
    output_q: asyncio.Queue[Any],
    decode_error: threading.Event,
) -> None:
    """aiortc's ``decoder_worker``, recording (time, hash) of each picture as it is decoded."""
    arrivals = _arrivals_for(output_q)
    codec_name = None
    decoder: Any = None
    while True:
        task = input_q.get()
        if task is None:
            asyncio.run_coroutine_threadsafe(output_q.put(None), loop)
            break
        codec, encoded_frame = task
        if codec.name != codec_name:
            decoder = get_decoder(codec)
            codec_name = codec.name
        try:
            frames = decoder.decode(encoded_frame)
        except av.FFmpegError:
            arrivals.failed()
            decode_error.set()
            continue
        arrived = getattr(encoded_frame, "arrived", None) or time.monotonic()
        for frame in frames:
            if isinstance(frame, av.VideoFrame):
                arrivals.add((arrived, picture_hash(frame)))


rtcrtpreceiver.decoder_worker = timing_decoder_worker


class StampingJitterBuffer(JitterBuffer):
    """aiortc's jitter buffer, noting when each frame was complete (``frame.arrived``).

    It completes a frame when the first packet of the *next* frame arrives (a timestamp change).
    """

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        frame = super()._remove_frame(sequence_number)
        if frame is not None:
            frame.arrived = time.monotonic()  # type: ignore[attr-defined]
        return frame


class MarkerJitterBuffer(StampingJitterBuffer):
    """Completes a frame at the packet carrying the RTP marker bit (what browsers do)."""

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        packets: list[Any] = []
        timestamp = None
        if self._origin is None:
            return None
        for count in range(self.capacity):
            pos = (self._origin + count) % self._capacity
            packet = self._packets[pos]
            if packet is None:
                return None
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:  # the marker was lost: close at the change
                return self._complete(packets, timestamp, count)
            packets.append(packet)
            if packet.marker:
                return self._complete(packets, timestamp, count + 1)
        return None

    def _complete(self, packets: list[Any], timestamp: int, count: int) -> JitterFrame:
        frame = JitterFrame(b"".join(p._data for p in packets), timestamp)
        frame.arrived = time.monotonic()  # type: ignore[attr-defined]
        self.remove(count)
        return frame


class WhepClient:
    """A decoding WHEP viewer whose pictures land in ``arrivals``."""

    def __init__(self, base: str, camera: str, *, marker: bool) -> None:
        self.base = base
        self.camera = camera
        self.marker = marker
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.location: str | None = None
        self.arrivals: Arrivals | None = None
        self.started_at = 0.0

        @self.pc.on("track")
        def _on_track(track: Any) -> None:
            if track.kind == "video":
                self.arrivals = _arrivals_for(track._queue)

    async def start(self, client: httpx.AsyncClient) -> None:
        transceiver = self.pc.addTransceiver("video", direction="recvonly")
        capabilities = RTCRtpReceiver.getCapabilities("video")
        assert capabilities is not None
        codecs = capabilities.codecs
        transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() == "video/h264"])
        buffer = MarkerJitterBuffer if self.marker else StampingJitterBuffer
        transceiver.receiver._RTCRtpReceiver__jitter_buffer = buffer(  # type: ignore[attr-defined]
            capacity=512, is_video=True
        )
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.started_at = time.monotonic()
        response = await client.post(
            f"/api/v1/live/{self.camera}/whep",
            params={"stream": "main", "audio": "0"},
            content=self.pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp"},
        )
        if response.status_code != 201:
            raise RuntimeError(f"WHEP POST: HTTP {response.status_code} {response.text}")
        self.location = response.headers["location"]
        await self.pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))

    async def stop(self, client: httpx.AsyncClient) -> None:
        if self.location is not None:
            with contextlib.suppress(httpx.HTTPError):
                await client.delete(self.location)
        await self.pc.close()


def rtsp_reader(url: str, out: Arrivals, stop: threading.Event) -> None:
    """Direct RTSP client: demux (TCP) and decode like aiortc's H264Decoder, record pictures."""
    try:
        container = av.open(url, options={"rtsp_transport": "tcp", "timeout": "10000000"})
    except av.FFmpegError as error:
        sys.stderr.write(f"RTSP open failed: {error}\n")
        return
    try:
        stream = container.streams.video[0]
        decoder = av.CodecContext.create("h264", "r")
        for packet in container.demux(stream):
            arrived = time.monotonic()
            if stop.is_set():
                break
            if packet.size == 0:
                continue
            try:
                frames = decoder.decode(av.Packet(bytes(packet)))
            except av.FFmpegError:
                out.failed()
                continue
            for frame in frames:
                out.add((arrived, picture_hash(frame)))
    finally:
        container.close()


def match(
    direct: list[Arrival], relayed: list[Arrival], since: float, max_gap: float = 2.0
) -> tuple[list[float], int]:
    """Delays (s) of relayed pictures after ``since`` against their nearest direct arrival."""
    by_hash: dict[bytes, list[float]] = {}
    for t, h in direct:
        by_hash.setdefault(h, []).append(t)
    delays: list[float] = []
    unmatched = 0
    for t, h in relayed:
        if t < since:
            continue
        times = by_hash.get(h)
        if not times:
            unmatched += 1
            continue
        nearest = min(times, key=lambda x: abs(t - x))
        if abs(t - nearest) > max_gap:
            unmatched += 1
            continue
        delays.append(t - nearest)
    return delays, unmatched


async def run(args: argparse.Namespace) -> dict[str, Any]:
    restrict_host_addresses([IPv4Address("127.0.0.1")])
    direct = Arrivals()
    stop = threading.Event()
    reader = threading.Thread(
        target=rtsp_reader, args=(args.rtsp, direct, stop), name="rtsp", daemon=True
    )
    reader.start()
    if not await asyncio.to_thread(direct.first.wait, 30):
        raise SystemExit("the direct RTSP client decoded nothing within 30 s")
    clients = {
        "marker": WhepClient(args.base, args.camera, marker=True),
        "stock": WhepClient(args.base, args.camera, marker=False),
    }
    async with httpx.AsyncClient(base_url=args.base, timeout=30, headers=_auth()) as http:
        for client in clients.values():
            await client.start(http)
        since = time.monotonic() + args.warmup
        await asyncio.sleep(args.warmup + args.seconds)
        until = time.monotonic()
        for client in clients.values():
            await client.stop(http)
    stop.set()
    await asyncio.to_thread(reader.join, 15)
    result: dict[str, Any] = {
        "window_seconds": args.seconds,
        "direct_frames": sum(1 for t, _ in direct.items if since <= t <= until),
        "direct_decode_errors": direct.decode_errors,
    }
    for name, client in clients.items():
        arrivals = client.arrivals or Arrivals()
        relayed = [(t, h) for t, h in arrivals.items if t <= until]
        delays, unmatched = match(direct.items, relayed, since)
        result[name] = {
            "frames": sum(1 for t, _ in relayed if t >= since),
            "matched": len(delays),
            "unmatched": unmatched,
            "decode_errors": arrivals.decode_errors,
            "delays_ms": [round(d * 1000, 3) for d in delays],
            "first_frame_ms": (
                round((arrivals.items[0][0] - client.started_at) * 1000, 1)
                if arrivals.items
                else None
            ),
        }
    return result


def _auth() -> dict[str, str]:
    """The bench's API token (``CASEWATCH_TOKEN``, set by the parent benchmark)."""
    token = os.environ.get("CASEWATCH_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base", required=True)
    parser.add_argument("--camera", required=True)
    parser.add_argument("--rtsp", required=True)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
