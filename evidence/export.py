"""Build one verifiable export package (see ``export_manifest`` for its layout).

``build_package`` is blocking and needs no HTTP: it reads the catalog once (case, cameras, every
range's present segments and causal gaps), checks each source segment's SHA-256 against its
catalog row, cuts each contiguous recorded piece of each range into an MP4 (``export_media``),
writes and signs the manifest and stores everything in an uncompressed ZIP. The ZIP is written
under a temporary name in a private work directory, fsynced, and renamed into ``export.path``
only when complete — a package that exists under its final name is whole.
"""

from __future__ import annotations

import json
import secrets
import shutil
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from configs.schema import Settings
from evidence import export_manifest as layout
from evidence.export_errors import ExportCancelled, ExportFailed
from evidence.export_media import SourceSegment, cut, probe
from evidence.export_request import Item
from evidence.signing import ALGORITHM, SigningKey
from ingest.clock import Clock, datetime_from_us, isoformat_us
from recorder.coverage import TOLERANCE_US, Gap
from recorder.files import fsync_directory, fsync_file, sha256_file
from recorder.footage import camera_footage
from recorder.models import Camera, Case, Segment, SegmentStatus

__all__ = ["BuiltPackage", "ExportCancelled", "ExportFailed", "ExportJob", "build_package"]

IN_PROGRESS = "recording_in_progress"
"""Gap cause of footage still in the segment being written when the package was built."""
WORK_DIR = ".work"
MAX_DURATION_ERROR_S = 1.0


@dataclass(frozen=True)
class ExportJob:
    """An export as created: what to build, for whom."""

    export_id: str
    case_number: str
    items: Sequence[Item]
    created_by: str | None
    created_us: int


@dataclass(frozen=True)
class BuiltPackage:
    path: Path
    size: int
    sha256: str
    manifest: dict[str, Any]


@dataclass
class _Piece:
    """A contiguous run of present segments cut into one file."""

    sources: list[SourceSegment]
    start_us: int
    end_us: int
    name: str = ""


@dataclass
class _Range:
    item: Item
    camera: dict[str, Any]
    gaps: list[dict[str, Any]]
    recorded_us: int
    pieces: list[_Piece]


def work_root(settings: Settings) -> Path:
    """Where packages are assembled (removed wholesale at start-up: leftovers of a crash)."""
    return settings.export.path / WORK_DIR


def build_package(
    job: ExportJob,
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    key: SigningKey,
    clock: Clock,
    live_span: Callable[[str], tuple[int, int] | None] | None = None,
    progress: Callable[[float], None] = lambda _fraction: None,
    cancelled: Callable[[], bool] = lambda: False,
    catalog_checkpoint: Callable[[], dict[str, Any] | None] = lambda: None,
) -> BuiltPackage:
    """Build, sign and atomically publish the package of ``job``; raise ``ExportFailed``.
    ``catalog_checkpoint`` signs the catalog's chain heads now and describes that checkpoint:
    the manifest carries it, so the package's source rows can be checked against it."""
    with sessions() as session:
        case = session.get(Case, job.case_number)
        if case is None:
            raise ExportFailed(f"case {job.case_number} no longer exists")
        case_info = {"number": case.number, "type": case.type, "title": case.title}
        ranges = [_plan(session, item, settings, clock, live_span) for item in job.items]
    pieces = [piece for entry in ranges for piece in entry.pieces]
    if not pieces:
        raise ExportFailed("no footage in the requested ranges any more (deleted or lost)")
    _name_pieces(ranges)
    work = work_root(settings) / f"{job.export_id}-{secrets.token_hex(4)}"
    (work / "video").mkdir(parents=True)
    try:
        files = _make_files(ranges, settings, work, progress, cancelled)
        manifest = _manifest(job, case_info, ranges, files, key, clock)
        manifest["catalog_checkpoint"] = catalog_checkpoint()
        data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
        final = settings.export.path / layout.package_name(job.case_number, job.export_id)
        partial = work / (final.name + ".part")
        _write_zip(partial, data, key, work, files, clock.wall_us())
        size, digest = _fsync_and_hash(partial, cancelled)
        progress(0.99)
        partial.replace(final)
        fsync_directory(final.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BuiltPackage(final, size, digest, manifest)


# -- planning (one catalog read) -----------------------------------------------------------------


def _plan(
    session: Session,
    item: Item,
    settings: Settings,
    clock: Clock,
    live_span: Callable[[str], tuple[int, int] | None] | None,
) -> _Range:
    footage = camera_footage(
        session,
        camera_id=item.camera_id,
        start_us=item.start_us,
        end_us=item.end_us,
        now_us=clock.wall_us(),
    )
    live = live_span(item.camera_id) if live_span is not None else None
    gaps = [part for gap in footage.coverage.gaps for part in _gap_json(gap, live)]
    present = [s for s in footage.segments if s.status == SegmentStatus.OK.value]
    pieces = []
    for group in _contiguous(present):
        start_us = max(item.start_us, group[0].start_us)
        end_us = min(item.end_us, group[-1].end_us)
        if end_us - start_us > TOLERANCE_US:
            root = settings.storage.path
            sources = [
                SourceSegment(root / s.path, s.path, s.start_us, s.end_us, s.sha256, s.row_hash)
                for s in group
                if s.end_us > start_us and s.start_us < end_us
            ]
            pieces.append(_Piece(sources, start_us, end_us))
    camera = _camera_json(session, item.camera_id, settings)
    return _Range(item, camera, gaps, footage.coverage.recorded_us, pieces)


def _contiguous(segments: Sequence[Segment]) -> list[list[Segment]]:
    """Split time-ordered segments where there is a hole or the stream's format changes."""
    groups: list[list[Segment]] = []
    for segment in segments:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and abs(segment.start_us - last.end_us) <= TOLERANCE_US
            and segment.stream_format == last.stream_format
        ):
            groups[-1].append(segment)
        else:
            groups.append([segment])
    return groups


