"""Live relay benchmark: casewatch's WHEP passthrough against aiortc's transcoding path and Janus.

    .venv/bin/python bench/relay.py [--parts a,b,c,d,e] [--seconds 20] [--soak 120] [--json F]

One camera simulator serves N mounts (1280x720 at 25 fps, about 2 Mbit/s H.264 with a 2 s GOP,
plus AAC; on-screen ident and clock on, so consecutive pictures differ). ``casewatch serve`` takes
the N cameras with ``record: false`` (recording is not part of the relay's cost) and the relay
limited to 127.0.0.1. Then, one after the other:

(a) **CPU per viewer-stream.** For each relay, the server's CPU (user+system, % of one core) is
    measured with its cameras connected and no viewer, then with viewers; per viewer-stream =
    (with − without) / streams. Scenarios: N cameras x 1 viewer (a server with N cameras), then
    1 camera x V viewers and 1 camera x 1 viewer (unsaturated reference) on a server with that one
    camera. Viewers are aiortc peers in a separate process (bench/_relay_viewers.py) that count
    the frames they receive but do not decode them; each viewer's frame rate in the window is
    compared with what its camera delivered to the server. Relays: casewatch (H.264
    passthrough); aiortc's decode → re-encode path (bench/_relay_baseline.py: MediaPlayer +
    MediaRelay, one H.264 encoder per viewer); Janus' streaming plugin with RTSP sources (C,
    passthrough) when the Debian package is installed. Janus never offers loopback ICE
    candidates, so it runs with its own simulator and viewers in a private network namespace
    whose only non-loopback interface is a veth pair inside it (nothing reaches the host's
    network). casewatch's whole-server CPU at N x 1 is checked against the 30 % target.
(b) **Time to first frame in Chromium.** A page on the API's own origin (Playwright
    ``page.route``, bench/_relay_page.html) posts a WHEP offer (H.264 preferred before
    createOffer, POST right after setLocalDescription) at random moments of the GOP and measures
    offer sent → first picture (requestVideoFrameCallback) and → framesDecoded > 0 (getStats);
    each trial DELETEs its session and closes its peer. The same page against the aiortc
    baseline (1 camera) is the comparison; for Janus, which has no GOP cache, part (a) reports
    when its viewers got their first keyframe.
(c) **Delay added by the relay.** bench/_relay_delay.py decodes the camera directly (RTSP/TCP)
    and through WHEP in one process and matches pictures by hash (p50/p95 of WHEP − RTSP).
(d) **Memory.** casewatch's PSS before, during and after ``--soak`` seconds of N viewers.
(e) **Station cameras** (bench/_relay_station.py): CPU of the H.265 → H.264 rendition per camera
    at 720p and 1080p beside ffmpeg's same conversion, time to first frame of a transcoded
    camera beside a passthrough one, and CPU of storing G.711 as FLAC beside AAC.

Everything runs on loopback (Janus: in its sealed namespace); every child process and the
working directory are removed on exit, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import psutil
import yaml

try:
    from bench import _measure as m
    from bench import _relay_station as station
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _measure as m  # type: ignore[import-not-found,no-redef]
    import _relay_station as station  # type: ignore[import-not-found,no-redef]

FPS = 25
WIDTH, HEIGHT = 1280, 720
GOP_SECONDS = 2.0
BITRATE_KBPS = 2000
LABEL = "casewatch relay bench"
"""One ident text for every mount, so all mounts share one pre-encoded loop (with the clock)."""

TARGET_TTFF_P50_MS = 250.0
TARGET_DELAY_P50_MS = 20.0
TARGET_NX1_CPU_PERCENT = 30.0
TARGET_GROWTH_MB = 2.0
"""'No memory growth': PSS at the end of the soak at most this much above its first sample."""
MIN_FPS = 0.9 * FPS
"""A viewer receiving less than this in a window counts as failing."""
NOISY_OTHER_CPU_PERCENT = 20.0

CHROMIUM = m.CHROMIUM
CHROMIUM_FLAGS = ["--headless", *m.CHROMIUM_ARGS]
PAGE_PATH = "/bench-relay.html"

JANUS_NS_IFACE = "cwb0"
JANUS_NS_PEER = "cwb1"
JANUS_NS_ADDRESS = "10.200.0.1"
JANUS_HTTP_PORT = 8088  # inside the namespace, where nothing else listens

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
FARM = BENCH_DIR / "_relay_viewers.py"
BASELINE = BENCH_DIR / "_relay_baseline.py"
DELAY = BENCH_DIR / "_relay_delay.py"
PAGE = BENCH_DIR / "_relay_page.html"

PARTS = ("a", "b", "c", "d", "e")
RELAYS = ("casewatch", "aiortc", "janus")
RELAY_TITLES = {
    "casewatch": "casewatch (passthrough)",
    "aiortc": "aiortc (decode+encode)",
    "janus": "janus (C, passthrough)",
}


class BenchError(Exception):
    """The benchmark (or one relay's phase of it) cannot go on."""


# -- results -------------------------------------------------------------------------------------


@dataclass
class Window:
    """CPU of one measuring window, each in % of one core."""

    seconds: float = 0.0
    server_cpu_percent: float = 0.0
    farm_cpu_percent: float = 0.0
    simulator_cpu_percent: float = 0.0
    host_busy_percent: float = 0.0
    """Busy share of all cores."""
    other_cpu_percent: float = 0.0
    """Everything on the host but the server, the viewers, the simulator and this process."""


@dataclass
class Scenario:
    """One viewer layout against one relay."""

    name: str
    cameras: int
    viewers: int
    server_cameras: int = 0
    """Cameras the server had (its idle CPU is that of these cameras without viewers)."""
    idle_cpu_percent: float = 0.0
    window: Window = field(default_factory=Window)
    cpu_percent_per_stream: float = 0.0
    fps: list[float] = field(default_factory=list)
    fps_min: float = 0.0
    fps_median: float = 0.0
    camera_fps: dict[str, float] = field(default_factory=dict)
    """Frames per second each watched camera delivered to the server in the window (casewatch:
    video packets received; aiortc: frames decoded and handed to its relay; Janus: unknown)."""
    failing: int = 0
    """Viewers below 90 % of their camera's rate (of 25 fps when unknown) or not connected."""
    start_errors: list[str] = field(default_factory=list)
    first_idr_ms: list[float] = field(default_factory=list)
    """Per viewer: request sent → first complete keyframe received (aiortc client)."""
    seconds_to_flow: float = 0.0
    sessions_left: int = 0
    """Server-side sessions still listed 10 s after every viewer left (casewatch, aiortc)."""


@dataclass
class ServerConfig:
    """One server configuration (its cameras) and its idle windows."""

    cameras: int
    idle: list[Window] = field(default_factory=list)
    idle_cpu_percent: float = 0.0
    """Time-weighted mean of the idle windows (before and after the scenarios)."""
    idle_camera_fps: dict[str, float] = field(default_factory=dict)
    pss_before_mb: float = 0.0
    pss_after_mb: float = 0.0


@dataclass
class RelayCpu:
    """Part (a) for one relay."""

    relay: str
    measured: bool = False
    reason: str = ""
    configs: list[ServerConfig] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    log_warnings: int = 0
    log_errors: int = 0
    log_excerpt: list[str] = field(default_factory=list)


@dataclass
class Ttff:
    """Part (b) for one relay: Chromium trials."""

    relay: str
    measured: bool = False
    reason: str = ""
    trials: list[dict[str, Any]] = field(default_factory=list)
    cold: dict[str, Any] = field(default_factory=dict)
    """The first trial of a fresh browser (WebRTC stack and decoder start-up), not in the stats."""
    ok: int = 0
    presented_ms: dict[str, float] = field(default_factory=dict)
    decoded_ms: dict[str, float] = field(default_factory=dict)
    answered_ms: dict[str, float] = field(default_factory=dict)
    connected_ms: dict[str, float] = field(default_factory=dict)
    delete_statuses: dict[str, int] = field(default_factory=dict)
    sessions_left: int = 0


@dataclass
class Delay:
    """Part (c)."""

    measured: bool = False
    reason: str = "not run"
    direct_frames: int = 0
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Soak:
    """Part (d)."""

    measured: bool = False
    reason: str = "not run"
    seconds: float = 0.0
    viewers: int = 0
    pss_idle_before_mb: float = 0.0
    samples_mb: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since the viewers started, PSS MB)."""
    growth_mb: float = 0.0
    """Median PSS of the last quarter of the samples minus that of the first quarter."""
    slope_mb_per_min: float = 0.0
    late_slope_mb_per_min: float = 0.0
    """Slope over the second half of the soak: a leak keeps a slope, a one-time step does not."""
    pss_after_mb: float = 0.0
    fps_min: float = 0.0
    fps_median: float = 0.0
    failing: int = 0
    cpu_percent: float = 0.0
    sessions_left: int = 0


@dataclass
class Results:
    """Everything one run measured."""

    cores: int = 0
    cpu: dict[str, RelayCpu] = field(default_factory=dict)
    ttff: dict[str, Ttff] = field(default_factory=dict)
    delay: Delay = field(default_factory=Delay)
    soak: Soak = field(default_factory=Soak)
    station: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """Things that looked wrong, with evidence."""


# -- small helpers -------------------------------------------------------------------------------


_STARTED = time.monotonic()


def progress(text: str) -> None:
    """A progress line on stderr, with the seconds since the start."""
    m.write_text(sys.stderr, f"[{time.monotonic() - _STARTED:5.0f}s] {text}")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation; nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """n, p50, p95, min, max, mean."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": percentile(values, 0.5),
        "p95": percentile(values, 0.95),
        "min": min(values),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def _own_cpu(me: psutil.Process) -> float:
    times = me.cpu_times()
    return times.user + times.system


