"""Live viewer sessions (WHEP resources): create from an offer, end on DELETE, reap the dead.

One ``LiveSession`` per viewer: an aiortc peer connection sending the camera's passthrough video
(and, when asked, the camera's shared audio: its G.711 as sent, else Opus). The registry enforces
the viewer caps, and a reaper closes sessions whose connection failed or closed, or that never
connected within ``connect_timeout_seconds`` — so nothing grows over hours of tiles coming and
going.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from configs.schema import RelaySettings
from ingest.runtime import CameraRuntime
from relay import hevc_rtp
from relay.audio import WEBRTC_G711, LiveAudioTrack, live_codec
from relay.errors import CapacityError, OfferError, SessionNotFound, UnsupportedStream
from relay.sdp import check_offer
from relay.sources import LiveSources, LiveStream, StreamChoice
from relay.video import PassthroughVideoTrack

LIVE_CODECS = frozenset({"h264", "hevc"})
"""What a camera may send for live view: H.264 as it is, H.265 through an H.264 rendition."""

logger = logging.getLogger(__name__)

REAP_INTERVAL_SECONDS = 1.0
hevc_rtp.install()


@dataclass
class LiveSession:
    """One viewer of one camera stream."""

    id: str
    camera_id: str
    stream: LiveStream
    audio: bool
    pc: RTCPeerConnection
    video: PassthroughVideoTrack
    audio_track: LiveAudioTrack | None = None
    owner: Any = None
    """Who watches (the API's signed-in user; opaque to the relay)."""
    transcoded: bool = False
    """Watches the stream's H.264 rendition (an H.265 camera)."""
    created: float = field(default_factory=time.monotonic)
    connected: float | None = None
    closing: bool = False

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id,
            "camera_id": self.camera_id,
            "stream": self.stream.choice.value,
            "audio": self.audio,
            "audio_codec": self.audio_track.codec if self.audio_track is not None else None,
            "transcoded": self.transcoded,
            "video_codec": self.video.codec,
            "state": self.pc.connectionState,
            "age_seconds": round(time.monotonic() - self.created, 1),
            "packets_sent": self.video.packets_sent,
        }


