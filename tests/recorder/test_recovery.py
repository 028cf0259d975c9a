"""Startup recovery and check on a real directory and catalog, with real fMP4 files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from media import camera_packets, make_source
from sqlalchemy.orm import Session, sessionmaker

from recorder import catalog, fmp4, pathcodec
from recorder.db import make_engine, migrate, session_factory
from recorder.models import Camera, RecordingRun, Segment
from recorder.recovery import QUARANTINE, check, recover, recover_cameras, sha256_of
from recorder.segment_file import SegmentFile

START = 1_764_000_000_000_000


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("media") / "source.mkv")


def write_segment(source: Path, target: Path, *, seconds: float = 6.0) -> int:
    """Record ``source`` into ``target`` with the real writer; returns bytes written."""
    writer: SegmentFile | None = None
    with camera_packets(source, start_us=START) as (info, packets):
        for packet in packets:
            if packet.dts_us > seconds * 1_000_000:
                break
            if writer is None:
                writer = SegmentFile(
                    target, info, packet, fragment_seconds=1.0, fsync_interval=10.0
                )
            writer.write(packet)
    assert writer is not None
    return writer.close().size_bytes


@pytest.fixture
def sessions(catalog_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(catalog_url)
    migrate(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        session.add(
            Camera(id="cam", site_id="s", name="cam", area="other", room="r", first_seen_us=0)
        )
        session.add(RecordingRun(id="run1", camera_id="cam", started_us=START, end_detail=""))
    yield factory
    engine.dispose()


def test_partial_file_is_truncated_adopted_and_playable(
    source: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    root = tmp_path / "rec"
    relative = pathcodec.encode("cam", START)
    path = root / relative
    size = write_segment(source, path)
    with path.open("r+b") as handle:  # a crash in the middle of the last fragment
        handle.truncate(size - 5000)
    scan = fmp4.scan(path)
    assert scan.fragments >= 4 and scan.complete_bytes < scan.file_bytes

    with sessions.begin() as session:
        report = recover(session, root, now_us=START + 10**8)
    assert any("adopted" in line for line in report.actions)
    assert any("truncated" in line for line in report.actions)
    with sessions() as session:
        rows = catalog.segments_between(session, camera_id="cam", start_us=0, end_us=2**62)
        assert len(rows) == 1 and rows[0].adopted
        assert rows[0].sha256 == sha256_of(path) and rows[0].size_bytes == path.stat().st_size
        assert 3_500_000 <= rows[0].end_us - rows[0].start_us <= 6_100_000
        run = session.get(RecordingRun, "run1")
        assert run is not None and run.end_reason == "recorder_crashed"
        assert check(session, root).clean
    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 1
        assert sum(1 for _ in container.decode(video=0)) >= 90


def test_a_crashed_workers_cameras_are_recovered_and_no_other(
    source: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """After a worker process dies, its cameras' partial files are adopted and their runs end
    with the cause; another worker's camera, still recording, keeps its open run and file."""
    root = tmp_path / "rec"
    with sessions.begin() as session:
        session.add(
            Camera(id="other", site_id="s", name="o", area="other", room="r", first_seen_us=0)
        )
        session.add(RecordingRun(id="run2", camera_id="other", started_us=START, end_detail=""))
    mine, theirs = (root / pathcodec.encode(c, START) for c in ("cam", "other"))
    for path in (mine, theirs):
        size = write_segment(source, path)
        with path.open("r+b") as handle:  # both mid-fragment: one crashed, one still writing
            handle.truncate(size - 5000)
    with sessions.begin() as session:
        report = recover_cameras(
            session, root, ["cam"], since_us=START, now_us=START + 10**8,
            detail="worker_crashed: SIGSEGV",
        )  # fmt: skip
    assert [line for line in report.actions if "other" in line] == []
    with sessions() as session:
        (row,) = catalog.segments_between(session, camera_id="cam", start_us=0, end_us=2**62)
        assert row.adopted and row.sha256 == sha256_of(mine)
        run = session.get(RecordingRun, "run1")
        assert run is not None and run.end_reason == "recorder_crashed"
        assert run.end_detail == "worker_crashed: SIGSEGV"
        assert catalog.segments_between(session, camera_id="other", start_us=0, end_us=2**62) == []
        still = session.get(RecordingRun, "run2")
        assert still is not None and still.ended_us is None
    assert theirs.stat().st_size == size - 5000  # untouched: its writer is still at work


def test_garbage_is_quarantined_and_missing_files_are_lost(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    root = tmp_path / "rec"
    junk = root / pathcodec.encode("cam", START)
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"\x00" * 1000)
    (root / "notes.txt").write_text("not ours")
    with sessions.begin() as session:
        session.add(
            Segment(
                camera_id="cam",
                run_id="run1",
                path="cam/gone.mp4",
                start_us=1,
                end_us=2,
                size_bytes=1,
                sha256="0" * 64,
                prev_sha256=None,
                video_codec="h264",
                width=1,
                height=1,
                audio_codec=None,
                has_audio=False,
                video_packets=1,
                audio_packets=0,
            )
        )
    with sessions.begin() as session:
        report = recover(session, root, now_us=START)
    assert (root / QUARANTINE / "notes.txt").exists()
    assert (root / QUARANTINE / junk.relative_to(root)).exists()
    assert any("marked lost" in line for line in report.actions)
    with sessions() as session:
        result = check(session, root)
    assert result.problems == ["segment marked lost: cam/gone.mp4"]


