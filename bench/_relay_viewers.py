"""Viewer farm for bench/relay.py: many WebRTC viewers that receive video but never decode it.

    python bench/_relay_viewers.py --protocol whep --base http://127.0.0.1:PORT \
        --targets cam1,cam2 --per-target 1

Each viewer is an aiortc peer connection receiving one H.264 stream. aiortc's receiver decodes
every frame in a thread of its own; here that thread is replaced by one that only counts the
frames the jitter buffer assembled (and their bytes), so the farm costs RTP/SRTP handling and
nothing more, and its CPU is never counted as the server's (it is a separate process).

Protocols: ``whep`` (casewatch and bench/_relay_baseline.py: POST an offer, DELETE the
session) and ``janus`` (Janus' streaming plugin over its HTTP API: the server offers).

Output: JSON lines on stdout. ``{"event": "started", ...}`` once every viewer is set up, then
``{"event": "stats", "t": MONOTONIC, "frames": [...], "bytes": [...], "states": [...]}`` every
``--report-every`` s, and ``{"event": "closed"}`` after SIGTERM/SIGINT or EOF on stdin, when
every session has been ended (DELETE / Janus destroy). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import aiortc.rtcrtpreceiver as rtcrtpreceiver
import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription

PROJECT_ROOT = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, PROJECT_ROOT)  # before bench/ (the script's directory): bench/relay.py ≠ relay

from relay.ice import restrict_host_addresses  # noqa: E402


@dataclass
class FrameCount:
    """Frames (and their bytes) that one receiver's jitter buffer assembled."""

    frames: int = 0
    bytes: int = 0
    first_at: float | None = None
    first_idr_at: float | None = None
    """When the first frame holding an IDR slice was complete (the first decodable picture)."""


def has_idr(data: bytes) -> bool:
    """Whether an Annex B access unit holds an IDR slice (NAL unit type 5)."""
    index = data.find(b"\x00\x00\x01")
    while index != -1 and index + 3 < len(data):
        if data[index + 3] & 0x1F == 5:
            return True
        index = data.find(b"\x00\x00\x01", index + 3)
    return False


_COUNTS: dict[int, FrameCount] = {}
_COUNTS_LOCK = threading.Lock()


def _count_for(output_q: object) -> FrameCount:
    with _COUNTS_LOCK:
        return _COUNTS.setdefault(id(output_q), FrameCount())


def counting_worker(
    loop: asyncio.AbstractEventLoop,
    input_q: queue.Queue[Any],
    output_q: asyncio.Queue[Any],
    decode_error: threading.Event,
) -> None:
    """Stands in for aiortc's ``decoder_worker``: counts assembled frames, decodes nothing."""
    count = _count_for(output_q)
    while True:
        task = input_q.get()
        if task is None:
            asyncio.run_coroutine_threadsafe(output_q.put(None), loop)
            break
        _codec, encoded_frame = task
        now = time.monotonic()
        count.frames += 1
        count.bytes += len(encoded_frame.data)
        if count.first_at is None:
            count.first_at = now
        if count.first_idr_at is None and has_idr(encoded_frame.data):
            count.first_idr_at = now


rtcrtpreceiver.decoder_worker = counting_worker


