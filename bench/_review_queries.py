"""Part (a) of bench/review.py: catalog queries of review on a large synthetic catalog.

Two reads, each over the same random inputs through three paths:

- **case footage** — ``GET /api/v1/cases/{number}/footage``: the route function
  (``api.routes.cases.case_footage``) called directly with a SQLAlchemy session (what the endpoint
  runs, minus HTTP), and the endpoint over HTTP;
- **camera day timeline** — ``recorder.footage.camera_footage`` over one UTC day, called directly,
  and ``GET /api/v1/recordings?camera&start&end`` over HTTP (which also serialises every segment);
- **floor** for both: the same SQL statements (same WHERE clauses, all columns) on a plain
  ``sqlite3`` connection, rows fetched and nothing else — no ORM, no coverage, no JSON.

Every path gets a warm-up pass first; the database file is read once before measuring so every
path runs with a warm page cache (the host cannot drop caches).
"""

from __future__ import annotations

import functools
import gc
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlencode

import psutil

try:
    from bench import _measure as m
    from bench import _review_server as srv
    from bench._review_catalog import DAY_US, CatalogInfo
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _measure as m  # type: ignore[import-not-found,no-redef]
    import _review_server as srv  # type: ignore[import-not-found,no-redef]
    from _review_catalog import (  # type: ignore[import-not-found,no-redef]
        DAY_US,
        CatalogInfo,
    )

TARGET_P95_MS = 50.0
CAMERAS_TARGET_P95_MS = 20.0
"""`GET /api/v1/cameras` at 13 M segments (the wall polls it)."""
MAX_SEGMENT_US = 2 * 3600 * 1_000_000
"""A safe lower bound on how long before a range a segment overlapping it can start:
``storage.segment_seconds`` is at most 3600 and a segment is cut at the next keyframe."""
RECOVERY_SAMPLE_ROWS = 200_000

_SEGMENT_COLUMNS = (
    "id, camera_id, run_id, path, start_us, end_us, size_bytes, sha256, prev_sha256, "
    "video_codec, width, height, audio_codec, has_audio, video_packets, audio_packets, adopted, "
    "status, status_changed_us"
)
_RUN_COLUMNS = "id, camera_id, started_us, ended_us, end_reason, end_detail"
_TAG_COLUMNS = (
    "id, case_number, kind, session, status, site_id, room, start_us, end_us, persons, "
    "officers, note, created_us, created_by, closed_us, report"
)


@dataclass
class Latency:
    """Latency samples of one path, in milliseconds."""

    samples_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    """CPU time of the work (this thread, or the server process for HTTP), per sample: less
    sensitive than wall time to other load on the host."""
    errors: int = 0
    note: str = ""

    def quantile(self, q: float, *, cpu: bool = False) -> float:
        return quantile(self.cpu_ms if cpu else self.samples_ms, q)

    def summary(self) -> dict[str, Any]:
        return {
            "n": len(self.samples_ms),
            "p50_ms": round(self.quantile(0.5), 3),
            "p95_ms": round(self.quantile(0.95), 3),
            "max_ms": round(max(self.samples_ms), 3) if self.samples_ms else None,
            "cpu_p50_ms": round(self.quantile(0.5, cpu=True), 3),
            "cpu_p95_ms": round(self.quantile(0.95, cpu=True), 3),
            "errors": self.errors,
            "note": self.note,
        }


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank), NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class QueryResult:
    """Everything part (a) measured."""

    db_path: str
    db_bytes: int
    generation_seconds: float
    reused: bool
    rows: dict[str, int]
    queries: int
    case_footage: dict[str, Latency] = field(default_factory=dict)
    timeline: dict[str, Latency] = field(default_factory=dict)
    cameras: dict[str, Latency] = field(default_factory=dict)
    """``GET /api/v1/cameras`` (the wall polls it) vs the per-poll query it used to run."""
    case_shape: dict[str, float] = field(default_factory=dict)
    timeline_segments_mean: float = 0.0
    by_age: dict[str, float] = field(default_factory=dict)
    """Floor latency (ms, median) of a day's timeline by the day's age, unbounded vs bounded."""
    plans: dict[str, str] = field(default_factory=dict)
    recovery_estimate: dict[str, float] = field(default_factory=dict)
    gc_direct: dict[str, float] = field(default_factory=dict)
    """Python garbage collections during the direct calls (warm-up included)."""
    http_note: str = ""
    host_other_cpu_percent: float = 0.0


