"""A synthetic catalog for the review benchmark: N cameras × D days of 60 s segments.

The schema comes from the project's migrations (``recorder.db.migrate``), so the indexes measured
are the real ones. Rows are then written with the ``sqlite3`` module (``executemany``) with
``journal_mode=OFF`` and ``synchronous=OFF``, in time order (day by day, camera by camera within a
day) so every index grows at ~N insertion points, and the database is ``ANALYZE``d and put back
into WAL mode (what ``casewatch serve`` uses).

What is in it (seeded, reproducible):

- cameras ``rv-000``…: two per room (an interrogation room's main camera and its overview);
- recording runs that end only at outages: ~15 % of camera-days have a short outage (1–60 min,
  camera disconnected or stalled), ~2 % a long one (1–6 h), and every ~10 days the whole recorder
  restarts (1–3 min down; a ``recorder_starts`` row);
- one segment per minute of each run (the last of a run shorter), with the path from
  ``recorder.pathcodec``'s layout, realistic sizes, hashes and a hash chain; ~0.01 % ``lost``;
- ``camera_events`` for every outage (offline/stalled → backoff → connecting → live);
- ``--cases`` cases (A/B/J numbers), each with 1–3 tags or closed interrogation sessions over
  1–4 cameras and 5 min–4 h, with their ``tag_cameras`` and ``evidence_holds`` rows.

The data ends at the UTC midnight before generation; the meta file next to the database records
the parameters, so a cached catalog is reused only for the same sizes.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

US = 1_000_000
MINUTE_US = 60 * US
DAY_US = 86_400 * US
SEGMENT_US = 60 * US
SCHEMA_VERSION = 1
"""Bump when the generated content changes, so cached catalogs are rebuilt."""


@dataclass(frozen=True)
class CatalogSpec:
    """What to generate."""

    cameras: int
    days: int
    cases: int
    seed: int = 20261125

    def key(self) -> str:
        """File-name stem of this catalog."""
        return f"catalog-{self.cameras}cam-{self.days}d-{self.cases}cases-s{self.seed}"


@dataclass
class CatalogInfo:
    """What was generated (stored beside the database as JSON)."""

    spec: dict[str, int]
    schema_version: int
    data_start_us: int
    data_end_us: int
    camera_ids: list[str]
    case_numbers: list[str]
    segments: int = 0
    runs: int = 0
    events: int = 0
    tags: int = 0
    recorder_starts: int = 0
    generation_seconds: float = 0.0
    db_bytes: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def camera_id(index: int) -> str:
    return f"rv-{index:03d}"


def _segment_path(camera: str, start_us: int) -> str:
    """``recorder.pathcodec.encode`` without a datetime per row (checked against it)."""
    seconds, micros = divmod(start_us, US)
    tm = time.gmtime(seconds)
    day = f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
    stamp = (
        f"{tm.tm_year:04d}{tm.tm_mon:02d}{tm.tm_mday:02d}T"
        f"{tm.tm_hour:02d}{tm.tm_min:02d}{tm.tm_sec:02d}"
    )
    return f"{camera}/{day}/{tm.tm_hour:02d}/{camera}_{stamp}.{micros:06d}Z.mp4"


@dataclass(frozen=True)
class _Down:
    """A stretch without recording of one camera and why."""

    start_us: int
    end_us: int
    run_end_reason: str
    event_state: str | None
    event_cause: str | None


def _outages(
    rng: random.Random, spec: CatalogSpec, data_start: int, restarts: list[tuple[int, int]]
) -> list[list[_Down]]:
    """Per camera, its down stretches in time order (camera outages and recorder restarts)."""
    per_camera: list[list[_Down]] = []
    for _ in range(spec.cameras):
        downs = [_Down(down, up, "recorder_stopped", None, None) for down, up in restarts]
        for day in range(spec.days):
            day_start = data_start + day * DAY_US
            roll = rng.random()
            if roll < 0.02:
                length = rng.randint(3600, 6 * 3600) * US
            elif roll < 0.17:
                length = rng.randint(60, 3600) * US
            else:
                continue
            start = day_start + rng.randint(0, 86_400 - 1) * US + rng.randint(0, US - 1)
            if rng.random() < 0.7:
                down = _Down(start, start + length, "camera_disconnected", "offline", "unreachable")
            else:
                down = _Down(start, start + length, "camera_stalled", "stalled", "stalled")
            downs.append(down)
        downs.sort(key=lambda d: d.start_us)
        merged: list[_Down] = []
        for down in downs:
            if merged and down.start_us <= merged[-1].end_us:
                last = merged[-1]
                if down.end_us > last.end_us:
                    merged[-1] = _Down(
                        last.start_us,
                        down.end_us,
                        last.run_end_reason,
                        last.event_state,
                        last.event_cause,
                    )
                continue
            merged.append(down)
        per_camera.append(merged)
    return per_camera


_SEGMENT_SQL = (
    "INSERT INTO segments (camera_id, run_id, path, start_us, end_us, size_bytes, sha256, "
    "prev_sha256, video_codec, width, height, audio_codec, has_audio, video_packets, "
    "audio_packets, adopted, status, status_changed_us) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'h264', 1280, 720, 'aac', 1, ?, ?, 0, ?, ?)"
)
_RUN_SQL = (
    "INSERT INTO recording_runs (id, camera_id, started_us, ended_us, end_reason, end_detail) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_EVENT_SQL = (
    "INSERT INTO camera_events (camera_id, at_us, state, cause, detail) VALUES (?, ?, ?, ?, ?)"
)


class _CameraStream:
    """One camera's segments in time order, generated lazily; runs and events as a side list."""

    def __init__(
        self,
        index: int,
        downs: list[_Down],
        data_start: int,
        data_end: int,
        rng: random.Random,
        hashes: list[str],
    ) -> None:
        self.camera = camera_id(index)
        self.runs: list[tuple[str, str, int, int, str, str]] = []
        self.events: list[tuple[str, int, str, str | None, str]] = []
        self._rng = rng
        self._hashes = hashes
        self._chain = rng.randrange(len(hashes))
        self._pending: tuple[object, ...] | None = None
        self._rows = self._generate(downs, data_start, data_end)

    def _generate(
        self, downs: list[_Down], data_start: int, data_end: int
    ) -> Iterator[tuple[object, ...]]:
        rng = self._rng
        cursor = data_start + rng.randint(0, 5 * US)
        spans: list[tuple[int, int, str]] = []
        for down in downs:
            if down.start_us > cursor:
                spans.append((cursor, min(down.start_us, data_end), down.run_end_reason))
            self._down_events(down)
            cursor = max(cursor, down.end_us + rng.randint(US // 2, 3 * US))
        if cursor < data_end:
            spans.append((cursor, data_end, "recorder_stopped"))
        hashes, mask = self._hashes, len(self._hashes)
        for start, end, reason in spans:
            run_id = f"{rng.getrandbits(128):032x}"
            self.runs.append((run_id, self.camera, start, end, reason, ""))
            at = start
            while end - at >= US:
                seg_end = min(at + SEGMENT_US, end)
                seconds = (seg_end - at) / US
                lost = rng.random() < 0.0001
                prev = hashes[self._chain % mask]
                self._chain += 1
                yield (
                    self.camera,
                    run_id,
                    _segment_path(self.camera, at),
                    at,
                    seg_end,
                    int(seconds * (250_000 + rng.randint(-8000, 8000))),
                    hashes[self._chain % mask],
                    prev,
                    int(seconds * 25),
                    int(seconds * 46.875),
                    "lost" if lost else "ok",
                    seg_end + DAY_US if lost else None,
                )
                at = seg_end

    def _down_events(self, down: _Down) -> None:
        if down.event_state is None:  # recorder restart: the camera was simply not read
            self.events.append((self.camera, down.start_us, "stopped", "stopped", "shutdown"))
        else:
            self.events.append(
                (self.camera, down.start_us, down.event_state, down.event_cause, "simulated")
            )
            self.events.append((self.camera, down.start_us + 200_000, "backoff", None, ""))
        self.events.append((self.camera, down.end_us - 300_000, "connecting", None, ""))
        self.events.append((self.camera, down.end_us, "live", None, ""))

    def until(self, end_us: int) -> list[tuple[object, ...]]:
        """The next segments that start before ``end_us``."""
        out: list[tuple[object, ...]] = []
        if self._pending is not None:
            if int(self._pending[3]) >= end_us:  # type: ignore[call-overload]
                return out
            out.append(self._pending)
            self._pending = None
        for row in self._rows:
            if int(row[3]) >= end_us:  # type: ignore[call-overload]
                self._pending = row
                break
            out.append(row)
        return out


_CASE_KINDS = ("A", "A", "A", "B", "B", "J")
_TAG_KINDS = ("identification", "property_handling", "inquiry", "other")
_PERSONS = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏")


def _cases(
    db: sqlite3.Connection, rng: random.Random, spec: CatalogSpec, data_start: int, data_end: int
) -> tuple[list[str], int]:
    """Cases with tags/sessions, their cameras and holds; returns (numbers, tag count)."""
    numbers: list[str] = []
    tag_id = 0
    case_rows, tag_rows, camera_rows, hold_rows = [], [], [], []
    used: set[str] = set()
    span = data_end - data_start
    for serial in range(spec.cases):
        created = data_start + rng.randrange(span - 6 * 3600 * US)
        moment = time.gmtime(created // US)
        unit = f"5103{rng.randrange(10**8):08d}"
        number = f"{rng.choice(_CASE_KINDS)}{unit}{moment.tm_year:04d}{moment.tm_mon:02d}"
        number += f"{serial % 10000:04d}"
        if number in used:
            continue
        used.add(number)
        numbers.append(number)
        case_type = {"A": "criminal", "B": "administrative", "J": "incident"}[number[0]]
        closed = rng.random() < 0.5
        case_rows.append(
            (
                number,
                case_type,
                f"案件 {serial}",
                "closed" if closed else "open",
                unit,
                created,
                created,
                created + 5 * DAY_US if closed else None,
            )
        )
        for _ in range(rng.randint(1, 3)):
            tag_id += 1
            session = rng.random() < 0.5
            if session:
                room = rng.randrange(max(1, spec.cameras // 2))
                cameras = sorted({camera_id(min(2 * room + k, spec.cameras - 1)) for k in (0, 1)})
                length = rng.randint(30 * 60, 4 * 3600) * US
                kind = "interrogation"
            else:
                count = rng.randint(1, 4)
                cameras = sorted({camera_id(rng.randrange(spec.cameras)) for _ in range(count)})
                length = rng.randint(5 * 60, 2 * 3600) * US
                kind = rng.choice(_TAG_KINDS)
            start = min(created + rng.randrange(6 * 3600 * US), data_end - length)
            persons = json.dumps(rng.sample(_PERSONS, 2), ensure_ascii=False)
            report = json.dumps({"coverage_percent": 100.0}) if session else None
            tag_rows.append(
                (
                    tag_id,
                    number,
                    kind,
                    int(session),
                    "closed",
                    f"rv-site-{int(cameras[0][3:]) // 8}",
                    f"room-{int(cameras[0][3:]) // 2}",
                    start,
                    start + length,
                    persons,
                    json.dumps(["民警甲"], ensure_ascii=False),
                    "",
                    start + length,
                    "bench",
                    start + length if session else None,
                    report,
                )
            )
            for camera in cameras:
                camera_rows.append((tag_id, camera))
                hold_rows.append(
                    (
                        camera,
                        tag_id,
                        number,
                        start,
                        start + length,
                        f"case {number} tag {tag_id}",
                        start + length,
                    )
                )
    db.executemany("INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?, ?, ?)", case_rows)
    db.executemany(
        "INSERT INTO case_tags (id, case_number, kind, session, status, site_id, room, start_us, "
        "end_us, persons, officers, note, created_us, created_by, closed_us, report) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        tag_rows,
    )
    db.executemany("INSERT INTO tag_cameras (tag_id, camera_id) VALUES (?, ?)", camera_rows)
    db.executemany(
        "INSERT INTO evidence_holds (camera_id, tag_id, case_number, start_us, end_us, reason, "
        "created_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
        hold_rows,
    )
    return numbers, tag_id


def generate(
    spec: CatalogSpec, path: Path, *, progress: Callable[[str], None] = lambda _t: None
) -> CatalogInfo:
    """Write the catalog to ``path`` (replaced if it exists) and return what is in it."""
    from recorder.db import make_engine, migrate

    started = time.monotonic()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()

    rng = random.Random(spec.seed)
    today = int(time.time()) // 86_400 * 86_400 * US
    data_end = today
    data_start = data_end - spec.days * DAY_US
    restarts = []  # (recorder stopped, recorder started again)
    for day in range(rng.randint(3, 10), spec.days, 10):
        down = data_start + day * DAY_US + rng.randint(3600, 80_000) * US
        restarts.append((down, down + rng.randint(60, 180) * US))
    cameras = [camera_id(i) for i in range(spec.cameras)]
    info = CatalogInfo(asdict(spec), SCHEMA_VERSION, data_start, data_end, cameras, [])

    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        db.execute("PRAGMA cache_size=-1000000")
        db.execute("PRAGMA temp_store=MEMORY")
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO cameras (id, site_id, name, area, room, first_seen_us, recording_paused,"
            " operator_disabled) VALUES (?, ?, ?, 'interrogation', ?, ?, 0, 0)",
            [
                (cam, f"rv-site-{i // 8}", f"讯问室{i // 2}-{i % 2}", f"room-{i // 2}", data_start)
                for i, cam in enumerate(cameras)
            ],
        )
        db.executemany(
            "INSERT INTO recorder_starts (at_us) VALUES (?)", [(up,) for _down, up in restarts]
        )
        info.recorder_starts = len(restarts)
        hashes = [f"{rng.getrandbits(256):064x}" for _ in range(4096)]
        downs = _outages(rng, spec, data_start, restarts)
        streams = [
            _CameraStream(i, downs[i], data_start, data_end, random.Random(spec.seed + i), hashes)
            for i in range(spec.cameras)
        ]
        for day in range(spec.days):
            day_end = data_start + (day + 1) * DAY_US
            rows: list[tuple[object, ...]] = []
            for stream in streams:
                rows.extend(stream.until(day_end))
            db.executemany(_SEGMENT_SQL, rows)
            info.segments += len(rows)
            if day % 10 == 9 or day == spec.days - 1:
                db.execute("COMMIT")
                db.execute("BEGIN")
                progress(
                    f"  catalog: day {day + 1}/{spec.days}, {info.segments:,} segments, "
                    f"{time.monotonic() - started:.0f} s"
                )
        for stream in streams:
            db.executemany(_RUN_SQL, stream.runs)
            db.executemany(_EVENT_SQL, stream.events)
            info.runs += len(stream.runs)
            info.events += len(stream.events)
        info.case_numbers, info.tags = _cases(db, rng, spec, data_start, data_end)
        db.execute("COMMIT")
        progress("  catalog: ANALYZE")
        db.execute("ANALYZE")
        db.execute("PRAGMA locking_mode=NORMAL")
        db.execute("PRAGMA journal_mode=WAL")
        for table in ("segments", "recording_runs", "camera_events", "case_tags", "evidence_holds"):
            info.counts[table] = int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        db.close()
    info.generation_seconds = time.monotonic() - started
    info.db_bytes = db_bytes(path)
    return info


def db_bytes(path: Path) -> int:
    """Size of the database file and its WAL."""
    files = (path, Path(f"{path}-wal"))
    return sum(f.stat().st_size for f in files if f.exists())


def open_or_generate(
    spec: CatalogSpec, workdir: Path, *, progress: Callable[[str], None] = lambda _t: None
) -> tuple[Path, CatalogInfo, bool]:
    """The cached catalog for ``spec`` under ``workdir`` (generated when missing or stale).

    Returns (database path, info, whether it was reused).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{spec.key()}.db"
    meta = workdir / f"{spec.key()}.json"
    if path.is_file() and meta.is_file():
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            info = CatalogInfo(**data)
        except (ValueError, TypeError):
            info = None
        if info is not None and info.schema_version == SCHEMA_VERSION:
            _upgrade(path)  # migrations added since it was generated (new columns: quick)
            return path, info, True
    meta.unlink(missing_ok=True)
    info = generate(spec, path, progress=progress)
    meta.write_text(json.dumps(asdict(info)), encoding="utf-8")
    return path, info, False


def _upgrade(path: Path) -> None:
    """Bring a cached catalog's schema to the newest revision."""
    from recorder.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
    finally:
        engine.dispose()
