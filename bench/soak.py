"""Soak: N simulated cameras recorded for a long time while a schedule injects faults for real.

    .venv/bin/python bench/soak.py [--cameras 16] [--minutes 30] [--workdir DIR]

Faults, at fixed fractions of the run (each on real processes and real files):
* a camera flap (its RTSP mount stopped for 15 s)            → expect one `camera_offline` gap;
* a second camera's flap at a different moment               → idem;
* a camera stall (its open RTSP session sends nothing for 20 s but stays up) → expect a
  `camera_stalled` gap from the stall until the reconnect that `ingest.stall_seconds` triggers
  (the run ends at its last packet);
* a 30 s catalog outage (another process holds SQLite's write lock) → expect no gap at all,
  the `catalog_unavailable` alarm, every row landing afterwards;
* a disk-full episode (the recordings' tmpfs filled for 20 s; needs root) → expect a `disk_full`
  gap on every camera, starting within a fragment of the fill and ending within the retry
  backoff of space returning;
* two cameras whose media clocks run +500 and −500 ppm for the whole run → expect no gap.

It prints, per fault and camera, the expected and the catalogued gap (cause, start and end error),
the seconds lost beyond the faults (target 0), the server's RSS, threads and open files at start
(after the warm-up) and end (target: RSS growth < 5 MB/h, threads and files flat), and the
response times of `GET /api/v1/cameras` sampled through the run (it reads no catalog: the
figure holds at any catalog size). Loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

try:
    from bench import _measure as m
    from bench import _review_server as srv
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _measure as m  # type: ignore[import-not-found,no-redef]
    import _review_server as srv  # type: ignore[import-not-found,no-redef]

LOCK_HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
"""
FLAP_SECONDS, STALL_SECONDS, OUTAGE_SECONDS, DISK_FULL_SECONDS = 15.0, 20.0, 30.0, 20.0
CAUSE_SLACK = 2.0
"""Seconds a gap may start before / end after its fault (a fragment, a reconnect, a keyframe)."""


@dataclass
class Fault:
    """A fault that was injected: which cameras, when, and the gap cause it should leave."""

    name: str
    cameras: list[str]
    start: float
    end: float
    cause: str | None  # None: the fault must leave no gap
    slack_after: float = CAUSE_SLACK
    also: tuple[str, ...] = ()
    """Further causes its gap may have (a stalled camera's reconnects meet a silent mount)."""


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int) -> Iterator[bool]:
    """A tmpfs of ``size_mb`` at ``path`` (True), or a plain directory without root (False)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
        capture_output=True,
    )
    try:
        yield done.returncode == 0
    finally:
        if done.returncode == 0:
            subprocess.run(["umount", "-l", str(path)], check=False)


def process_figures(pid: int) -> dict[str, float]:
    proc = psutil.Process(pid)
    return {
        "rss_mb": proc.memory_info().rss / 1e6,
        "threads": proc.num_threads(),
        "open_files": proc.num_fds(),
    }


def run(args: argparse.Namespace) -> int:
    from camsim.harness import SimulatorProcess
    from camsim.spec import MountSpec

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="casewatch-soak-"))
    duration = args.minutes * 60.0
    names = [f"c{i:02d}" for i in range(1, args.cameras + 1)]
    specs = [MountSpec(name=n, width=640, height=360, fps=25, gop=2.0, bitrate=600) for n in names]
    with (
        small_disk(workdir / "rec", args.disk_mb) as limited,
        SimulatorProcess(specs, ident=False, loop_seconds=10) as sim,
    ):
        sim.set_clock_rate(names[2], 500)
        sim.set_clock_rate(names[3], -500)
        config = srv.settings(
            workdir,
            m.free_port(),
            database=workdir / "catalog.db",
            sites=[
                {
                    "id": "soak",
                    "name": "浸泡测试所",
                    "cameras": [{"id": n, "name": n, "url": sim.rtsp_url(n)} for n in names],
                }
            ],
            segment_seconds=60,
        )
        server = srv.Server(workdir / "server", config, port=config["server"]["port"])
        with server:
            srv.wait_recording(server, names, timeout=120)
            began = time.time()
            assert server.proc is not None
            faults: list[Fault] = [
                Fault("clock +500 ppm", [names[2]], began, began + duration, None),
                Fault("clock -500 ppm", [names[3]], began, began + duration, None),
            ]
            timings: list[float] = []
            at_start: dict[str, float] = {}
            schedule = [
                (0.15, "flap", names[0]),
                (0.30, "catalog", ""),
                (0.40, "stall", names[4]),
                (0.50, "flap", names[1]),
                (0.65, "disk", ""),
            ]
            warmup = min(300.0, duration * 0.2)
            while (now := time.time()) < began + duration:
                if not at_start and now - began >= warmup:
                    at_start = process_figures(server.proc.pid)
                    at_start["t"] = now
                if schedule and now - began >= schedule[0][0] * duration:
                    _, kind, camera = schedule.pop(0)
                    print(f"soak: +{(now - began) / 60:.1f} min: {kind} {camera}", flush=True)
                    try:
                        faults.append(inject(kind, camera, sim, server, workdir, names, limited))
                    except OSError as error:  # the simulator itself failed: say so, stop here
                        (workdir / "simulator.log").write_text(sim.stderr_text())
                        print(f"soak: the simulator failed ({error}); its log:\n"
                              f"{sim.stderr_text()[-3000:]}", flush=True)  # fmt: skip
                        break
                t0 = time.perf_counter()
                server.json("GET", "/api/v1/cameras")
                timings.append((time.perf_counter() - t0) * 1000)
                time.sleep(1.0)
            at_end = process_figures(server.proc.pid)
            at_end["t"] = time.time()
            ended = time.time()
            time.sleep(5)
            report(server, names, faults, began + 5, ended, at_start, at_end, timings)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def inject(
    kind: str,
    camera: str,
    sim: Any,
    server: srv.Server,
    workdir: Path,
    names: list[str],
    limited: bool,
) -> Fault:
    """Inject one fault and wait it out; returns what it should have left in the catalog."""
    start = time.time()
    if kind == "flap":
        sim.stop_mount(camera)
        time.sleep(FLAP_SECONDS)
        sim.start_mount(camera)
        return Fault(f"flap {camera}", [camera], start, time.time(), "camera_offline", 4.0)
    if kind == "stall":
        sim.stall(camera, STALL_SECONDS)
        time.sleep(STALL_SECONDS)
        return Fault(
            f"stall {camera}",
            [camera],
            start,
            time.time(),
            "camera_stalled",
            8.0,
            also=("camera_offline", "camera_connecting"),
        )
    if kind == "catalog":
        database = str(workdir / "catalog.db")
        holder = subprocess.Popen(
            [sys.executable, "-c", LOCK_HOLDER, database, str(OUTAGE_SECONDS)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        holder.stdout.readline()
        start = time.time()
        holder.wait(OUTAGE_SECONDS + 30)
        return Fault("catalog outage 30 s", names, start, time.time(), None)
    if not limited:
        return Fault("disk full (skipped: needs root)", [], start, start, None)
    root = workdir / "rec"
    stats = os.statvfs(root)
    filler = root / ".soak-filler"
    left = max(0, stats.f_bavail * stats.f_frsize - 65_536)
    chunk = b"\0" * (1 << 20)
    with filler.open("wb") as handle, contextlib.suppress(OSError):
        while left > 0:
            left -= handle.write(chunk[: min(len(chunk), left)])
    start = time.time()
    time.sleep(DISK_FULL_SECONDS)
    filler.unlink()
    return Fault("disk full 20 s", names, start, time.time(), "disk_full", 12.0)


def near(gaps: list[tuple[float, float, str]], fault: Fault) -> list[int]:
    """Indexes of the gaps that overlap a fault's window (with its slack)."""
    return [
        i
        for i, (a, b, _cause) in enumerate(gaps)
        if a < fault.end + fault.slack_after and b > fault.start - CAUSE_SLACK
    ]