def test_check_detects_altered_bytes_and_broken_chain(
    source: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    root = tmp_path / "rec"
    first = pathcodec.encode("cam", START)
    second = pathcodec.encode("cam", START + 10_000_000)
    for relative in (first, second):
        write_segment(source, root / relative, seconds=2)
    with sessions.begin() as session:
        recover(session, root, now_us=START)
    with sessions() as session:
        assert check(session, root).clean
    with (root / second).open("r+b") as handle:
        handle.seek(2000)
        byte = handle.read(1)
        handle.seek(2000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with sessions.begin() as session:
        row = catalog.last_segment(session, camera_id="cam")
        assert row is not None
        row.prev_sha256 = "f" * 64
    with sessions() as session:
        problems = check(session, root).problems
    assert f"SHA-256 differs from catalog: {second}" in problems
    assert f"hash chain broken before {second}" in problems


def test_startup_compares_only_what_followed_the_previous_start(
    source: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    hour = 3_600_000_000
    root = tmp_path / "rec"
    old = pathcodec.encode("cam", START - 5 * hour)
    new = pathcodec.encode("cam", START + 60_000_000)
    write_segment(source, root / old, seconds=2)
    with sessions.begin() as session:
        recover(session, root, now_us=START - 5 * hour)  # first start: adopts the old file
        catalog.record_start(session, now_us=START)
    (root / old).unlink()  # lost long before the previous start
    write_segment(source, root / new, seconds=2)  # written after it, row never made
    with sessions.begin() as session:
        report = recover(session, root, now_us=START + hour)
    assert any(f"adopted {new}" in line for line in report.actions)
    assert not any("marked lost" in line for line in report.actions)  # left to check
    with sessions.begin() as session:
        full = recover(session, root, now_us=START + hour, full=True)
    assert full.actions == [f"marked lost (file missing): {old}"]


def test_files_that_cannot_be_read_never_stop_start_up(
    source: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """A pipe, a dangling link and a file cut to nothing sit where segments go: start-up moves
    them aside and adopts the real segment beside them."""
    root = tmp_path / "rec"
    good = pathcodec.encode("cam", START)
    write_segment(source, root / good, seconds=2)
    hour = (root / good).parent
    os.mkfifo(hour / pathcodec.encode("cam", START + 10_000_000).rsplit("/", 1)[1])
    (hour / "cam_20251124T160020.000000Z.mp4").symlink_to(tmp_path / "nowhere.mp4")
    (hour / "cam_20251124T160030.000000Z.mp4").write_bytes(b"")
    (root / ".casewatch.lock").write_text("pid 1, casewatch serve")  # not footage
    with sessions.begin() as session:
        report = recover(session, root, now_us=START)
    quarantined = sorted(line.split(":")[0] for line in report.actions if "quarantined" in line)
    assert len(quarantined) == 3, report.actions
    assert any(f"adopted {good}" in line for line in report.actions)
    assert (root / ".casewatch.lock").exists()
    with sessions() as session:
        assert check(session, root).clean


def test_check_streams_and_names_every_mismatch(
    source: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    root = tmp_path / "rec"
    first, second = (pathcodec.encode("cam", START + i * 10_000_000) for i in range(2))
    for relative in (first, second):
        write_segment(source, root / relative, seconds=2)
    with sessions.begin() as session:
        recover(session, root, now_us=START)
        session.query(Segment).filter(Segment.path == first).update({"status": "deleted"})
    stray = root / "cam" / "2025-11-24" / "stray.mp4"  # sorts between the hour and its files
    stray.write_bytes(b"x")
    with sessions() as session:
        problems = check(session, root).problems
    assert problems == [
        f"file of a deleted segment still present: {first}",
        "file without catalog row: cam/2025-11-24/stray.mp4",
    ]


@pytest.mark.parametrize("tamper", ["edited", "removed", "rewritten"])
def test_check_names_a_catalog_row_edited_removed_or_rewritten(
    source: Path, sessions: sessionmaker[Session], tmp_path: Path, tamper: str
) -> None:
    """The catalog proves itself: each row's hash covers its claims and its predecessor's hash,
    so even a forger who recomputes one row's hash breaks the next link."""
    root = tmp_path / "rec"
    names = [pathcodec.encode("cam", START + i * 10_000_000) for i in range(4)]
    for relative in names:
        write_segment(source, root / relative, seconds=2)
    with sessions.begin() as session:
        recover(session, root, now_us=START)
    with sessions() as session:
        assert check(session, root).clean
    with sessions.begin() as session:
        rows = session.query(Segment).order_by(Segment.start_us).all()
        if tamper == "edited":
            rows[1].end_us -= 500_000  # hide half a second
            expected = f"segment {rows[1].id} ({names[1]}): the catalog row was edited"
        elif tamper == "removed":
            session.delete(rows[2])
            expected = f"segment {rows[3].id} ({names[3]}): does not follow the row before it"
        else:
            rows[1].end_us -= 500_000
            rows[1].row_hash = catalog.row_hash(rows[1], rows[1].prev_row_hash or "")
            expected = f"segment {rows[2].id} ({names[2]}): does not follow the row before it"
    with sessions() as session:
        problems = check(session, root).problems
    assert any(p.startswith(expected) for p in problems), problems