def measure_window(
    server_pids: Sequence[int], farm_pid: int | None, sim_pid: int, seconds: float
) -> Window:
    """CPU of the server, the viewer farm, the simulator and the rest of the host."""
    me = psutil.Process()
    farm = [farm_pid] if farm_pid is not None else []
    host0, t0 = m.HostCpu.now(), time.monotonic()
    srv0, farm0, sim0, self0 = (
        m.cpu_seconds(server_pids),
        m.cpu_seconds(farm),
        m.cpu_seconds([sim_pid]),
        _own_cpu(me),
    )
    time.sleep(seconds)
    srv1, farm1, sim1, self1 = (
        m.cpu_seconds(server_pids),
        m.cpu_seconds(farm),
        m.cpu_seconds([sim_pid]),
        _own_cpu(me),
    )
    host1, t1 = m.HostCpu.now(), time.monotonic()
    elapsed = t1 - t0
    known = (srv1 - srv0) + (farm1 - farm0) + (sim1 - sim0) + (self1 - self0)
    return Window(
        seconds=elapsed,
        server_cpu_percent=100.0 * (srv1 - srv0) / elapsed,
        farm_cpu_percent=100.0 * (farm1 - farm0) / elapsed,
        simulator_cpu_percent=100.0 * (sim1 - sim0) / elapsed,
        host_busy_percent=host1.busy_percent_since(host0),
        other_cpu_percent=max(0.0, 100.0 * ((host1.busy - host0.busy) - known) / elapsed),
    )


BENIGN_LOG_LINES = ("created a new export signing key",)
"""Warnings every fresh data directory logs once; not about the relay."""


def count_log(
    log: Path, *, warning: str = " WARNING ", error: str = " ERROR "
) -> tuple[int, int, list[str]]:
    """Warnings, errors/tracebacks and the first interesting lines of a log."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    lines = [x for x in text.splitlines() if not any(b in x for b in BENIGN_LOG_LINES)]
    warnings = [line for line in lines if warning in line]
    errors = [line for line in lines if error in line or "Traceback" in line]
    return len(warnings), len(errors), (errors + warnings)[:8]


def spawn_logged(
    args: Sequence[str], log: Path, *, cwd: Path = PROJECT_ROOT, stdout_pipe: bool = False
) -> subprocess.Popen[bytes]:
    """A child in its own session that gets SIGTERM if this process dies; output to ``log``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else out,
            stderr=out,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=m._die_with_parent(signal.SIGTERM),
        )


# -- simulator -----------------------------------------------------------------------------------


def mount_specs(n: int) -> list[Any]:
    """cam1..camN: 720p25, 2 Mbit/s, GOP 2 s, AAC, one shared ident label."""
    from camsim.spec import MountSpec

    return [
        MountSpec(
            name=f"cam{i}",
            width=WIDTH,
            height=HEIGHT,
            fps=FPS,
            gop=GOP_SECONDS,
            bitrate=BITRATE_KBPS,
            audio=True,
            label=LABEL,
        )
        for i in range(1, n + 1)
    ]


@contextlib.contextmanager
def simulator(n: int) -> Iterator[Any]:
    """The camera simulator on 127.0.0.1 with the ident/clock on."""
    from camsim.errors import SimulatorError
    from camsim.harness import SimulatorProcess

    sim = SimulatorProcess(
        mount_specs(n), ident=True, ready_timeout=600.0, extra_args=["--log-level", "WARNING"]
    )
    try:
        sim.start()
    except SimulatorError as error:
        raise BenchError(f"the camera simulator did not start: {error}") from None
    try:
        yield sim
    finally:
        sim.stop()


# -- viewer farm ---------------------------------------------------------------------------------


