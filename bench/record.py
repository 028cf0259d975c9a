"""Recording benchmark: casewatch against one ``ffmpeg -c copy`` process per camera.

    .venv/bin/python bench/record.py [--cameras 8,32,64] [--seconds 40] [--warmup 10] [--json F]

For each camera count N a GStreamer RTSP simulator serves N mounts (1280x720 at 25 fps, about
2 Mbit/s H.264 with a 2 s GOP, plus AAC; ``--no-ident`` so all mounts share one pre-encoded loop).
Then, strictly one after the other (the host has few cores):

1. **casewatch**: ``casewatch serve`` with N cameras. Once every camera is ``live`` and
   ``recording``, wait ``--warmup`` s, then measure for ``--seconds``: CPU time of the server
   and its recorder worker processes (user+system) as % of one core per camera; PSS per camera,
   workers included, both marginal (minus the PSS of the same server with no cameras, hence no
   workers, measured once at the start) and total/N;
   packets dropped by timestamp validation, video packets missing against 25 fps x window x N,
   and gaps reported by ``/api/v1/recordings`` for the window (any gap is a problem).
2. **baseline**: N ``ffmpeg -c copy -f segment`` processes (what Frigate and most NVRs run), same
   warm-up and window; CPU summed over the processes, memory = mean PSS of one process.

The simulator's own CPU and the host's load are reported for each phase: the simulator shares the
cores with what is measured. Everything runs on loopback; every child process and temporary
directory is removed on exit, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode

import psutil
import yaml

try:
    from bench import _measure as m
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _measure as m  # type: ignore[import-not-found,no-redef]

FPS = 25
WIDTH, HEIGHT = 1280, 720
GOP_SECONDS = 2.0
BITRATE_KBPS = 2000
SEGMENT_SECONDS = 60
TARGET_CPU_RATIO = 1.0
TARGET_MEMORY_RATIO = 0.25
TARGET_DROPS_AT = 64
NOISY_OTHER_CPU_PERCENT = 20.0
JITTER_FRAMES_PER_CAMERA = 2
"""Video frames per camera that the two counter reads may legitimately be off by (bursts)."""
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class BenchError(Exception):
    """The benchmark cannot go on (missing tool, server not starting, cameras not live...)."""


# -- results -------------------------------------------------------------------------------------


@dataclass
class Window:
    """What was measured around the processes of one phase."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    simulator_cpu_percent: float = 0.0
    host_busy_percent: float = 0.0
    host_steal_percent: float = 0.0
    other_cpu_percent: float = 0.0
    """CPU used on the host by anything but the measured processes, the simulator and this
    benchmark (other users' jobs), in % of one core: a large value means a noisy measurement."""
    simulator_alive: bool = True
    recorded_bytes: int = 0

    def cpu_percent_per_camera(self, cameras: int) -> float:
        """CPU as % of one core, per camera."""
        return 100.0 * self.cpu_seconds / self.seconds / cameras if self.seconds else 0.0

    def recorded_mbps_per_camera(self, cameras: int) -> float:
        """Bytes that reached the recording files, in Mbit/s per camera."""
        return self.recorded_bytes * 8 / 1e6 / self.seconds / cameras if self.seconds else 0.0


@dataclass
class CasewatchResult:
    """The casewatch phase of one camera count."""

    cameras: int
    window: Window = field(default_factory=Window)
    cpu_percent_per_camera: float = 0.0
    pss_bytes: int = 0
    idle_pss_bytes: int = 0
    mb_per_camera_marginal: float = 0.0
    mb_per_camera_total: float = 0.0
    dropped_packets: int = 0
    video_packets: int = 0
    audio_packets: int = 0
    expected_video_packets: int = 0
    missing_video_packets: int = 0
    gaps: int = 0
    gap_seconds: float = 0.0
    gap_details: list[dict[str, Any]] = field(default_factory=list)
    min_coverage_percent: float = 100.0
    recorded_mbps_per_camera: float = 0.0
    seconds_to_live: float = 0.0
    log_warnings: int = 0
    log_errors: int = 0
    log_excerpt: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)
    """Top py-spy frames after the window (with ``--py-spy``)."""


