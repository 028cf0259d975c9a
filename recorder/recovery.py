"""Startup recovery and ``casewatch check``: make disk and catalog agree, never silently.

Recovery (at startup, before recording): open runs are closed as ``recorder_crashed``; segment
files without rows are adopted — truncated to their last complete fragment, probed, hashed and
catalogued — or moved to ``quarantine/`` when nothing can be read; rows whose file is missing are
marked ``lost``. ``check`` reports the same problems without changing anything, and also verifies
sizes, hashes, the per-camera hash chain and that segments never overlap.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recorder import catalog, pathcodec
from recorder.files import fsync_directory, sha256_file
from recorder.models import (
    Camera,
    RecorderStart,
    RecordingRun,
    RunEndReason,
    Segment,
    SegmentStatus,
)
from recorder.salvage import Unsalvageable, salvage

logger = logging.getLogger(__name__)

QUARANTINE = "quarantine"


@dataclass
class Report:
    """What recovery did or what check found; ``problems`` empty means clean."""

    problems: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    segments_checked: int = 0

    @property
    def clean(self) -> bool:
        return not self.problems


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a segment file."""
    return sha256_file(path)[1]


RECENT_MARGIN_US = 2 * 3_600 * 1_000_000
"""How far before the previous start the startup scan looks: a segment is at most
``storage.segment_seconds`` (≤ 1 h) plus a GOP long, so a file written after that start begins
no earlier than this."""


def segment_files(root: Path, *, since_us: int | None = None) -> dict[str, Path]:
    """Every file below ``root`` (except quarantine) by relative POSIX path; with ``since_us``,
    only the hour directories (``{camera}/{date}/{HH}``) that can hold footage from then on."""
    return dict(walk_segment_files(root, since_us=since_us))


def walk_segment_files(root: Path, *, since_us: int | None = None) -> Iterator[tuple[str, Path]]:
    """``segment_files`` as a stream in ascending order of relative path (for footage: camera,
    then time, by ``pathcodec``), holding one directory listing in memory at a time."""
    if not root.is_dir():
        return
    since_hour = None
    if since_us is not None:
        since_hour = datetime.fromtimestamp(since_us / 1e6, tz=UTC).strftime("%Y-%m-%d/%H")
    yield from _walk(root, root, since_hour)


def _walk(root: Path, here: Path, since_hour: str | None) -> Iterator[tuple[str, Path]]:
    try:
        with os.scandir(here) as listing:
            entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in listing]
    except OSError:
        return  # an unreadable directory holds nothing we can use
    depth = len(here.relative_to(root).parts)
    # a subdirectory sorts as "name/": the order of the relative paths it yields
    for name, is_dir in sorted(entries, key=lambda e: e[0] + "/" if e[1] else e[0]):
        if depth == 0 and (name == QUARANTINE or name.startswith(".")):
            continue  # quarantine, the storage lock and pre-flight probes: not footage
        if not is_dir:
            path = here / name
            yield path.relative_to(root).as_posix(), path
        elif since_hour is None or _may_hold(depth, here.name, name, since_hour):
            yield from _walk(root, here / name, since_hour)


def _may_hold(depth: int, parent: str, name: str, since_hour: str) -> bool:
    """Whether directory ``name`` (a day under a camera, or an hour under a day) can hold
    footage from ``since_hour`` (``YYYY-MM-DD/HH``) on."""
    if depth == 1:
        return name >= since_hour[:10]
    if depth == 2:
        return f"{parent}/{name}" >= since_hour
    return True


def recover(session: Session, root: Path, *, now_us: int, full: bool = False) -> Report:
    """Repair disk and catalog at startup. The caller commits.

    Startup covers what can have happened since the previous start: earlier footage was
    reconciled by the recovery of that start, so only files and rows from shortly before it on
    are compared (at 13 M segments a full comparison takes minutes and gigabytes). ``full``
    (``casewatch check --repair``) compares everything.
    """
    report = Report()
    since = None if full else _previous_start(session)
    if since is not None:
        since -= RECENT_MARGIN_US
    _reconcile(session, root, report, since_us=since, now_us=now_us)
    _close_open_runs(session, report, "casewatch stopped without closing the run")
    return report