# -- the floor: plain sqlite3 ------------------------------------------------------------------


class Floor:
    """The SQL that ``camera_footage`` and the case footage route issue, on plain sqlite3."""

    def __init__(self, path: Path, *, bounded: bool = False) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.bounded = bounded
        """Also bound ``start_us`` from below (``start - MAX_SEGMENT_US``): what the segments
        query costs when the index range is closed on both sides."""

    def close(self) -> None:
        self.db.close()

    def last_recorded_grouped(self) -> int:
        """What every ``GET /api/v1/cameras`` used to run: the newest present segment of every
        camera, grouped over the whole table."""
        rows = self.db.execute(
            "SELECT camera_id, max(end_us) FROM segments WHERE status = 'present' "
            "GROUP BY camera_id"
        ).fetchall()
        return len(rows)

    def last_segments(self, cameras: Sequence[str]) -> int:
        """What start-up runs now, once (``catalog.last_segment`` per camera: one index probe
        each); the API then keeps each camera's newest end in memory."""
        for camera in cameras:
            self.db.execute(
                "SELECT end_us FROM segments WHERE camera_id = ? ORDER BY start_us DESC LIMIT 1",
                (camera,),
            ).fetchone()
        return len(cameras)

    def camera_footage(self, camera: str, start_us: int, end_us: int) -> int:
        db = self.db
        extra, params = "", [camera, start_us, end_us]
        if self.bounded:
            extra = " AND start_us > ?"
            params.append(start_us - MAX_SEGMENT_US)
        segments = db.execute(
            f"SELECT {_SEGMENT_COLUMNS} FROM segments WHERE camera_id = ? AND end_us > ? "
            f"AND start_us < ?{extra} ORDER BY start_us",
            params,
        ).fetchall()
        db.execute(
            f"SELECT {_RUN_COLUMNS} FROM recording_runs WHERE camera_id = ? AND started_us < ? "
            "AND (ended_us IS NULL OR ended_us >= ?) ORDER BY started_us",
            (camera, end_us, start_us),
        ).fetchall()
        db.execute(
            f"SELECT {_RUN_COLUMNS} FROM recording_runs WHERE camera_id = ? AND ended_us < ? "
            "ORDER BY ended_us DESC LIMIT 1",
            (camera, start_us),
        ).fetchall()
        db.execute(
            "SELECT at_us FROM recorder_starts WHERE at_us >= ? AND at_us < ? ORDER BY at_us",
            (start_us, end_us),
        ).fetchall()
        db.execute(
            "SELECT id, camera_id, at_us, state, cause, detail FROM camera_events "
            "WHERE camera_id = ? AND at_us >= ? AND at_us < ? ORDER BY at_us",
            (camera, start_us, end_us),
        ).fetchall()
        return len(segments)

    def case_footage(self, number: str) -> int:
        db = self.db
        db.execute("SELECT * FROM cases WHERE number = ?", (number,)).fetchall()
        tags = db.execute(
            f"SELECT {_TAG_COLUMNS} FROM case_tags WHERE case_number = ? ORDER BY start_us",
            (number,),
        ).fetchall()
        ids = [tag[0] for tag in tags]
        marks = ", ".join("?" * len(ids))
        pairs = db.execute(
            f"SELECT tag_id, camera_id FROM tag_cameras WHERE tag_id IN ({marks}) "
            "ORDER BY camera_id",
            ids,
        ).fetchall()
        by_tag: dict[int, list[str]] = {}
        for tag_id, camera in pairs:
            by_tag.setdefault(tag_id, []).append(camera)
        total = 0
        for tag in tags:
            for camera in by_tag.get(tag[0], []):
                total += self.camera_footage(camera, tag[7], tag[8])
        return total

    def plan(self, sql: str, params: Sequence[Any]) -> str:
        rows = self.db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        return " | ".join(str(row[-1]) for row in rows)


# -- the real code path, called directly -------------------------------------------------------


