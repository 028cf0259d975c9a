"""Test support: a real ``casewatch serve`` process with a generated config, and time helpers."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

ADMIN = "admin"
ADMIN_PASSWORD = "test-Pass-word-0451"


def token_for(name: str) -> str:
    """The API token ``provision`` gives user ``name`` (tests only)."""
    return f"cw_test-{name}-token-0123456789abcdefghijklmnop"


def auth_for(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(name)}"}


ADMIN_TOKEN = token_for(ADMIN)
AUTH = auth_for(ADMIN)


class _AdminHttp:
    """``httpx``'s module functions acting as the test servers' admin (bearer token)."""

    def __getattr__(self, name: str) -> Any:
        call = getattr(httpx, name)

        def authed(*args: Any, **kwargs: Any) -> Any:
            kwargs["headers"] = {**AUTH, **(kwargs.get("headers") or {})}
            return call(*args, **kwargs)

        return authed


http: Any = _AdminHttp()
"""``http.get(...)`` etc.: like ``httpx.get`` with the admin's bearer token."""


def provision(database_url: str, *, users: list[tuple[str, str, list[str]]] | None = None) -> None:
    """Make the catalog's schema and its admin (``ADMIN``/``ADMIN_PASSWORD``, API token
    ``ADMIN_TOKEN``) — what an installer does with ``casewatch user add`` and ``token create``
    — plus ``users`` as (name, roles, sites) with the same password and ``token_for(name)``.
    Idempotent."""
    from access import users as accounts
    from access.roles import parse_roles
    from access.secrets import digest
    from recorder.db import make_engine, migrate, session_factory
    from recorder.models import ApiToken

    engine = make_engine(database_url)
    try:
        migrate(engine)
        now = int(time.time() * 1e6)
        wanted = [(ADMIN, "admin", []), *(users or [])]
        with session_factory(engine).begin() as session:
            for name, roles, sites in wanted:
                if accounts.find(session, name) is not None:
                    continue
                user = accounts.add(
                    session,
                    accounts.NewUser(name, parse_roles(roles), frozenset(sites), ADMIN_PASSWORD),
                    known_sites=sites,
                    min_length=12,
                    now_us=now,
                )
                session.add(
                    ApiToken(
                        user_id=user.id,
                        name="tests",
                        secret_hash=digest(token_for(name)),
                        prefix=token_for(name)[:10],
                        created_us=now,
                    )
                )
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Server:
    """``casewatch serve`` as a child process with a generated config."""

    def __init__(
        self,
        workdir: Path,
        cameras: list[dict[str, Any]],
        *,
        users: list[tuple[str, str, list[str]]] | None = None,
        more_sites: list[dict[str, Any]] | None = None,
        **settings: Any,
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.storage = workdir / "recordings"
        config: dict[str, Any] = {
            "storage": {"path": str(self.storage), "segment_seconds": 10},
            "database": {"url": f"sqlite:///{workdir / 'catalog.db'}"},
            "server": {"host": "127.0.0.1", "port": self.port},
            "retention": {"max_age_days": None, "min_free_bytes": 0},
            "ingest": {
                "backoff": {"initial_seconds": 0.2, "factor": 1.3, "max_seconds": 1.0},
                "connect_timeout_seconds": 4,
                "stall_seconds": 3,
            },
            "sites": [
                {"id": "test", "name": "测试派出所", "cameras": cameras},
                *(more_sites or []),
            ],
        }
        self.users = users
        self.tls_ca: Path | None = None
        """The CA that signed the server's certificate, when it serves HTTPS (tests set it)."""
        for key, value in settings.items():
            config.setdefault(key, {}).update(value)
        self.database_url: str = config["database"]["url"]
        self.config = workdir / "casewatch.yaml"
        self.config.write_text(yaml.safe_dump(config, allow_unicode=True))
        self.log = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_ca is not None else "http"
        host = "localhost" if self.tls_ca is not None else "127.0.0.1"  # the certificate's name
        return f"{scheme}://{host}:{self.port}"

    def start(self, *, timeout: float = 30) -> Server:
        provision(self.database_url, users=self.users)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--config", str(self.config)],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                health = httpx.get(f"{self.url}/api/v1/health", timeout=1, verify=self.verify)
                if health.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server not ready:\n{self.log.read_text()}")

    @property
    def verify(self) -> Any:
        """What httpx should verify this server's certificate against."""
        if self.tls_ca is None:
            return True
        return ssl.create_default_context(cafile=str(self.tls_ca))

    def get(self, path: str, **params: Any) -> Any:
        response = http.get(f"{self.url}{path}", params=params, timeout=10, verify=self.verify)
        response.raise_for_status()
        return response.json()

    def camera(self, camera_id: str) -> dict[str, Any]:
        return dict(self.get(f"/api/v1/cameras/{camera_id}"))

    def wait_recording(self, camera_id: str, timeout: float = 20) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.camera(camera_id)["recording"]:
                return time.time()
            time.sleep(0.1)
        raise AssertionError(f"{camera_id} not recording: {self.camera(camera_id)}")

    def recordings(self, camera_id: str, start: float, end: float) -> dict[str, Any]:
        return dict(
            self.get("/api/v1/recordings", camera=camera_id, start=iso(start), end=iso(end))
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(60)

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def check(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.cli", "check", "--config", str(self.config), *args],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )
