"""Review benchmark: catalog queries at scale, seek to first frame, export speed.

    .venv/bin/python bench/review.py [--parts a,b,c] [--cameras 100] [--days 90]
                                     [--workdir DIR] [--keep] [--json FILE]

Each figure is printed beside a baseline measured in the same run, with its target:

(a) **Catalog queries** on a synthetic catalog of ``--cameras`` × ``--days`` of 60 s segments
    (100 × 90 ≈ 13 M rows; schema from the project's migrations, so the real indexes; runs with
    outages, camera events, ``--cases`` cases with tags and sessions; see
    ``bench/_review_catalog.py``). p50/p95 over ``--queries`` random inputs of the case footage
    (``GET /api/v1/cases/{number}/footage``) and of a camera's day timeline
    (``recorder.footage.camera_footage`` over 24 h; ``GET /api/v1/recordings`` over HTTP), each
    through the real code called directly with a SQLAlchemy session and over HTTP against the
    app serving the catalog (100 disabled cameras). Baseline (the floor): the same SQL on a plain
    ``sqlite3`` connection, rows fetched, nothing else. Target: p95 ≤ 50 ms on SQLite. The
    catalog is cached under ``--workdir`` (generation takes minutes).
(b) **Seek to first frame** of recorded playback in headless Chromium: a server records two
    simulated 720p25 cameras (2 s GOP, 60 s segments) for ``--record-seconds``; then
    ``video.src`` is set to ``/api/v1/playback/{camera}?start=T`` at ``--seeks`` random T and
    the time to the first ``requestVideoFrameCallback`` is taken. Baselines: the same
    measurement on the recorded segment file served by the same server (``#t=`` at the same
    keyframe), and PyAV opening that file, seeking and decoding the frame. Target: p50 ≤ 300 ms.
(c) **Export speed**: one hour of one camera, synthesised from a real recorded minute (60
    copies under consecutive path-codec names with catalog rows), exported through the export
    API; as a multiple of real time and as a fraction of ``cp``'s throughput on the same bytes
    (both warm: caches cannot be dropped). Target: ≥ 0.5 of ``cp``.

Loopback only; every child process (servers, simulator, ffmpeg, Chromium) is stopped on exit,
Ctrl-C or SIGTERM. Without ``--workdir`` everything lives in a temporary directory that is
removed at the end unless ``--keep``; a given ``--workdir`` keeps the cached catalog and only the
run's scratch directories are removed (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import psutil

try:
    from bench import _measure as m
    from bench import _review_catalog as cat
    from bench import _review_export as exp
    from bench import _review_playback as play
    from bench import _review_queries as q
    from bench import _review_record as rec
    from bench import _review_server as srv
except ImportError:  # run as a script: bench/ itself is on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import _measure as m  # type: ignore[import-not-found,no-redef]
    import _review_catalog as cat  # type: ignore[import-not-found,no-redef]
    import _review_export as exp  # type: ignore[import-not-found,no-redef]
    import _review_playback as play  # type: ignore[import-not-found,no-redef]
    import _review_queries as q  # type: ignore[import-not-found,no-redef]
    import _review_record as rec  # type: ignore[import-not-found,no-redef]
    import _review_server as srv  # type: ignore[import-not-found,no-redef]

PARTS = ("a", "b", "c")
PLAYBACK_ROUTE = "/api/v1/playback/{camera_id}"
MIN_SEGMENT_S, MAX_SEGMENT_S = 59.0, 65.0
"""A 'real recorded minute' for part (c): a finished segment of about 60 s."""


@dataclass
class Results:
    """Everything the run measured (``--json``)."""

    command: str
    started_at: str
    host: dict[str, Any]
    args: dict[str, Any]
    catalog: dict[str, Any] = field(default_factory=dict)
    queries: q.QueryResult | None = None
    playback: play.PlaybackResult | None = None
    export: exp.ExportResult | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


# -- options -------------------------------------------------------------------------------------


def _parts(text: str) -> list[str]:
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise argparse.ArgumentTypeError(f"parts are a, b, c (comma-separated), got {text!r}")
    return [p for p in PARTS if p in parts]


def _at_least(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="bench/review.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--parts", type=_parts, default=list(PARTS), help="default: a,b,c")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the generated catalog is cached and the run works (default: a new "
        "temporary directory, removed at the end unless --keep)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the working directory and the run's files"
    )
    sizes = parser.add_argument_group("sizes")
    sizes.add_argument("--cameras", type=_at_least(2), default=100, help="(a) default: 100")
    sizes.add_argument("--days", type=_at_least(1), default=90, help="(a) default: 90")
    sizes.add_argument("--cases", type=_at_least(10), default=2000, help="(a) default: 2000")
    sizes.add_argument(
        "--queries", type=_at_least(20), default=200, help="(a) inputs per path (default: 200)"
    )
    sizes.add_argument(
        "--no-http", action="store_true", help="(a) skip the HTTP paths (direct calls only)"
    )
    sizes.add_argument(
        "--record-seconds",
        type=_at_least(70),
        default=150,
        help="(b) seconds of recording before seeking (default: 150)",
    )
    sizes.add_argument("--seeks", type=_at_least(5), default=30, help="(b) default: 30")
    sizes.add_argument(
        "--export-minutes", type=_at_least(1), default=60, help="(c) default: 60 (one hour)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random inputs (default: 1)")
    return parser


# -- the parts -----------------------------------------------------------------------------------


def progress(text: str) -> None:
    """A progress line on stderr."""
    m.write_text(sys.stderr, text)


def part_a(args: argparse.Namespace, workdir: Path, results: Results) -> None:
    spec = cat.CatalogSpec(cameras=args.cameras, days=args.days, cases=args.cases)
    progress(f"(a) catalog {spec.key()} under {workdir}")
    path, info, reused = cat.open_or_generate(spec, workdir, progress=progress)
    info.db_bytes = cat.db_bytes(path)
    results.catalog = {
        "path": str(path),
        "reused": reused,
        "generation_seconds": info.generation_seconds,
        "db_bytes": info.db_bytes,
        "rows": info.counts,
        "cases": len(info.case_numbers),
        "data_start": info.data_start_us,
        "data_end": info.data_end_us,
    }
    progress(
        f"  catalog {'reused' if reused else 'generated'}: {info.counts.get('segments', 0):,} "
        f"segments, {info.db_bytes / 1e9:.2f} GB, generation took {info.generation_seconds:.0f} s"
    )
    results.queries = q.run(
        path,
        info,
        reused,
        workdir,
        queries=args.queries,
        http=not args.no_http,
        seed=args.seed,
        progress=progress,
    )


@contextlib.contextmanager
def playback_server(recording: rec.Recording, root: Path) -> Iterator[tuple[str, str]]:
    """(base URL, how) of a server with the playback route: the recording server itself, or
    the fallback app over its catalog when ``casewatch serve`` has no such route yet."""
    paths = recording.server.json("GET", "/openapi.json")["paths"]
    if PLAYBACK_ROUTE in paths:
        yield recording.server.base, "casewatch serve (GET /api/v1/playback/{camera})"
        return
    try:
        import api.routes.playback  # noqa: F401
        import playback.stream  # noqa: F401
    except ImportError as error:
        raise srv.BenchError(f"no playback route and no playback module ({error})") from None
    port = m.free_port()
    log = root / "playback-app.log"
    proc = m.spawn(
        [
            sys.executable,
            str(srv.PROJECT_ROOT / "bench" / "_review_playback_app.py"),
            "--config",
            str(recording.server.config),
            "--port",
            str(port),
        ],
        log=log,
        cwd=root,
        death_signal=signal.SIGTERM,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def answers() -> bool:
            try:
                m.http_get(base + "/api/v1/health", timeout=2.0)
            except m.HttpError:
                return False
            return True

        if not m.wait_until(answers, timeout=60.0, alive=lambda: proc.poll() is None):
            raise srv.BenchError(f"playback fallback app did not start:\n{m.tail(log, 20)}")
        yield (
            base,
            (
                "fallback app: api.routes.playback router over the recording catalog "
                "(the route is not wired into casewatch serve)"
            ),
        )
    finally:
        m.stop_processes([proc], timeout=10.0)


def _minute(rows: Sequence[rec.SegmentRow]) -> rec.SegmentRow | None:
    for row in rows:
        if MIN_SEGMENT_S <= (row.end_us - row.start_us) / 1e6 <= MAX_SEGMENT_S:
            return row
    return None


def parts_b_c(args: argparse.Namespace, workdir: Path, results: Results) -> None:
    """Record real footage; (b) seek in it while recording; (c) export an hour made of it."""
    rec.check_simulator()
    cameras = 2 if "b" in args.parts else 1
    root = workdir / "b-server"
    shutil.rmtree(root, ignore_errors=True)
    source: rec.SegmentRow | None = None
    source_db = root / "casewatch.db"
    progress(f"(b/c) recording {cameras} simulated camera(s) in {root}")
    with rec.recording(root, cameras, progress) as recording:
        if "b" in args.parts:
            left = args.record_seconds - (time.time() - recording.started_s)
            progress(f"  recording {args.record_seconds} s ({max(0.0, left):.0f} s to go)")
            time.sleep(max(0.0, left))
            for camera in recording.cameras:
                rec.wait_segments(recording, camera, 1, 120.0, progress)
            host0, t0 = m.HostCpu.now(), time.monotonic()
            try:
                with playback_server(recording, root) as (base, via):
                    progress(f"(b) {args.seeks} seeks via {via}")
                    results.playback = play.run(
                        recording,
                        seeks=args.seeks,
                        seed=args.seed,
                        base_url=base,
                        via=via,
                        progress=progress,
                    )
                    results.playback.note = (
                        f"host busy {m.HostCpu.now().busy_percent_since(host0):.0f} % of all "
                        f"cores during the seeks ({time.monotonic() - t0:.0f} s), recording "
                        f"{cameras} cameras meanwhile"
                    )
            except srv.BenchError as error:
                results.problems.append(f"(b) not measured: {error}")
                progress(f"(b) not measured: {error}")
        if "c" in args.parts:
            rows = rec.wait_segments(recording, recording.cameras[0], 1, 150.0, progress)
            source = _minute(rows)
            if source is None:
                rows = rec.wait_segments(recording, recording.cameras[0], 2, 90.0, progress)
                source = _minute(rows)
    if "c" in args.parts:
        if source is None:
            results.problems.append("(c) not measured: no finished segment of about 60 s")
            return
        progress(f"(c) export of {args.export_minutes} min synthesised from {source.path.name}")
        try:
            results.export = exp.run(
                source, source_db, workdir, minutes=args.export_minutes, progress=progress
            )
        except srv.BenchError as error:
            results.problems.append(f"(c) not measured: {error}")
            progress(f"(c) not measured: {error}")


# -- output --------------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def _fmt(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"  # NaN → '-'


def render(results: Results) -> str:
    """The result tables with baselines and targets."""
    lines = [
        f"review benchmark, {results.started_at}, {results.host['cores']} cores, "
        f"{results.host['memory_gb']:.0f} GB RAM, SQLite {results.host['sqlite']}",
        f"command: {results.command}",
    ]
    if results.queries is not None:
        lines += _render_a(results)
    if results.playback is not None:
        lines += _render_b(results.playback)
    if results.export is not None:
        lines += _render_c(results.export)
    if results.problems:
        lines.append("")
        lines += [f"problem: {p}" for p in results.problems]
    lines.append(f"\nran {results.seconds / 60:.1f} min")
    return "\n".join(lines)


_PATHS_A = {
    "floor_group_by": "old: GROUP BY per poll, sqlite3",
    "floor_startup": "now: at start-up, index × cams",
    "floor": "floor: same SQL, plain sqlite3",
    "floor_bounded": "floor, start_us bounded below",
    "direct": "real code, direct call",
    "http": "real code over HTTP",
}


def _render_a(results: Results) -> list[str]:
    r = results.queries
    assert r is not None
    c = results.catalog
    rows = c["rows"]
    lines = [
        "",
        f"(a) catalog queries — {results.args['cameras']} cameras x {results.args['days']} days "
        f"of 60 s segments: {rows.get('segments', 0):,} segments, "
        f"{rows.get('recording_runs', 0):,} runs, {rows.get('camera_events', 0):,} events, "
        f"{c['cases']:,} cases / {rows.get('case_tags', 0):,} tags; "
        f"{c['db_bytes'] / 1e9:.2f} GB; generated in {c['generation_seconds']:.0f} s"
        f"{' (reused from the cache)' if c['reused'] else ''}",
        f"    {r.queries} random inputs per path, warm page cache; target p95 <= "
        f"{q.TARGET_P95_MS:g} ms for the real code; cpu = CPU ms of the work (this thread; for "
        "HTTP the server process, in 10 ms clock ticks)",
    ]
    head = (
        f"    {'query':<34} {'path':<32} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
        f" {'cpu p50':>8} {'cpu p95':>8} {'err':>4}  target"
    )
    lines += [head, "    " + "-" * (len(head) - 4)]
    shape = r.case_shape
    titles = {
        "case": (
            "case footage",
            f"({shape.get('tags', 0):.1f} tags, {shape.get('camera_ranges', 0):.1f} cam-ranges,"
            f" {shape.get('segments', 0):.0f} segs)",
        ),
        "timeline": ("camera day timeline", f"(24 h, {r.timeline_segments_mean:.0f} segs)"),
        "cameras": ("camera list (the wall's poll)", "GET /api/v1/cameras"),
    }
    tables = (("case", r.case_footage), ("timeline", r.timeline), ("cameras", r.cameras))
    for key, table in tables:
        present = [path for path in _PATHS_A if path in table]
        for index, path in enumerate(present):
            latency = table[path]
            title = titles[key][index] if index < 2 else ""
            verdict = ""
            if path in ("direct", "http"):
                target = q.CAMERAS_TARGET_P95_MS if key == "cameras" else q.TARGET_P95_MS
                verdict = _mark(latency.quantile(0.95) <= target)
            lines.append(
                f"    {title:<34} {_PATHS_A[path]:<32} {len(latency.samples_ms):>4} "
                f"{_fmt(latency.quantile(0.5)):>8} {_fmt(latency.quantile(0.95)):>8} "
                f"{_fmt(max(latency.samples_ms, default=float('nan'))):>8} "
                f"{_fmt(latency.quantile(0.5, cpu=True)):>8} "
                f"{_fmt(latency.quantile(0.95, cpu=True)):>8} {latency.errors:>4}  {verdict}"
            )
            if latency.note:
                lines.append(f"        note: {latency.note}")
    age = r.by_age
    if age:
        lines.append(
            "    segments+runs+events SQL of one day (floor, median of 21): oldest day "
            f"{age['oldest_day_ms']:.1f} ms, newest day {age['newest_day_ms']:.1f} ms; with "
            f"start_us bounded below: {age['oldest_day_bounded_ms']:.1f} / "
            f"{age['newest_day_bounded_ms']:.1f} ms"
        )
    lines.append(f"    plan of the segments query: {r.plans.get('segments', '?')}")
    gcs = r.gc_direct
    if gcs:
        share = 100.0 * gcs["all_ms"] / gcs["elapsed_ms"] if gcs["elapsed_ms"] else 0.0
        lines.append(
            f"    Python GC during the direct calls: {int(gcs['gen2_passes'])} full (gen-2) "
            f"passes, {gcs['gen2_ms'] / 1000:.1f} s; all passes {gcs['all_ms'] / 1000:.1f} s = "
            f"{share:.0f} % of the direct calls' time"
        )
    est = r.recovery_estimate
    if est:
        lines.append(
            "    start-up recovery at this size (loads every segment row; not run, scaled from "
            f"{int(est['sample_rows']):,} rows in {est['sample_seconds']:.1f} s / "
            f"{est['sample_rss_bytes'] / 1e6:.0f} MB): ~{est['estimated_seconds'] / 60:.1f} min, "
            f"~{est['estimated_rss_bytes'] / 1e9:.1f} GB"
        )
    lines.append(f"    HTTP: {r.http_note}")
    lines.append(
        f"    other load on the host during (a): {r.host_other_cpu_percent:.0f} % of a core"
    )
    return lines


def _render_b(r: play.PlaybackResult) -> list[str]:
    lines = [
        "",
        f"(b) seek to first frame — headless Chromium, video.src → first "
        f"requestVideoFrameCallback; {r.seeks} random instants in {r.recorded_seconds:.0f} s "
        f"of 720p25 footage per camera (2 s GOP); target playback p50 <= "
        f"{play.TARGET_P50_MS:g} ms",
        f"    via {r.via}",
    ]
    head = f"    {'path':<58} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'err':>4}  target"
    lines += [head, "    " + "-" * (len(head) - 4)]
    for label, latency, target in (
        ("playback: /api/v1/playback/{camera}?start=T (fMP4 stream)", r.playback, True),
        ("baseline: segment file, same server, #t=keyframe", r.static_file, False),
        ("floor: PyAV open + seek + decode first frame (no browser)", r.pyav, False),
    ):
        verdict = _mark(latency.quantile(0.5) <= play.TARGET_P50_MS) if target else ""
        lines.append(
            f"    {label:<58} {len(latency.samples_ms):>4} {_fmt(latency.quantile(0.5)):>8} "
            f"{_fmt(latency.quantile(0.95)):>8} "
            f"{_fmt(max(latency.samples_ms, default=float('nan'))):>8} {latency.errors:>4}  "
            f"{verdict}"
        )
        if latency.note:
            lines.append(f"        note: {latency.note}")
    if r.note:
        lines.append(f"    {r.note}")
    return lines


def _render_c(r: exp.ExportResult) -> list[str]:
    cp = statistics.median(r.cp_seconds) if r.cp_seconds else float("nan")
    cp_sync = statistics.median(r.cp_sync_seconds) if r.cp_sync_seconds else float("nan")
    mb = r.source_bytes / 1e6
    lines = [
        "",
        f"(c) export speed — {r.minutes} min of one camera ({r.media_seconds:.0f} s, "
        f"{mb:.0f} MB in {r.files} segment files), synthesised from one recorded minute; "
        "warm page cache (files read once first); target >= "
        f"{exp.TARGET_CP_FRACTION:g} x cp's throughput",
        f"    via {r.via}",
    ]
    head = f"    {'what':<50} {'seconds':>8} {'MB/s':>8} {'x real time':>12} {'of cp':>7}  target"
    lines += [head, "    " + "-" * (len(head) - 4)]

    def row(label: str, seconds: float, verdict: str = "") -> str:
        rate = mb / seconds if seconds > 0 else float("nan")
        multiple = r.media_seconds / seconds if seconds > 0 else float("nan")
        fraction = cp / seconds if seconds > 0 else float("nan")
        return (
            f"    {label:<50} {seconds:>8.2f} {_fmt(rate):>8} {_fmt(multiple):>12} "
            f"{fraction:>7.2f}  {verdict}"
        )

    lines.append(
        row(
            "export: POST → status done (poll 50 ms)",
            r.export_seconds,
            _mark(r.cp_fraction >= exp.TARGET_CP_FRACTION),
        )
    )
    if r.build_seconds and r.build_seconds != r.export_seconds:
        lines.append(row("  of which the server's build (started → finished)", r.build_seconds))
    lines.append(row(f"baseline: cp of the {r.files} files (median of {exp.CP_RUNS})", cp))
    lines.append(row("baseline: cp + sync FILE… (fsync each copy)", cp_sync))
    if r.download_seconds:
        lines.append(
            f"    download of the package: {r.package_bytes / 1e6:.0f} MB in "
            f"{r.download_seconds:.2f} s; SHA-256 matches the API: "
            f"{'yes' if r.package_sha256_ok else 'NO'}"
        )
    else:
        lines.append(
            f"    package {r.package_bytes / 1e6:.0f} MB; SHA-256 matches: "
            f"{'yes' if r.package_sha256_ok else 'NO'}"
        )
    lines.append(
        f"    export vs cp+sync: {r.cp_sync_fraction:.2f}; other load on the host during the "
        f"export: {r.host_other_cpu_percent:.0f} % of a core"
    )
    if r.steps:
        total = sum(r.steps.values())
        lines.append(
            f"    the export's steps run one by one here (sum {total:.2f} s): "
            + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in r.steps.items())
        )
    return lines


def to_json(results: Results) -> dict[str, Any]:
    data = asdict(results)
    for key, table in (
        ("case_footage", "case_footage"),
        ("timeline", "timeline"),
        ("cameras", "cameras"),
    ):
        if results.queries is not None:
            data["queries"][key + "_summary"] = {
                path: latency.summary() for path, latency in getattr(results.queries, table).items()
            }
    if results.playback is not None:
        data["playback"]["summary"] = {
            "playback": results.playback.playback.summary(),
            "static_file": results.playback.static_file.summary(),
            "pyav": results.playback.pyav.summary(),
        }
    data["targets"] = {
        "a_p95_ms": q.TARGET_P95_MS,
        "b_p50_ms": play.TARGET_P50_MS,
        "c_cp_fraction": exp.TARGET_CP_FRACTION,
    }
    return data


# -- main ----------------------------------------------------------------------------------------


def _raise_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (targets met or not), 1 on failure, 130 on Ctrl-C."""
    raw = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(raw)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    temporary = args.workdir is None
    workdir = (
        Path(tempfile.mkdtemp(prefix="casewatch-review-")) if temporary else args.workdir
    ).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    import sqlite3

    results = Results(
        command=shlex.join([".venv/bin/python", "bench/review.py", *raw]),
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        host={
            "cores": psutil.cpu_count() or 1,
            "memory_gb": psutil.virtual_memory().total / 2**30,
            "sqlite": sqlite3.sqlite_version,
            "python": platform.python_version(),
        },
        args={k: v for k, v in vars(args).items() if k not in ("json", "workdir")},
    )
    started = time.monotonic()
    code = 0
    try:
        progress(f"working directory {workdir}")
        if "a" in args.parts:
            part_a(args, workdir, results)
        if "b" in args.parts or "c" in args.parts:
            parts_b_c(args, workdir, results)
    except srv.BenchError as error:
        print(f"bench/review.py: {error}", file=sys.stderr)
        results.problems.append(str(error))
        code = 1
    except KeyboardInterrupt:
        print("bench/review.py: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        results.seconds = time.monotonic() - started
        if args.keep:
            progress(f"kept {workdir}")
        elif temporary:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            for scratch in ("a-server", "b-server", "c-server"):
                shutil.rmtree(workdir / scratch, ignore_errors=True)
    print(render(results))
    if args.json is not None:
        args.json.write_text(
            json.dumps(to_json(results), indent=2, default=str, ensure_ascii=False),
            encoding="utf-8",
        )
        progress(f"results written to {args.json}")
    return code


if __name__ == "__main__":
    sys.exit(main())
