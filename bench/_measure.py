"""Measurement helpers for the benchmarks: CPU time, PSS, host load, HTTP and child processes.

Everything here is Linux-specific (``/proc``, ``prctl``) and only uses loopback networking.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psutil

PR_SET_PDEATHSIG = 1
MB = 1024 * 1024

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium, driven by Playwright (never ``playwright install``)."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",  # the machine's network is closed: no background calls
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
"""Flags for headless runs on a machine without a display or outside network."""

# -- child processes ---------------------------------------------------------------------------


def _die_with_parent(sig: int) -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child receive ``sig`` when this process dies."""
    parent = os.getpid()

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def spawn(
    args: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    death_signal: int = signal.SIGKILL,
) -> subprocess.Popen[bytes]:
    """Start ``args`` in its own session with stdout+stderr to ``log``.

    The child is sent ``death_signal`` if the benchmark dies (even by SIGKILL), and Ctrl-C in the
    terminal reaches only the benchmark, which then stops its children in order.
    """
    with log.open("ab") as out:
        return subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent(death_signal),
        )


def stop_processes(procs: Iterable[subprocess.Popen[bytes]], *, timeout: float = 15.0) -> None:
    """SIGTERM every live process, wait up to ``timeout`` in total, SIGKILL the rest."""
    live = [p for p in procs if p.poll() is None]
    for proc in live:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in live:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    for proc in live:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5.0)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file ('' if it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# -- CPU and memory ------------------------------------------------------------------------------


def _tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(pids: Iterable[int]) -> float:
    """User+system CPU seconds of the processes, their live descendants and reaped children."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
        except psutil.NoSuchProcess:
            continue
        for index, proc in enumerate(_tree(root)):
            try:
                times = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
            total += times.user + times.system
            if index == 0:  # reaped children are accounted to the root only once
                total += times.children_user + times.children_system
    return total


def pss_bytes(pid: int, *, children: bool = True) -> int:
    """Proportional set size of ``pid`` (plus its descendants)."""
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return 0
    procs = _tree(root) if children else [root]
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            total += int(proc.memory_full_info().pss)
    return total


@dataclass(frozen=True)
class HostCpu:
    """A snapshot of the host's CPU time counters."""

    busy: float
    total: float
    steal: float

    @classmethod
    def now(cls) -> HostCpu:
        """The counters now."""
        times = psutil.cpu_times()
        idle = times.idle + getattr(times, "iowait", 0.0)
        total = float(sum(times))
        return cls(busy=total - idle, total=total, steal=float(getattr(times, "steal", 0.0)))

    def busy_percent_since(self, earlier: HostCpu) -> float:
        """Busy share of all cores between ``earlier`` and this snapshot, in percent."""
        span = self.total - earlier.total
        return 100.0 * (self.busy - earlier.busy) / span if span > 0 else 0.0

    def steal_percent_since(self, earlier: HostCpu) -> float:
        """Stolen share of all cores (hypervisor) between ``earlier`` and this snapshot."""
        span = self.total - earlier.total
        return 100.0 * (self.steal - earlier.steal) / span if span > 0 else 0.0


def dir_bytes(root: Path) -> int:
    """Total size of the regular files under ``root``."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += (Path(dirpath) / name).stat().st_size
    return total


# -- HTTP ---------------------------------------------------------------------------------------


class HttpError(Exception):
    """A request failed or answered with a non-2xx status."""


TOKEN_ENV = "CASEWATCH_TOKEN"
"""The bench's API token, for this process's requests and its children's (viewer farms)."""


def provision_token(casewatch: Sequence[str], config: Path, cwd: Path) -> str:
    """An admin and its API token for a benchmark's server, made as an installer would (the
    CLI); the token is also put in ``TOKEN_ENV`` for this process and its children."""
    password = f"Pw-{os.urandom(8).hex()}-9x"
    add = subprocess.run(
        [*casewatch, "user", "add", "bench", "--role", "admin", "--config", str(config)],
        input=f"{password}\n{password}\n", capture_output=True, text=True, cwd=cwd, check=False,
    )  # fmt: skip
    if add.returncode != 0 and "exists already" not in add.stderr:
        raise HttpError(f"casewatch user add: {add.stderr.strip()}")
    made = subprocess.run(
        [*casewatch, "token", "create", "bench", "--config", str(config)],
        capture_output=True, text=True, cwd=cwd, check=False,
    )  # fmt: skip
    if made.returncode != 0:
        raise HttpError(f"casewatch token create: {made.stderr.strip()}")
    token = made.stdout.strip().splitlines()[-1]
    os.environ[TOKEN_ENV] = token
    return token


def auth_headers() -> dict[str, str]:
    """``Authorization: Bearer`` with the bench's token, when there is one."""
    token = os.environ.get(TOKEN_ENV)
    return {"Authorization": f"Bearer {token}"} if token else {}


def http_get(url: str, *, timeout: float = 10.0) -> bytes:
    """GET ``url`` (loopback) with the bench's token and return the body; raises HttpError."""
    request = urllib.request.Request(url, headers=auth_headers())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # loopback only
            body: bytes = resp.read()
            return body
    except urllib.error.HTTPError as error:
        detail = error.read()[:500].decode(errors="replace")
        raise HttpError(f"GET {url}: HTTP {error.code}: {detail}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        raise HttpError(f"GET {url}: {error}") from None


def http_json(url: str, *, timeout: float = 10.0) -> Any:
    """GET ``url`` and decode JSON."""
    return json.loads(http_get(url, timeout=timeout))


_SAMPLE_RE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)"
)
_LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def prometheus_samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of metric ``name`` in Prometheus text format, as (labels, value)."""
    samples: list[tuple[dict[str, str], float]] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE_RE.match(line)
        if match is None or match.group("name") != name:
            continue
        labels = dict(_LABEL_RE.findall(match.group("labels") or ""))
        samples.append((labels, float(match.group("value"))))
    return samples


def prometheus_sum(text: str, name: str, **where: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``where``."""
    return sum(
        value
        for labels, value in prometheus_samples(text, name)
        if all(labels.get(k) == v for k, v in where.items())
    )


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.5,
    alive: Callable[[], bool] | None = None,
) -> bool:
    """Poll ``predicate`` until true (→ True), the deadline passes or ``alive`` fails (→ False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if alive is not None and not alive():
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def collapsed_top(
    path: Path, count: int
) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """Top frames of a collapsed-stack file (py-spy ``--format raw``): by self and inclusive %.

    The first frame of each stack (the thread) is left out of the inclusive ranking.
    """
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        samples = int(number)
        frames = stack.split(";")
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames[1:]):
            inclusive[frame] += samples
    if total == 0:
        return [], []
    return (
        [(100.0 * n / total, f) for f, n in own.most_common(count)],
        [(100.0 * n / total, f) for f, n in inclusive.most_common(count)],
    )


def write_text(stream: IO[str], text: str) -> None:
    """Write a line and flush (progress output survives a crash or a pipe)."""
    stream.write(text + "\n")
    stream.flush()