@dataclass
class FfmpegResult:
    """The ffmpeg baseline phase of one camera count."""

    cameras: int
    window: Window = field(default_factory=Window)
    cpu_percent_per_camera: float = 0.0
    mb_per_camera: float = 0.0
    recorded_mbps_per_camera: float = 0.0
    exited: int = 0
    processes_with_errors: int = 0
    log_excerpt: list[str] = field(default_factory=list)


@dataclass
class Row:
    """One camera count: both phases and the comparisons."""

    cameras: int
    casewatch: CasewatchResult
    ffmpeg: FfmpegResult
    cpu_ratio: float
    memory_ratio_marginal: float
    memory_ratio_total: float
    problems: int
    """Dropped + missing beyond counter jitter + gaps."""


# -- options -------------------------------------------------------------------------------------


def _camera_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected e.g. 8,32,64, got {text!r}") from None
    if not counts or any(n < 1 or n > 512 for n in counts):
        raise argparse.ArgumentTypeError("camera counts must be between 1 and 512")
    return counts


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="bench/record.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--cameras",
        type=_camera_counts,
        default=[8, 32, 64],
        help="comma-separated camera counts (default: 8,32,64)",
    )
    parser.add_argument(
        "--seconds",
        type=_positive,
        default=40.0,
        help="measuring window per phase (default: %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=10.0,
        help="seconds between all cameras up and the window (default: %(default)s)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--live-timeout",
        type=_positive,
        default=None,
        help="seconds to wait for all cameras to be live (default: 60 + N)",
    )
    parser.add_argument(
        "--tmpdir",
        type=Path,
        default=None,
        help="parent of the temporary working directory (default: system temp)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the working directory (logs, recordings) for inspection",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        metavar="DIR",
        help="after each casewatch window, sample the server with py-spy for 15 s (outside the "
        "window) and write the collapsed stacks to DIR",
    )
    parser.add_argument(
        "--phases", default="casewatch,ffmpeg", help="which phases to run (default: %(default)s)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="casewatch's recorder worker processes (default: its own, one per core; 0: the "
        "cameras in the server process); CPU and PSS count the workers",
    )
    return parser


# -- environment checks --------------------------------------------------------------------------


def casewatch_command() -> list[str]:
    """How to start ``casewatch``: the venv's console script, else ``python -m api.cli``."""
    script = Path(sys.executable).with_name("casewatch")
    if script.is_file():
        return [str(script)]
    found = shutil.which("casewatch")
    return [found] if found else [sys.executable, "-m", "api.cli"]