class Viewer:
    """One receive-only peer connection."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.count: FrameCount | None = None
        self.error: str | None = None
        self.started_at: float | None = None
        """When the viewer asked for the stream (WHEP POST sent / Janus watch sent)."""

        @self.pc.on("track")
        def _on_track(track: Any) -> None:
            if track.kind == "video":
                self.count = _count_for(track._queue)

    @property
    def frames(self) -> int:
        return self.count.frames if self.count is not None else 0

    @property
    def bytes(self) -> int:
        return self.count.bytes if self.count is not None else 0

    async def start(self, client: httpx.AsyncClient, target: str) -> None:
        raise NotImplementedError

    async def stop(self, client: httpx.AsyncClient) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()


class WhepViewer(Viewer):
    """RFC 9725 viewer: H.264-only recvonly offer, POST, DELETE."""

    location: str | None = None

    async def start(self, client: httpx.AsyncClient, target: str) -> None:
        transceiver = self.pc.addTransceiver("video", direction="recvonly")
        capabilities = RTCRtpReceiver.getCapabilities("video")
        assert capabilities is not None
        codecs = capabilities.codecs
        transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() == "video/h264"])
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.started_at = time.monotonic()
        response = await client.post(
            f"/api/v1/live/{target}/whep",
            params={"stream": "main", "audio": "0"},
            content=self.pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp"},
        )
        if response.status_code != 201:
            raise RuntimeError(f"WHEP POST {target}: HTTP {response.status_code} {response.text}")
        self.location = response.headers["location"]
        await self.pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))

    async def stop(self, client: httpx.AsyncClient) -> None:
        if self.location is not None:
            with contextlib.suppress(httpx.HTTPError):
                await client.delete(self.location)
            self.location = None


class JanusViewer(Viewer):
    """Janus streaming-plugin viewer over the HTTP API (the server sends the offer)."""

    session: int | None = None
    handle: int | None = None

    async def _post(self, client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
        body = {"transaction": os.urandom(6).hex(), **body}
        response = await client.post(path, json=body)
        response.raise_for_status()
        data = response.json()
        if data.get("janus") == "error":
            raise RuntimeError(f"janus {body.get('janus')}: {data.get('error')}")
        return data

    async def _event(self, client: httpx.AsyncClient, within: float = 20.0) -> Any:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            response = await client.get(f"/janus/{self.session}", params={"maxev": 1})
            response.raise_for_status()
            data = response.json()
            if data.get("janus") == "event" and data.get("jsep") is not None:
                return data
            if data.get("janus") == "event":
                result = data.get("plugindata", {}).get("data", {})
                if "error" in result:
                    raise RuntimeError(f"janus watch: {result['error']}")
        raise RuntimeError("janus sent no offer")

    async def start(self, client: httpx.AsyncClient, target: str) -> None:
        created = await self._post(client, "/janus", {"janus": "create"})
        self.session = int(created["data"]["id"])
        attached = await self._post(
            client,
            f"/janus/{self.session}",
            {"janus": "attach", "plugin": "janus.plugin.streaming"},
        )
        self.handle = int(attached["data"]["id"])
        self.started_at = time.monotonic()
        await self._post(
            client,
            f"/janus/{self.session}/{self.handle}",
            {"janus": "message", "body": {"request": "watch", "id": int(target)}},
        )
        event = await self._event(client)
        await self.pc.setRemoteDescription(RTCSessionDescription(event["jsep"]["sdp"], "offer"))
        for transceiver in self.pc.getTransceivers():
            transceiver.direction = "recvonly"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self._post(
            client,
            f"/janus/{self.session}/{self.handle}",
            {
                "janus": "message",
                "body": {"request": "start"},
                "jsep": {"type": "answer", "sdp": self.pc.localDescription.sdp},
            },
        )

    async def stop(self, client: httpx.AsyncClient) -> None:
        if self.session is not None:
            with contextlib.suppress(httpx.HTTPError, RuntimeError):
                await self._post(client, f"/janus/{self.session}", {"janus": "destroy"})
            self.session = None


def emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def run(args: argparse.Namespace) -> int:
    restrict_host_addresses([ip_address(args.ice_address)])
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    with contextlib.suppress(OSError, ValueError):  # stdin may be /dev/null (not pollable)
        loop.add_reader(sys.stdin.fileno(), lambda: done.set() if not sys.stdin.read(1) else None)

    kind = JanusViewer if args.protocol == "janus" else WhepViewer
    targets = [t for t in args.targets.split(",") if t]
    plan = [target for target in targets for _ in range(args.per_target)]
    viewers = [kind(i) for i in range(len(plan))]
    limits = httpx.Limits(max_connections=len(plan) + 2, max_keepalive_connections=len(plan) + 2)
    async with httpx.AsyncClient(
        base_url=args.base, timeout=30, limits=limits, headers=_auth()
    ) as client:

        async def start_one(viewer: Viewer, target: str) -> None:
            try:
                await viewer.start(client, target)
            except Exception as error:  # report, keep the others
                viewer.error = f"{type(error).__name__}: {error}"

        started = time.monotonic()
        batch: list[asyncio.Task[None]] = []
        for viewer, target in zip(viewers, plan, strict=True):
            batch.append(asyncio.ensure_future(start_one(viewer, target)))
            await asyncio.sleep(args.stagger)
        await asyncio.gather(*batch)
        emit(
            {
                "event": "started",
                "viewers": len(viewers),
                "seconds": round(time.monotonic() - started, 3),
                "errors": [v.error for v in viewers if v.error],
            }
        )
        while not done.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), args.report_every)
            emit(
                {
                    "event": "stats",
                    "t": time.monotonic(),
                    "frames": [v.frames for v in viewers],
                    "bytes": [v.bytes for v in viewers],
                    "started": [v.started_at for v in viewers],
                    "first_idr": [
                        None if v.count is None else v.count.first_idr_at for v in viewers
                    ],
                    "states": [v.pc.connectionState for v in viewers],
                }
            )
        await asyncio.gather(*(v.stop(client) for v in viewers))
    await asyncio.gather(*(v.close() for v in viewers))
    emit({"event": "closed"})
    return 0


def _auth() -> dict[str, str]:
    """The bench's API token (``CASEWATCH_TOKEN``, set by the parent benchmark)."""
    token = os.environ.get("CASEWATCH_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--protocol", choices=("whep", "janus"), default="whep")
    parser.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--targets", required=True, help="camera ids (whep) or mountpoint ids")
    parser.add_argument("--per-target", type=int, default=1)
    parser.add_argument("--stagger", type=float, default=0.05, help="seconds between starts")
    parser.add_argument("--report-every", type=float, default=1.0)
    parser.add_argument(
        "--ice-address", default="127.0.0.1", help="the only local ICE host candidate"
    )
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
