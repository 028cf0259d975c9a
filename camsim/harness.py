"""Run the camera simulator as a child process, for tests, the demo and benchmarks.

```python
with SimulatorProcess([MountSpec(name="cam1", width=320, height=180)]) as sim:
    url = sim.rtsp_url("cam1")
    sim.set_video("cam1", "black")
```
For a mount with `auth`, `rtsp_url` embeds the credentials (what a recorder is configured
with); `rtsp_url(name, credentials=False)` is the bare URL, which gets 401.

The child is `sys.executable -m camsim` with a generated YAML config; ports default to
0 (chosen by the child, read back from its ready line, so there is no free-port race). Its
stdout and stderr go to files in a private temporary directory; `stderr_text()` reads the log.
This module never imports GStreamer or PyAV, so it is safe in any process.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import yaml

from .cli import READY_PREFIX
from .errors import SimulatorError
from .spec import AudioMode, MountSpec, VideoMode

READY_RE = re.compile(
    re.escape(READY_PREFIX) + r" rtsp://(?P<rhost>\S+):(?P<rport>\d+)/ "
    r"control http://(?P<chost>\S+):(?P<cport>\d+)/"
)
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ControlError(SimulatorError):
    """The control API answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("error") if isinstance(body, dict) else body
        super().__init__(f"control API answered {status}: {message}")
        self.status = status
        self.body = body


