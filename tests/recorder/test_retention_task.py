"""Retention on a real catalog and directory: quota enforced, held footage kept, tombstones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from configs.schema import RetentionSettings
from ingest.clock import SystemClock
from recorder import catalog, pathcodec
from recorder.db import make_engine, migrate, session_factory
from recorder.models import Camera, EvidenceHold, RecordingRun, Segment
from recorder.recovery import check
from recorder.retention import RetentionTask

MINUTE = 60_000_000


@pytest.fixture
def sessions(catalog_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated, empty catalog (SQLite, and PostgreSQL where configured)."""
    engine = make_engine(catalog_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def test_quota_deletes_oldest_unheld_and_keeps_held(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    root = tmp_path / "rec"
    now = SystemClock().wall_us()
    base = now - 10 * MINUTE
    with sessions.begin() as session:
        _camera_and_run(session, base, now)
        previous = None
        for index in range(6):
            start = base + index * MINUTE
            relative = pathcodec.encode("cam", start)
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(bytes([index]) * 1000)
            import hashlib

            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            session.add(
                Segment(
                    camera_id="cam",
                    run_id="r",
                    path=relative,
                    start_us=start,
                    end_us=start + MINUTE,
                    size_bytes=1000,
                    sha256=digest,
                    prev_sha256=previous,
                    video_codec="h264",
                    width=1,
                    height=1,
                    audio_codec=None,
                    has_audio=False,
                    video_packets=1,
                    audio_packets=0,
                )
            )
            previous = digest
        # the second minute is evidence
        session.add(
            EvidenceHold(
                camera_id="cam",
                start_us=base + MINUTE + 1,
                end_us=base + 2 * MINUTE - 1,
                reason="case A",
                created_us=now,
            )
        )
    task = RetentionTask(
        RetentionSettings(max_age_days=None, max_bytes=3000, min_free_bytes=0),
        root,
        sessions,
        SystemClock(),
    )
    decided = task.run_once()
    with sessions() as session:
        rows = session.query(Segment).order_by(Segment.start_us).all()
        statuses = [row.status for row in rows]
        report = check(session, root)
    assert statuses == ["deleted", "ok", "deleted", "deleted", "ok", "ok"]
    assert len(decided.delete) == 3 and decided.short_by_bytes == 0
    assert sorted(p.name for p in root.rglob("*.mp4")) == sorted(
        Path(r.path).name for r in rows if r.status == "ok"
    )
    assert report.clean, report.problems  # tombstones keep the chain verifiable


def _camera_and_run(session: Session, start_us: int, end_us: int) -> None:
    """Camera ``cam`` and one ended recording run ``r`` of it."""
    session.add(Camera(id="cam", site_id="s", name="c", area="other", room="r", first_seen_us=0))
    session.add(
        RecordingRun(
            id="r",
            camera_id="cam",
            started_us=start_us,
            ended_us=end_us,
            end_reason="recorder_stopped",
            end_detail="",
        )
    )
    session.flush()


def _bulk_catalog(
    sessions: sessionmaker[Session], root: Path, count: int, base: int, *, first: int = 0
) -> None:
    """``count`` one-minute segments of camera ``cam`` from minute ``first`` after ``base``,
    with 10-byte files (the camera and its run are made with the first batch)."""
    with sessions.begin() as session:
        if first == 0:
            _camera_and_run(session, base, base + count * MINUTE)
        rows = []
        for index in range(first, first + count):
            start = base + index * MINUTE
            relative = pathcodec.encode("cam", start)
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"0123456789")
            rows.append(
                {
                    "camera_id": "cam",
                    "run_id": "r",
                    "path": relative,
                    "start_us": start,
                    "end_us": start + MINUTE,
                    "size_bytes": 10,
                    "sha256": "0" * 64,
                    "prev_sha256": None,
                    "video_codec": "h264",
                    "width": 1,
                    "height": 1,
                    "audio_codec": None,
                    "has_audio": False,
                    "video_packets": 1,
                    "audio_packets": 0,
                    "adopted": False,
                    "status": "ok",
                }
            )
        session.execute(insert(Segment), rows)


def test_held_footage_in_front_cannot_stall_retention(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    """6,000 held segments before 100 unheld ones: the unheld go, and no false alarm."""
    root = tmp_path / "rec"
    now = SystemClock().wall_us()
    base = now - 7000 * MINUTE
    _bulk_catalog(sessions, root, 6100, base)
    with sessions.begin() as session:
        session.add(
            EvidenceHold(
                camera_id="cam",
                start_us=base,
                end_us=base + 6000 * MINUTE,
                reason="case A: one open case over 100 hours",
                created_us=now,
            )
        )
    alarms: list[str | None] = []
    task = RetentionTask(
        RetentionSettings(max_age_days=None, max_bytes=60_000 + 500, min_free_bytes=0),
        root,
        sessions,
        SystemClock(),
        on_shortfall=alarms.append,
    )
    decided = task.run_once()
    assert len(decided.delete) == 50 and decided.short_by_bytes == 0
    assert alarms == [None]  # no storage_full alarm: unheld footage was there to delete
    with sessions() as session:
        deleted = session.scalars(select(Segment.start_us).where(Segment.status == "deleted"))
        assert min(deleted) == base + 6000 * MINUTE  # the oldest unheld, not a held one


def test_a_hold_made_after_planning_still_protects(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    base = SystemClock().wall_us() - 10 * MINUTE
    _bulk_catalog(sessions, tmp_path, 3, base)
    with sessions() as session:
        planned = list(session.scalars(select(Segment.id).order_by(Segment.start_us)))
    with sessions.begin() as session:  # an inspector tags the middle minute meanwhile
        session.add(
            EvidenceHold(
                camera_id="cam",
                start_us=base + MINUTE + 5,
                end_us=None,
                reason="case B session",
                created_us=base,
            )
        )
    with sessions.begin() as session:
        marked = catalog.delete_unless_held(session, segment_ids=planned, at_us=base)
    assert marked == [planned[0]]


def test_logs_older_than_log_keep_days_are_pruned(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    from recorder.models import Alarm, CameraEvent, RecorderStart

    now = SystemClock().wall_us()
    day = 86_400_000_000
    base = now - 10 * day
    _bulk_catalog(sessions, tmp_path, 4, base)
    with sessions.begin() as session:
        rows = session.scalars(select(Segment).order_by(Segment.start_us)).all()
        rows[0].status = rows[2].status = "deleted"  # a prefix tombstone, and one in the chain
        for at in (base, now):
            session.add(CameraEvent(camera_id="cam", at_us=at, state="offline", detail=""))
            session.add(RecorderStart(at_us=at))
        session.add(Alarm(kind="camera_offline", raised_us=base, cleared_us=base, detail=""))
        session.add(Alarm(kind="storage_full", raised_us=base, detail=""))  # still active
    task = RetentionTask(
        RetentionSettings(max_age_days=None, min_free_bytes=0, log_keep_days=5),
        tmp_path,
        sessions,
        SystemClock(),
    )
    assert task.prune_if_due() == {
        "camera_events": 1,
        "alarms": 1,
        "recorder_starts": 1,
        "tombstones": 1,
    }
    assert task.prune_if_due() is None  # at most hourly
    with sessions() as session:
        statuses = list(session.scalars(select(Segment.status).order_by(Segment.start_us)))
        assert statuses == ["ok", "deleted", "ok"]  # the tombstone inside the chain stays
        assert session.query(Alarm).count() == 1


def test_present_bytes_are_kept_from_one_pass_to_the_next(
    tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    """Summed once, then what was written since is added and what retention deleted taken off:
    the quota holds across passes without re-summing the catalog."""
    base = SystemClock().wall_us() - 100 * MINUTE
    _bulk_catalog(sessions, tmp_path, 10, base)
    task = RetentionTask(
        RetentionSettings(max_age_days=None, max_bytes=50, min_free_bytes=0),
        tmp_path,
        sessions,
        SystemClock(),
    )
    assert len(task.run_once().delete) == 5
    _bulk_catalog(sessions, tmp_path, 3, base, first=10)  # recorded since
    with sessions() as session:
        assert task.present_bytes(session) == 80
    assert len(task.run_once().delete) == 3
    with sessions() as session:
        kept = session.scalar(select(func.count()).where(Segment.status == "ok"))
    assert kept == 5
