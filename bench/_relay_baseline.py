"""Baseline live relay for bench/relay.py: aiortc's own decode → re-encode path, behind WHEP.

    python bench/_relay_baseline.py --port PORT --camera cam1=rtsp://127.0.0.1:8554/cam1 ...

What an aiortc application does when it follows the library's examples: each camera is opened
with ``aiortc.contrib.media.MediaPlayer`` (PyAV demux + decode), its video track is shared with
``MediaRelay``, and every viewer's sender encodes the decoded frames again (H.264, negotiated
like casewatch's relay), i.e. one encoder per viewer. The cameras are read (and decoded) all the
time, also with no viewer, like casewatch's ingest: each camera's video and audio tracks are
drained by a task of this process, so the per-viewer cost measured against the idle server is
the encode and send path only. (Without the audio drain MediaPlayer would queue decoded audio
forever: its queues are unbounded.)

The same WHEP surface as casewatch, so one viewer farm serves both:
``POST /api/v1/live/{camera}/whep`` (offer → 201, answer, Location) and ``DELETE`` on the
Location. ``GET /health`` reports the frames each camera decoded. Prints
``relay-baseline ready`` on stdout when every camera has decoded a frame. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

import uvicorn
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer, MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PROJECT_ROOT = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, PROJECT_ROOT)  # before bench/ (the script's directory): bench/relay.py ≠ relay

from relay.ice import restrict_host_addresses  # noqa: E402

logger = logging.getLogger("relay-baseline")
READY_LINE = "relay-baseline ready"


@dataclass
class Camera:
    """One opened camera and what was drained from it."""

    id: str
    url: str
    player: MediaPlayer | None = None
    video_frames: int = 0
    audio_frames: int = 0
    error: str | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class Baseline:
    """Cameras, the shared MediaRelay and the viewers' peer connections (event loop only)."""

    def __init__(self, cameras: dict[str, str]) -> None:
        self.cameras = {cid: Camera(cid, url) for cid, url in cameras.items()}
        self.relay = MediaRelay()
        self.sessions: dict[str, RTCPeerConnection] = {}

    async def open(self) -> None:
        async def open_one(camera: Camera) -> None:
            try:
                camera.player = await asyncio.to_thread(
                    MediaPlayer,
                    camera.url,
                    format="rtsp",
                    options={"rtsp_transport": "tcp", "timeout": "10000000"},
                )
            except Exception as error:  # reported through /health and the ready line
                camera.error = f"{type(error).__name__}: {error}"
                return
            player = camera.player
            if player.video is not None:
                video = self.relay.subscribe(player.video, buffered=False)
                camera.tasks.append(asyncio.ensure_future(self._drain(camera, video, "video")))
            if player.audio is not None:
                camera.tasks.append(
                    asyncio.ensure_future(self._drain(camera, player.audio, "audio"))
                )

        await asyncio.gather(*(open_one(c) for c in self.cameras.values()))

    @staticmethod
    async def _drain(camera: Camera, track: MediaStreamTrack, kind: str) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                if kind == "video":
                    camera.video_frames += 1
                else:
                    camera.audio_frames += 1

    async def offer(self, camera_id: str, sdp: str) -> tuple[str, str]:
        camera = self.cameras[camera_id]
        if camera.player is None or camera.player.video is None:
            raise LookupError(camera.error or "camera not open")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        track = self.relay.subscribe(camera.player.video, buffered=False)
        transceiver = pc.addTransceiver(track, direction="sendonly")
        codecs = RTCRtpSender.getCapabilities("video").codecs
        transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() == "video/h264"])
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        session_id = secrets.token_urlsafe(12)
        self.sessions[session_id] = pc

        @pc.on("connectionstatechange")
        async def _changed() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close(session_id)

        return session_id, pc.localDescription.sdp

    async def close(self, session_id: str) -> bool:
        pc = self.sessions.pop(session_id, None)
        if pc is None:
            return False
        await pc.close()
        return True

    async def stop(self) -> None:
        for session_id in list(self.sessions):
            await self.close(session_id)
        for camera in self.cameras.values():
            for task in camera.tasks:
                task.cancel()
            if camera.player is not None:
                for track in (camera.player.video, camera.player.audio):
                    if track is not None:
                        track.stop()


def build_app(baseline: Baseline) -> Starlette:
    async def whep(request: Request) -> Response:
        camera_id = request.path_params["camera"]
        if camera_id not in baseline.cameras:
            return JSONResponse({"error": f"unknown camera {camera_id}"}, status_code=404)
        sdp = (await request.body()).decode()
        try:
            session_id, answer = await baseline.offer(camera_id, sdp)
        except LookupError as error:
            return JSONResponse({"error": str(error)}, status_code=503)
        except Exception as error:  # a bad offer
            return JSONResponse({"error": f"{type(error).__name__}: {error}"}, status_code=400)
        return Response(
            answer,
            status_code=201,
            media_type="application/sdp",
            headers={"Location": f"/api/v1/live/sessions/{session_id}"},
        )

    async def delete(request: Request) -> Response:
        found = await baseline.close(request.path_params["session"])
        return Response(status_code=204 if found else 404)

    async def health(_request: Request) -> Response:
        return JSONResponse(
            {
                "sessions": len(baseline.sessions),
                "cameras": {
                    c.id: {"video": c.video_frames, "audio": c.audio_frames, "error": c.error}
                    for c in baseline.cameras.values()
                },
            }
        )

    return Starlette(
        routes=[
            Route("/api/v1/live/{camera}/whep", whep, methods=["POST"]),
            Route("/api/v1/live/sessions/{session}", delete, methods=["DELETE"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


async def serve(args: argparse.Namespace) -> int:
    restrict_host_addresses([IPv4Address(args.ice_address)])
    cameras = dict(item.split("=", 1) for item in args.camera)
    baseline = Baseline(cameras)
    await baseline.open()
    deadline = time.monotonic() + args.ready_timeout
    while time.monotonic() < deadline:
        if all(c.video_frames > 0 or c.error for c in baseline.cameras.values()):
            break
        await asyncio.sleep(0.2)
    errors = {c.id: c.error or "no frame" for c in baseline.cameras.values() if not c.video_frames}
    print(f"{READY_LINE} errors={len(errors)} {errors if errors else ''}", flush=True)

    config = uvicorn.Config(
        build_app(baseline), host="127.0.0.1", port=args.port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    # uvicorn captures SIGINT/SIGTERM while serving and re-raises them afterwards: make that a
    # no-op so the cameras and peers below are closed before the process exits.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: None)
    await server.serve()
    await baseline.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--camera", action="append", default=[], help="ID=RTSP_URL (repeat)")
    parser.add_argument("--ice-address", default="127.0.0.1")
    parser.add_argument("--ready-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
