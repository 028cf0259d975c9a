"""Catalog reads and writes. Keyword-only functions over a Session; no business policy here."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from configs.schema import Settings
from recorder.models import (
    Alarm,
    Camera,
    CameraEvent,
    Case,
    CaseStatus,
    EvidenceHold,
    RecorderStart,
    RecordingRun,
    RunEndReason,
    Segment,
    SegmentStatus,
)

MAX_SEGMENT_US = 2 * 3_600 * 1_000_000
"""Longer than any segment: ``storage.segment_seconds`` ≤ 1 h, plus at most a GOP."""


def sync_cameras(session: Session, *, settings: Settings, now_us: int) -> None:
    """Insert or update a row for every configured camera (rows of removed cameras stay)."""
    existing = {camera.id: camera for camera in session.scalars(select(Camera))}
    for site, camera in settings.cameras():
        row = existing.get(camera.id)
        if row is None:
            session.add(
                Camera(
                    id=camera.id,
                    site_id=site.id,
                    name=camera.name,
                    area=camera.area.value,
                    room=camera.room_name(),
                    first_seen_us=now_us,
                )
            )
        else:
            row.site_id, row.name = site.id, camera.name
            row.area, row.room = camera.area.value, camera.room_name()


def operator_flags(session: Session) -> dict[str, tuple[bool, bool]]:
    """Per camera, (recording paused, disabled) as last set through the API."""
    rows = session.execute(select(Camera.id, Camera.recording_paused, Camera.operator_disabled))
    return {camera_id: (bool(paused), bool(disabled)) for camera_id, paused, disabled in rows}


def set_operator_flags(
    session: Session, *, camera_id: str, paused: bool | None = None, disabled: bool | None = None
) -> None:
    values: dict[str, bool] = {}
    if paused is not None:
        values["recording_paused"] = paused
    if disabled is not None:
        values["operator_disabled"] = disabled
    if values:
        session.execute(update(Camera).where(Camera.id == camera_id).values(**values))


def record_start(session: Session, *, now_us: int) -> None:
    session.add(RecorderStart(at_us=now_us))


def open_run(session: Session, *, run_id: str, camera_id: str, start_us: int) -> None:
    session.add(RecordingRun(id=run_id, camera_id=camera_id, started_us=start_us, end_detail=""))


def end_run(
    session: Session, *, run_id: str, end_us: int, reason: RunEndReason, detail: str
) -> None:
    session.execute(
        update(RecordingRun)
        .where(RecordingRun.id == run_id)
        .values(ended_us=end_us, end_reason=reason.value, end_detail=detail[:2000])
    )


CHAIN_START = "0" * 64
"""The ``prev`` of a camera's first chained row."""