def check_tools() -> str:
    """Path of ffmpeg; raises BenchError when ffmpeg or the simulator cannot run."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise BenchError(
            "ffmpeg is not on PATH: the baseline and the simulator's encoder need it "
            "(apt-get install ffmpeg)"
        )
    try:
        from camsim.harness import SimulatorProcess  # noqa: F401
    except ImportError as error:
        raise BenchError(
            f"the camera simulator cannot be imported ({error}); run with the "
            "project's venv: .venv/bin/python bench/record.py"
        ) from None
    probe = subprocess.run(
        [sys.executable, "-c", "from camsim import _gi"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=PROJECT_ROOT,
    )
    if probe.returncode != 0:
        raise BenchError(
            "the simulator needs GStreamer with gst-rtsp-server and PyGObject "
            "(gir1.2-gst-rtsp-server-1.0, python3-gi):\n" + probe.stderr.strip()[-800:]
        )
    return ffmpeg


# -- casewatch -----------------------------------------------------------------------------------


def casewatch_config(
    workdir: Path, port: int, urls: Sequence[str], workers: int | None = None
) -> Path:
    """Write a settings file for ``urls`` (may be empty) and return its path (``workers``:
    recorder worker processes; None: the server's default, one per core)."""
    cameras = [
        {"id": f"cam-{i:03d}", "name": f"cam {i}", "url": url}
        for i, url in enumerate(urls, start=1)
    ]
    settings: dict[str, Any] = {
        "storage": {"path": str(workdir / "rec"), "segment_seconds": SEGMENT_SECONDS},
        "database": {"url": f"sqlite:///{workdir / 'casewatch.db'}"},
        "server": {"host": "127.0.0.1", "port": port},
        "logging": {"level": "warning"},
        "retention": {"max_age_days": None, "min_free_bytes": 0},
        "recorder": {"workers": workers},
        "sites": [{"id": "bench", "name": "Bench", "cameras": cameras}] if cameras else [],
    }
    path = workdir / "casewatch.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


class CasewatchServer:
    """``casewatch serve`` as a child process in its own working directory."""

    def __init__(self, workdir: Path, urls: Sequence[str], workers: int | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.port = m.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = casewatch_config(workdir, self.port, urls, workers)
        self.log = workdir / "casewatch.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> CasewatchServer:
        m.provision_token(casewatch_command(), self.config, self.workdir)
        self.proc = m.spawn(
            [*casewatch_command(), "serve", "--config", str(self.config)],
            log=self.log,
            cwd=self.workdir,
            death_signal=signal.SIGTERM,
        )
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        """True while the server runs."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM, wait (bounded), SIGKILL."""
        if self.proc is not None:
            m.stop_processes([self.proc], timeout=45.0)

    def _check_alive(self) -> None:
        if not self.alive():
            raise BenchError(f"casewatch exited early; log tail:\n{m.tail(self.log, 30)}")

    def wait_http(self, timeout: float) -> None:
        """Wait until the API answers."""

        def answers() -> bool:
            try:
                m.http_get(self.base + "/api/v1/health", timeout=2.0)
            except m.HttpError:
                return False
            return True

        if not m.wait_until(answers, timeout=timeout, interval=0.25, alive=self.alive):
            self._check_alive()
            raise BenchError(
                f"casewatch API not up after {timeout:.0f} s; log tail:\n{m.tail(self.log, 30)}"
            )

    def cameras(self) -> list[dict[str, Any]]:
        """``GET /api/v1/cameras`` data."""
        body = m.http_json(self.base + "/api/v1/cameras", timeout=10.0)
        data: list[dict[str, Any]] = body["data"]
        return data

    def wait_all_recording(self, count: int, timeout: float) -> float:
        """Wait until ``count`` cameras are live and recording; returns the seconds it took."""
        started = time.monotonic()
        last: list[dict[str, Any]] = []

        def ready() -> bool:
            nonlocal last
            try:
                last = self.cameras()
            except m.HttpError:
                return False
            return len(last) == count and all(
                c.get("state") == "live" and c.get("recording") for c in last
            )

        if not m.wait_until(ready, timeout=timeout, interval=1.0, alive=self.alive):
            self._check_alive()
            states: dict[str, int] = {}
            for cam in last:
                key = f"{cam.get('state')}{'+rec' if cam.get('recording') else ''}"
                states[key] = states.get(key, 0) + 1
            raise BenchError(
                f"not all {count} cameras live+recording after {timeout:.0f} s: "
                f"{states}; log tail:\n{m.tail(self.log, 30)}"
            )
        return time.monotonic() - started

    def metrics(self) -> str:
        """``GET /metrics`` as text."""
        return m.http_get(self.base + "/metrics", timeout=15.0).decode()

    def recordings(self, camera: str, start: datetime, end: datetime) -> dict[str, Any]:
        """``GET /api/v1/recordings`` for one camera and a window."""
        query = urlencode({"camera": camera, "start": start.isoformat(), "end": end.isoformat()})
        result: dict[str, Any] = m.http_json(f"{self.base}/api/v1/recordings?{query}", timeout=30.0)
        return result


def idle_casewatch_pss(workdir: Path, settle: float = 5.0) -> tuple[int, float]:
    """PSS of a casewatch server with no cameras, and its idle CPU % of one core."""
    with CasewatchServer(workdir, []) as server:
        server.wait_http(60.0)
        time.sleep(1.0)
        cpu0, t0 = m.cpu_seconds([server.pid]), time.monotonic()
        time.sleep(settle)
        cpu = m.cpu_seconds([server.pid]) - cpu0
        elapsed = time.monotonic() - t0
        pss = m.pss_bytes(server.pid)
    return pss, 100.0 * cpu / elapsed


def _count_log(log: Path) -> tuple[int, int, list[str]]:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    lines = text.splitlines()
    warnings = sum(" WARNING " in line for line in lines)
    errors = sum(" ERROR " in line or " CRITICAL " in line or "Traceback" in line for line in lines)
    interesting = [line for line in lines if " WARNING " not in line or errors == 0]
    return warnings, errors, (interesting or lines)[:12]


def measure_window(
    pids: Sequence[int],
    sim_pid: int,
    seconds: float,
    pss: Callable[[], float],
    alive: Callable[[], bool],
    record_dir: Path,
) -> tuple[Window, list[int]]:
    """Measure ``pids`` (with descendants) for ``seconds``; PSS sampled about every 5 s."""
    me = psutil.Process()
    bytes0 = m.dir_bytes(record_dir)
    mono0 = time.monotonic()
    host0, sim0, self0 = m.HostCpu.now(), m.cpu_seconds([sim_pid]), _own_cpu(me)
    cpu0 = m.cpu_seconds(pids)
    samples = sample_during(seconds, pss, alive)
    cpu1 = m.cpu_seconds(pids)
    host1, sim1, self1 = m.HostCpu.now(), m.cpu_seconds([sim_pid]), _own_cpu(me)
    mono1 = time.monotonic()
    bytes1 = m.dir_bytes(record_dir)
    elapsed = mono1 - mono0
    window = Window(seconds=elapsed, cpu_seconds=cpu1 - cpu0, recorded_bytes=bytes1 - bytes0)
    window.simulator_cpu_percent = 100.0 * (sim1 - sim0) / elapsed
    window.simulator_alive = psutil.pid_exists(sim_pid) and _running(sim_pid)
    window.host_busy_percent = host1.busy_percent_since(host0)
    window.host_steal_percent = host1.steal_percent_since(host0)
    known = (cpu1 - cpu0) + (sim1 - sim0) + (self1 - self0)
    window.other_cpu_percent = max(0.0, 100.0 * ((host1.busy - host0.busy) - known) / elapsed)
    return window, samples


def _own_cpu(me: psutil.Process) -> float:
    times = me.cpu_times()
    return times.user + times.system


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def run_casewatch(
    n: int,
    urls: Sequence[str],
    workdir: Path,
    sim_pid: int,
    idle_pss: int,
    args: argparse.Namespace,
) -> CasewatchResult:
    """The casewatch phase for ``n`` cameras."""
    result = CasewatchResult(cameras=n, idle_pss_bytes=idle_pss)
    timeout = args.live_timeout or 60.0 + n
    with CasewatchServer(workdir, urls, args.workers) as server:
        server.wait_http(60.0)
        result.seconds_to_live = server.wait_all_recording(n, timeout)
        progress(
            f"  casewatch: {n} cameras live+recording after {result.seconds_to_live:.1f} s;"
            f" warming up {args.warmup:g} s"
        )
        time.sleep(args.warmup)

        text0 = server.metrics()
        wall0, mono0 = datetime.now(UTC), time.monotonic()
        window, pss_samples = measure_window(
            [server.pid],
            sim_pid,
            args.seconds,
            lambda: m.pss_bytes(server.pid),
            server.alive,
            workdir / "rec",
        )
        wall1 = datetime.now(UTC)
        text1 = server.metrics()
        mono_metrics = time.monotonic() - mono0
        if not server.alive():
            raise BenchError(f"casewatch died during the window:\n{m.tail(server.log, 30)}")
        if not window.simulator_alive:
            raise BenchError("the simulator died during the casewatch window")
        result.window = window
        result.cpu_percent_per_camera = window.cpu_percent_per_camera(n)
        result.recorded_mbps_per_camera = window.recorded_mbps_per_camera(n)
        result.pss_bytes = int(sum(pss_samples) / len(pss_samples)) if pss_samples else 0
        result.mb_per_camera_total = result.pss_bytes / m.MB / n
        result.mb_per_camera_marginal = (result.pss_bytes - idle_pss) / m.MB / n

        name_pk = "casewatch_camera_packets_total"
        name_dr = "casewatch_camera_packets_dropped_total"
        result.video_packets = round(
            m.prometheus_sum(text1, name_pk, kind="video")
            - m.prometheus_sum(text0, name_pk, kind="video")
        )
        result.audio_packets = round(
            m.prometheus_sum(text1, name_pk, kind="audio")
            - m.prometheus_sum(text0, name_pk, kind="audio")
        )
        result.dropped_packets = round(
            m.prometheus_sum(text1, name_dr) - m.prometheus_sum(text0, name_dr)
        )
        result.expected_video_packets = round(FPS * mono_metrics * n)
        result.missing_video_packets = result.expected_video_packets - result.video_packets

        for cam in server.cameras():
            rec = server.recordings(cam["id"], wall0, wall1)
            result.min_coverage_percent = min(
                result.min_coverage_percent, float(rec.get("coverage_percent", 0.0))
            )
            for gap in rec.get("gaps", []):
                result.gaps += 1
                result.gap_seconds += float(gap.get("duration", 0.0))
                if len(result.gap_details) < 20:
                    result.gap_details.append({"camera": cam["id"], **gap})
        if args.py_spy is not None:
            result.profile = profile_server(server.pid, args.py_spy / f"casewatch-n{n}.txt")
    result.log_warnings, result.log_errors, result.log_excerpt = _count_log(server.log)
    return result


def profile_server(pid: int, out: Path, seconds: int = 15) -> list[str]:
    """Sample ``pid`` with py-spy (collapsed stacks to ``out``); the top frames as lines."""
    script = Path(sys.executable).with_name("py-spy")
    exe = str(script) if script.is_file() else shutil.which("py-spy")
    if exe is None:
        return ["py-spy not found (.venv/bin/pip install py-spy)"]
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [
        exe,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(seconds),
        "--rate",
        "100",
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(out),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    except subprocess.TimeoutExpired:
        return ["py-spy timed out"]
    if done.returncode != 0 or not out.exists():
        return [f"py-spy failed: {(done.stderr or done.stdout).strip()[-300:]}"]
    self_top, inclusive_top = m.collapsed_top(out, 8)
    return [f"self {share:5.1f}%  {frame}" for share, frame in self_top] + [
        f"incl {share:5.1f}%  {frame}" for share, frame in inclusive_top
    ]


def sample_during(
    seconds: float, sample: Callable[[], float], alive: Callable[[], bool], every: float = 5.0
) -> list[int]:
    """Call ``sample()`` about every ``every`` s for ``seconds`` s (last call at the end)."""
    values: list[int] = []
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(every, left))
        if not alive():
            break
        values.append(int(sample()))
    return values


# -- ffmpeg baseline -----------------------------------------------------------------------------


def ffmpeg_command(ffmpeg: str, url: str, out: Path) -> list[str]:
    """The baseline recorder of one camera (what Frigate and most NVRs run)."""
    return [
        ffmpeg,
        "-nostdin",
        "-loglevel",
        "error",
        "-rtsp_transport",
        "tcp",
        "-i",
        url,
        "-c",
        "copy",
        "-map",
        "0",
        "-f",
        "segment",
        "-segment_time",
        str(SEGMENT_SECONDS),
        "-reset_timestamps",
        "1",
        str(out / "%05d.mp4"),
    ]


@contextlib.contextmanager
def ffmpeg_fleet(
    ffmpeg: str, urls: Sequence[str], workdir: Path
) -> Iterator[list[tuple[subprocess.Popen[bytes], Path, Path]]]:
    """One ffmpeg per URL; yields (process, output dir, log); stops them all on exit."""
    fleet: list[tuple[subprocess.Popen[bytes], Path, Path]] = []
    try:
        for i, url in enumerate(urls, start=1):
            out = workdir / f"cam{i:03d}"
            out.mkdir(parents=True)
            log = workdir / f"cam{i:03d}.log"
            fleet.append((m.spawn(ffmpeg_command(ffmpeg, url, out), log=log), out, log))
        yield fleet
    finally:
        m.stop_processes([proc for proc, _, _ in fleet], timeout=15.0)


def run_ffmpeg(
    n: int, ffmpeg: str, urls: Sequence[str], workdir: Path, sim_pid: int, args: argparse.Namespace
) -> FfmpegResult:
    """The baseline phase for ``n`` cameras."""
    result = FfmpegResult(cameras=n)
    timeout = args.live_timeout or 60.0 + n
    with ffmpeg_fleet(ffmpeg, urls, workdir) as fleet:
        procs = [proc for proc, _, _ in fleet]

        def all_writing() -> bool:
            return all(any(p.stat().st_size > 0 for p in out.glob("*.mp4")) for _, out, _ in fleet)

        def all_alive() -> bool:
            return all(p.poll() is None for p in procs)

        started = time.monotonic()
        if not m.wait_until(all_writing, timeout=timeout, interval=1.0, alive=all_alive):
            dead = [(p, log) for p, _, log in fleet if p.poll() is not None]
            detail = (
                f"{len(dead)} exited; first log:\n{m.tail(dead[0][1])}"
                if dead
                else f"not all writing after {timeout:.0f} s"
            )
            raise BenchError(f"ffmpeg baseline did not start: {detail}")
        progress(
            f"  ffmpeg: {n} processes writing after {time.monotonic() - started:.1f} s;"
            f" warming up {args.warmup:g} s"
        )
        time.sleep(args.warmup)

        pids = [p.pid for p in procs]
        window, pss_samples = measure_window(
            pids,
            sim_pid,
            args.seconds,
            lambda: sum(m.pss_bytes(p) for p in pids) / n,
            lambda: True,
            workdir,
        )
        if not window.simulator_alive:
            raise BenchError("the simulator died during the ffmpeg window")
        result.window = window
        result.cpu_percent_per_camera = window.cpu_percent_per_camera(n)
        result.recorded_mbps_per_camera = window.recorded_mbps_per_camera(n)
        result.mb_per_camera = sum(pss_samples) / len(pss_samples) / m.MB if pss_samples else 0.0
        result.exited = sum(p.poll() is not None for p in procs)
    for _, _, log in fleet:
        text = log.read_text(encoding="utf-8", errors="replace").strip() if log.exists() else ""
        if text:
            result.processes_with_errors += 1
            if len(result.log_excerpt) < 10:
                result.log_excerpt.extend(text.splitlines()[:2])
    return result


# -- one camera count ----------------------------------------------------------------------------


@contextlib.contextmanager
def simulator(n: int) -> Iterator[Any]:
    """A fresh simulator with mounts cam1..camN (720p25, 2 Mbit/s, gop 2 s, AAC, no ident).

    Each phase gets its own simulator: a phase's clients all leave at once when it ends, and the
    simulator must not carry that teardown (or any state) into the next phase.
    """
    from camsim.errors import SimulatorError
    from camsim.harness import SimulatorProcess
    from camsim.spec import MountSpec

    mounts = [
        MountSpec(
            name=f"cam{i}",
            width=WIDTH,
            height=HEIGHT,
            fps=FPS,
            gop=GOP_SECONDS,
            bitrate=BITRATE_KBPS,
            audio=True,
        )
        for i in range(1, n + 1)
    ]
    sim = SimulatorProcess(
        mounts, ident=False, ready_timeout=300.0, extra_args=["--log-level", "WARNING"]
    )
    try:
        sim.start()
    except SimulatorError as error:
        raise BenchError(f"the camera simulator did not start: {error}") from None
    try:
        yield sim
    finally:
        sim.stop()


def run_count(n: int, ffmpeg: str, root: Path, idle_pss: int, args: argparse.Namespace) -> Row:
    """The casewatch phase, then the ffmpeg phase, each against its own simulator."""
    phases = {p.strip() for p in args.phases.split(",")}
    cw = CasewatchResult(cameras=n)
    if "casewatch" in phases:
        progress(f"N={n}: casewatch phase (simulator with {n} mounts)")
        with simulator(n) as sim:
            urls = [sim.rtsp_url(f"cam{i}") for i in range(1, n + 1)]
            cw = run_casewatch(n, urls, root / f"n{n}-casewatch", sim.pid, idle_pss, args)
        progress(
            f"  casewatch: {cw.cpu_percent_per_camera:.2f} % CPU/camera, "
            f"{cw.mb_per_camera_marginal:.1f} MB/camera marginal, "
            f"dropped {cw.dropped_packets}, missing {cw.missing_video_packets}, "
            f"gaps {cw.gaps}, log warnings/errors {cw.log_warnings}/{cw.log_errors}, "
            f"other load {cw.window.other_cpu_percent:.0f} %"
        )
    ff = FfmpegResult(cameras=n)
    if "ffmpeg" in phases:
        progress(f"N={n}: ffmpeg phase (simulator with {n} mounts)")
        with simulator(n) as sim:
            urls = [sim.rtsp_url(f"cam{i}") for i in range(1, n + 1)]
            ff = run_ffmpeg(n, ffmpeg, urls, root / f"n{n}-ffmpeg", sim.pid, args)
        progress(
            f"  ffmpeg: {ff.cpu_percent_per_camera:.2f} % CPU/camera, "
            f"{ff.mb_per_camera:.1f} MB/camera, exited {ff.exited}, "
            f"with errors {ff.processes_with_errors}, "
            f"other load {ff.window.other_cpu_percent:.0f} %"
        )
    jitter = JITTER_FRAMES_PER_CAMERA * n
    problems = cw.dropped_packets + max(0, cw.missing_video_packets - jitter) + cw.gaps
    return Row(
        cameras=n,
        casewatch=cw,
        ffmpeg=ff,
        cpu_ratio=_ratio(cw.cpu_percent_per_camera, ff.cpu_percent_per_camera),
        memory_ratio_marginal=_ratio(cw.mb_per_camera_marginal, ff.mb_per_camera),
        memory_ratio_total=_ratio(cw.mb_per_camera_total, ff.mb_per_camera),
        problems=problems,
    )


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


# -- output --------------------------------------------------------------------------------------


def progress(text: str) -> None:
    """A progress line on stderr."""
    m.write_text(sys.stderr, text)


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def render(rows: Sequence[Row], idle_pss: int, idle_cpu: float, args: argparse.Namespace) -> str:
    """The result table with the targets beside it."""
    head = (
        f"{'N':>3} | {'cw CPU%/cam':>11} {'ff CPU%/cam':>11} {'ratio':>6} | "
        f"{'cw MB/cam marg':>14} {'cw MB/cam tot':>13} {'ff MB/cam':>9} {'ratio m/t':>11} | "
        f"{'drop':>5} {'missing':>8} {'gaps':>5} | {'sim CPU% cw/ff':>14} "
        f"{'other CPU% cw/ff':>16} | {'Mbit/s/cam cw/ff':>16}"
    )
    lines = [
        f"recording benchmark: {WIDTH}x{HEIGHT}@{FPS} H.264 {BITRATE_KBPS} kbit/s gop "
        f"{GOP_SECONDS:g}s + AAC; window {args.seconds:g} s after {args.warmup:g} s warm-up; "
        f"{psutil_cores()} cores",
        f"targets: CPU ratio <= {TARGET_CPU_RATIO:g}; memory <= {TARGET_MEMORY_RATIO:g} x ffmpeg's;"
        f" zero drops/missing/gaps at N={TARGET_DROPS_AT} (missing tolerance "
        f"{JITTER_FRAMES_PER_CAMERA} frames/camera for counter-read jitter)",
        f"casewatch with 0 cameras: PSS {idle_pss / m.MB:.1f} MB, idle CPU {idle_cpu:.2f} %",
        "CPU% = % of one core; sim CPU% = the simulator's CPU (% of one core) during the phase; "
        "other CPU% = everything else on the host (other users' jobs; high = noisy numbers)",
        head,
        "-" * len(head),
    ]
    for row in rows:
        cw, ff = row.casewatch, row.ffmpeg
        lines.append(
            f"{row.cameras:>3} | {cw.cpu_percent_per_camera:>11.2f} "
            f"{ff.cpu_percent_per_camera:>11.2f} {row.cpu_ratio:>6.2f} | "
            f"{cw.mb_per_camera_marginal:>14.2f} {cw.mb_per_camera_total:>13.2f} "
            f"{ff.mb_per_camera:>9.2f} "
            f"{row.memory_ratio_marginal:>5.2f}/{row.memory_ratio_total:<5.2f}"
            f" | {cw.dropped_packets:>5} {cw.missing_video_packets:>8} {cw.gaps:>5} | "
            f"{cw.window.simulator_cpu_percent:>6.1f}/{ff.window.simulator_cpu_percent:<7.1f} "
            f"{cw.window.other_cpu_percent:>7.1f}/{ff.window.other_cpu_percent:<8.1f} | "
            f"{cw.recorded_mbps_per_camera:>7.2f}/{ff.recorded_mbps_per_camera:<8.2f}"
        )
    lines.append("")
    for row in rows:
        cw = row.casewatch
        verdicts = [
            f"CPU ratio {row.cpu_ratio:.2f} {_mark(row.cpu_ratio <= TARGET_CPU_RATIO)}",
            f"memory ratio {row.memory_ratio_marginal:.2f} "
            f"{_mark(row.memory_ratio_marginal <= TARGET_MEMORY_RATIO)}",
            f"problems {row.problems} {_mark(row.problems == 0)}"
            + ("" if row.cameras == TARGET_DROPS_AT else " (target applies at N=64)"),
        ]
        extra = (
            f"casewatch log warnings/errors {cw.log_warnings}/{cw.log_errors}, "
            f"min coverage {cw.min_coverage_percent:.2f} %, "
            f"live after {cw.seconds_to_live:.1f} s; ffmpeg exited "
            f"{row.ffmpeg.exited}, with errors {row.ffmpeg.processes_with_errors}; host busy "
            f"{cw.window.host_busy_percent:.0f}/{row.ffmpeg.window.host_busy_percent:.0f} % "
            "of all cores"
        )
        lines.append(f"N={row.cameras}: " + "; ".join(verdicts) + f" | {extra}")
        for gap in cw.gap_details[:3]:
            lines.append(f"    gap {gap}")
        for phase, window in (("casewatch", cw.window), ("ffmpeg", row.ffmpeg.window)):
            if window.other_cpu_percent > NOISY_OTHER_CPU_PERCENT:
                lines.append(
                    f"    note: other processes used {window.other_cpu_percent:.0f} % of a core "
                    f"during the {phase} window: treat N={row.cameras} as noisy"
                )
        if cw.profile:
            lines.append(f"    casewatch py-spy top frames (self, on-CPU) at N={row.cameras}:")
            lines.extend(f"      {line}" for line in cw.profile)
    return "\n".join(lines)


def psutil_cores() -> int:
    """Logical CPU count."""
    return psutil.cpu_count() or 1


# -- main ----------------------------------------------------------------------------------------


def _raise_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (targets missed or not), 1 on failure, 130 on Ctrl-C."""
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        ffmpeg = check_tools()
    except BenchError as error:
        print(f"bench/record.py: {error}", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="casewatch-bench-", dir=args.tmpdir))
    rows: list[Row] = []
    idle_pss, idle_cpu = 0, 0.0
    try:
        progress(f"working directory {workdir}")
        idle_pss, idle_cpu = idle_casewatch_pss(workdir / "idle")
        progress(
            f"casewatch with 0 cameras: PSS {idle_pss / m.MB:.1f} MB, idle CPU {idle_cpu:.2f} %"
        )
        for n in args.cameras:
            rows.append(run_count(n, ffmpeg, workdir, idle_pss, args))
            if not args.keep:  # recordings of a finished count are no longer needed
                for sub in workdir.glob(f"n{n}-*"):
                    shutil.rmtree(sub, ignore_errors=True)
        print(render(rows, idle_pss, idle_cpu, args))
        if args.json is not None:
            payload = {
                "args": {"cameras": args.cameras, "seconds": args.seconds, "warmup": args.warmup},
                "idle_pss_bytes": idle_pss,
                "idle_cpu_percent": idle_cpu,
                "targets": {
                    "cpu_ratio": TARGET_CPU_RATIO,
                    "memory_ratio": TARGET_MEMORY_RATIO,
                    "zero_drops_at": TARGET_DROPS_AT,
                },
                "rows": [asdict(row) for row in rows],
            }
            args.json.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
            progress(f"results written to {args.json}")
        return 0
    except BenchError as error:
        print(f"bench/record.py: {error}", file=sys.stderr)
        if rows:
            print(render(rows, idle_pss, idle_cpu, args))
        return 1
    except KeyboardInterrupt:
        print("bench/record.py: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