def report(
    server: srv.Server,
    names: list[str],
    faults: list[Fault],
    start: float,
    end: float,
    at_start: dict[str, float],
    at_end: dict[str, float],
    timings: list[float],
) -> None:
    print(f"soak: {len(names)} cameras, {(end - start) / 60:.1f} min\n")
    print(f"{'fault':<24} {'camera':<6} {'expected':<15} {'catalogued':<15} "
          f"{'start err s':>11} {'end err s':>9}")  # fmt: skip
    lost_beyond = 0.0
    for camera in names:
        data = server.json(
            "GET", f"/api/v1/recordings?camera={camera}&start={iso(start)}&end={iso(end)}"
        )
        gaps = [(parse_iso(g["start"]), parse_iso(g["end"]), g["cause"]) for g in data["gaps"]]
        explained = [False] * len(gaps)

        mine = [f for f in faults if camera in f.cameras]
        for fault in [f for f in mine if f.cause is not None]:  # faults that leave a gap first
            inside = near(gaps, fault)
            for i in inside:
                explained[i] = explained[i] or gaps[i][2] in (fault.cause, *fault.also)
            if inside:
                a, b = gaps[inside[0]][0], gaps[inside[-1]][1]
                causes = ",".join(sorted({gaps[i][2] for i in inside}))
                print(f"{fault.name:<24} {camera:<6} {fault.cause:<15} {causes:<15} "
                      f"{a - fault.start:>+11.2f} {b - fault.end:>+9.2f}")  # fmt: skip
            else:
                print(f"{fault.name:<24} {camera:<6} {fault.cause:<15} {'MISSING':<15}")
        for fault in [f for f in mine if f.cause is None]:  # then those that must leave none
            caught = ", ".join(gaps[i][2] for i in near(gaps, fault) if not explained[i]) or "none"
            print(f"{fault.name:<24} {camera:<6} {'none':<15} {caught:<15}")
        for i, (a, b, cause) in enumerate(gaps):
            if not explained[i]:
                lost_beyond += b - a
                print(f"{'(unexplained gap)':<24} {camera:<6} {'-':<15} {cause:<15} "
                      f"{a - start:>+11.2f} {b - a:>9.2f}")  # fmt: skip
    hours = max(1e-9, (at_end["t"] - at_start.get("t", at_end["t"])) / 3600)
    print(f"\nseconds lost beyond the faults: {lost_beyond:.2f} (target 0)")
    if at_start:
        growth = at_end["rss_mb"] - at_start["rss_mb"]
        print(f"server RSS {at_start['rss_mb']:.1f} → {at_end['rss_mb']:.1f} MB "
              f"({growth / hours:+.1f} MB/h; target < 5), threads "
              f"{at_start['threads']:.0f} → {at_end['threads']:.0f}, open files "
              f"{at_start['open_files']:.0f} → {at_end['open_files']:.0f}")  # fmt: skip
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    print(f"GET /api/v1/cameras: p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms "
          f"over {len(timings)} calls (no catalog query: independent of catalog size; "
          "target p95 ≤ 20 ms)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument(
        "--disk-mb",
        type=int,
        default=4096,
        help="size of the recordings tmpfs (16 × 30 min ≈ 2.2 GB)",
    )
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: a temp dir)")
    args = parser.parse_args()
    if args.cameras < 5:
        parser.error("--cameras: at least 5 (two flap, two run off-clock, one stalls)")
    try:
        return run(args)
    except srv.BenchError as error:
        print(f"soak: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