class Direct:
    """The project's functions with a SQLAlchemy session, as the API calls them."""

    def __init__(self, path: Path) -> None:
        from configs.schema import Settings
        from ingest.clock import SystemClock
        from recorder.db import make_engine, session_factory

        self.engine = make_engine(f"sqlite:///{path}")
        self.sessions = session_factory(self.engine)
        self.clock = SystemClock()
        # What the route reads from the app state: number patterns, the clock, and the running
        # cameras (none here: every camera is then reported by id, without a live span).
        self.state: Any = SimpleNamespace(
            settings=Settings(), clock=self.clock, service=SimpleNamespace(cameras={})
        )

    def close(self) -> None:
        self.engine.dispose()

    def case_footage(self, number: str) -> int:
        from api.routes.cases import case_footage

        with self.sessions() as session:
            body = case_footage(number, self.state, session)
        return sum(c["segments"] for item in body["footage"] for c in item["cameras"])

    def camera_footage(self, camera: str, start_us: int, end_us: int) -> int:
        from recorder.footage import camera_footage

        with self.sessions() as session:
            footage = camera_footage(
                session,
                camera_id=camera,
                start_us=start_us,
                end_us=end_us,
                now_us=self.clock.wall_us(),
            )
            return len(footage.segments)

    def recovery_estimate(self, total_rows: int) -> dict[str, float]:
        """Time and memory of start-up recovery's first step (every segment row as an ORM
        object), measured on ``RECOVERY_SAMPLE_ROWS`` rows and scaled to ``total_rows``."""
        from sqlalchemy import select

        from recorder.models import Segment

        gc.collect()
        process = psutil.Process()
        before = process.memory_info().rss
        started = time.perf_counter()
        with self.sessions() as session:
            rows = {
                row.path: row
                for row in session.scalars(select(Segment).limit(RECOVERY_SAMPLE_ROWS))
            }
            seconds = time.perf_counter() - started
            grown = process.memory_info().rss - before
            sampled = len(rows)
            del rows
        gc.collect()
        scale = total_rows / sampled if sampled else 0.0
        return {
            "sample_rows": sampled,
            "sample_seconds": seconds,
            "sample_rss_bytes": grown,
            "estimated_seconds": seconds * scale,
            "estimated_rss_bytes": grown * scale,
        }


# -- measuring ---------------------------------------------------------------------------------