class PeerRegistry:
    """Event loop only: every live session of this node."""

    def __init__(self, settings: RelaySettings, sources: LiveSources) -> None:
        self._settings = settings
        self._sources = sources
        self._sessions: dict[str, LiveSession] = {}
        self._reaper: asyncio.Task[None] | None = None
        self.on_closed: Callable[[LiveSession, str], Awaitable[None]] | None = None
        """Awaited after a session ended, with why (the API audits it)."""
        self.created_total = 0
        self.reaped_total = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for session_id in list(self._sessions):
            await self.close(session_id, "the server stopped")
        workers = self._sources.close_idle(force=True)
        await asyncio.gather(*(asyncio.to_thread(w.join, 10) for w in workers))

    # -- sessions ---------------------------------------------------------------------------------

    def count(self, camera_id: str | None = None) -> int:
        if camera_id is None:
            return len(self._sessions)
        return sum(1 for s in self._sessions.values() if s.camera_id == camera_id)

    def sessions(self) -> list[LiveSession]:
        return list(self._sessions.values())

    def renditions(self) -> dict[str, tuple[int, int]]:
        """The H.264 renditions running, by camera: (viewers, frames encoded)."""
        return {
            stream.camera_id: (stream.rendition_viewers, stream.rendition.frames_encoded)
            for stream in self._sources.streams()
            if stream.rendition is not None
        }

    async def create(
        self,
        runtime: CameraRuntime[Any],
        offer_sdp: str,
        choice: StreamChoice,
        audio: bool,
        *,
        owner: Any = None,
    ) -> tuple[str, str]:
        """Answer an offer: (session id, SDP answer). Raises a ``RelayError`` subclass."""
        camera_id = runtime.camera.id
        if len(self._sessions) >= self._settings.max_peers:
            raise CapacityError(
                f"this node already serves {self._settings.max_peers} live viewers "
                "(relay.max_peers); close a tile or try again later"
            )
        if self.count(camera_id) >= self._settings.max_peers_per_camera:
            raise CapacityError(
                f"camera {camera_id!r} already has {self._settings.max_peers_per_camera} live "
                "viewers (relay.max_peers_per_camera)"
            )
        offer = check_offer(offer_sdp)
        info = runtime.hub.stream_info
        if info is not None and info.video_codec not in LIVE_CODECS:
            raise UnsupportedStream(
                f"camera {camera_id!r} sends {info.video_codec}, which browsers cannot play "
                "over WebRTC; use recorded playback"
            )
        stream = self._sources.acquire(runtime, choice)
        live_info = stream.hub.stream_info
        as_sent = (  # H.265 to a browser that takes it: as the camera sent it
            live_info is not None
            and live_info.video_codec == "hevc"
            and hevc_rtp.MIME.lower() in offer.video_codecs
        )
        if not as_sent and "video/h264" not in offer.video_codecs:
            self._sources.release(stream)
            raise OfferError("sdp: this camera is relayed as H.264, which the offer does not take")
        hub, transcoded = (stream.hub, False) if as_sent else self._sources.video_hub(stream)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        video = PassthroughVideoTrack(
            hub, queue_packets=self._settings.queue_packets, codec="hevc" if as_sent else "h264"
        )
        session = LiveSession(
            secrets.token_urlsafe(16),
            camera_id,
            stream,
            audio and offer.has_audio,
            pc,
            video,
            owner=owner,
            transcoded=transcoded,
        )
        try:
            transceiver = pc.addTransceiver(video, direction="sendonly")
            capabilities = RTCRtpSender.getCapabilities("video")
            wanted = hevc_rtp.MIME.lower() if as_sent else "video/h264"
            transceiver.setCodecPreferences(
                [c for c in capabilities.codecs if c.mimeType.lower() == wanted]
            )
            if session.audio:
                source = stream.hub.stream_info.audio_codec if stream.hub.stream_info else None
                codec = live_codec(source, offer.audio_codecs)
                session.audio_track = LiveAudioTrack(stream.audio, codec)
                sender = pc.addTransceiver(session.audio_track, direction="sendonly")
                mime = WEBRTC_G711.get(codec, "audio/opus").lower()
                sender.setCodecPreferences(
                    [c for c in RTCRtpSender.getCapabilities("audio").codecs
                     if c.mimeType.lower() == mime]
                )  # fmt: skip
            try:
                await pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
            except Exception as error:  # aiortc validates the offer against our transceivers
                raise OfferError(f"sdp: the offer cannot be answered ({error})") from None
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except BaseException:
            await pc.close()
            video.stop()
            if session.audio_track is not None:
                session.audio_track.stop()
            self._sources.release(stream, transcoded=transcoded)
            raise
        self._sessions[session.id] = session
        self.created_total += 1

        @pc.on("connectionstatechange")
        async def _changed() -> None:
            state = pc.connectionState
            if state == "connected" and session.connected is None:
                session.connected = time.monotonic()
            elif state in ("failed", "closed"):
                await self.close(session.id, f"connection {state}")

        logger.info(
            "[%s] live view %s started (%s%s, %d viewers on this node)",
            camera_id,
            session.id[:8],
            stream.choice.value,
            ", audio" if session.audio else "",
            len(self._sessions),
        )
        return session.id, pc.localDescription.sdp

    async def close(self, session_id: str, reason: str = "ended by the viewer") -> None:
        """End a session (idempotent for a session being closed; unknown id → SessionNotFound)."""
        session = self._sessions.get(session_id)
        if session is None:
            raise SessionNotFound(f"no live session {session_id!r}")
        if session.closing:
            return
        session.closing = True
        try:
            await session.pc.close()
        finally:
            # aiortc stops a track only if its sender ever ran; ours hold hub subscriptions
            session.video.stop()
            if session.audio_track is not None:
                session.audio_track.stop()
            self._sessions.pop(session_id, None)
            self._sources.release(session.stream, transcoded=session.transcoded)
            logger.info("[%s] live view %s ended: %s", session.camera_id, session_id[:8], reason)
        if self.on_closed is not None:
            try:
                await self.on_closed(session, reason)
            except Exception:  # an audit failure is logged; the session is closed regardless
                logger.exception(
                    "[%s] live view %s: on_closed failed", session.camera_id, session_id[:8]
                )

    # -- reaper -----------------------------------------------------------------------------------

    def _expired(self, session: LiveSession, now: float) -> str | None:
        state = session.pc.connectionState
        if state in ("failed", "closed"):
            return f"connection {state}"
        if session.connected is None and now - session.created > (
            self._settings.connect_timeout_seconds
        ):
            return "never connected"
        return None

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(REAP_INTERVAL_SECONDS)
            try:
                await self._reap_once()
            except Exception:  # the reaper must outlive any one bad session
                logger.exception("live view reaper failed; retrying")

    async def _reap_once(self) -> None:
        now = time.monotonic()
        for session in list(self._sessions.values()):
            reason = self._expired(session, now)
            if reason is None or session.closing:
                continue
            logger.info("[%s] live view %s reaped: %s", session.camera_id, session.id[:8], reason)
            self.reaped_total += 1
            with contextlib.suppress(SessionNotFound):
                await self.close(session.id, reason)
        for worker in self._sources.close_idle():
            await asyncio.to_thread(worker.join, 10)
