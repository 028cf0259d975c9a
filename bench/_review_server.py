"""A ``casewatch serve`` child process for bench/review.py: config, start, HTTP, stop.

Loopback only. The child gets SIGTERM if the benchmark dies (``_measure.spawn``) and is stopped
with SIGTERM → SIGKILL on exit.
"""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

try:
    from bench import _measure as m
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _measure as m  # type: ignore[import-not-found,no-redef]

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class BenchError(Exception):
    """The benchmark cannot go on (missing tool, server not starting, …)."""


def casewatch_command() -> list[str]:
    """How to start ``casewatch``: the venv's console script, else ``python -m api.cli``."""
    script = Path(sys.executable).with_name("casewatch")
    if script.is_file():
        return [str(script)]
    found = shutil.which("casewatch")
    return [found] if found else [sys.executable, "-m", "api.cli"]


def settings(
    workdir: Path,
    port: int,
    *,
    database: Path,
    sites: Sequence[dict[str, Any]],
    segment_seconds: float = 60,
) -> dict[str, Any]:
    """A settings mapping for a benchmark server rooted in ``workdir``."""
    return {
        "storage": {"path": str(workdir / "rec"), "segment_seconds": segment_seconds},
        "database": {"url": f"sqlite:///{database}"},
        "server": {"host": "127.0.0.1", "port": port},
        "logging": {"level": "warning"},
        "retention": {"max_age_days": None, "min_free_bytes": 0},
        "export": {
            "path": str(workdir / "exports"),
            "signing_key": str(workdir / "keys" / "export-signing-key.pem"),
        },
        "sites": list(sites),
    }


class Server:
    """``casewatch serve`` (or the recovery-less wrapper) in its own working directory."""

    def __init__(
        self, workdir: Path, config: dict[str, Any], *, port: int, skip_recovery: bool = False
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.config = workdir / "casewatch.yaml"
        self.config.write_text(
            yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        self.log = workdir / "casewatch.log"
        self.skip_recovery = skip_recovery
        self.command_override: list[str] | None = None
        """Run this instead of ``casewatch serve`` (a benchmark's baseline wrapper)."""
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""
        self._conn: http.client.HTTPConnection | None = None

    def start(self, *, timeout: float = 120.0) -> Server:
        """Start and wait until ``/api/v1/health`` answers."""
        if self.command_override is not None:
            command = list(self.command_override)
        elif self.skip_recovery:
            command = [sys.executable, str(PROJECT_ROOT / "bench" / "_review_serve.py")]
        else:
            command = [*casewatch_command(), "serve"]
        self.token = m.provision_token(casewatch_command(), self.config, self.workdir)
        self.proc = m.spawn(
            [*command, "--config", str(self.config)],
            log=self.log,
            cwd=self.workdir,
            death_signal=signal.SIGTERM,
        )

        def answers() -> bool:
            try:
                m.http_get(self.base + "/api/v1/health", timeout=2.0)
            except m.HttpError:
                return False
            return True

        if not m.wait_until(answers, timeout=timeout, interval=0.25, alive=self.alive):
            self.stop()
            raise BenchError(
                f"casewatch did not answer within {timeout:.0f} s; log tail:\n"
                f"{m.tail(self.log, 30)}"
            )
        return self

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM, wait (bounded), SIGKILL."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.proc is not None:
            m.stop_processes([self.proc], timeout=45.0)

    # -- HTTP ------------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: Any = None, *, timeout: float = 60.0
    ) -> tuple[int, bytes]:
        """One request on a kept-alive connection (reconnects once if the server closed it)."""
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        headers.update(m.auth_headers())
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                self._conn.request(method, path, body=payload, headers=headers)
                response = self._conn.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                continue
            return response.status, data
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None, *, ok: Sequence[int] = (200,)) -> Any:
        """Request and decode JSON; BenchError on an unexpected status."""
        status, data = self.request(method, path, body)
        if status not in ok:
            raise BenchError(
                f"{method} {path}: HTTP {status}: {data[:400].decode(errors='replace')}"
            )
        return json.loads(data)


def wait_recording(server: Server, cameras: Sequence[str], timeout: float) -> None:
    """Wait until every camera is live and recording."""
    last: list[dict[str, Any]] = []

    def ready() -> bool:
        nonlocal last
        try:
            last = server.json("GET", "/api/v1/cameras")["data"]
        except (BenchError, OSError, http.client.HTTPException):
            return False
        states = {c["id"]: c for c in last}
        return all(
            states.get(c, {}).get("state") == "live" and states.get(c, {}).get("recording")
            for c in cameras
        )

    if not m.wait_until(ready, timeout=timeout, interval=1.0, alive=server.alive):
        raise BenchError(
            f"cameras not live+recording after {timeout:.0f} s: "
            f"{[(c.get('id'), c.get('state'), c.get('recording')) for c in last]}; log tail:\n"
            f"{m.tail(server.log, 30)}"
        )