def recover_cameras(
    session: Session,
    root: Path,
    cameras: Collection[str],
    *,
    since_us: int,
    now_us: int,
    detail: str,
) -> Report:
    """Repair disk and catalog for ``cameras`` after the worker process that recorded them
    ended without closing their runs (the other cameras record on): their files from
    ``since_us`` on without rows are adopted, their open runs end as ``recorder_crashed`` with
    ``detail``. The caller commits."""
    report = Report()
    _reconcile(session, root, report, since_us=since_us - RECENT_MARGIN_US, now_us=now_us,
               cameras=frozenset(cameras))  # fmt: skip
    _close_open_runs(session, report, detail, cameras=frozenset(cameras))
    return report


def _reconcile(
    session: Session,
    root: Path,
    report: Report,
    *,
    since_us: int | None,
    now_us: int,
    cameras: frozenset[str] | None = None,
) -> None:
    """Adopt files without rows, mark rows without files lost (from ``since_us`` on; of
    ``cameras`` only, when given)."""
    query = select(Segment)
    if since_us is not None:
        query = query.where(Segment.start_us >= since_us)
    if cameras is not None:
        query = query.where(Segment.camera_id.in_(cameras))
    known = {row.path: row for row in session.scalars(query)}
    files = segment_files(root, since_us=since_us)
    if since_us is not None or cameras is not None:  # compare like with like
        files = {
            relative: path
            for relative, path in files.items()
            if (name := pathcodec.decode(relative)) is None
            or (
                (since_us is None or name.start_us >= since_us)
                and (cameras is None or name.camera_id in cameras)
            )
        }
        if cameras is not None:  # what is not footage belongs to no camera's recovery
            files = {r: p for r, p in files.items() if pathcodec.decode(r) is not None}
    for relative, path in sorted(files.items()):
        if relative not in known:
            _adopt(session, root, relative, path, report, now_us=now_us)
    for relative, row in known.items():
        if row.status == SegmentStatus.OK.value and relative not in files:
            row.status, row.status_changed_us = SegmentStatus.LOST.value, now_us
            report.actions.append(f"marked lost (file missing): {relative}")
    session.flush()


def _close_open_runs(
    session: Session, report: Report, detail: str, cameras: frozenset[str] | None = None
) -> None:
    for run in catalog.open_runs(session):
        if cameras is not None and run.camera_id not in cameras:
            continue
        last = catalog.last_segment_of_run(session, run_id=run.id)
        run.ended_us = last.end_us if last is not None else run.started_us
        run.end_reason = RunEndReason.RECORDER_CRASHED.value
        run.end_detail = detail
        report.actions.append(f"closed run of {run.camera_id} as recorder_crashed")
    for line in report.actions:
        logger.warning("recovery: %s", line)


def _previous_start(session: Session) -> int | None:
    """When the recorder last started (before this start is recorded); None: never."""
    last = session.scalar(select(func.max(RecorderStart.at_us)))
    return int(last) if last is not None else None


def _adopt(
    session: Session, root: Path, relative: str, path: Path, report: Report, *, now_us: int
) -> None:
    name = pathcodec.decode(relative)
    if name is None or session.get(Camera, name.camera_id) is None:
        _quarantine(root, relative, path, report, "not a segment of a known camera")
        return
    if path.is_symlink() or not path.is_file():
        _quarantine(root, relative, path, report, "not a regular file")
        return
    try:
        salvaged = salvage(path)
    except Unsalvageable as error:
        _quarantine(root, relative, path, report, str(error))
        return
    except OSError as error:
        _quarantine(root, relative, path, report, f"unreadable: {error.strerror or error}")
        return
    if salvaged.removed_bytes:
        report.actions.append(
            f"truncated {relative} to its last complete fragment "
            f"({salvaged.removed_bytes} bytes of a partial fragment removed)"
        )
    info = salvaged.info
    previous = catalog.last_segment(session, camera_id=name.camera_id)
    if previous is not None and previous.end_us > name.start_us:
        _quarantine(root, relative, path, report, "overlaps catalogued footage")
        return
    run = session.scalars(
        select(RecordingRun)
        .where(RecordingRun.camera_id == name.camera_id, RecordingRun.started_us <= name.start_us)
        .order_by(RecordingRun.started_us.desc())
        .limit(1)
    ).first()
    if run is None or (run.ended_us is not None and run.ended_us < name.start_us):
        run = RecordingRun(
            id=os.urandom(16).hex(),
            camera_id=name.camera_id,
            started_us=name.start_us,
            ended_us=None,
            end_detail="",
        )
        session.add(run)
    catalog.add_segment(
        session,
        Segment(
            camera_id=name.camera_id,
            run_id=run.id,
            path=relative,
            start_us=name.start_us,
            end_us=name.start_us + max(info.duration_us, 1),
            size_bytes=salvaged.size_bytes,
            sha256=salvaged.sha256,
            prev_sha256=previous.sha256 if previous is not None else None,
            video_codec=info.video_codec,
            width=info.width,
            height=info.height,
            audio_codec=info.audio_codec,
            has_audio=info.audio_codec is not None,
            video_packets=info.video_packets,
            audio_packets=info.audio_packets,
            adopted=True,
            status=SegmentStatus.OK.value,
            status_changed_us=now_us,
        ),
    )
    session.flush()
    report.actions.append(f"adopted {relative} ({info.duration_us / 1e6:.3f} s)")