class ViewerFarm:
    """bench/_relay_viewers.py as a child; its JSON lines are read by a thread."""

    def __init__(
        self,
        protocol: str,
        base: str,
        targets: Sequence[str],
        per_target: int,
        log: Path,
        *,
        prefix: Sequence[str] = (),
        ice_address: str = "127.0.0.1",
    ) -> None:
        self.viewers = len(targets) * per_target
        command = [
            *prefix,
            sys.executable,
            str(FARM),
            "--protocol",
            protocol,
            "--base",
            base,
            "--targets",
            ",".join(targets),
            "--per-target",
            str(per_target),
            "--ice-address",
            ice_address,
        ]
        self.proc = spawn_logged(command, log, stdout_pipe=True)
        self.log = log
        self._lock = threading.Lock()
        self.started: dict[str, Any] | None = None
        self.latest: dict[str, Any] | None = None
        self.closed = False
        self._reader = threading.Thread(target=self._read, name="farm-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        for raw in stream:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            with self._lock:
                if message.get("event") == "started":
                    self.started = message
                elif message.get("event") == "stats":
                    self.latest = message
                elif message.get("event") == "closed":
                    self.closed = True

    def snapshot(self) -> dict[str, Any] | None:
        with self._lock:
            return self.latest

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_started(self, timeout: float) -> dict[str, Any]:
        if not m.wait_until(
            lambda: self.started is not None, timeout=timeout, interval=0.1, alive=self.alive
        ):
            raise BenchError(f"viewers did not start; log:\n{m.tail(self.log, 15)}")
        assert self.started is not None
        return self.started

    def wait_flowing(self, timeout: float) -> float:
        """Wait until every viewer has frames; seconds it took (timeout: return anyway)."""
        began = time.monotonic()

        def flowing() -> bool:
            snap = self.snapshot()
            return snap is not None and all(f > 0 for f in snap["frames"])

        m.wait_until(flowing, timeout=timeout, interval=0.2, alive=self.alive)
        return time.monotonic() - began

    def wait_next_stats(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """The next stats line after now (so a window's edges are fresh)."""
        before = self.snapshot()
        m.wait_until(lambda: self.snapshot() is not before, timeout=timeout, interval=0.05)
        return self.snapshot()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (the farm ends its sessions first), wait, then SIGKILL."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def fps_between(a: dict[str, Any], b: dict[str, Any]) -> list[float]:
    """Frames per second of each viewer between two stats lines."""
    span = float(b["t"]) - float(a["t"])
    if span <= 0:
        return [0.0 for _ in a["frames"]]
    return [(fb - fa) / span for fa, fb in zip(a["frames"], b["frames"], strict=True)]


def first_idr_ms(snap: dict[str, Any]) -> list[float]:
    """Per viewer: stream requested → first complete keyframe, ms (viewers that got one)."""
    out: list[float] = []
    for started, idr in zip(snap.get("started", []), snap.get("first_idr", []), strict=False):
        if started is not None and idr is not None:
            out.append(1000.0 * (float(idr) - float(started)))
    return out


# -- relays under test -------------------------------------------------------------------------


class Relay:
    """A relay server process and how viewers reach it."""

    name = ""
    protocol = "whep"
    ice_address = "127.0.0.1"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = workdir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.cameras = 0

    def start(self, timeout: float) -> float:
        """Start the server and wait until every camera flows; the seconds that took."""
        raise NotImplementedError

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def base(self) -> str:
        raise NotImplementedError

    @property
    def sim_pid(self) -> int:
        raise NotImplementedError

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def targets(self, cameras: int) -> list[str]:
        return [f"cam{i}" for i in range(1, cameras + 1)]

    def farm_prefix(self) -> list[str]:
        return []

    def sessions(self) -> int | None:
        """Live sessions the server lists (None: it cannot tell)."""
        return None

    def camera_frames(self) -> dict[str, float] | None:
        """Video frames received so far from each camera (None: the server does not tell)."""
        return None

    def pss(self) -> int:
        return m.pss_bytes(self.pid) if self.alive() else 0

    def stop(self) -> None:
        if self.proc is not None:
            m.stop_processes([self.proc], timeout=30.0)

    def log_counts(self) -> tuple[int, int, list[str]]:
        return count_log(self.log)

    def check_alive(self) -> None:
        if not self.alive():
            raise BenchError(f"{self.name} exited; log tail:\n{m.tail(self.log, 30)}")


class CasewatchRelay(Relay):
    """``casewatch serve`` with the cameras (record: false) and the relay on 127.0.0.1."""

    name = "casewatch"

    def __init__(self, workdir: Path, urls: Sequence[str], sim_pid: int) -> None:
        super().__init__(workdir)
        self._sim_pid = sim_pid
        self.port = m.free_port()
        cameras = [
            {"id": f"cam{i}", "name": f"cam {i}", "url": url, "record": False}
            for i, url in enumerate(urls, start=1)
        ]
        settings: dict[str, Any] = {
            "storage": {"path": str(workdir / "rec")},
            "database": {"url": f"sqlite:///{workdir / 'casewatch.db'}"},
            "server": {"host": "127.0.0.1", "port": self.port},
            "logging": {"level": "warning"},
            "retention": {"max_age_days": None, "min_free_bytes": 0},
            "relay": {
                "ice_host_addresses": ["127.0.0.1"],
                "max_peers": 200,
                "max_peers_per_camera": 100,
            },
            "sites": [{"id": "bench", "name": "Bench", "cameras": cameras}],
        }
        self.config = workdir / "casewatch.yaml"
        self.config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
        self.cameras = len(cameras)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sim_pid(self) -> int:
        return self._sim_pid

    def start(self, timeout: float) -> float:
        """Start and wait until every camera is live; the seconds that took."""
        script = Path(sys.executable).with_name("casewatch")
        command = [str(script)] if script.is_file() else [sys.executable, "-m", "api.cli"]
        m.provision_token(command, self.config, self.workdir)  # also for the viewer farms
        self.proc = spawn_logged(
            [*command, "serve", "--config", str(self.config)], self.log, cwd=self.workdir
        )
        began = time.monotonic()
        states: dict[str, int] = {}

        def live() -> bool:
            nonlocal states
            try:
                data = m.http_json(self.base + "/api/v1/cameras", timeout=5.0)["data"]
            except (m.HttpError, KeyError, ValueError):
                return False
            states = {}
            for camera in data:
                states[str(camera.get("state"))] = states.get(str(camera.get("state")), 0) + 1
            return len(data) == self.cameras and states.get("live", 0) == self.cameras

        if not m.wait_until(live, timeout=timeout, interval=0.5, alive=self.alive):
            self.check_alive()
            raise BenchError(
                f"casewatch: not all {self.cameras} cameras live after {timeout:.0f} s: {states};"
                f" log tail:\n{m.tail(self.log, 20)}"
            )
        return time.monotonic() - began

    def sessions(self) -> int | None:
        try:
            return int(m.http_json(self.base + "/api/v1/live/sessions", timeout=10.0)["count"])
        except (m.HttpError, KeyError, ValueError):
            return None

    def camera_frames(self) -> dict[str, float] | None:
        try:
            text = m.http_get(self.base + "/metrics", timeout=10.0).decode()
        except m.HttpError:
            return None
        return {
            labels["camera"]: value
            for labels, value in m.prometheus_samples(text, "casewatch_camera_packets_total")
            if labels.get("kind") == "video" and "camera" in labels
        }


class AiortcRelay(Relay):
    """bench/_relay_baseline.py: MediaPlayer (decode) + MediaRelay + one encoder per viewer."""

    name = "aiortc"

    def __init__(self, workdir: Path, urls: Sequence[str], sim_pid: int) -> None:
        super().__init__(workdir)
        self._sim_pid = sim_pid
        self.port = m.free_port()
        self.urls = list(urls)
        self.cameras = len(self.urls)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sim_pid(self) -> int:
        return self._sim_pid

    def start(self, timeout: float) -> float:
        cameras = [f"--camera=cam{i}={url}" for i, url in enumerate(self.urls, start=1)]
        began = time.monotonic()
        self.proc = spawn_logged(
            [sys.executable, str(BASELINE), "--port", str(self.port), *cameras], self.log
        )

        def ready() -> bool:
            text = self.log.read_text(encoding="utf-8", errors="replace")
            if "relay-baseline ready" not in text:
                return False
            try:
                m.http_get(self.base + "/health", timeout=2.0)
            except m.HttpError:
                return False
            return True

        if not m.wait_until(ready, timeout=timeout, interval=0.5, alive=self.alive):
            self.check_alive()
            raise BenchError(f"aiortc baseline not ready; log tail:\n{m.tail(self.log, 20)}")
        line = next(x for x in self.log.read_text(encoding="utf-8").splitlines() if "ready" in x)
        if "errors=0" not in line:
            raise BenchError(f"aiortc baseline could not open every camera: {line}")
        return time.monotonic() - began

    def sessions(self) -> int | None:
        try:
            return int(m.http_json(self.base + "/health", timeout=10.0)["sessions"])
        except (m.HttpError, KeyError, ValueError):
            return None

    def camera_frames(self) -> dict[str, float] | None:
        try:
            cameras = m.http_json(self.base + "/health", timeout=10.0)["cameras"]
        except (m.HttpError, KeyError, ValueError):
            return None
        return {cid: float(info["video"]) for cid, info in cameras.items()}


def janus_unavailable() -> str | None:
    """Why Janus cannot be measured here (None: it can)."""
    if shutil.which("janus") is None:
        return "not installed (apt-get install janus)"
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} not found (needed for Janus' private network namespace)"
    if os.geteuid() != 0:
        return "needs root for a private network namespace (Janus offers no loopback candidates)"
    if not _janus_module("plugins", "libjanus_streaming.so"):
        return "the streaming plugin (libjanus_streaming.so) is missing"
    if not _janus_module("transports", "libjanus_http.so"):
        return "the HTTP transport (libjanus_http.so) is missing"
    return None


def _janus_module(kind: str, name: str) -> Path | None:
    root = Path("/usr/lib")
    found = sorted(root.glob(f"*/janus/{kind}/{name}")) + sorted(root.glob(f"janus/{kind}/{name}"))
    return found[0] if found else None


class JanusNamespace:
    """A private network namespace holding a camera simulator; Janus and its viewers join it.

    Janus (libnice) never gathers loopback candidates, so its phase runs in a namespace whose
    only other interface is a veth pair living entirely inside it. ``unshare`` creates it for the
    simulator; Janus and the viewers enter it with ``nsenter``. Nothing in it can reach, or be
    reached from, the host's network, and it disappears with its processes.
    """

    def __init__(self, workdir: Path, cameras: int) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.cameras = cameras
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "simulator.log"
        self.rtsp_port = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def enter(self) -> list[str]:
        """Command prefix that runs a program inside the namespace."""
        return ["nsenter", f"--net=/proc/{self.pid}/ns/net", "--"]

    def start(self, timeout: float) -> None:
        from camsim.harness import READY_RE

        mounts = self.workdir / "mounts.yaml"
        mounts.write_text(
            yaml.safe_dump([s.model_dump(exclude_none=True) for s in mount_specs(self.cameras)]),
            encoding="utf-8",
        )
        setup = (
            "set -e; ip link set lo up; "
            f"ip link add {JANUS_NS_IFACE} type veth peer name {JANUS_NS_PEER}; "
            f"ip addr add {JANUS_NS_ADDRESS}/24 dev {JANUS_NS_IFACE}; "
            f"ip link set {JANUS_NS_PEER} up; ip link set {JANUS_NS_IFACE} up; "
            "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 || true; "
            'exec "$0" "$@"'
        )
        self.proc = spawn_logged(
            [
                "unshare",
                "--net",
                "--",
                "sh",
                "-c",
                setup,
                sys.executable,
                "-m",
                "camsim",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--control-port",
                "0",
                "--config",
                str(mounts),
                "--ident",
                "--log-level",
                "WARNING",
            ],
            self.log,
            stdout_pipe=True,
        )
        found: dict[str, int] = {}
        stream = self.proc.stdout
        assert stream is not None

        def read_ready() -> None:
            for raw in stream:
                match = READY_RE.search(raw.decode(errors="replace"))
                if match:
                    found["port"] = int(match.group("rport"))
                    return

        reader = threading.Thread(target=read_ready, daemon=True)
        reader.start()
        reader.join(timeout)
        if "port" not in found:
            raise BenchError(f"simulator in the namespace did not start:\n{m.tail(self.log, 20)}")
        self.rtsp_port = found["port"]

    def stop(self) -> None:
        if self.proc is not None:
            m.stop_processes([self.proc], timeout=20.0)
            if self.proc.stdout is not None:
                self.proc.stdout.close()


class JanusRelay(Relay):
    """Janus' streaming plugin with one RTSP mountpoint per camera, inside ``JanusNamespace``."""

    name = "janus"
    protocol = "janus"
    ice_address = JANUS_NS_ADDRESS

    def __init__(self, workdir: Path, namespace: JanusNamespace, cameras: int) -> None:
        super().__init__(workdir)
        self.namespace = namespace
        self.cameras = cameras

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{JANUS_HTTP_PORT}"

    @property
    def sim_pid(self) -> int:
        return self.namespace.pid

    def targets(self, cameras: int) -> list[str]:
        return [str(i) for i in range(1, cameras + 1)]

    def farm_prefix(self) -> list[str]:
        return self.namespace.enter()

    def _write_config(self) -> Path:
        conf = self.workdir / "conf"
        folders = {k: conf / k for k in ("plugins", "transports", "events", "loggers")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        streaming = _janus_module("plugins", "libjanus_streaming.so")
        http = _janus_module("transports", "libjanus_http.so")
        assert streaming is not None and http is not None
        (folders["plugins"] / streaming.name).symlink_to(streaming)
        (folders["transports"] / http.name).symlink_to(http)
        (conf / "janus.jcfg").write_text(
            "general: {\n"
            f'  configs_folder = "{conf}"\n'
            + "".join(f'  {k}_folder = "{v}"\n' for k, v in folders.items())
            + "  debug_level = 4\n"
            f'  interface = "{JANUS_NS_ADDRESS}"\n'
            "  session_timeout = 0\n"
            "}\n"
            'media: {\n  ipv6 = false\n  rtp_port_range = "20000-40000"\n}\n'
            f'nat: {{\n  ice_enforce_list = "{JANUS_NS_IFACE}"\n  ice_tcp = false\n}}\n',
            encoding="utf-8",
        )
        (conf / "janus.transport.http.jcfg").write_text(
            'general: {\n  json = "plain"\n  base_path = "/janus"\n  http = true\n'
            f'  port = {JANUS_HTTP_PORT}\n  ip = "127.0.0.1"\n  https = false\n}}\n'
            "admin: {\n  admin_http = false\n}\n",
            encoding="utf-8",
        )
        mountpoints = "".join(
            f"cam{i}: {{\n"
            '  type = "rtsp"\n'
            f"  id = {i}\n"
            f'  description = "cam{i}"\n'
            "  audio = false\n"
            "  video = true\n"
            f'  url = "rtsp://127.0.0.1:{self.namespace.rtsp_port}/cam{i}"\n'
            "  rtsp_failcheck = false\n"
            # Janus repeats the camera's fmtp (main profile), which aiortc refuses; casewatch's
            # answer negotiates constrained baseline for the same stream, so say the same here.
            '  videofmtp = "profile-level-id=42e01f;packetization-mode=1"\n'
            "}\n"
            for i in range(1, self.cameras + 1)
        )
        (conf / "janus.plugin.streaming.jcfg").write_text(
            "general: {\n}\n" + mountpoints, encoding="utf-8"
        )
        return conf

    def start(self, timeout: float) -> float:
        began = time.monotonic()
        conf = self._write_config()
        self.proc = spawn_logged(
            [*self.namespace.enter(), "janus", "-C", str(conf / "janus.jcfg"), "-F", str(conf)],
            self.log,
        )

        def streaming() -> bool:
            text = self.log.read_text(encoding="utf-8", errors="replace")
            return all(f"[cam{i}] New video stream" in text for i in range(1, self.cameras + 1))

        if not m.wait_until(streaming, timeout=timeout, interval=0.5, alive=self.alive):
            self.check_alive()
            raise BenchError(
                f"janus: not every RTSP mountpoint streaming after {timeout:.0f} s; log tail:\n"
                f"{m.tail(self.log, 20)}"
            )
        return time.monotonic() - began

    def log_counts(self) -> tuple[int, int, list[str]]:
        return count_log(self.log, warning="[WARN]", error="[ERR]")


# -- part (a) ------------------------------------------------------------------------------------

ScenarioSpec = tuple[str, int, int]
"""(name, cameras, viewers per camera)."""


def server_configs(args: argparse.Namespace) -> list[tuple[int, list[ScenarioSpec]]]:
    """Each server configuration (cameras) with the scenarios run against it."""
    return [
        (args.cameras, [(f"{args.cameras}x1", args.cameras, 1)]),
        (1, [(f"1x{args.viewers}", 1, args.viewers), ("1x1", 1, 1)]),
    ]


def rates(
    before: dict[str, float] | None, after: dict[str, float] | None, seconds: float
) -> dict[str, float]:
    """Per-camera frames per second between two counter reads."""
    if not before or not after or seconds <= 0:
        return {}
    return {k: round((after[k] - before.get(k, 0.0)) / seconds, 2) for k in after}


def measure_idle(relay: Relay, seconds: float) -> tuple[Window, dict[str, float]]:
    """A window with the cameras connected and no viewer; the cameras' frame rates in it."""
    frames0, t0 = relay.camera_frames(), time.monotonic()
    window = measure_window([relay.pid], None, relay.sim_pid, seconds)
    frames1, t1 = relay.camera_frames(), time.monotonic()
    return window, rates(frames0, frames1, t1 - t0)


def run_scenario(relay: Relay, spec: ScenarioSpec, args: argparse.Namespace) -> Scenario:
    """Viewers on, flowing, warm-up, window, viewers off."""
    name, cameras, per_camera = spec
    result = Scenario(name=name, cameras=cameras, viewers=cameras * per_camera)
    farm = ViewerFarm(
        relay.protocol,
        relay.base,
        relay.targets(cameras),
        per_camera,
        relay.workdir / f"viewers-{name}.log",
        prefix=relay.farm_prefix(),
        ice_address=relay.ice_address,
    )
    try:
        started = farm.wait_started(60.0 + result.viewers)
        result.start_errors = [str(e) for e in started.get("errors", [])][:5]
        result.seconds_to_flow = farm.wait_flowing(30.0)
        time.sleep(args.warmup)
        relay.check_alive()
        before = farm.wait_next_stats()
        frames0, t0 = relay.camera_frames(), time.monotonic()
        window = measure_window([relay.pid], farm.pid, relay.sim_pid, args.seconds)
        frames1, t1 = relay.camera_frames(), time.monotonic()
        after = farm.wait_next_stats()
        relay.check_alive()
        result.window = window
        watched = {f"cam{i}" for i in range(1, cameras + 1)}
        result.camera_fps = {
            k: v for k, v in rates(frames0, frames1, t1 - t0).items() if k in watched
        }
        if before is not None and after is not None:
            result.fps = [round(f, 2) for f in fps_between(before, after)]
            states = after.get("states", [])
            for i, fps in enumerate(result.fps):
                camera_rate = result.camera_fps.get(f"cam{i // per_camera + 1}", float(FPS))
                expected = min(float(FPS), camera_rate)
                connected = i >= len(states) or states[i] == "connected"
                if fps < 0.9 * expected or not connected:
                    result.failing += 1
            result.first_idr_ms = [round(x, 1) for x in first_idr_ms(after)]
        else:
            result.failing = result.viewers
        if result.fps:
            result.fps_min = min(result.fps)
            result.fps_median = statistics.median(result.fps)
    finally:
        farm.stop()
    if relay.sessions() is not None:
        m.wait_until(lambda: relay.sessions() == 0, timeout=10.0, interval=0.5)
        result.sessions_left = relay.sessions() or 0
    else:
        time.sleep(2.0)
    return result


def measure_config(
    relay: Relay, specs: Sequence[ScenarioSpec], args: argparse.Namespace
) -> tuple[ServerConfig, list[Scenario]]:
    """Idle window, the scenarios, a shorter idle window again (drift check)."""
    config = ServerConfig(cameras=relay.cameras)
    progress(
        f"  {relay.name}: idle window ({args.seconds:g} s, {_cameras(relay.cameras)}, no viewer)"
    )
    time.sleep(args.warmup)
    config.pss_before_mb = relay.pss() / m.MB
    window, config.idle_camera_fps = measure_idle(relay, args.seconds)
    config.idle.append(window)
    done: list[Scenario] = []
    for spec in specs:
        name, cameras, per_camera = spec
        progress(f"  {relay.name}: {name} ({cameras * per_camera} viewer-streams)")
        scenario = run_scenario(relay, spec, args)
        done.append(scenario)
        cam = min(scenario.camera_fps.values()) if scenario.camera_fps else float("nan")
        progress(
            f"    server {scenario.window.server_cpu_percent:.1f} % CPU, viewers fps "
            f"min {scenario.fps_min:.1f} median {scenario.fps_median:.1f} (camera fps min "
            f"{_fmt(cam)}), failing {scenario.failing}/{scenario.viewers}, viewer farm "
            f"{scenario.window.farm_cpu_percent:.0f} %, "
            f"other {scenario.window.other_cpu_percent:.0f} %"
        )
    time.sleep(2.0)
    window, _ = measure_idle(relay, max(5.0, args.seconds / 2))
    config.idle.append(window)
    config.pss_after_mb = relay.pss() / m.MB
    total = sum(w.seconds for w in config.idle)
    config.idle_cpu_percent = sum(w.server_cpu_percent * w.seconds for w in config.idle) / total
    for scenario in done:
        scenario.server_cameras = relay.cameras
        scenario.idle_cpu_percent = config.idle_cpu_percent
        delta = scenario.window.server_cpu_percent - config.idle_cpu_percent
        scenario.cpu_percent_per_stream = delta / scenario.viewers
    return config, done


def add_config(
    out: RelayCpu, relay: Relay, specs: Sequence[ScenarioSpec], args: argparse.Namespace
) -> None:
    """Measure one configuration of a started relay into ``out``."""
    config, done = measure_config(relay, specs, args)
    out.configs.append(config)
    out.scenarios.extend(done)
    warnings, errors, excerpt = relay.log_counts()
    out.log_warnings += warnings
    out.log_errors += errors
    out.log_excerpt.extend(excerpt[: max(0, 8 - len(out.log_excerpt))])
    out.measured = True


# -- part (b) ------------------------------------------------------------------------------------


def run_ttff(relay: Relay, args: argparse.Namespace, camera: str = "cam1") -> Ttff:
    """Chromium trials against ``relay`` (WHEP on its own origin)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Route, sync_playwright

    out = Ttff(relay=relay.name)
    html = PAGE.read_text(encoding="utf-8")
    rng = random.Random()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
            )
            try:
                page = browser.new_page()

                def serve_page(route: Route) -> None:
                    route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

                page.route(relay.base + PAGE_PATH, serve_page)
                page.goto(relay.base + PAGE_PATH)
                for index in range(args.trials + 1):
                    check_interrupted()
                    time.sleep(0.3 + rng.uniform(0.0, GOP_SECONDS))  # a random moment of the GOP
                    trial: dict[str, Any] = page.evaluate(
                        "(camera) => window.trial(camera)", camera
                    )
                    if index == 0:
                        out.cold = trial
                    else:
                        out.trials.append(trial)
            finally:
                with contextlib.suppress(PlaywrightError):
                    browser.close()
    except PlaywrightError as error:
        check_interrupted()
        out.reason = f"Chromium failed: {str(error).splitlines()[0][:200]}"
        return out
    check_interrupted()
    ok = [t for t in out.trials if t.get("status") == 201 and t.get("presented") is not None]
    out.ok = len(ok)
    out.presented_ms = summary([float(t["presented"]) for t in ok])
    out.decoded_ms = summary([float(t["decoded"]) for t in ok if t.get("decoded") is not None])
    out.answered_ms = summary([float(t["answered"]) for t in ok if t.get("answered") is not None])
    out.connected_ms = summary(
        [float(t["connected"]) for t in ok if t.get("connected") is not None]
    )
    for t in out.trials:
        key = str(t.get("deleted"))
        out.delete_statuses[key] = out.delete_statuses.get(key, 0) + 1
    if relay.sessions() is not None:
        m.wait_until(lambda: relay.sessions() == 0, timeout=10.0, interval=0.5)
        out.sessions_left = relay.sessions() or 0
    out.measured = True
    return out


# -- part (c) ------------------------------------------------------------------------------------


def run_delay(relay: CasewatchRelay, rtsp_url: str, args: argparse.Namespace) -> Delay:
    """bench/_relay_delay.py against camera 1."""
    out = Delay()
    log = relay.workdir / "delay.log"
    proc = spawn_logged(
        [
            sys.executable,
            str(DELAY),
            "--base",
            relay.base,
            "--camera",
            "cam1",
            "--rtsp",
            rtsp_url,
            "--seconds",
            str(args.delay_seconds),
        ],
        log,
        stdout_pipe=True,
    )
    try:
        stdout, _ = proc.communicate(timeout=args.delay_seconds + 90)
    except subprocess.TimeoutExpired:
        m.stop_processes([proc])
        out.reason = "timed out"
        return out
    if proc.returncode != 0:
        out.reason = f"exited with {proc.returncode}: {m.tail(log, 5)}"
        return out
    data = json.loads(stdout.decode().strip().splitlines()[-1])
    out.direct_frames = int(data["direct_frames"])
    for name in ("marker", "stock"):
        client = data[name]
        delays = [float(x) for x in client.pop("delays_ms")]
        client["delay_ms"] = summary(delays)
        out.clients[name] = client
    out.measured = True
    return out


# -- part (d) ------------------------------------------------------------------------------------


def run_soak(relay: CasewatchRelay, args: argparse.Namespace) -> Soak:
    """N viewers for ``--soak`` seconds; PSS sampled all along."""
    out = Soak(seconds=args.soak, viewers=args.cameras)
    time.sleep(2.0)
    out.pss_idle_before_mb = relay.pss() / m.MB
    farm = ViewerFarm(
        "whep",
        relay.base,
        relay.targets(args.cameras),
        1,
        relay.workdir / "viewers-soak.log",
    )
    try:
        farm.wait_started(60.0)
        farm.wait_flowing(30.0)
        t0 = time.monotonic()
        first = farm.wait_next_stats()
        cpu0 = m.cpu_seconds([relay.pid])
        every = max(5.0, min(30.0, args.soak / 20))
        end = t0 + args.soak
        while True:
            now = time.monotonic()
            out.samples_mb.append((round(now - t0, 1), round(relay.pss() / m.MB, 2)))
            relay.check_alive()
            if now >= end:
                break
            time.sleep(min(every, max(0.0, end - now)))
        cpu1 = m.cpu_seconds([relay.pid])
        out.cpu_percent = 100.0 * (cpu1 - cpu0) / (time.monotonic() - t0)
        last = farm.wait_next_stats()
        if first is not None and last is not None:
            fps = fps_between(first, last)
            out.fps_min = min(fps)
            out.fps_median = statistics.median(fps)
            out.failing = sum(1 for f in fps if f < MIN_FPS)
    finally:
        farm.stop()
    m.wait_until(lambda: relay.sessions() == 0, timeout=10.0, interval=0.5)
    out.sessions_left = relay.sessions() or 0
    time.sleep(3.0)
    out.pss_after_mb = relay.pss() / m.MB
    if out.samples_mb:
        # PSS moves in steps of a few MB both ways (allocator arenas, bursts): compare the median
        # of the last quarter of the samples with that of the first quarter.
        values = [v for _, v in out.samples_mb]
        quarter = max(1, len(values) // 4)
        out.growth_mb = statistics.median(values[-quarter:]) - statistics.median(values[:quarter])
        if len(out.samples_mb) >= 3:
            out.slope_mb_per_min = _slope(out.samples_mb)
        late = out.samples_mb[len(out.samples_mb) // 2 :]
        if len(late) >= 3:
            out.late_slope_mb_per_min = _slope(late)
    out.measured = True
    return out


def _slope(samples: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    xs = [t / 60.0 for t, _ in samples]
    ys = [v for _, v in samples]
    if max(xs) == min(xs):
        return 0.0
    return float(statistics.linear_regression(xs, ys).slope)


# -- phases --------------------------------------------------------------------------------------


@contextlib.contextmanager
def started(relay: Relay, timeout: float) -> Iterator[Relay]:
    """Start ``relay`` and stop it on the way out."""
    try:
        took = relay.start(timeout)
        progress(f"  {relay.name}: {_cameras(relay.cameras)} up after {took:.1f} s")
        yield relay
    finally:
        relay.stop()


def casewatch_phase(args: argparse.Namespace, workdir: Path, results: Results) -> None:
    """Parts a, b, c, d against casewatch (one simulator; one server per configuration)."""
    progress(f"casewatch phase: simulator with {args.cameras} mounts")
    cpu = RelayCpu(relay="casewatch")
    measure_cpu = "a" in args.parts and "casewatch" in args.relays
    with simulator(args.cameras) as sim:
        urls = [sim.rtsp_url(f"cam{i}") for i in range(1, args.cameras + 1)]
        for cameras, specs in server_configs(args):
            first = cameras == args.cameras
            if not measure_cpu and not first:
                continue
            relay = CasewatchRelay(workdir / f"casewatch-{cameras}", urls[:cameras], sim.pid)
            with started(relay, args.live_timeout):
                if measure_cpu:
                    add_config(cpu, relay, specs, args)
                    results.cpu["casewatch"] = cpu
                if not first:
                    continue
                if "b" in args.parts and "casewatch" in args.relays:
                    reason = chromium_unavailable()
                    if reason:
                        results.ttff["casewatch"] = Ttff(relay="casewatch", reason=reason)
                    else:
                        progress(f"  casewatch: {args.trials} Chromium trials (+1 cold)")
                        results.ttff["casewatch"] = run_ttff(relay, args)
                if "c" in args.parts:
                    progress(f"  casewatch: relay delay, {args.delay_seconds:g} s of frames")
                    results.delay = run_delay(relay, urls[0], args)
                if "d" in args.parts:
                    progress(f"  casewatch: soak, {args.cameras} viewers for {args.soak:g} s")
                    results.soak = run_soak(relay, args)
                relay.check_alive()


def aiortc_phase(args: argparse.Namespace, workdir: Path, results: Results) -> None:
    """Parts a and b against the aiortc baseline (Chromium trials on the 1-camera server)."""
    progress(f"aiortc baseline phase: simulator with {args.cameras} mounts")
    cpu = RelayCpu(relay="aiortc")
    with simulator(args.cameras) as sim:
        urls = [sim.rtsp_url(f"cam{i}") for i in range(1, args.cameras + 1)]
        for cameras, specs in server_configs(args):
            last = cameras == 1
            if "a" not in args.parts and not last:
                continue
            relay = AiortcRelay(workdir / f"aiortc-{cameras}", urls[:cameras], sim.pid)
            with started(relay, args.live_timeout):
                if "a" in args.parts:
                    add_config(cpu, relay, specs, args)
                    results.cpu["aiortc"] = cpu
                if last and "b" in args.parts:
                    reason = chromium_unavailable()
                    if reason:
                        results.ttff["aiortc"] = Ttff(relay="aiortc", reason=reason)
                    else:
                        progress(f"  aiortc: {args.trials} Chromium trials (+1 cold)")
                        results.ttff["aiortc"] = run_ttff(relay, args)


def janus_phase(args: argparse.Namespace, workdir: Path, results: Results) -> None:
    """Part a against Janus (its own simulator, in a private network namespace)."""
    reason = janus_unavailable()
    if reason:
        results.cpu["janus"] = RelayCpu(relay="janus", reason=reason)
        return
    progress(f"janus phase: network namespace with a simulator of {args.cameras} mounts")
    namespace = JanusNamespace(workdir / "janus-ns", args.cameras)
    cpu = RelayCpu(relay="janus")
    try:
        namespace.start(args.live_timeout)
        for cameras, specs in server_configs(args):
            relay = JanusRelay(workdir / f"janus-{cameras}", namespace, cameras)
            with started(relay, args.live_timeout):
                add_config(cpu, relay, specs, args)
                results.cpu["janus"] = cpu
    finally:
        namespace.stop()


def chromium_unavailable() -> str | None:
    """Why part (b) cannot run (None: it can)."""
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed in this Python"
    return None


def check_tools() -> None:
    """Raise BenchError when the simulator cannot run."""
    if shutil.which("ffmpeg") is None:
        raise BenchError("ffmpeg is not on PATH (the simulator encodes its loop with it)")
    try:
        from camsim.harness import SimulatorProcess  # noqa: F401
    except ImportError as error:
        raise BenchError(
            f"the camera simulator cannot be imported ({error}); run with the project's venv: "
            ".venv/bin/python bench/relay.py"
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
            "the simulator needs GStreamer with gst-rtsp-server and PyGObject:\n"
            + probe.stderr.strip()[-800:]
        )


# -- findings ------------------------------------------------------------------------------------


def findings(results: Results) -> list[str]:
    """Things that looked wrong, each with its evidence."""
    notes: list[str] = []
    for name, cpu in results.cpu.items():
        if not cpu.measured:
            continue
        for config in cpu.configs:
            if config.pss_after_mb - config.pss_before_mb > 50:
                notes.append(
                    f"{name} ({_cameras(config.cameras)}): PSS grew from "
                    f"{config.pss_before_mb:.0f} to {config.pss_after_mb:.0f} MB over its scenarios"
                )
            if len(config.idle) == 2 and config.idle[1].server_cpu_percent > 1.5 * max(
                1.0, config.idle[0].server_cpu_percent
            ):
                notes.append(
                    f"{name} ({_cameras(config.cameras)}): idle CPU rose from "
                    f"{config.idle[0].server_cpu_percent:.1f} % to "
                    f"{config.idle[1].server_cpu_percent:.1f} % after the viewers left"
                )
        for s in cpu.scenarios:
            slow = {k: v for k, v in s.camera_fps.items() if v < MIN_FPS}
            if slow:
                notes.append(
                    f"{name} {s.name}: cameras delivered less than {MIN_FPS:g} fps to the server "
                    f"(lowest {min(slow.values()):.1f}, {len(slow)} cameras; other load "
                    f"{s.window.other_cpu_percent:.0f} %)"
                )
            if s.failing:
                low = sorted(s.fps)[:3]
                notes.append(
                    f"{name} {s.name}: {s.failing}/{s.viewers} viewers below 90 % of their "
                    f"camera's rate (lowest {low}; median {s.fps_median:.1f})"
                )
            if s.start_errors:
                notes.append(f"{name} {s.name}: viewers failed to start: {s.start_errors[:2]}")
            if s.sessions_left:
                notes.append(
                    f"{name} {s.name}: {s.sessions_left} sessions still listed 10 s after "
                    "every viewer DELETEd its session"
                )
            if s.window.other_cpu_percent > NOISY_OTHER_CPU_PERCENT:
                notes.append(
                    f"{name} {s.name}: other processes used {s.window.other_cpu_percent:.0f} % "
                    "of a core during the window (noisy host)"
                )
        if cpu.log_errors or (name == "casewatch" and cpu.log_warnings):
            notes.append(
                f"{name} log: {cpu.log_warnings} warnings, {cpu.log_errors} errors; first: "
                + " | ".join(line[:160] for line in cpu.log_excerpt[:3])
            )
    for name, ttff in results.ttff.items():
        if not ttff.measured:
            continue
        failed = [t for t in ttff.trials if t.get("status") != 201 or t.get("presented") is None]
        if failed:
            notes.append(
                f"chromium vs {name}: {len(failed)} trials without a picture: {failed[:2]}"
            )
        bad_deletes = {k: v for k, v in ttff.delete_statuses.items() if k != "204"}
        if bad_deletes:
            notes.append(f"chromium vs {name}: DELETE answered {bad_deletes} (expected 204)")
        if ttff.sessions_left:
            notes.append(f"chromium vs {name}: {ttff.sessions_left} sessions left after trials")
    delay = results.delay
    if delay.measured:
        for name, client in delay.clients.items():
            if client.get("unmatched"):
                notes.append(
                    f"delay ({name}): {client['unmatched']} pictures seen through WHEP had no "
                    "direct RTSP twin (altered or corrupt pictures?)"
                )
            if client.get("decode_errors"):
                notes.append(
                    f"delay ({name}): {client['decode_errors']} decode errors after the first "
                    "picture"
                )
    soak = results.soak
    if soak.measured:
        if soak.failing:
            notes.append(
                f"soak: {soak.failing}/{soak.viewers} viewers below {MIN_FPS:g} fps over the "
                f"soak (min {soak.fps_min:.1f})"
            )
        if soak.sessions_left:
            notes.append(f"soak: {soak.sessions_left} sessions left after the viewers left")
    return notes


# -- output --------------------------------------------------------------------------------------


def _cameras(n: int) -> str:
    return f"{n} camera" if n == 1 else f"{n} cameras"


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or value != value else f"{value:.{digits}f}"  # nan → "-"


def render(results: Results, args: argparse.Namespace) -> str:
    """The results tables with the targets beside them."""
    lines = [
        f"live relay benchmark: {args.cameras} cameras {WIDTH}x{HEIGHT}@{FPS} H.264 "
        f"{BITRATE_KBPS} kbit/s gop {GOP_SECONDS:g}s + AAC (simulator, ident+clock on); "
        f"{results.cores} cores; CPU windows {args.seconds:g} s after {args.warmup:g} s warm-up",
        f"targets ({results.cores} cores): time to first frame p50 <= {TARGET_TTFF_P50_MS:g} ms "
        f"(GOP {GOP_SECONDS:g} s); added delay p50 <= {TARGET_DELAY_P50_MS:g} ms; "
        f"{args.cameras} cameras x 1 viewer < {TARGET_NX1_CPU_PERCENT:g} % of one core (whole "
        f"server); no memory growth over the soak (<= {TARGET_GROWTH_MB:g} MB)",
        "",
    ]
    if "a" in args.parts:
        lines += render_cpu(results, args)
    if "b" in args.parts:
        lines += render_ttff(results)
    if "c" in args.parts:
        lines += render_delay(results)
    if "d" in args.parts:
        lines += render_soak(results, args)
    if results.station:
        lines += [*station.report(results.station).splitlines(), ""]
    lines.append("findings (what looked wrong, with evidence):")
    lines += [f"  - {note}" for note in results.notes] or ["  - none"]
    return "\n".join(lines)


def render_cpu(results: Results, args: argparse.Namespace) -> list[str]:
    head = (
        f"{'relay':<24} {'scenario':>8} {'cams':>4} {'idle%':>6} {'CPU%':>6} "
        f"{'per stream':>10} {'per 25fps':>9} {'viewer fps min/med':>18} {'cam fps':>7} "
        f"{'failing':>8} {'1st IDR p50/p95 ms':>18} {'viewers%':>8} {'sim%':>5} {'other%':>6}"
    )
    lines = [
        "(a) server CPU per viewer-stream, % of one core = (server CPU with viewers - the same "
        "server with its cameras and no viewer) / viewer-streams",
        "    cams = cameras the server has; viewers: aiortc peers in another process counting "
        "frames without decoding; 'per 25fps' scales a relay that could not keep up to full",
        "    frame rate (estimate); cam fps = lowest rate a watched camera delivered to the server "
        "(casewatch: packets in, aiortc: frames decoded, janus: -);",
        "    failing = viewers below 90 % of their camera's rate; '1st IDR' = stream requested -> "
        "first complete keyframe at the viewer (viewers join 50 ms apart);",
        "    viewers%/sim%/other% = CPU of the viewer processes, the camera simulator, everything "
        "else on the host (other users' jobs: high = noisy figures)",
        head,
        "-" * len(head),
    ]
    for name in RELAYS:
        cpu = results.cpu.get(name)
        if cpu is None:
            continue
        title = RELAY_TITLES[name]
        if not cpu.measured:
            lines.append(f"{title:<24} not measured ({cpu.reason})")
            continue
        for s in cpu.scenarios:
            per25 = s.cpu_percent_per_stream * FPS / s.fps_median if s.fps_median > 0 else None
            idr = summary(s.first_idr_ms)
            idr50, idr95 = idr.get("p50", float("nan")), idr.get("p95", float("nan"))
            cam = min(s.camera_fps.values()) if s.camera_fps else float("nan")
            saturated = s.fps_median < MIN_FPS
            lines.append(
                f"{title:<24} {s.name:>8} {s.server_cameras:>4} {s.idle_cpu_percent:>6.1f} "
                f"{s.window.server_cpu_percent:>6.1f} {s.cpu_percent_per_stream:>10.2f} "
                f"{_fmt(per25, 2) if per25 is not None and saturated else '':>9} "
                f"{s.fps_min:>8.1f}/{s.fps_median:<9.1f} {_fmt(cam):>7} "
                f"{f'{s.failing}/{s.viewers}':>8} {_fmt(idr50, 0):>8}/{_fmt(idr95, 0):<9} "
                f"{s.window.farm_cpu_percent:>8.1f} {s.window.simulator_cpu_percent:>5.1f} "
                f"{s.window.other_cpu_percent:>6.1f}"
            )
        for config in cpu.configs:
            idle_cam = (
                min(config.idle_camera_fps.values()) if config.idle_camera_fps else float("nan")
            )
            lines.append(
                f"{'':<24} {_cameras(config.cameras):>10}: idle windows "
                + "/".join(f"{w.server_cpu_percent:.1f}" for w in config.idle)
                + f" % (cam fps min {_fmt(idle_cam)}); PSS {config.pss_before_mb:.1f} MB before "
                f"the scenarios, {config.pss_after_mb:.1f} MB after"
            )
    cw = results.cpu.get("casewatch")
    if cw is not None and cw.measured and cw.scenarios:
        nx1 = cw.scenarios[0]
        lines.append(
            f"target: {nx1.name} whole-server CPU {nx1.window.server_cpu_percent:.1f} % of one core"
            f" (< {TARGET_NX1_CPU_PERCENT:g} %, every viewer at its camera's rate) "
            f"{_mark(nx1.window.server_cpu_percent < TARGET_NX1_CPU_PERCENT and not nx1.failing)}"
        )
        for other in ("aiortc", "janus"):
            base = results.cpu.get(other)
            if base is None or not base.measured:
                continue
            parts = []
            for ours, theirs in zip(cw.scenarios, base.scenarios, strict=False):
                ratio = (
                    theirs.cpu_percent_per_stream / ours.cpu_percent_per_stream
                    if ours.cpu_percent_per_stream > 0
                    else float("nan")
                )
                note = f" at {theirs.fps_median:.1f} fps" if theirs.fps_median < MIN_FPS else ""
                parts.append(f"{ours.name} {_fmt(ratio, 2)}x{note}")
            lines.append(f"{other} per-stream CPU / casewatch's: " + ", ".join(parts))
    lines.append("")
    return lines


def render_ttff(results: Results) -> list[str]:
    head = (
        f"{'relay':<24} {'ok':>6} {'presented p50/p95/max ms':>25} {'decoded p50/p95':>16} "
        f"{'answer p50':>10} {'connected p50':>13} {'cold trial':>10} {'DELETE':>12}"
    )
    lines = [
        "(b) time to first frame in Chromium: offer sent -> first picture presented "
        "(requestVideoFrameCallback) / framesDecoded > 0 (getStats every 4 ms); trials at random "
        "moments of the GOP",
        head,
        "-" * len(head),
    ]
    for name in ("casewatch", "aiortc"):
        ttff = results.ttff.get(name)
        if ttff is None:
            continue
        title = RELAY_TITLES[name]
        if not ttff.measured:
            lines.append(f"{title:<24} not measured ({ttff.reason})")
            continue
        p, d = ttff.presented_ms, ttff.decoded_ms
        cold = ttff.cold.get("presented")
        lines.append(
            f"{title:<24} {f'{ttff.ok}/{len(ttff.trials)}':>6} "
            f"{_fmt(p.get('p50', float('nan')), 0):>9}/{_fmt(p.get('p95', float('nan')), 0)}/"
            f"{_fmt(p.get('max', float('nan')), 0):<9} "
            f"{_fmt(d.get('p50', float('nan')), 0):>7}/{_fmt(d.get('p95', float('nan')), 0):<8} "
            f"{_fmt(ttff.answered_ms.get('p50', float('nan')), 0):>10} "
            f"{_fmt(ttff.connected_ms.get('p50', float('nan')), 0):>13} "
            f"{_fmt(float(cold), 0) if cold is not None else '-':>10} "
            f"{json.dumps(ttff.delete_statuses):>12}"
        )
    ours = results.ttff.get("casewatch")
    if ours is not None and ours.measured:
        p50 = ours.presented_ms.get("p50", float("nan"))
        lines.append(
            f"target: casewatch p50 {_fmt(p50, 0)} ms (<= {TARGET_TTFF_P50_MS:g} ms) "
            f"{_mark(p50 <= TARGET_TTFF_P50_MS and ours.ok == len(ours.trials))}"
        )
    janus = results.cpu.get("janus")
    if janus is not None and janus.measured:
        idr = [x for s in janus.scenarios for x in s.first_idr_ms]
        cw = results.cpu.get("casewatch")
        ours_idr = [x for s in cw.scenarios for x in s.first_idr_ms] if cw else []
        lines.append(
            "janus (no GOP cache: the viewer waits for the camera's next keyframe), first "
            f"keyframe at an aiortc viewer p50/p95: {_fmt(percentile(idr, 0.5), 0)}/"
            f"{_fmt(percentile(idr, 0.95), 0)} ms vs casewatch "
            f"{_fmt(percentile(ours_idr, 0.5), 0)}/{_fmt(percentile(ours_idr, 0.95), 0)} ms "
            "(from part a; Chromium is not run inside Janus' namespace)"
        )
    lines.append("")
    return lines


def render_delay(results: Results) -> list[str]:
    delay = results.delay
    lines = [
        "(c) delay added by the relay: WHEP arrival - direct RTSP arrival of the same decoded "
        "picture (same process, same libavcodec, matched by picture hash)",
    ]
    if not delay.measured:
        return [*lines, f"    not measured ({delay.reason})", ""]
    head = (
        f"{'WHEP client':<50} {'frames':>6} {'matched':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'min':>6} {'max':>6}"
    )
    lines += [head, "-" * len(head)]
    titles = {
        "marker": "aiortc, frame complete at RTP marker (browser-like)",
        "stock": "aiortc, stock jitter buffer (waits for next frame)",
    }
    for name in ("marker", "stock"):
        client = delay.clients.get(name, {})
        s = client.get("delay_ms", {})
        lines.append(
            f"{titles[name]:<50} {client.get('frames', 0):>6} {client.get('matched', 0):>7} "
            f"{_fmt(s.get('p50', float('nan'))):>7} {_fmt(s.get('p95', float('nan'))):>7} "
            f"{_fmt(s.get('min', float('nan'))):>6} {_fmt(s.get('max', float('nan'))):>6}"
        )
    p50 = delay.clients.get("marker", {}).get("delay_ms", {}).get("p50", float("nan"))
    lines.append(
        f"baseline: the direct RTSP client ({delay.direct_frames} pictures in the window) = 0 by "
        f"definition; target: p50 {_fmt(p50)} ms (<= {TARGET_DELAY_P50_MS:g} ms) "
        f"{_mark(p50 <= TARGET_DELAY_P50_MS)}"
    )
    lines.append("")
    return lines


def render_soak(results: Results, args: argparse.Namespace) -> list[str]:
    soak = results.soak
    lines = [f"(d) memory: casewatch PSS with {args.cameras} viewers for {args.soak:g} s"]
    if not soak.measured:
        return [*lines, f"    not measured ({soak.reason})", ""]
    first = soak.samples_mb[0][1] if soak.samples_mb else float("nan")
    last = soak.samples_mb[-1][1] if soak.samples_mb else float("nan")
    lines += [
        f"    PSS before the viewers {soak.pss_idle_before_mb:.1f} MB; viewers connected "
        f"{first:.1f} MB -> end {last:.1f} MB (growth {soak.growth_mb:+.2f} MB = median of the "
        f"last quarter of the samples - median of the first quarter; slope "
        f"{soak.slope_mb_per_min:+.3f} MB/min over {len(soak.samples_mb)} samples, "
        f"{soak.late_slope_mb_per_min:+.3f} MB/min over the second half); after the viewers left "
        f"{soak.pss_after_mb:.1f} MB",
        f"    server CPU {soak.cpu_percent:.1f} % of one core; viewers fps min/median "
        f"{soak.fps_min:.1f}/{soak.fps_median:.1f}, failing {soak.failing}/{soak.viewers}",
        "    samples (s, MB): " + " ".join(f"{t:g}:{v:.1f}" for t, v in soak.samples_mb),
        f"target: growth {soak.growth_mb:+.2f} MB over {args.soak:g} s (<= {TARGET_GROWTH_MB:g} "
        f"MB{'' if args.soak >= 600 else '; the issue asks for --soak 600'}) "
        f"{_mark(soak.growth_mb <= TARGET_GROWTH_MB)}",
        "",
    ]
    return lines


# -- main ----------------------------------------------------------------------------------------


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _choices(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [x.strip() for x in text.split(",") if x.strip()]
        bad = [x for x in items if x not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"choose from {','.join(allowed)} (got {text!r})")
        return items

    return parse


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="bench/relay.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--parts", type=_choices(PARTS), default=list(PARTS), help="a,b,c,d,e (default: all)"
    )
    parser.add_argument(
        "--relays",
        type=_choices(RELAYS),
        default=list(RELAYS),
        help="relays for parts a/b (default: casewatch,aiortc,janus; casewatch is always run "
        "for c and d)",
    )
    parser.add_argument("--cameras", type=int, default=16, help="cameras (default: 16)")
    parser.add_argument(
        "--viewers", type=int, default=32, help="viewers of one camera (default: 32)"
    )
    parser.add_argument(
        "--seconds", type=_positive, default=20.0, help="CPU window (default: %(default)s)"
    )
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="seconds before each window (default: 3)"
    )
    parser.add_argument(
        "--trials", type=int, default=25, help="Chromium trials per relay (default: 25)"
    )
    parser.add_argument(
        "--delay-seconds",
        type=_positive,
        default=20.0,
        help="seconds of matched frames for part c (default: 20)",
    )
    parser.add_argument(
        "--soak",
        type=_positive,
        default=120.0,
        help="seconds of viewers for part d (default: 120; the issue's figure: 600)",
    )
    parser.add_argument(
        "--live-timeout", type=_positive, default=120.0, help="seconds to wait for cameras"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--tmpdir", type=Path, default=None, help="parent of the working dir")
    parser.add_argument(
        "--keep", action="store_true", help="keep the working directory (configs, logs)"
    )
    return parser


_INTERRUPTED = threading.Event()
"""Set by SIGINT: Playwright's event loop can swallow the KeyboardInterrupt raised in it."""


def _raise_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _raise_on_sigint(_signum: int, _frame: FrameType | None) -> None:
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def check_interrupted() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed (even if something swallowed it)."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt


def write_json(path: Path, results: Results, args: argparse.Namespace) -> None:
    payload = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "targets": {
            "ttff_p50_ms": TARGET_TTFF_P50_MS,
            "delay_p50_ms": TARGET_DELAY_P50_MS,
            "nx1_cpu_percent": TARGET_NX1_CPU_PERCENT,
            "growth_mb": TARGET_GROWTH_MB,
            "min_fps": MIN_FPS,
        },
        "results": asdict(results),
    }
    path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (targets missed or not), 1 on failure, 130 on Ctrl-C."""
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    signal.signal(signal.SIGINT, _raise_on_sigint)
    try:
        check_tools()
    except BenchError as error:
        print(f"bench/relay.py: {error}", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="casewatch-relay-bench-", dir=args.tmpdir))
    results = Results(cores=psutil.cpu_count() or 1)
    started = time.monotonic()
    code = 0
    try:
        progress(f"working directory {workdir}")
        if "casewatch" in args.relays or "c" in args.parts or "d" in args.parts:
            casewatch_phase(args, workdir, results)
        if "aiortc" in args.relays and ("a" in args.parts or "b" in args.parts):
            try:
                aiortc_phase(args, workdir, results)
            except BenchError as error:
                progress(f"aiortc baseline failed: {error}")
                results.cpu.setdefault("aiortc", RelayCpu(relay="aiortc", reason=str(error)[:300]))
        if "janus" in args.relays and "a" in args.parts:
            try:
                janus_phase(args, workdir, results)
            except BenchError as error:
                progress(f"janus failed: {error}")
                results.cpu["janus"] = RelayCpu(relay="janus", reason=str(error)[:300])
        if "e" in args.parts:
            progress("(e) station cameras")
            results.station = station.run(args.seconds, trials=10)
    except BenchError as error:
        print(f"bench/relay.py: {error}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print("bench/relay.py: interrupted; cleaning up", file=sys.stderr)
        code = 130
    finally:
        if code != 130:
            results.notes = findings(results) + results.notes
            progress(f"finished in {time.monotonic() - started:.0f} s")
            print(render(results, args))
            if args.json is not None:
                write_json(args.json, results, args)
                progress(f"results written to {args.json}")
        if args.keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