class GcWatch:
    """Counts the garbage collector's passes and the time they take (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.passes = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self.elapsed = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info.get("generation", 2)
        self.passes[generation] += 1
        self.seconds[generation] += time.perf_counter() - self._started

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self) -> dict[str, float]:
        return {
            "gen2_passes": self.passes[2],
            "gen2_ms": self.seconds[2] * 1000.0,
            "all_ms": sum(self.seconds) * 1000.0,
            "elapsed_ms": self.elapsed * 1000.0,
            "tracked_objects": len(gc.get_objects()),
        }


def _time(call: Callable[[], object], into: Latency, cpu_clock: Callable[[], float]) -> None:
    cpu0 = cpu_clock()
    started = time.perf_counter()
    try:
        call()
    except Exception as error:  # counted and shown, the run goes on
        into.errors += 1
        if not into.note:
            into.note = f"{type(error).__name__}: {str(error)[:200]}"
        return
    into.samples_ms.append((time.perf_counter() - started) * 1000.0)
    into.cpu_ms.append((cpu_clock() - cpu0) * 1000.0)


def _measure(
    inputs: Sequence[Any],
    call: Callable[[Any], object],
    warmup: int,
    cpu_clock: Callable[[], float] = time.thread_time,
) -> Latency:
    """Call ``call`` on the first ``warmup`` inputs untimed, then on every input timed."""
    result = Latency()
    for value in inputs[:warmup]:
        try:
            call(value)
        except Exception:  # warm-up only; errors are counted in the timed pass
            continue
    for value in inputs:
        _time(functools.partial(call, value), result, cpu_clock)
    return result


def warm_file(path: Path, progress: Callable[[str], None]) -> None:
    """Read the database once so every path below runs with a warm page cache."""
    started = time.monotonic()
    with path.open("rb") as handle:
        while handle.read(8 << 20):
            pass
    progress(
        f"  page cache warmed: read {path.stat().st_size / 1e9:.2f} GB "
        f"in {time.monotonic() - started:.1f} s"
    )


def _sites(info: CatalogInfo) -> list[dict[str, Any]]:
    sites: dict[str, list[dict[str, Any]]] = {}
    for index, camera in enumerate(info.camera_ids):
        sites.setdefault(f"rv-site-{index // 8}", []).append(
            {
                "id": camera,
                "name": f"讯问室{index // 2}-{index % 2}",
                "area": "interrogation",
                "room": f"room-{index // 2}",
                "url": f"rtsp://127.0.0.1:9/{camera}",
                "enabled": False,
            }
        )
    return [
        {"id": site, "name": f"派出所 {site}", "cameras": cameras}
        for site, cameras in sites.items()
    ]


def _iso(us: int) -> str:
    from ingest.clock import isoformat_us

    return isoformat_us(us)


def run(
    db_path: Path,
    info: CatalogInfo,
    reused: bool,
    workdir: Path,
    *,
    queries: int,
    http: bool,
    seed: int,
    progress: Callable[[str], None],
) -> QueryResult:
    """Measure part (a) on the catalog at ``db_path``."""
    result = QueryResult(
        db_path=str(db_path),
        db_bytes=info.db_bytes,
        generation_seconds=info.generation_seconds,
        reused=reused,
        rows=dict(info.counts),
        queries=queries,
    )
    rng = random.Random(seed)
    cases = [rng.choice(info.case_numbers) for _ in range(queries)]
    days = (info.data_end_us - info.data_start_us) // DAY_US
    timelines = []
    for _ in range(queries):
        day_start = info.data_start_us + rng.randrange(days) * DAY_US
        timelines.append((rng.choice(info.camera_ids), day_start, day_start + DAY_US))
    warmup = max(10, queries // 10)
    warm_file(db_path, progress)
    host0 = m.HostCpu.now()
    cpu0 = m.cpu_seconds([psutil.Process().pid])
    t0 = time.monotonic()

    floor = Floor(db_path)
    try:
        camera, start, end = timelines[0]
        result.plans["segments"] = floor.plan(
            "SELECT * FROM segments WHERE camera_id = ? AND end_us > ? AND start_us < ? "
            "ORDER BY start_us",
            (camera, start, end),
        )
        result.plans["runs"] = floor.plan(
            "SELECT * FROM recording_runs WHERE camera_id = ? AND started_us < ? "
            "AND (ended_us IS NULL OR ended_us >= ?) ORDER BY started_us",
            (camera, end, start),
        )
        progress("  floor (plain sqlite3)")
        result.case_footage["floor"] = _measure(cases, floor.case_footage, warmup)
        result.timeline["floor"] = _measure(timelines, lambda t: floor.camera_footage(*t), warmup)
        sizes = [floor.camera_footage(*t) for t in timelines[:50]]
        result.timeline_segments_mean = sum(sizes) / len(sizes)
        few = [None] * max(5, queries // 20)  # the grouped query takes seconds at 13 M rows
        result.cameras["floor_group_by"] = _measure(few, lambda _: floor.last_recorded_grouped(), 1)
        result.cameras["floor_startup"] = _measure(
            few, lambda _: floor.last_segments(info.camera_ids), 1
        )
        result.case_shape = _case_shape(floor, cases[:100])
        result.by_age = _by_age(floor, info, rng)
    finally:
        floor.close()
    bounded = Floor(db_path, bounded=True)
    try:
        result.case_footage["floor_bounded"] = _measure(cases, bounded.case_footage, warmup)
        result.timeline["floor_bounded"] = _measure(
            timelines, lambda t: bounded.camera_footage(*t), warmup
        )
    finally:
        bounded.close()

    direct = Direct(db_path)
    try:
        progress("  direct (route function / camera_footage with a SQLAlchemy session)")
        with GcWatch() as watch:
            began = time.perf_counter()
            result.case_footage["direct"] = _measure(cases, direct.case_footage, warmup)
            result.timeline["direct"] = _measure(
                timelines, lambda t: direct.camera_footage(*t), warmup
            )
            watch.elapsed = time.perf_counter() - began
        result.gc_direct = watch.summary()
        progress("  start-up recovery estimate (ORM load of segment rows)")
        result.recovery_estimate = direct.recovery_estimate(info.counts.get("segments", 0))
    finally:
        direct.close()

    if http:
        progress("  HTTP (casewatch app, 100 disabled cameras, start-up recovery skipped)")
        _measure_http(db_path, info, workdir, cases, timelines, warmup, result)
    else:
        result.http_note = "not measured (--no-http)"
    host1 = m.HostCpu.now()
    own = m.cpu_seconds([psutil.Process().pid]) - cpu0
    elapsed = time.monotonic() - t0
    other = (host1.busy - host0.busy) - own
    result.host_other_cpu_percent = max(0.0, 100.0 * other / elapsed) if elapsed else 0.0
    return result


def _by_age(floor: Floor, info: CatalogInfo, rng: random.Random) -> dict[str, float]:
    """Median floor latency of the segments query of a day timeline: oldest vs newest day."""
    days = (info.data_end_us - info.data_start_us) // DAY_US
    result: dict[str, float] = {}
    for label, day in (("oldest_day", 0), ("newest_day", days - 1)):
        for bounded in (False, True):
            floor.bounded = bounded
            samples = []
            for _ in range(21):
                start = info.data_start_us + day * DAY_US
                camera = rng.choice(info.camera_ids)
                began = time.perf_counter()
                floor.camera_footage(camera, start, start + DAY_US)
                samples.append((time.perf_counter() - began) * 1000.0)
            result[f"{label}{'_bounded' if bounded else ''}_ms"] = quantile(samples, 0.5)
    floor.bounded = False
    return result


def _case_shape(floor: Floor, numbers: Sequence[str]) -> dict[str, float]:
    """Mean tags, camera ranges and segments of a case (of the sampled inputs)."""
    tags = ranges = segments = 0
    for number in numbers:
        rows = floor.db.execute(
            "SELECT t.id, count(c.camera_id) FROM case_tags t JOIN tag_cameras c "
            "ON c.tag_id = t.id WHERE t.case_number = ? GROUP BY t.id",
            (number,),
        ).fetchall()
        tags += len(rows)
        ranges += sum(count for _id, count in rows)
        segments += floor.case_footage(number)
    n = max(1, len(numbers))
    return {"tags": tags / n, "camera_ranges": ranges / n, "segments": segments / n}


def _measure_http(
    db_path: Path,
    info: CatalogInfo,
    workdir: Path,
    cases: Sequence[str],
    timelines: Sequence[tuple[str, int, int]],
    warmup: int,
    result: QueryResult,
) -> None:
    port = m.free_port()
    root = workdir / "a-server"
    config = srv.settings(root, port, database=db_path, sites=_sites(info))
    server = srv.Server(root, config, port=port, skip_recovery=True)
    try:
        started = time.monotonic()
        server.start(timeout=180.0)
        result.http_note = (
            f"server up in {time.monotonic() - started:.1f} s (recovery skipped); keep-alive "
            "connection; time to the last byte of the body"
        )

        assert server.proc is not None
        server_process = psutil.Process(server.proc.pid)

        def server_cpu() -> float:
            times = server_process.cpu_times()
            return float(times.user + times.system)

        def get(path: str) -> None:
            status, body = server.request("GET", path)
            if status != 200:
                raise srv.BenchError(f"GET {path}: HTTP {status}: {body[:200]!r}")

        result.case_footage["http"] = _measure(
            cases, lambda n: get(f"/api/v1/cases/{quote(n)}/footage"), warmup, server_cpu
        )
        result.timeline["http"] = _measure(
            timelines,
            lambda t: get(
                "/api/v1/recordings?"
                + urlencode({"camera": t[0], "start": _iso(t[1]), "end": _iso(t[2])})
            ),
            warmup,
            server_cpu,
        )
        result.cameras["http"] = _measure(
            [None] * len(timelines), lambda _: get("/api/v1/cameras"), warmup, server_cpu
        )
    except srv.BenchError as error:
        result.http_note = f"HTTP not measured: {error}"
    finally:
        server.stop()
