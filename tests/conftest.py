"""Shared fixtures: a real RTSP camera simulator and a real ``casewatch serve`` process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import Server

from camsim.harness import SimulatorProcess
from camsim.spec import MountSpec

SMALL = {"width": 640, "height": 360, "fps": 25, "gop": 1.0, "bitrate": 600}
MOUNTS = [
    *["rec", "flap", "crash", "noaudio", "live1", "live2", "disk", "resize", "clock", "eio"],
    *["slow1", "slow2", "w1", "w2", "wgood"],
    *[f"m{i}" for i in range(1, 9)],
]


@pytest.fixture(scope="session")
def sim() -> Iterator[SimulatorProcess]:
    """One simulator for the session; each test uses its own mounts."""
    specs = [MountSpec(name=name, audio=name != "noaudio", **SMALL) for name in MOUNTS]
    with SimulatorProcess(specs, ident=False, loop_seconds=10) as process:
        yield process


STATION_MOUNTS = [
    # a Hikvision-like room camera: H.265 main stream, G.711 A-law, Digest; an H.264 sub-stream
    MountSpec(name="hik-main", video_codec="h265", audio_codec="pcma", auth="digest",
              user="admin", password="Cam-pass-2026", **SMALL),
    MountSpec(name="hik-sub", width=320, height=180, fps=15, gop=2.0, bitrate=300,
              audio_codec="pcma", auth="digest", user="admin", password="Cam-pass-2026"),
    # a Dahua-like one: H.264 with B-frames, G.711 μ-law, Basic
    MountSpec(name="dahua", bframes=2, audio_codec="pcmu", auth="basic", user="viewer",
              password="Cam-pass-2027", **SMALL),
]  # fmt: skip


@pytest.fixture(scope="session")
def station_sim() -> Iterator[SimulatorProcess]:
    """Cameras as stations have them (H.265, G.711, B-frames, RTSP authentication)."""
    with SimulatorProcess(STATION_MOUNTS, ident=True, loop_seconds=10) as process:
        yield process


@pytest.fixture(autouse=True)
def _simulators_outlive_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """A simulator that dies during a test fails that test with how it died and its log, and
    is started again, so the tests after it still have cameras."""
    yield
    for value in list(request.node.funcargs.values()):
        if isinstance(value, SimulatorProcess) and (report := value.death_report()):
            value.restart()
            pytest.fail(f"the camera simulator died during this test: {report}")


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Any]:
    servers: list[Server] = []

    def make(cameras: list[dict[str, Any]], **settings: Any) -> Server:
        server = Server(tmp_path, cameras, **settings)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty catalog database: SQLite always, PostgreSQL when configured.

    Set CASEWATCH_TEST_POSTGRES_URL (e.g. postgresql+psycopg://casewatch@127.0.0.1:55432/cw) to
    run the catalog tests on PostgreSQL as well; ``.ci/run`` does.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    url = os.environ.get("CASEWATCH_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("CASEWATCH_TEST_POSTGRES_URL is not set")
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url