def _gap_json(gap: Gap, live: tuple[int, int] | None) -> list[dict[str, Any]]:
    """The gap with its cause; the part from the start of the segment being written on is
    footage not yet catalogued (the build did not wait long enough for it)."""
    parts = [(gap.start_us, gap.end_us, gap.cause.value)]
    if live is not None and gap.end_us > live[0]:
        split = max(gap.start_us, live[0])
        parts = [(gap.start_us, split, gap.cause.value), (split, gap.end_us, IN_PROGRESS)]
    return [
        {**layout.interval(start, end), "cause": cause}
        for start, end, cause in parts
        if end - start > TOLERANCE_US
    ]


def _camera_json(session: Session, camera_id: str, settings: Settings) -> dict[str, Any]:
    row = session.get(Camera, camera_id)
    sites = {site.id: site.name for site in settings.sites}
    if row is None:
        return {"id": camera_id, "name": None, "room": None, "site": None}
    return {
        "id": row.id,
        "name": row.name,
        "room": row.room,
        "site": {"id": row.site_id, "name": sites.get(row.site_id)},
    }


def _name_pieces(ranges: Sequence[_Range]) -> None:
    index = 0
    for entry in ranges:
        for piece in entry.pieces:
            index += 1
            stamp = f"{datetime_from_us(piece.start_us):%Y%m%dT%H%M%SZ}"
            piece.name = f"{layout.VIDEO_DIR}{index:03d}-{entry.item.camera_id}-{stamp}.mp4"


# -- media -----------------------------------------------------------------------------------------


def _make_files(
    ranges: Sequence[_Range],
    settings: Settings,
    work: Path,
    progress: Callable[[float], None],
    cancelled: Callable[[], bool],
) -> dict[str, dict[str, Any]]:
    """Check the sources, cut every piece, probe and hash the results (progress 0 → 0.9)."""
    pieces = [piece for entry in ranges for piece in entry.pieces]
    total = sum(p.end_us - p.start_us for p in pieces) or 1
    done = 0
    verified: set[str] = set()
    files: dict[str, dict[str, Any]] = {}
    for piece in pieces:
        for source in piece.sources:
            if source.relative_path not in verified:
                _check_source(source, cancelled)
                verified.add(source.relative_path)
        output = work / piece.name
        length = piece.end_us - piece.start_us

        def report(written_us: int, base: int = done, length: int = length) -> None:
            progress(0.9 * (base + min(written_us, length)) / total)

        cut(
            piece.sources,
            output,
            start_us=piece.start_us,
            end_us=piece.end_us,
            progress=report,
            cancelled=cancelled,
        )
        info = probe(output)
        if abs(info.duration_seconds - length / 1e6) > MAX_DURATION_ERROR_S:
            raise ExportFailed(
                f"{piece.name}: cut is {info.duration_seconds:.3f} s long, "
                f"expected {length / 1e6:.3f} s"
            )
        size, digest = _fsync_and_hash(output, cancelled)
        files[piece.name] = {
            "duration_seconds": round(info.duration_seconds, 3),
            "video": info.video,
            "audio": info.audio,
            "size": size,
            "sha256": digest,
        }
        done += length
        progress(0.9 * done / total)
    return files


