"""``casewatch demo``: the simulated demo branch and the server, in one command.

The simulator serves one mount for every camera of the config whose URL points at it
(``rtsp://127.0.0.1:PORT/...``); the server then records them like real cameras. One demo user
per role, and one station user scoped to a station, get new random passwords at every start,
printed with how to sign in (there is no default password anywhere).
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from camsim.harness import SimulatorProcess
from camsim.spec import MountSpec
from configs.loader import ConfigError, load_settings
from configs.schema import Settings

logger = logging.getLogger(__name__)


SUBSTREAM_SIZE, SUBSTREAM_KBPS = (640, 360), 500
"""A sub-stream mount: what an IP camera's second, low-resolution stream typically is."""


def simulated_mounts(urls: list[tuple[str, str, bool]]) -> tuple[int, list[MountSpec]]:
    """The simulator port and a mount per (label, URL, is sub-stream); all URLs must share one
    loopback port."""
    ports = set()
    mounts = []
    for label, url, sub in urls:
        parts = urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise ConfigError(
                f"demo cameras must point at the local simulator, not {parts.hostname}"
            )
        ports.add(parts.port or 554)
        name = parts.path.lstrip("/")
        if sub:
            width, height = SUBSTREAM_SIZE
            mounts.append(
                MountSpec(
                    name=name,
                    label=f"{label} (sub)",
                    width=width,
                    height=height,
                    bitrate=SUBSTREAM_KBPS,
                )
            )
        else:
            mounts.append(MountSpec(name=name, label=label, bitrate=1500))
    if len(ports) != 1:
        raise ConfigError("demo cameras must all use one simulator port")
    return ports.pop(), mounts


DEMO_STATION = "qingjiang"
"""The station the demo's station user is scoped to (the first station when absent)."""


def demo_users(settings: Settings) -> list[tuple[str, str, str, str]]:
    """Create or reset the demo users: (name, roles, stations, new password) of each."""
    from access import users
    from access.roles import parse_roles
    from api.preflight import open_catalog
    from ingest.clock import SystemClock
    from recorder.db import session_factory

    site_ids = [site.id for site in settings.sites]
    station = DEMO_STATION if DEMO_STATION in site_ids else site_ids[0]
    wanted = [(role, role, "") for role in ("admin", "operator", "inspector", "patrol", "auditor")]
    wanted.append(("station", "operator,inspector", station))
    engine = open_catalog(settings, upgrade=True)
    made = []
    try:
        with session_factory(engine).begin() as session:
            now = SystemClock().wall_us()
            for name, roles, sites in wanted:
                password = f"{secrets.token_urlsafe(10)}-{secrets.randbelow(90) + 10}"
                user = users.find(session, name)
                if user is None:
                    users.add(
                        session,
                        users.NewUser(
                            name, parse_roles(roles), frozenset(filter(None, [sites])), password
                        ),
                        known_sites=site_ids,
                        min_length=settings.access.password_min_length,
                        now_us=now,
                    )
                else:
                    users.set_password(
                        user, password, min_length=settings.access.password_min_length, now_us=now
                    )
                    user.disabled = False
                made.append((name, roles, sites or "(all)", password))
    finally:
        engine.dispose()
    return made


def run_demo(config: Path, *, host: str | None, port: int | None) -> int:
    import uvicorn

    from api.app import create_app
    from api.logsetup import configure
    from api.preflight import preflight, tls_options

    settings = load_settings(config)
    configure(settings.logging.level)
    preflight(settings)
    urls = []
    for site, camera in settings.cameras():
        urls.append((f"{site.name} {camera.name}", camera.url, False))
        if camera.substream_url:
            urls.append((f"{site.name} {camera.name}", camera.substream_url, True))
    rtsp_port, mounts = simulated_mounts(urls)
    listen_host = host or settings.server.host
    listen_port = port or settings.server.port
    print(
        f"casewatch demo: starting {len(mounts)} simulated cameras on rtsp://127.0.0.1:{rtsp_port}/"
        " (the first start encodes their loops, about a minute)",
        flush=True,
    )
    accounts = demo_users(settings)
    with SimulatorProcess(mounts, rtsp_port=rtsp_port, ready_timeout=600):
        sign_in = "\n".join(
            f"    {name:<10} {password:<22} {roles:<20} {stations}"
            for name, roles, stations, password in accounts
        )
        print(
            f"casewatch demo: recording {len(settings.cameras())} cameras into "
            f"{settings.storage.path}\n"
            f"  sign in at http://{listen_host}:{listen_port}/wall/ as (new passwords at each "
            "start):\n"
            f"    {'user':<10} {'password':<22} {'roles':<20} stations\n{sign_in}\n"
            f"  video wall: http://{listen_host}:{listen_port}/wall/\n"
            f"  cameras:    http://{listen_host}:{listen_port}/api/v1/cameras\n"
            f"  API docs:   http://{listen_host}:{listen_port}/docs\n"
            f"  events:     http://{listen_host}:{listen_port}/api/v1/events\n"
            f"  metrics:    http://{listen_host}:{listen_port}/metrics\n"
            "  Ctrl-C stops.",
            flush=True,
        )
        uvicorn.run(
            create_app(settings),
            host=listen_host,
            port=listen_port,
            log_config=None,
            timeout_graceful_shutdown=10,
            **tls_options(settings),
        )
    return 0
