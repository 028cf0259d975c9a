"""``casewatch demo``: the simulated demo branch and the server, in one command.

The simulator serves one mount for every camera of the config whose URL points at it
(``rtsp://127.0.0.1:PORT/...``); the server then records them like real cameras. One demo user
per role, and one station user scoped to a station, get new random passwords at every start,
printed with how to sign in (there is no default password anywhere).

One room camera of the branch is simulated as station cameras really are (``STATION_CAMERAS``):
an H.265 main stream with G.711 A-law audio and an H.264 sub-stream, behind RTSP Digest
authentication whose password the demo makes up at each start (``DEMO_CAMERA_PASSWORD_ENV``).
Two cameras can show the picture faults a patrol finds; `api.demo_seed` fills the demo with a
case, sessions, a patrol run and its findings in its first minute.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from api.demo_seed import FAULTY_CAMERAS, DemoApi, start_seeding
from camsim.harness import SimulatorProcess
from camsim.spec import MountSpec
from configs.loader import ConfigError, load_settings
from configs.schema import Settings

logger = logging.getLogger(__name__)


SUBSTREAM_SIZE, SUBSTREAM_KBPS = (640, 360), 500
"""A sub-stream mount: what an IP camera's second, low-resolution stream typically is."""
STATION_CAMERAS = {"jingerlu-int-1"}
"""Cameras simulated as Hikvision / Dahua defaults: H.265 main, H.264 sub, G.711 A-law, Digest."""
DEMO_CAMERA_PASSWORD_ENV = "CASEWATCH_DEMO_CAMERA_PASSWORD"  # noqa: S105 (a variable name)


@dataclass(frozen=True, slots=True)
class DemoStream:
    """One stream of a demo camera: whose, where, which of its streams, with what login."""

    label: str
    url: str
    sub: bool
    station_camera: bool = False
    user: str | None = None
    password: str | None = None
    picture_faults: bool = False


def simulated_mounts(streams: list[DemoStream]) -> tuple[int, list[MountSpec]]:
    """The simulator port and a mount per stream; all URLs must share one loopback port."""
    ports = set()
    mounts = []
    for stream in streams:
        parts = urlsplit(stream.url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise ConfigError(
                f"demo cameras must point at the local simulator, not {parts.hostname}"
            )
        ports.add(parts.port or 554)
        size: dict[str, Any] = (
            {"width": SUBSTREAM_SIZE[0], "height": SUBSTREAM_SIZE[1], "bitrate": SUBSTREAM_KBPS}
            if stream.sub
            else {"bitrate": 1500}
        )
        kind: dict[str, Any] = {}
        if stream.station_camera:
            kind = {"audio_codec": "pcma", "video_codec": "h264" if stream.sub else "h265"}
            if stream.user and stream.password:
                kind |= {"auth": "digest", "user": stream.user, "password": stream.password}
        label = f"{stream.label} (sub)" if stream.sub else stream.label
        mounts.append(
            MountSpec(
                name=parts.path.lstrip("/"),
                label=label,
                picture_faults=stream.picture_faults,
                **size,
                **kind,
            )
        )
    if len(ports) != 1:
        raise ConfigError("demo cameras must all use one simulator port")
    return ports.pop(), mounts


DEMO_STATION = "qingjiang"
"""The station the demo's station user is scoped to (the first station when absent)."""


def demo_users(settings: Settings) -> tuple[list[tuple[str, str, str, str]], str]:
    """Create or reset the demo users: (name, roles, stations, new password) of each, and an
    API token of the demo admin (a day long) with which the demo seeds its data."""
    from access import users
    from access.roles import parse_roles
    from access.service import AccessService
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
            admin = users.get(session, "admin")
            access = AccessService(settings.access, session_factory(engine), SystemClock())
            _, token = access.create_token(session, admin, "demo seeding", expires_days=1)
    finally:
        engine.dispose()
    return made, token


def run_demo(config: Path, *, host: str | None, port: int | None) -> int:
    import uvicorn

    from api.app import create_app
    from api.preflight import preflight, tls_options
    from ingest.logsetup import configure

    # the station camera's RTSP password: made up now, read from the environment by the config
    os.environ.setdefault(DEMO_CAMERA_PASSWORD_ENV, secrets.token_urlsafe(12))
    settings = load_settings(config)
    configure(settings.logging.level)
    preflight(settings)
    streams = []
    mount_of: dict[str, str] = {}
    for site, camera in settings.cameras():
        user, password = camera.credentials()
        station = camera.id in STATION_CAMERAS
        faults = camera.id in FAULTY_CAMERAS
        mount_of[camera.id] = urlsplit(camera.url).path.lstrip("/")
        for url, sub in ((camera.url, False), (camera.substream_url, True)):
            if url:
                label = f"{site.name} {camera.name}"
                streams.append(DemoStream(label, url, sub, station, user, password, faults))
    rtsp_port, mounts = simulated_mounts(streams)
    listen_host = host or settings.server.host
    listen_port = port or settings.server.port
    print(
        f"casewatch demo: starting {len(mounts)} simulated cameras on rtsp://127.0.0.1:{rtsp_port}/"
        " (the first start encodes their loops, about a minute)",
        flush=True,
    )
    accounts, token = demo_users(settings)
    with SimulatorProcess(mounts, rtsp_port=rtsp_port, ready_timeout=600) as simulator:
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
            f"  patrol:     http://{listen_host}:{listen_port}/wall/patrol.html\n"
            f"  bulletin:   http://{listen_host}:{listen_port}/wall/bulletin.html\n"
            f"  cameras:    http://{listen_host}:{listen_port}/api/v1/cameras\n"
            f"  API docs:   http://{listen_host}:{listen_port}/docs\n"
            f"  events:     http://{listen_host}:{listen_port}/api/v1/events\n"
            f"  metrics:    http://{listen_host}:{listen_port}/metrics\n"
            "  Ctrl-C stops.",
            flush=True,
        )
        scheme = "https" if settings.server.tls is not None else "http"
        api = DemoApi(f"{scheme}://127.0.0.1:{listen_port}", token)
        start_seeding(settings, api, simulator.set_video, mount_of)
        uvicorn.run(
            create_app(settings),
            host=listen_host,
            port=listen_port,
            log_config=None,
            timeout_graceful_shutdown=10,
            **tls_options(settings),
        )
    return 0
