"""Part (c) of bench/review.py: export speed of one hour of one camera.

Recording an hour would take an hour, so the hour is **synthesised** from one real recorded
minute: the segment file is copied 60 times (separate files, not links: separate page-cache
pages) under the names ``recorder.pathcodec`` gives consecutive minutes of a camera
``synth-1``, with one catalog row each (real size and SHA-256, a hash chain, one recording
run) in a fresh catalog made by the project's migrations. A fresh ``casewatch serve`` (the
camera configured but disabled, so nothing else runs) then exports that hour through the API:
``POST /api/v1/cases`` → ``POST /api/v1/cases/{number}/exports`` with the hour as a range →
poll ``GET /api/v1/exports/{id}`` until ``done`` → ``GET …/download``. If the server has no
export routes, ``evidence.export.build_package`` is called directly instead (reported).

Baseline: plain ``cp`` of the same 60 files to the same file system (median of 3), and ``cp``
followed by ``sync FILE…`` (fsync of every copy: the export fsyncs what it writes). Caches cannot
be dropped here, so everything runs **warm**: the 60 files are read once before ``cp`` and
again before the export.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

try:
    from bench import _measure as m
    from bench import _review_server as srv
    from bench._review_record import SegmentRow
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _measure as m  # type: ignore[import-not-found,no-redef]
    import _review_server as srv  # type: ignore[import-not-found,no-redef]
    from _review_record import SegmentRow  # type: ignore[import-not-found,no-redef]

TARGET_CP_FRACTION = 0.5
CAMERA = "synth-1"
CASE_NUMBER = "A510100000000202611" + "0001"
US = 1_000_000
CP_RUNS = 3


@dataclass
class ExportResult:
    """What part (c) measured."""

    via: str = ""
    minutes: int = 0
    files: int = 0
    media_seconds: float = 0.0
    source_bytes: int = 0
    synthesis_seconds: float = 0.0
    export_seconds: float = 0.0
    """POST → ``done`` seen by polling (every 50 ms) — what a user waits."""
    build_seconds: float = 0.0
    """The server's own ``started_at`` → ``finished_at`` of the build."""
    download_seconds: float = 0.0
    package_bytes: int = 0
    package_sha256_ok: bool = False
    cp_seconds: list[float] = field(default_factory=list)
    cp_sync_seconds: list[float] = field(default_factory=list)
    realtime_multiple: float = 0.0
    cp_fraction: float = 0.0
    cp_sync_fraction: float = 0.0
    host_other_cpu_percent: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)
    """Seconds of the export's steps, each run alone here on the same files (see breakdown)."""
    export: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def _source_row(database: Path, segment_id: int) -> dict[str, Any]:
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        row = db.execute("SELECT * FROM segments WHERE id = ?", (segment_id,)).fetchone()
    finally:
        db.close()
    if row is None:
        raise srv.BenchError(f"segment {segment_id} not in {database}")
    return dict(row)


@dataclass(frozen=True)
class Synthetic:
    """The synthesised footage."""

    database: Path
    storage: Path
    start_us: int
    end_us: int
    """The range to export."""
    files: list[Path]
    spans: list[tuple[Path, str, int, int, str]]
    """(file, relative path, start_us, end_us, sha256) of every segment."""