class SimulatorProcess:
    """A simulator child process with helpers for its RTSP URLs and its control API."""

    def __init__(
        self,
        mounts: Sequence[MountSpec | str] = ("cam1",),
        *,
        host: str = "127.0.0.1",
        rtsp_port: int = 0,
        control_port: int = 0,
        loop_seconds: float = 10.0,
        ident: bool = True,
        cache_dir: Path | None = None,
        extra_args: Sequence[str] = (),
        ready_timeout: float = 120.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.mounts = [MountSpec(name=m) if isinstance(m, str) else m for m in mounts]
        self.host = host
        self.rtsp_port = rtsp_port
        self.control_port = control_port
        self.loop_seconds = loop_seconds
        self.ident = ident
        self.cache_dir = cache_dir
        self.extra_args = list(extra_args)
        self.ready_timeout = ready_timeout
        self.env = dict(env) if env is not None else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._require_proc().pid

    @property
    def control_url(self) -> str:
        """Base URL of the control API, e.g. `http://127.0.0.1:8555`."""
        return f"http://{self.host}:{self.control_port}"

    def command(self, config: Path) -> list[str]:
        """The child's command line."""
        args = [
            sys.executable,
            "-m",
            "camsim",
            "--host",
            self.host,
            "--port",
            str(self.rtsp_port),
            "--control-port",
            str(self.control_port),
            "--config",
            str(config),
            "--loop-seconds",
            str(self.loop_seconds),
            "--ident" if self.ident else "--no-ident",
        ]
        if self.cache_dir is not None:
            args += ["--cache-dir", str(self.cache_dir)]
        return args + self.extra_args

    def start(self) -> SimulatorProcess:
        """Spawn the simulator and wait until it serves every mount."""
        if self._proc is not None:
            raise SimulatorError("simulator already started")
        self._tmp = tempfile.TemporaryDirectory(prefix="casewatch-sim-")
        tmp = Path(self._tmp.name)
        config = tmp / "mounts.yaml"
        config.write_text(
            yaml.safe_dump([m.model_dump(mode="json", exclude_none=True) for m in self.mounts]),
            encoding="utf-8",
        )
        env = dict(os.environ if self.env is None else self.env)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
        )
        with (tmp / "stdout.log").open("wb") as out, (tmp / "stderr.log").open("wb") as err:
            self._proc = subprocess.Popen(
                self.command(config),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        proc = self._require_proc()
        deadline = time.monotonic() + self.ready_timeout
        stdout = self._log_path("stdout.log")
        while True:
            match = READY_RE.search(stdout.read_text(encoding="utf-8", errors="replace"))
            if match:
                self.rtsp_port = int(match.group("rport"))
                self.control_port = int(match.group("cport"))
                break
            if proc.poll() is not None:
                raise SimulatorError(
                    f"simulator exited with {proc.returncode} before it was ready:\n"
                    + self.stderr_text()[-4000:]
                )
            if time.monotonic() > deadline:
                raise SimulatorError(
                    f"simulator not ready after {self.ready_timeout:.0f} s:\n"
                    + self.stderr_text()[-4000:]
                )
            time.sleep(0.05)
        while time.monotonic() < deadline:
            status, body = self.request("GET", "/health")
            if status == 200 and body.get("ready"):
                return
            time.sleep(0.05)
        raise SimulatorError("simulator control API never reported ready")

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the child, SIGKILL it after `timeout`; returns its exit code."""
        proc = self._proc
        code: int | None = None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout)
            code = proc.returncode
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        self._proc = None
        return code

    def alive(self) -> bool:
        """True while the child runs."""
        return self._proc is not None and self._proc.poll() is None

    def death_report(self) -> str | None:
        """None while the child runs (or was never started); once it has died unasked, how it
        ended ("killed by SIGSEGV", "exit code 1") and the end of its log."""
        proc = self._proc
        if proc is None or proc.poll() is None:
            return None
        code = proc.returncode
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        return f"simulator {how}; its log ends:\n{self.stderr_text()[-4000:]}"

    def restart(self) -> SimulatorProcess:
        """Stop the child if it still runs and start a fresh one with the same mounts, on the
        ports the last one had."""
        self.stop()
        return self.start()

    def stderr_text(self) -> str:
        """The child's log so far."""
        path = self._log_path("stderr.log")
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def _log_path(self, name: str) -> Path:
        if self._tmp is None:
            raise SimulatorError("simulator not started")
        return Path(self._tmp.name) / name

    def _require_proc(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise SimulatorError("simulator not started")
        return self._proc

    # -- RTSP and control --------------------------------------------------------------------

    def rtsp_url(self, mount: str, *, credentials: bool = True) -> str:
        """The RTSP URL of `mount`; for a mount with auth, with its user and password in the
        URL (percent-encoded) unless `credentials` is false."""
        userinfo = ""
        spec = next((m for m in self.mounts if m.name == mount), None)
        if credentials and spec is not None and spec.user is not None and spec.password is not None:
            userinfo = f"{quote(spec.user, safe='')}:{quote(spec.password, safe='')}@"
        return f"rtsp://{userinfo}{self.host}:{self.rtsp_port}/{mount}"

    def request(
        self, method: str, path: str, body: Any = None, *, timeout: float = 10.0
    ) -> tuple[int, Any]:
        """One raw control API call; returns (status, decoded JSON body). Never raises on 4xx."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - loopback http URL built here
            self.control_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw.decode(errors="replace")

    def _call(self, mount: str, action: str, body: Any = None) -> dict[str, Any]:
        status, payload = self.request("POST", f"/mounts/{quote(mount, safe='')}/{action}", body)
        if status != 200:
            raise ControlError(status, payload)
        result: dict[str, Any] = payload
        return result

    def health(self) -> dict[str, Any]:
        """`GET /health`."""
        _, payload = self.request("GET", "/health")
        result: dict[str, Any] = payload
        return result

    def mount_status(self, mount: str) -> dict[str, Any]:
        """`GET /mounts/{mount}`."""
        status, payload = self.request("GET", f"/mounts/{quote(mount, safe='')}")
        if status != 200:
            raise ControlError(status, payload)
        result: dict[str, Any] = payload
        return result

    def stop_mount(self, mount: str) -> dict[str, Any]:
        """Stop serving `mount` and disconnect its clients."""
        return self._call(mount, "stop")

    def start_mount(self, mount: str) -> dict[str, Any]:
        """Serve `mount` again."""
        return self._call(mount, "start")

    def flap(self, mount: str, seconds: float) -> dict[str, Any]:
        """Stop `mount` for `seconds`, then serve it again."""
        return self._call(mount, "flap", {"seconds": seconds})

    def stall(self, mount: str, seconds: float) -> dict[str, Any]:
        """Send no media on `mount` for `seconds`; its RTSP sessions stay up."""
        return self._call(mount, "stall", {"seconds": seconds})

    def set_video(self, mount: str, mode: VideoMode | str) -> dict[str, Any]:
        """Switch `mount`'s video to normal / black / frozen / resized (at the next keyframe)."""
        return self._call(mount, "video", {"mode": VideoMode(mode).value})

    def set_audio(self, mount: str, mode: AudioMode | str) -> dict[str, Any]:
        """Switch `mount`'s audio to tone / silent."""
        return self._call(mount, "audio", {"mode": AudioMode(mode).value})

    def set_clock_rate(self, mount: str, ppm: float) -> dict[str, Any]:
        """Make `mount`'s media clock run `ppm` parts per million fast (negative: slow)."""
        return self._call(mount, "clock", {"ppm": ppm})

    def set_clock_offset(self, mount: str, seconds: float) -> dict[str, Any]:
        """Set `mount`'s wall clock (its RTCP sender reports) `seconds` off."""
        return self._call(mount, "time", {"offset_seconds": seconds})
