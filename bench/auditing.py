"""Access benchmark: what auditing costs, and what a signed-in request costs.

    .venv/bin/python bench/auditing.py [--seconds 20] [--workers 4] [--workdir DIR]

One simulated camera; the same server run twice in one go — with the audit trail (the product)
and, as the baseline, with ``AuditTrail.append`` made a no-op (``bench/_serve_without_audit.py``;
nothing else differs). For each it prints:

(a) **live view start/stop rate**: ``--workers`` clients each POST a WHEP offer (one offer made
    once by aiortc, reused) and DELETE the session, as fast as the server answers, for
    ``--seconds``; sessions per second and the server's CPU per session. Every start and stop is
    an audit entry (plus the checkpoints they make due).
(b) **authenticated reads**: ``GET /api/v1/cameras`` with a bearer token vs ``GET
    /api/v1/health`` (no user): p50/p95 latency — the price of looking the token up.

Loopback only; both servers and the simulator are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

try:
    from bench import _measure as m
    from bench import _review_server as srv
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _measure as m  # type: ignore[import-not-found,no-redef]
    import _review_server as srv  # type: ignore[import-not-found,no-redef]

WITHOUT_AUDIT = Path(__file__).resolve().with_name("_serve_without_audit.py")


async def make_offer() -> str:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    video = pc.addTransceiver("video", direction="recvonly")
    codecs = RTCRtpReceiver.getCapabilities("video").codecs  # type: ignore[union-attr]
    video.setCodecPreferences([c for c in codecs if c.mimeType.lower() == "video/h264"])
    await pc.setLocalDescription(await pc.createOffer())
    sdp = str(pc.localDescription.sdp)
    await pc.close()
    return sdp


async def churn(base: str, offer: str, seconds: float, workers: int) -> int:
    """Start and stop live views for ``seconds`` with ``workers`` clients; how many."""
    done = 0
    deadline = time.monotonic() + seconds
    headers = {**m.auth_headers(), "Content-Type": "application/sdp"}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            answer = await client.post("/api/v1/live/cam/whep", content=offer, headers=headers)
            if answer.status_code != 201:
                raise srv.BenchError(f"WHEP: HTTP {answer.status_code}: {answer.text[:200]}")
            gone = await client.delete(answer.headers["location"], headers=m.auth_headers())
            if gone.status_code != 204:
                raise srv.BenchError(f"DELETE: HTTP {gone.status_code}")
            done += 1

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(workers)))
    return done


def latencies(server: srv.Server, path: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        status, _ = server.request("GET", path)
        samples.append((time.perf_counter() - began) * 1000)
        if status != 200:
            raise srv.BenchError(f"GET {path}: HTTP {status}")
    return samples


def measure(
    label: str, workdir: Path, config: dict[str, Any], offer: str, args: argparse.Namespace
) -> dict[str, float]:
    server = srv.Server(workdir, config, port=config["server"]["port"])
    if label == "without audit":
        server.command_override = [sys.executable, str(WITHOUT_AUDIT)]
    with server:
        srv.wait_recording(server, ["cam"], timeout=60)
        assert server.proc is not None
        proc = psutil.Process(server.proc.pid)
        cpu0, t0 = sum(proc.cpu_times()[:2]), time.monotonic()
        sessions = asyncio.run(churn(server.base, offer, args.seconds, args.workers))
        cpu, elapsed = sum(proc.cpu_times()[:2]) - cpu0, time.monotonic() - t0
        cameras = latencies(server, "/api/v1/cameras", 300)
        health = latencies(server, "/api/v1/health", 300)
    return {
        "rate": sessions / elapsed,
        "cpu_ms": 1000 * cpu / max(1, sessions),
        "cameras_p50": statistics.median(cameras),
        "cameras_p95": sorted(cameras)[int(0.95 * len(cameras))],
        "health_p50": statistics.median(health),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    from camsim.harness import SimulatorProcess
    from camsim.spec import MountSpec

    root = Path(args.workdir or tempfile.mkdtemp(prefix="casewatch-access-"))
    offer = asyncio.run(make_offer())
    spec = MountSpec(name="cam", width=640, height=360, fps=25, gop=2.0, bitrate=600)
    results = {}
    try:
        with SimulatorProcess([spec], ident=False, loop_seconds=10) as sim:
            for label in ("with audit", "without audit"):
                workdir = root / label.replace(" ", "-")
                config = srv.settings(
                    workdir,
                    m.free_port(),
                    database=workdir / "catalog.db",
                    sites=[{"id": "s", "name": "测试所", "cameras": [
                        {"id": "cam", "name": "讯问室", "url": sim.rtsp_url("cam")}]}],
                )  # fmt: skip
                config["relay"] = {"ice_host_addresses": ["127.0.0.1"], "max_peers": 256}
                results[label] = measure(label, workdir, config, offer, args)
    except srv.BenchError as error:
        print(f"access: {error}", file=sys.stderr)
        return 2
    finally:
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    on, off = results["with audit"], results["without audit"]
    print(f"(a) live view start+stop, {args.workers} clients × {args.seconds:g} s")
    for label, r in results.items():
        rate, cpu = f"{r['rate']:7.1f} sessions/s", f"{r['cpu_ms']:6.2f} ms/session"
        print(f"    {label:<14} {rate}   server CPU {cpu}")
    print(f"    audit costs {100 * (1 - on['rate'] / off['rate']):+.1f} % of the rate, "
          f"{on['cpu_ms'] - off['cpu_ms']:+.2f} ms CPU per session (2 entries)")  # fmt: skip
    print("(b) GET /api/v1/cameras with a bearer token vs GET /api/v1/health (no user), 300 each")
    for label, r in results.items():
        print(f"    {label:<14} cameras p50 {r['cameras_p50']:.2f} ms, "
              f"p95 {r['cameras_p95']:.2f} ms; health p50 {r['health_p50']:.2f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
