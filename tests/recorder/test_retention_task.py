"""Retention on a real catalog and directory: quota enforced, held footage kept, tombstones."""

from __future__ import annotations

from pathlib import Path

from configs.schema import RetentionSettings
from ingest.clock import SystemClock
from recorder import pathcodec
from recorder.db import make_engine, migrate, session_factory
from recorder.models import Camera, EvidenceHold, RecordingRun, Segment
from recorder.recovery import check
from recorder.retention import RetentionTask

MINUTE = 60_000_000


def test_quota_deletes_oldest_unheld_and_keeps_held(tmp_path: Path, catalog_url: str) -> None:
    root = tmp_path / "rec"
    engine = make_engine(catalog_url)
    migrate(engine)
    sessions = session_factory(engine)
    now = SystemClock().wall_us()
    base = now - 10 * MINUTE
    with sessions.begin() as session:
        session.add(
            Camera(id="cam", site_id="s", name="c", area="other", room="r", first_seen_us=0)
        )
        session.add(
            RecordingRun(
                id="r",
                camera_id="cam",
                started_us=base,
                ended_us=now,
                end_reason="recorder_stopped",
                end_detail="",
            )
        )
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
    engine.dispose()
