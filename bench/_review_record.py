"""Real footage for parts (b) and (c) of bench/review.py: a server recording simulated cameras.

The simulator serves 1280x720 at 25 fps, ~2 Mbit/s H.264 with a 2 s GOP plus AAC (one
pre-encoded loop shared by all mounts: ``--no-ident``), and ``casewatch serve`` records it with
``storage.segment_seconds: 60``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    from bench import _measure as m
    from bench import _review_server as srv
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _measure as m  # type: ignore[import-not-found,no-redef]
    import _review_server as srv  # type: ignore[import-not-found,no-redef]

FPS = 25
WIDTH, HEIGHT = 1280, 720
GOP_SECONDS = 2.0
BITRATE_KBPS = 2000
SEGMENT_SECONDS = 60


@dataclass(frozen=True)
class SegmentRow:
    """A finished segment as catalogued."""

    id: int
    camera_id: str
    path: Path
    start_us: int
    end_us: int
    size_bytes: int
    sha256: str


@dataclass
class Recording:
    """A running recording server and what it records."""

    server: srv.Server
    cameras: list[str]
    database: Path
    storage: Path
    started_s: float

    def segments(self, camera: str | None = None) -> list[SegmentRow]:
        """Finished, present segments (read-only look at the catalog)."""
        db = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30)
        try:
            query = (
                "SELECT id, camera_id, path, start_us, end_us, size_bytes, sha256 FROM segments "
                "WHERE status = 'ok'"
            )
            params: tuple[str, ...] = ()
            if camera is not None:
                query += " AND camera_id = ?"
                params = (camera,)
            rows = db.execute(query + " ORDER BY camera_id, start_us", params).fetchall()
        finally:
            db.close()
        return [SegmentRow(r[0], r[1], self.storage / r[2], r[3], r[4], r[5], r[6]) for r in rows]


def check_simulator() -> None:
    """Raise BenchError when the camera simulator cannot run here."""
    import subprocess
    import sys

    try:
        from camsim.harness import SimulatorProcess  # noqa: F401
    except ImportError as error:
        raise srv.BenchError(
            f"the camera simulator cannot be imported ({error}); run with the project's venv"
        ) from None
    probe = subprocess.run(
        [sys.executable, "-c", "from camsim import _gi"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=srv.PROJECT_ROOT,
    )
    if probe.returncode != 0:
        raise srv.BenchError(
            "the simulator needs GStreamer with gst-rtsp-server and PyGObject:\n"
            + probe.stderr.strip()[-800:]
        )


@contextlib.contextmanager
def recording(workdir: Path, cameras: int, progress: Callable[[str], None]) -> Iterator[Recording]:
    """A simulator with ``cameras`` mounts and a server recording all of them."""
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
        for i in range(1, cameras + 1)
    ]
    sim = SimulatorProcess(
        mounts, ident=False, ready_timeout=300.0, extra_args=["--log-level", "WARNING"]
    )
    try:
        sim.start()
    except SimulatorError as error:
        raise srv.BenchError(f"the camera simulator did not start: {error}") from None
    server: srv.Server | None = None
    try:
        ids = [f"rec-{i}" for i in range(1, cameras + 1)]
        port = m.free_port()
        database = workdir / "casewatch.db"
        site = {
            "id": "bench",
            "name": "Bench",
            "cameras": [
                {
                    "id": camera,
                    "name": f"讯问室 {i}",
                    "area": "interrogation",
                    "url": sim.rtsp_url(f"cam{i}"),
                }
                for i, camera in enumerate(ids, start=1)
            ],
        }
        config = srv.settings(
            workdir, port, database=database, sites=[site], segment_seconds=SEGMENT_SECONDS
        )
        server = srv.Server(workdir, config, port=port).start()
        srv.wait_recording(server, ids, timeout=90.0)
        progress(f"  recording {cameras} simulated camera(s) ({WIDTH}x{HEIGHT}@{FPS})")
        yield Recording(server, ids, database, workdir / "rec", time.time())
    finally:
        if server is not None:
            server.stop()
        sim.stop()


def wait_segments(
    rec: Recording, camera: str, count: int, timeout: float, progress: Callable[[str], None]
) -> list[SegmentRow]:
    """Wait until ``camera`` has ``count`` finished segments."""
    found: list[SegmentRow] = []

    def enough() -> bool:
        nonlocal found
        found = rec.segments(camera)
        return len(found) >= count

    if not m.wait_until(enough, timeout=timeout, interval=2.0, alive=rec.server.alive):
        raise srv.BenchError(
            f"{camera}: {len(found)} of {count} segments after {timeout:.0f} s; log tail:\n"
            f"{m.tail(rec.server.log, 20)}"
        )
    progress(f"  {camera}: {len(found)} finished segment(s)")
    return found