def _quarantine(root: Path, relative: str, path: Path, report: Report, why: str) -> None:
    """Move a file that is not footage out of the way (never delete it); a file that cannot
    even be moved is left where it is, and said so: start-up goes on either way."""
    target = root / QUARANTINE / relative
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
        fsync_directory(target.parent)
    except OSError as error:
        report.actions.append(f"left {relative} in place ({why}; cannot move it: {error})")
        return
    report.actions.append(f"quarantined {relative}: {why}")


def _check_row_chain(row: Any, previous: Any, report: Report) -> None:
    """The catalog's own chain (invariant 8): each row's hash covers what it claims and its
    predecessor's hash, so an edited, removed or inserted row is named here. (A camera's first
    row in the catalog is checked against the predecessor it names: older rows may have been
    pruned.)"""
    if row.row_hash is None:
        if previous is not None and previous.row_hash is not None:
            report.problems.append(f"segment {row.id} ({row.path}): its row hash was removed")
        return  # made before the catalog chained its rows
    if catalog.row_hash(row, row.prev_row_hash or "") != row.row_hash:
        report.problems.append(
            f"segment {row.id} ({row.path}): the catalog row was edited (it does not match its "
            "hash)"
        )
    elif previous is not None and previous.row_hash and row.prev_row_hash != previous.row_hash:
        report.problems.append(
            f"segment {row.id} ({row.path}): does not follow the row before it (a row was "
            "removed, inserted or replaced here)"
        )


def check(session: Session, root: Path, *, verify_hashes: bool = True) -> Report:
    """Verify the invariants of recorder/DESIGN.md; changes nothing.

    Streams: the catalog's rows and the storage's files are both read in path order and merged,
    so memory stays flat however large the catalog (13 M segments) is."""
    report = Report()
    dialect = session.get_bind().dialect.name
    by_path = Segment.path.collate("C" if dialect == "postgresql" else "BINARY")
    rows = session.execute(
        select(
            Segment.path,
            Segment.camera_id,
            Segment.start_us,
            Segment.end_us,
            Segment.status,
            Segment.size_bytes,
            Segment.sha256,
            Segment.prev_sha256,
            Segment.id,
            Segment.prev_row_hash,
            Segment.row_hash,
        ).order_by(by_path)
    ).yield_per(10_000)
    files = walk_segment_files(root)
    on_disk = next(files, None)
    previous: Any = None
    for row in rows:
        while on_disk is not None and on_disk[0] < row.path:
            report.problems.append(f"file without catalog row: {on_disk[0]}")
            on_disk = next(files, None)
        path = None
        if on_disk is not None and on_disk[0] == row.path:
            path = on_disk[1]
            on_disk = next(files, None)
        report.segments_checked += 1
        same_camera = previous is not None and previous.camera_id == row.camera_id
        if same_camera:
            if row.prev_sha256 != previous.sha256:
                report.problems.append(f"hash chain broken before {row.path}")
            if row.start_us < previous.end_us:
                report.problems.append(f"{row.path} overlaps {previous.path}")
        _check_row_chain(row, previous if same_camera else None, report)
        if row.status == SegmentStatus.OK.value:
            if path is None:
                report.problems.append(f"file missing for catalogued segment {row.path}")
            elif path.stat().st_size != row.size_bytes:
                report.problems.append(f"size differs from catalog: {row.path}")
            elif verify_hashes and sha256_of(path) != row.sha256:
                report.problems.append(f"SHA-256 differs from catalog: {row.path}")
        elif row.status == SegmentStatus.LOST.value:
            report.problems.append(f"segment marked lost: {row.path}")
        elif path is not None:
            report.problems.append(f"file of a {row.status} segment still present: {row.path}")
        previous = row
    while on_disk is not None:
        report.problems.append(f"file without catalog row: {on_disk[0]}")
        on_disk = next(files, None)
    for run in catalog.open_runs(session):
        report.problems.append(f"run of {run.camera_id} still open (recorder running or crashed)")
    return report