def synthesise(source: SegmentRow, source_db: Path, root: Path, minutes: int) -> Synthetic:
    """Write the synthetic footage: enough copies of ``source`` to cover ``minutes`` whole
    minutes; returns (database, storage, start_us, end_us of the range to export, files)."""
    from recorder.db import make_engine, migrate, session_factory
    from recorder.models import Camera, RecordingRun, Segment
    from recorder.pathcodec import encode

    row = _source_row(source_db, source.id)
    length = int(row["end_us"]) - int(row["start_us"])
    database, storage = root / "casewatch.db", root / "rec"
    engine = make_engine(f"sqlite:///{database}")
    migrate(engine)
    sessions = session_factory(engine)
    # Whole minutes, ending well in the past (an export range may not start in the future).
    start = (int(time.time()) - minutes * 60 - 1800) // 60 * 60 * US
    end = start + minutes * 60 * US
    copies = -(-(end - start) // length)  # enough whole segments to cover the range
    files: list[Path] = []
    spans: list[tuple[Path, str, int, int, str]] = []
    with sessions.begin() as session:
        session.add(
            Camera(
                id=CAMERA,
                site_id="bench",
                name="合成 1",
                area="interrogation",
                room="synth",
                first_seen_us=start,
            )
        )
        run_id = secrets.token_hex(16)
        session.add(
            RecordingRun(
                id=run_id,
                camera_id=CAMERA,
                started_us=start,
                ended_us=start + copies * length,
                end_reason="recorder_stopped",
                end_detail="synthesised by bench/review.py",
            )
        )
        session.flush()
        previous = row["prev_sha256"]
        for index in range(copies):
            at = start + index * length
            relative = encode(CAMERA, at)
            target = storage / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.path, target)
            files.append(target)
            spans.append((target, relative, at, at + length, row["sha256"]))
            session.add(
                Segment(
                    camera_id=CAMERA,
                    run_id=run_id,
                    path=relative,
                    start_us=at,
                    end_us=at + length,
                    size_bytes=row["size_bytes"],
                    sha256=row["sha256"],
                    prev_sha256=previous,
                    video_codec=row["video_codec"],
                    width=row["width"],
                    height=row["height"],
                    audio_codec=row["audio_codec"],
                    has_audio=bool(row["has_audio"]),
                    video_packets=row["video_packets"],
                    audio_packets=row["audio_packets"],
                    adopted=False,
                    status="ok",
                )
            )
            previous = row["sha256"]
    engine.dispose()
    return Synthetic(database, storage, start, end, files, spans)


def read_all(files: list[Path]) -> int:
    """Read every file once (warm the page cache); returns the bytes read."""
    total = 0
    for path in files:
        with path.open("rb") as handle:
            while chunk := handle.read(8 << 20):
                total += len(chunk)
    return total