def _check_source(source: SourceSegment, cancelled: Callable[[], bool]) -> None:
    """The segment file must exist and match the hash in its catalog row."""
    try:
        _size, digest = _hash_file(source.path, cancelled)
    except FileNotFoundError:
        raise ExportFailed(
            f"segment {source.relative_path} is missing (the catalog says present); run "
            "`casewatch check --repair` and export again"
        ) from None
    if digest != source.sha256:
        raise ExportFailed(
            f"segment {source.relative_path} does not match its catalog SHA-256 (altered?)"
        )


def _hash_file(path: Path, cancelled: Callable[[], bool]) -> tuple[int, str]:
    def check() -> None:
        if cancelled():
            raise ExportCancelled("cancelled")

    return sha256_file(path, each_chunk=check)


def _fsync_and_hash(path: Path, cancelled: Callable[[], bool]) -> tuple[int, str]:
    fsync_file(path)
    return _hash_file(path, cancelled)


# -- manifest and package --------------------------------------------------------------------------


def _manifest(
    job: ExportJob,
    case: dict[str, Any],
    ranges: Sequence[_Range],
    files: dict[str, dict[str, Any]],
    key: SigningKey,
    clock: Clock,
) -> dict[str, Any]:
    file_entries = []
    range_entries = []
    for index, entry in enumerate(ranges, start=1):
        requested = layout.interval(entry.item.start_us, entry.item.end_us)
        length = entry.item.end_us - entry.item.start_us
        range_entries.append(
            {
                "index": index,
                "camera": entry.camera,
                "sources": entry.item.sources,
                "requested": requested,
                "recorded_seconds": round(entry.recorded_us / 1e6, 6),
                "coverage_percent": round(100.0 * entry.recorded_us / length, 3),
                "gaps": entry.gaps,
                "files": [piece.name for piece in entry.pieces],
            }
        )
        for piece in entry.pieces:
            file_entries.append(
                {
                    "name": piece.name,
                    "range": index,
                    "camera": entry.camera,
                    "requested": requested,
                    "covered": layout.interval(piece.start_us, piece.end_us),
                    "gaps": entry.gaps,
                    **files[piece.name],
                    "source_segments": [
                        {
                            "path": source.relative_path,
                            **layout.interval(source.start_us, source.end_us),
                            "sha256": source.sha256,
                            "row_hash": source.row_hash,
                        }
                        for source in piece.sources
                    ],
                }
            )
    return {
        "format": layout.FORMAT,
        "export_id": job.export_id,
        "case": case,
        "exported_by": job.created_by,
        "requested_at": isoformat_us(job.created_us),
        "exported_at": isoformat_us(clock.wall_us()),
        "signer": {"algorithm": ALGORITHM, "key_id": key.key_id, "fingerprint": key.fingerprint},
        "ranges": range_entries,
        "files": file_entries,
    }


def _write_zip(
    path: Path,
    manifest: bytes,
    key: SigningKey,
    work: Path,
    files: dict[str, dict[str, Any]],
    now_us: int,
) -> None:
    stamp = datetime_from_us(now_us).timetuple()[:6]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, data in (
            (layout.MANIFEST, manifest),
            (layout.SIGNATURE, key.sign(manifest)),
            (layout.PUBLIC_KEY, key.public_pem),
        ):
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), data)
        for name in files:
            archive.write(work / name, arcname=name)