def row_hash(segment: Segment, prev: str) -> str:
    """The catalog chain's hash of a segment row: what it claims (camera, span, size, file
    hash) and the camera's previous row hash, so no row can be edited, removed or inserted
    without breaking every later link (recorder/DESIGN.md, invariant 8)."""
    text = "|".join(
        [
            segment.camera_id,
            str(segment.start_us),
            str(segment.end_us),
            str(segment.size_bytes),
            segment.sha256,
            prev,
        ]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def add_segment(session: Session, segment: Segment) -> None:
    """Insert a segment row, chained to the camera's newest row."""
    previous = last_segment(session, camera_id=segment.camera_id)
    prev = previous.row_hash if previous is not None and previous.row_hash else CHAIN_START
    segment.prev_row_hash = prev
    segment.row_hash = row_hash(segment, prev)
    session.add(segment)


def chain_heads(session: Session) -> dict[str, tuple[int, str]]:
    """Each camera's newest chained row: {camera: (segment id, row hash)}."""
    heads: dict[str, tuple[int, str]] = {}
    for camera_id in session.scalars(select(Camera.id)):
        row = last_segment(session, camera_id=camera_id)
        if row is not None and row.row_hash:
            heads[camera_id] = (row.id, row.row_hash)
    return heads


def add_event(
    session: Session, *, camera_id: str, at_us: int, state: str, cause: str | None, detail: str
) -> None:
    session.add(
        CameraEvent(
            camera_id=camera_id, at_us=at_us, state=state, cause=cause, detail=detail[:2000]
        )
    )


def last_segment(session: Session, *, camera_id: str) -> Segment | None:
    """The newest segment of a camera, whatever its status (the head of its hash chain)."""
    return session.scalars(
        select(Segment)
        .where(Segment.camera_id == camera_id)
        .order_by(Segment.start_us.desc())
        .limit(1)
    ).first()


def segments_between(
    session: Session, *, camera_id: str, start_us: int, end_us: int
) -> Sequence[Segment]:
    """Segments of a camera overlapping [start, end), any status, in time order.

    A segment is never longer than ``MAX_SEGMENT_US``, so a lower bound on ``start_us`` lets the
    (camera, start) index serve the query from the range on instead of from the camera's first
    day (20 ms → 2 ms on a day of 90 days × 1440 segments)."""
    return session.scalars(
        select(Segment)
        .where(
            Segment.camera_id == camera_id,
            Segment.start_us > start_us - MAX_SEGMENT_US,
            Segment.start_us < end_us,
            Segment.end_us > start_us,
        )
        .order_by(Segment.start_us)
    ).all()


def runs_between(
    session: Session, *, camera_id: str, start_us: int, end_us: int
) -> Sequence[RecordingRun]:
    """Runs overlapping [start, end) plus the last run that ended before it (for gap causes)."""
    overlapping = session.scalars(
        select(RecordingRun)
        .where(
            RecordingRun.camera_id == camera_id,
            RecordingRun.started_us < end_us,
            (RecordingRun.ended_us.is_(None)) | (RecordingRun.ended_us >= start_us),
        )
        .order_by(RecordingRun.started_us)
    ).all()
    before = session.scalars(
        select(RecordingRun)
        .where(RecordingRun.camera_id == camera_id, RecordingRun.ended_us < start_us)
        .order_by(RecordingRun.ended_us.desc())
        .limit(1)
    ).all()
    return [*before, *overlapping]


def recorder_starts_between(session: Session, *, start_us: int, end_us: int) -> list[int]:
    return list(
        session.scalars(
            select(RecorderStart.at_us)
            .where(RecorderStart.at_us >= start_us, RecorderStart.at_us < end_us)
            .order_by(RecorderStart.at_us)
        )
    )


def events_between(
    session: Session, *, camera_id: str, start_us: int, end_us: int
) -> Sequence[CameraEvent]:
    return session.scalars(
        select(CameraEvent)
        .where(
            CameraEvent.camera_id == camera_id,
            CameraEvent.at_us >= start_us,
            CameraEvent.at_us < end_us,
        )
        .order_by(CameraEvent.at_us)
    ).all()


def segment_by_id(session: Session, *, segment_id: int) -> Segment | None:
    return session.get(Segment, segment_id)


def open_runs(session: Session) -> Sequence[RecordingRun]:
    return session.scalars(select(RecordingRun).where(RecordingRun.ended_us.is_(None))).all()


def last_segment_of_run(session: Session, *, run_id: str) -> Segment | None:
    return session.scalars(
        select(Segment).where(Segment.run_id == run_id).order_by(Segment.start_us.desc()).limit(1)
    ).first()


def _standing() -> ColumnElement[bool]:
    """A hold stands (invariant 3): not released, or made for a case that is still open."""
    open_cases = select(Case.number).where(Case.status == CaseStatus.OPEN.value)
    return or_(EvidenceHold.released_us.is_(None), EvidenceHold.case_number.in_(open_cases))


def active_holds(session: Session) -> Sequence[EvidenceHold]:
    """Holds that stand (invariant 3): not released, or made for a case that is still open."""
    return session.scalars(select(EvidenceHold).where(_standing())).all()


def present_segments_after(
    session: Session, *, after: tuple[int, int] | None, before_us: int | None, limit: int
) -> Sequence[Segment]:
    """Present segments oldest first, from just after ``after`` = (start_us, id) on (keyset
    paging over the whole catalog); with ``before_us``, only those starting before it."""
    query = select(Segment).where(Segment.status == SegmentStatus.OK.value)
    if after is not None:
        query = query.where(
            or_(
                Segment.start_us > after[0],
                and_(Segment.start_us == after[0], Segment.id > after[1]),
            )
        )
    if before_us is not None:
        query = query.where(Segment.start_us < before_us)
    return session.scalars(query.order_by(Segment.start_us, Segment.id).limit(limit)).all()


def delete_unless_held(session: Session, *, segment_ids: Sequence[int], at_us: int) -> list[int]:
    """Mark present segments ``deleted`` in one statement that checks the standing holds itself,
    so a hold made after retention planned still protects its footage; returns the ids marked
    (the caller unlinks their files after commit)."""
    if not segment_ids:
        return []
    held = (
        select(EvidenceHold.id)
        .where(
            EvidenceHold.camera_id == Segment.camera_id,
            EvidenceHold.start_us < Segment.end_us,
            or_(EvidenceHold.end_us.is_(None), EvidenceHold.end_us > Segment.start_us),
            _standing(),
        )
        .exists()
    )
    marked = session.scalars(
        update(Segment)
        .where(
            Segment.id.in_(segment_ids),
            Segment.status == SegmentStatus.OK.value,
            ~held,
        )
        .values(status=SegmentStatus.DELETED.value, status_changed_us=at_us)
        .returning(Segment.id)
    )
    return list(marked)


def present_bytes_since(session: Session, *, after_id: int) -> tuple[int, int]:
    """(bytes of present segments with an id above ``after_id``, the highest id): with 0 the
    whole catalog, once; afterwards only what was added since (the primary key index)."""
    total, last = session.execute(
        select(
            func.coalesce(
                func.sum(Segment.size_bytes).filter(Segment.status == SegmentStatus.OK.value), 0
            ),
            func.coalesce(func.max(Segment.id), after_id),
        ).where(Segment.id > after_id)
    ).one()
    return int(total), int(last)


def prune_logs(session: Session, *, before_us: int) -> dict[str, int]:
    """Remove what only explains the past before ``before_us``: camera events, cleared alarms,
    recorder starts, and tombstones of deleted footage that no kept segment of the same camera
    follows in the hash chain from before (so ``check`` still verifies every chain it sees)."""
    earlier_kept = aliased(Segment)
    statements = {
        "camera_events": delete(CameraEvent).where(CameraEvent.at_us < before_us),
        "alarms": delete(Alarm).where(Alarm.cleared_us.is_not(None), Alarm.cleared_us < before_us),
        "recorder_starts": delete(RecorderStart).where(RecorderStart.at_us < before_us),
        "tombstones": delete(Segment).where(
            Segment.status == SegmentStatus.DELETED.value,
            Segment.end_us < before_us,
            ~select(earlier_kept.id)
            .where(
                earlier_kept.camera_id == Segment.camera_id,
                earlier_kept.status != SegmentStatus.DELETED.value,
                earlier_kept.start_us < Segment.start_us,
            )
            .exists(),
        ),
    }
    removed = {}
    for name, statement in statements.items():
        result = cast("CursorResult[Any]", session.execute(statement))
        removed[name] = result.rowcount
    return removed
