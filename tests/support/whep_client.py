"""A WHEP client that is not the browser: aiortc's own peer connection, for tests and benchmarks.

It offers receive-only H.264 video (and optionally audio), posts the offer as RFC 9725 says, and
decodes what arrives, recording when each frame came in.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from servers import AUTH

from relay.ice import restrict_host_addresses


@dataclass
class Received:
    """What one viewer got."""

    video_frames: int = 0
    audio_frames: int = 0
    audio_peak: int = 0
    first_frame_at: float | None = None
    frame_times: list[float] = field(default_factory=list)
    sizes: set[tuple[int, int]] = field(default_factory=set)


class WhepViewer:
    """One viewer session against ``base_url`` (loopback only)."""

    def __init__(
        self,
        base_url: str,
        camera_id: str,
        *,
        audio: bool = False,
        stream: str = "main",
        headers: dict[str, str] | None = None,
        video_codec: str = "video/h264",
    ):
        restrict_host_addresses(["127.0.0.1"])  # type: ignore[list-item]
        self.base_url = base_url
        self.camera_id = camera_id
        self.audio = audio
        self.stream = stream
        self.video_codec = video_codec
        self.headers = AUTH if headers is None else headers
        """Sent with every request (default: the test servers' admin token)."""
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.location: str | None = None
        self.received = Received()
        self.posted_at = 0.0
        self._tasks: list[asyncio.Task[None]] = []

    async def offer(self) -> str:
        """The SDP offer (video recvonly in ``video_codec``, audio recvonly when asked)."""
        video = self.pc.addTransceiver("video", direction="recvonly")
        codecs = RTCRtpReceiver.getCapabilities("video").codecs
        video.setCodecPreferences([c for c in codecs if c.mimeType.lower() == self.video_codec])
        if self.audio:
            self.pc.addTransceiver("audio", direction="recvonly")

        @self.pc.on("track")
        def _on_track(track: Any) -> None:
            self._tasks.append(asyncio.ensure_future(self._consume(track)))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def start(self) -> httpx.Response:
        """POST the offer; on 201 apply the answer. Returns the HTTP response."""
        sdp = await self.offer()
        self.posted_at = time.monotonic()
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=20, headers=self.headers
        ) as client:
            response = await client.post(
                f"/api/v1/live/{self.camera_id}/whep",
                params={"audio": int(self.audio), "stream": self.stream},
                content=sdp,
                headers={"Content-Type": "application/sdp"},
            )
        if response.status_code == 201:
            self.location = response.headers["location"]
            await self.pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
        return response

    async def _consume(self, track: Any) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                now = time.monotonic()
                if track.kind == "video":
                    self.received.video_frames += 1
                    self.received.frame_times.append(now)
                    self.received.sizes.add((frame.width, frame.height))
                    if self.received.first_frame_at is None:
                        self.received.first_frame_at = now
                else:
                    self.received.audio_frames += 1
                    samples = frame.to_ndarray()
                    self.received.audio_peak = max(
                        self.received.audio_peak, int(abs(samples).max())
                    )

    async def wait_frames(self, count: int, within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.received.video_frames >= count:
                return True
            await asyncio.sleep(0.05)
        return False

    async def delete(self) -> int:
        assert self.location is not None
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=10, headers=self.headers
        ) as client:
            response = await client.delete(self.location)
        return response.status_code

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()
