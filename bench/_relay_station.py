"""Part (e) of bench/relay.py — station cameras: what H.265 and G.711 cost, beside baselines.

    .venv/bin/python bench/_relay_station.py [--seconds 20] [--trials 10] [--json F]

(e1) **H.265 → H.264 per camera**, at 720p25 (2 Mbit/s) and 1080p25 (4 Mbit/s), GOP 2 s: the
     CPU of ``casewatch serve`` (one H.265 camera, ``record: false``) with one WHEP viewer of
     its main stream minus the same server with none — the viewer's cost is the camera's one
     H.264 rendition plus one passthrough. Beside it, in the same run: ``ffmpeg`` reading the
     same RTSP and making H.264 with the same encoder settings, minus ``ffmpeg`` reading it with
     ``-c copy`` (so both figures are the conversion alone).
(e2) **Time to first frame** of a transcoded camera: an aiortc viewer (in this process) posts
     its offer at random moments of the GOP and decodes; offer sent → first decoded picture,
     p50/p95 over ``--trials``. Beside it: the same for an H.264 camera (passthrough), in the
     same run.
(e3) **G.711 on the recording path**, per camera: CPU of storing 60 s of a camera's G.711 as
     FLAC (``recorder.lossless_audio``: the expansion table and libavcodec's FLAC encoder),
     beside compressing the same audio to AAC at 32 kbit/s (the lossy alternative), both in
     this process, as % of one core for one camera.

Loopback only; every child process ends with this one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import yaml

PROJECT_ROOT = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, PROJECT_ROOT)  # before bench/ (the script's directory): bench/relay.py ≠ relay

try:
    from bench import _measure as m
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _measure as m  # type: ignore[import-not-found,no-redef]

SIZES = {"720p": (1280, 720, 2000), "1080p": (1920, 1080, 4000)}
FPS, GOP = 25, 2.0


def mounts() -> list[Any]:
    from camsim.spec import MountSpec

    specs = [
        MountSpec(name=f"h265-{name}", width=w, height=h, fps=FPS, gop=GOP, bitrate=kbps,
                  video_codec="h265", audio_codec="pcma", label="casewatch station bench")
        for name, (w, h, kbps) in SIZES.items()
    ]  # fmt: skip
    specs.append(
        MountSpec(name="h264-720p", width=1280, height=720, fps=FPS, gop=GOP, bitrate=2000,
                  label="casewatch station bench")
    )  # fmt: skip
    return specs


class Server:
    """``casewatch serve`` with the given cameras (record: false), relay on 127.0.0.1."""

    def __init__(self, workdir: Path, cameras: dict[str, str]) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = m.free_port()
        settings = {
            "storage": {"path": str(workdir / "rec")},
            "database": {"url": f"sqlite:///{workdir / 'casewatch.db'}"},
            "server": {"host": "127.0.0.1", "port": self.port},
            "logging": {"level": "warning"},
            "retention": {"max_age_days": None, "min_free_bytes": 0},
            "relay": {"ice_host_addresses": ["127.0.0.1"]},
            "sites": [{"id": "bench", "name": "Bench", "cameras": [
                {"id": cid, "name": cid, "url": url, "record": False}
                for cid, url in cameras.items()
            ]}],
        }  # fmt: skip
        self.config = workdir / "casewatch.yaml"
        self.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        self.cameras = list(cameras)
        self.proc: Any = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "api.cli"]
        m.provision_token(command, self.config, self.workdir)
        self.proc = m.spawn([*command, "serve", "--config", str(self.config)],
                            log=self.workdir / "server.log", cwd=self.workdir)  # fmt: skip

        def live() -> bool:
            try:
                data = m.http_json(self.base + "/api/v1/cameras")["data"]
            except (m.HttpError, KeyError, ValueError):
                return False
            return sum(c.get("state") == "live" for c in data) == len(self.cameras)

        if not m.wait_until(live, timeout=120, interval=0.5):
            raise SystemExit(f"cameras not live; log:\n{m.tail(self.workdir / 'server.log')}")

    def stop(self) -> None:
        if self.proc is not None:
            m.stop_processes([self.proc])


class Viewer:
    """One aiortc WHEP viewer that decodes the video (and records when it first did)."""

    def __init__(self, base: str, camera: str) -> None:
        from ipaddress import IPv4Address

        from aiortc import RTCConfiguration, RTCPeerConnection

        from relay.ice import restrict_host_addresses

        restrict_host_addresses([IPv4Address("127.0.0.1")])  # loopback only, as the server
        self.base, self.camera = base, camera
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.frames = 0
        self.first_frame: float | None = None
        self.seen = asyncio.Event()
        self.location: str | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> float:
        import httpx
        from aiortc import RTCRtpReceiver, RTCSessionDescription

        video = self.pc.addTransceiver("video", direction="recvonly")
        codecs = RTCRtpReceiver.getCapabilities("video").codecs
        video.setCodecPreferences([c for c in codecs if c.mimeType.lower() == "video/h264"])

        @self.pc.on("track")
        def _track(track: Any) -> None:
            self._tasks.append(asyncio.ensure_future(self._consume(track)))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        posted = time.monotonic()
        async with httpx.AsyncClient(base_url=self.base, headers=m.auth_headers()) as client:
            answer = await client.post(
                f"/api/v1/live/{self.camera}/whep", content=self.pc.localDescription.sdp,
                headers={"Content-Type": "application/sdp"}, timeout=20,
            )  # fmt: skip
        answer.raise_for_status()
        self.location = answer.headers["location"]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
        return posted

    async def _consume(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        try:
            while True:
                await track.recv()
                self.frames += 1
                if self.first_frame is None:
                    self.first_frame = time.monotonic()
                    self.seen.set()
        except MediaStreamError:
            return

    async def close(self) -> None:
        import httpx

        if self.location:
            async with httpx.AsyncClient(base_url=self.base, headers=m.auth_headers()) as client:
                await client.delete(self.location)
        await self.pc.close()


def cpu_percent(pids: list[int], seconds: float) -> float:
    before = m.cpu_seconds(pids)
    time.sleep(seconds)
    return 100.0 * (m.cpu_seconds(pids) - before) / seconds


def ffmpeg_cpu(url: str, transcode: bool, seconds: float, log: Path) -> float:
    coding = (
        ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v",
         "baseline", "-crf", "25"] if transcode else ["-c:v", "copy"]
    )  # fmt: skip
    proc = m.spawn(["ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", "tcp", "-i", url,
                    "-an", *coding, "-f", "null", "-"], log=log)  # fmt: skip
    try:
        time.sleep(3.0)  # connected, past the first GOP
        return cpu_percent([proc.pid], seconds)
    finally:
        m.stop_processes([proc])


async def watched(server: Server, seconds: float) -> tuple[float, int]:
    """Server CPU (% of a core) and frames decoded over ``seconds`` with one viewer."""
    viewer = Viewer(server.base, "cam")
    await viewer.start()
    await asyncio.sleep(3.0)
    before = m.cpu_seconds([server.proc.pid])
    frames = viewer.frames
    await asyncio.sleep(seconds)
    used = 100.0 * (m.cpu_seconds([server.proc.pid]) - before) / seconds
    received = viewer.frames - frames
    await viewer.close()
    return used, received


def transcode_cost(sim: Any, workdir: Path, seconds: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in SIZES:
        mount = f"h265-{name}"
        url = sim.rtsp_url(mount)
        server = Server(workdir / mount, {"cam": url})
        server.start()
        try:
            time.sleep(2.0)
            idle = cpu_percent([server.proc.pid], seconds)

            busy, received = asyncio.run(watched(server, seconds))
        finally:
            server.stop()
        copy = ffmpeg_cpu(url, False, seconds, workdir / f"{mount}-copy.log")
        converted = ffmpeg_cpu(url, True, seconds, workdir / f"{mount}-x264.log")
        results[name] = {
            "casewatch_percent": round(busy - idle, 1),
            "ffmpeg_percent": round(converted - copy, 1),
            "ratio": round((busy - idle) / max(0.1, converted - copy), 2),
            "viewer_fps": round(received / seconds, 1),
        }
        m.write_text(sys.stderr, f"  {name}: {results[name]}\n")
    return results


def first_frames(base: str, camera: str, trials: int) -> dict[str, float]:
    async def one() -> float:
        await asyncio.sleep(random.uniform(0.0, GOP))
        viewer = Viewer(base, camera)
        posted = await viewer.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(viewer.seen.wait(), timeout=15)
        took = (viewer.first_frame or time.monotonic()) - posted
        await viewer.close()
        return 1000.0 * took

    times = [asyncio.run(one()) for _ in range(trials)]
    return {"p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(sorted(times)[max(0, int(0.95 * len(times)) - 1)], 1)}  # fmt: skip


def audio_cost() -> dict[str, float]:
    """% of one core to store one camera's G.711 (60 s of it) as FLAC, and as AAC."""
    import av

    from recorder.lossless_audio import FlacTrack, expansion_table

    rng = np.random.default_rng(7)
    t = np.arange(60 * 8000) / 8000
    sweep = np.sin(2 * np.pi * (220 + 80 * np.sin(t)) * t)
    voice = 0.2 * sweep + 0.01 * rng.standard_normal(t.size)
    samples = (voice * 32767).astype(np.int16)
    encoder: Any = av.CodecContext.create("pcm_alaw", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 8000, "mono", "s16"
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate, frame.pts = 8000, 0
    g711 = b"".join(bytes(p) for p in encoder.encode(frame))
    packets = [g711[i : i + 160] for i in range(0, len(g711), 160)]

    with tempfile.TemporaryDirectory() as scratch:
        container = av.open(str(Path(scratch) / "a.mp4"), "w", format="mp4")
        track = FlacTrack(FlacTrack.add_stream(container), "pcm_alaw")
        began = time.process_time()
        for index, payload in enumerate(packets):
            for packet in track.add(payload, index * 160):
                container.mux(packet)
        for packet in track.finish():
            container.mux(packet)
        flac = time.process_time() - began
        container.close()

        container = av.open(str(Path(scratch) / "b.mp4"), "w", format="mp4")
        stream: Any = container.add_stream("aac", rate=8000, layout="mono")
        stream.bit_rate = 32_000
        table = expansion_table("pcm_alaw")
        began = time.process_time()
        for index, payload in enumerate(packets):
            block = table[np.frombuffer(payload, dtype=np.uint8)]
            chunk = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = 8000, index * 160, Fraction(1, 8000)
            for packet in stream.encode(chunk):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        aac = time.process_time() - began
        container.close()
    return {"flac_percent_of_core": round(100 * flac / 60, 3),
            "aac_percent_of_core": round(100 * aac / 60, 3)}  # fmt: skip


def run(seconds: float, trials: int) -> dict[str, Any]:
    """Parts e1–e3; the figures as ``report`` prints them."""
    from camsim.harness import SimulatorProcess

    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="casewatch-station-") as scratch:
        workdir = Path(scratch)
        with SimulatorProcess(mounts(), ident=True, ready_timeout=900.0) as sim:
            m.write_text(sys.stderr, "(e1) H.265 → H.264 per camera\n")
            result["transcode"] = transcode_cost(sim, workdir, seconds)
            m.write_text(sys.stderr, "(e2) time to first frame\n")
            server = Server(workdir / "ttff", {"h265": sim.rtsp_url("h265-720p"),
                                               "h264": sim.rtsp_url("h264-720p")})  # fmt: skip
            server.start()
            try:
                time.sleep(2.0)
                result["first_frame"] = {
                    "transcoded_h265": first_frames(server.base, "h265", trials),
                    "passthrough_h264": first_frames(server.base, "h264", trials),
                }
            finally:
                server.stop()
    m.write_text(sys.stderr, "(e3) G.711 on the recording path\n")
    result["g711"] = audio_cost()
    return result


def report(result: dict[str, Any]) -> str:
    lines = ["station cameras (part e)"]
    for name, row in result["transcode"].items():
        lines.append(
            f"  H.265→H.264 {name}: casewatch {row['casewatch_percent']} % of a core per camera "
            f"vs ffmpeg {row['ffmpeg_percent']} % → ratio {row['ratio']} "
            f"(viewer {row['viewer_fps']} fps)"
        )
    ttff = result["first_frame"]
    lines.append(
        f"  time to first frame: transcoded p50 {ttff['transcoded_h265']['p50_ms']} ms / p95 "
        f"{ttff['transcoded_h265']['p95_ms']} ms vs passthrough p50 "
        f"{ttff['passthrough_h264']['p50_ms']} ms / p95 {ttff['passthrough_h264']['p95_ms']} ms"
    )
    audio = result["g711"]
    lines.append(
        f"  G.711 stored as FLAC: {audio['flac_percent_of_core']} % of a core per camera vs "
        f"AAC {audio['aac_percent_of_core']} %"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.seconds, args.trials)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