def time_cp(files: list[Path], scratch: Path, *, fsync: bool) -> float:
    """Seconds for ``cp`` of the files into ``scratch`` (then ``sync FILE…`` with fsync)."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run(["cp", *map(str, files), str(scratch)], check=True)
    if fsync:
        subprocess.run(["sync", *map(str, sorted(scratch.iterdir()))], check=True)
    elapsed = time.perf_counter() - started
    shutil.rmtree(scratch, ignore_errors=True)
    return elapsed


def _sha256(path: Path) -> str:
    from recorder.files import sha256_file

    return sha256_file(path)[1]


def _iso(us: int) -> str:
    from ingest.clock import isoformat_us

    return isoformat_us(us)


def _parse(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _export_api(server: srv.Server, start: int, end: int, result: ExportResult, root: Path) -> bool:
    """Export through the API; False when the server has no export routes."""
    if "/api/v1/cases/{number}/exports" not in server.json("GET", "/openapi.json")["paths"]:
        return False
    server.json(
        "POST",
        "/api/v1/cases",
        {"number": CASE_NUMBER, "title": "导出基准 export benchmark"},
        ok=(201, 409),
    )
    request = {"ranges": [{"camera": CAMERA, "start": _iso(start), "end": _iso(end)}]}
    started = time.perf_counter()
    created = server.json(
        "POST", f"/api/v1/cases/{CASE_NUMBER}/exports", request, ok=(200, 201, 202)
    )
    export_id = created["id"]
    state: dict[str, Any] = created
    while state.get("status") not in ("done", "failed"):
        if not server.alive():
            raise srv.BenchError(f"server died during the export:\n{m.tail(server.log, 20)}")
        if time.perf_counter() - started > 1800:
            raise srv.BenchError(f"export not done after 30 min: {state}")
        time.sleep(0.05)
        state = server.json("GET", f"/api/v1/exports/{export_id}")
    result.export_seconds = time.perf_counter() - started
    result.export = state
    if state["status"] != "done":
        raise srv.BenchError(f"export failed: {state.get('error')}")
    if state.get("started_at") and state.get("finished_at"):
        result.build_seconds = _parse(state["finished_at"]) - _parse(state["started_at"])
    target = root / "download.zip"
    began = time.perf_counter()
    status, data = server.request("GET", state["download_url"], timeout=600.0)
    if status != 200:
        raise srv.BenchError(f"download: HTTP {status}")
    target.write_bytes(data)
    result.download_seconds = time.perf_counter() - began
    result.package_bytes = len(data)
    result.package_sha256_ok = hashlib.sha256(data).hexdigest() == state.get("sha256")
    target.unlink()
    return True


def _export_module(config: Path, start: int, end: int, result: ExportResult) -> None:
    """Build the package with ``evidence.export.build_package`` (no HTTP)."""
    from configs.loader import load_settings
    from evidence import cases
    from evidence.case_numbers import parse_case_number
    from evidence.export import ExportJob, build_package
    from evidence.export_request import Item
    from evidence.signing import load_or_create
    from ingest.clock import SystemClock
    from recorder.db import make_engine, session_factory
    from recorder.models import Case

    settings = load_settings(config, base=config.parent)
    engine = make_engine(settings.database.resolved_url())
    sessions = session_factory(engine)
    clock = SystemClock()
    with sessions.begin() as session:
        number = parse_case_number(CASE_NUMBER, settings.cases.number_patterns)
        if session.get(Case, CASE_NUMBER) is None:
            cases.create_case(session, number=number, title="导出基准", now_us=clock.wall_us())
    key = load_or_create(settings.export.signing_key)
    job = ExportJob(
        secrets.token_hex(8),
        CASE_NUMBER,
        [Item(CAMERA, start, end, [{"range": 0}])],
        "bench",
        clock.wall_us(),
    )
    started = time.perf_counter()
    built = build_package(job, settings=settings, sessions=sessions, key=key, clock=clock)
    result.export_seconds = result.build_seconds = time.perf_counter() - started
    result.package_bytes = built.size
    result.package_sha256_ok = _sha256(built.path) == built.sha256
    engine.dispose()


def run(
    source: SegmentRow,
    source_db: Path,
    workdir: Path,
    *,
    minutes: int,
    progress: Callable[[str], None],
) -> ExportResult:
    """Synthesise ``minutes`` of footage from ``source`` and export it."""
    result = ExportResult(minutes=minutes)
    root = workdir / "c-server"
    shutil.rmtree(root, ignore_errors=True)
    began = time.monotonic()
    synthetic = synthesise(source, source_db, root, minutes)
    database, start, end, files = (
        synthetic.database,
        synthetic.start_us,
        synthetic.end_us,
        synthetic.files,
    )
    result.synthesis_seconds = time.monotonic() - began
    result.media_seconds = (end - start) / US
    result.files = len(files)
    result.source_bytes = sum(f.stat().st_size for f in files)
    progress(
        f"  synthesised {len(files)} segment files ({result.source_bytes / 1e6:.0f} MB) for "
        f"{result.media_seconds:.0f} s in {result.synthesis_seconds:.1f} s"
    )

    read_all(files)
    for _ in range(CP_RUNS):
        result.cp_seconds.append(time_cp(files, root / "cp-scratch", fsync=False))
    for _ in range(CP_RUNS):
        result.cp_sync_seconds.append(time_cp(files, root / "cp-scratch", fsync=True))
    progress(
        f"  cp: {statistics.median(result.cp_seconds):.2f} s, cp+sync: "
        f"{statistics.median(result.cp_sync_seconds):.2f} s (median of {CP_RUNS}, warm)"
    )

    port = m.free_port()
    site = {
        "id": "bench",
        "name": "Bench",
        "cameras": [
            {
                "id": CAMERA,
                "name": "合成 1",
                "area": "interrogation",
                "room": "synth",
                "url": "rtsp://127.0.0.1:9/synth",
                "enabled": False,
            }
        ],
    }
    config = srv.settings(root, port, database=database, sites=[site])
    server = srv.Server(root, config, port=port)
    try:
        server.start(timeout=120.0)
        read_all(files)
        host0, cpu0 = m.HostCpu.now(), _cpu(server, include_self=True)
        t0 = time.monotonic()
        progress("  exporting through the API")
        if _export_api(server, start, end, result, root):
            result.via = "API (POST /api/v1/cases/{n}/exports, poll, download)"
        else:
            server.stop()
            read_all(files)
            progress("  no export routes on the server: calling evidence.export directly")
            result.via = "evidence.export.build_package (no export API on the server)"
            _export_module(server.config, start, end, result)
        elapsed = time.monotonic() - t0
        other = (m.HostCpu.now().busy - host0.busy) - (_cpu(server, include_self=True) - cpu0)
        result.host_other_cpu_percent = max(0.0, 100.0 * other / elapsed) if elapsed else 0.0
    finally:
        server.stop()
    progress("  export steps one by one (this process, warm)")
    result.steps = breakdown(synthetic, root / "steps")
    cp = statistics.median(result.cp_seconds)
    cp_sync = statistics.median(result.cp_sync_seconds)
    if result.export_seconds > 0:
        result.realtime_multiple = result.media_seconds / result.export_seconds
        result.cp_fraction = cp / result.export_seconds
        result.cp_sync_fraction = cp_sync / result.export_seconds
    return result


def breakdown(synthetic: Synthetic, scratch: Path) -> dict[str, float]:
    """The steps ``evidence.export.build_package`` takes, timed one by one on the same files:
    check every source's SHA-256, cut the range with ``evidence.export_media.cut`` (ffmpeg
    concat, stream copy), fsync + hash the cut, store it in a ZIP, fsync + hash the ZIP."""
    try:
        from evidence.export_media import SourceSegment, cut, probe
    except ImportError:
        return {}
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    steps: dict[str, float] = {}
    read_all(synthetic.files)
    began = time.perf_counter()
    for path in synthetic.files:
        _sha256(path)
    steps["hash sources"] = time.perf_counter() - began
    sources = [SourceSegment(*span) for span in synthetic.spans]
    output = scratch / "cut.mp4"
    began = time.perf_counter()
    cut(
        sources,
        output,
        start_us=synthetic.start_us,
        end_us=synthetic.end_us,
        progress=lambda _us: None,
        cancelled=lambda: False,
    )
    steps["ffmpeg concat cut (stream copy)"] = time.perf_counter() - began
    began = time.perf_counter()
    probe(output)
    steps["ffprobe the cut"] = time.perf_counter() - began
    began = time.perf_counter()
    _fsync(output)
    _sha256(output)
    steps["fsync + hash the cut"] = time.perf_counter() - began
    package = scratch / "package.zip"
    began = time.perf_counter()
    with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.write(output, arcname="video/001.mp4")
    steps["write the ZIP (stored)"] = time.perf_counter() - began
    began = time.perf_counter()
    _fsync(package)
    _sha256(package)
    steps["fsync + hash the ZIP"] = time.perf_counter() - began
    shutil.rmtree(scratch, ignore_errors=True)
    return steps


def _fsync(path: Path) -> None:
    from recorder.files import fsync_file

    fsync_file(path)


def _cpu(server: srv.Server, *, include_self: bool) -> float:
    pids = [server.proc.pid] if server.proc is not None and server.alive() else []
    if include_self:
        pids.append(psutil.Process().pid)
    return m.cpu_seconds(pids)
