"""Cases, tags and interrogation sessions in the catalog; the holds they place on footage.

Every tag and session holds its cameras' footage over its range (one ``EvidenceHold`` per camera,
linked to the tag and case): retention keeps it while the case is open, and afterwards until an
inspector releases the hold with a reason (invariant 3). A session's hold is open-ended until the
session closes. All functions take a SQLAlchemy session and leave committing to the caller.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from evidence.case_numbers import CaseNumber
from recorder.models import (
    Camera,
    Case,
    CaseStatus,
    CaseTag,
    EvidenceHold,
    TagCamera,
    TagKind,
    TagStatus,
)


class CaseError(Exception):
    """A case operation that cannot be done; ``field`` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(CaseError):
    """No such case, tag, session or hold."""


class ConflictError(CaseError):
    """The operation contradicts the current state (exists, overlaps, already closed)."""


class ForbiddenError(CaseError):
    """This user may not do it (four-eyes: not the one who asked)."""


@dataclass(frozen=True)
class TagSpec:
    """What a new tag or session covers."""

    kind: TagKind
    camera_ids: list[str]
    site_id: str | None
    room: str | None
    start_us: int
    end_us: int | None
    persons: list[str]
    officers: list[str]
    note: str
    by: str | None


# -- cases -------------------------------------------------------------------------------------


def create_case(
    session: Session,
    *,
    number: CaseNumber,
    title: str,
    now_us: int,
    site_id: str | None = None,
) -> Case:
    if session.get(Case, number.number) is not None:
        raise ConflictError(f"case {number.number} already exists", field="number")
    case = Case(
        number=number.number,
        type=number.type.value,
        title=title,
        status=CaseStatus.OPEN.value,
        unit_code=number.unit_code,
        site_id=site_id,
        created_us=now_us,
        updated_us=now_us,
    )
    session.add(case)
    return case


def get_case(session: Session, number: str) -> Case:
    case = session.get(Case, number)
    if case is None:
        raise NotFoundError(f"no case {number}", field="number")
    return case


def search_cases(
    session: Session,
    *,
    text: str | None = None,
    person: str | None = None,
    site_id: str | None = None,
    day: tuple[int, int] | None = None,
    status: CaseStatus | None = None,
    limit: int = 50,
    offset: int = 0,
    stations: frozenset[str] | None = None,
) -> Sequence[Case]:
    """Cases by number or title text, a person in any tag, a station, a day with footage;
    only cases of ``stations`` when given (``in_stations``)."""
    query = select(Case)
    if stations is not None:
        query = query.where(in_stations(stations))
    if text:
        like = f"%{_escape_like(text)}%"
        query = query.where(
            or_(Case.number.like(like, escape="\\"), Case.title.like(like, escape="\\"))
        )
    if status is not None:
        query = query.where(Case.status == status.value)
    tag_filters = []
    if person:
        tag_filters.append(
            or_(
                CaseTag.persons.like(f"%{_escape_like(_json_text(person))}%", escape="\\"),
                CaseTag.officers.like(f"%{_escape_like(_json_text(person))}%", escape="\\"),
            )
        )
    if site_id:
        tag_filters.append(CaseTag.site_id == site_id)
    if day is not None:
        start, end = day
        tag_filters.append(CaseTag.start_us < end)
        tag_filters.append(or_(CaseTag.end_us.is_(None), CaseTag.end_us > start))
    if tag_filters:
        query = query.where(Case.number.in_(select(CaseTag.case_number).where(*tag_filters)))
    query = query.order_by(Case.created_us.desc()).limit(limit).offset(offset)
    return session.scalars(query).all()


# -- station scope ------------------------------------------------------------------------------


def tags_in_stations(stations: frozenset[str]) -> ColumnElement[bool]:
    """Tags and sessions of these stations: their station, or one of their cameras' (a filter
    for queries on ``CaseTag``)."""
    on_cameras = (
        select(TagCamera.tag_id)
        .join(Camera, Camera.id == TagCamera.camera_id)
        .where(Camera.site_id.in_(sorted(stations)))
    )
    return or_(CaseTag.site_id.in_(sorted(stations)), CaseTag.id.in_(on_cameras))


def in_stations(stations: frozenset[str]) -> ColumnElement[bool]:
    """Cases of these stations: handled by one of them, or with a tag or session there (its
    station, or one of its cameras)."""
    tagged = select(CaseTag.case_number).where(tags_in_stations(stations))
    return or_(Case.site_id.in_(sorted(stations)), Case.number.in_(tagged))


def case_in_stations(session: Session, number: str, stations: frozenset[str]) -> bool:
    found = session.scalar(select(Case.number).where(Case.number == number, in_stations(stations)))
    return found is not None


def tag_in_stations(session: Session, tag_id: int, stations: frozenset[str]) -> bool:
    found = session.scalar(
        select(CaseTag.id).where(CaseTag.id == tag_id, tags_in_stations(stations))
    )
    return found is not None


def _escape_like(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (``%`` and ``_`` are not wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _json_text(value: str) -> str:
    """How ``value`` appears inside a JSON list (non-ASCII kept as is)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def close_case(session: Session, case: Case, *, now_us: int) -> None:
    open_sessions = session.scalars(
        select(CaseTag.id).where(
            CaseTag.case_number == case.number,
            CaseTag.session.is_(True),
            CaseTag.status == TagStatus.OPEN.value,
        )
    ).all()
    if open_sessions:
        raise ConflictError(
            f"case {case.number} has open sessions {list(open_sessions)}; close them first",
            field="status",
        )
    case.status = CaseStatus.CLOSED.value
    case.closed_us = now_us
    case.updated_us = now_us


# -- tags and sessions -------------------------------------------------------------------------


def add_tag(
    session: Session, *, case: Case, spec: TagSpec, live_session: bool, now_us: int
) -> CaseTag:
    """A tag (closed range) or an open interrogation session, with its cameras and holds."""
    tag = CaseTag(
        case_number=case.number,
        kind=spec.kind.value,
        session=live_session,
        status=TagStatus.OPEN.value if live_session else TagStatus.CLOSED.value,
        site_id=spec.site_id,
        room=spec.room,
        start_us=spec.start_us,
        end_us=spec.end_us,
        persons=json.dumps(spec.persons, ensure_ascii=False),
        officers=json.dumps(spec.officers, ensure_ascii=False),
        note=spec.note,
        created_us=now_us,
        created_by=spec.by,
    )
    session.add(tag)
    session.flush()
    for camera_id in spec.camera_ids:
        session.add(TagCamera(tag_id=tag.id, camera_id=camera_id))
        session.add(
            EvidenceHold(
                camera_id=camera_id,
                start_us=spec.start_us,
                end_us=spec.end_us,
                reason=f"case {case.number} {'session' if live_session else 'tag'} {tag.id}",
                created_us=now_us,
                tag_id=tag.id,
                case_number=case.number,
            )
        )
    case.updated_us = now_us
    return tag


def get_tag(session: Session, tag_id: int, *, live_session: bool | None = None) -> CaseTag:
    tag = session.get(CaseTag, tag_id)
    what = "session" if live_session else "tag"
    if tag is None or (live_session is not None and tag.session != live_session):
        raise NotFoundError(f"no {what} {tag_id}", field=f"{what}_id")
    return tag


def tag_cameras(session: Session, tag_ids: Sequence[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {tag_id: [] for tag_id in tag_ids}
    if not tag_ids:
        return result
    rows = session.execute(
        select(TagCamera.tag_id, TagCamera.camera_id)
        .where(TagCamera.tag_id.in_(tag_ids))
        .order_by(TagCamera.camera_id)
    )
    for tag_id, camera_id in rows:
        result[tag_id].append(camera_id)
    return result


def case_tags(
    session: Session, number: str, *, stations: frozenset[str] | None = None
) -> Sequence[CaseTag]:
    """A case's tags and sessions in time order; only those of ``stations`` when given."""
    query = select(CaseTag).where(CaseTag.case_number == number)
    if stations is not None:
        query = query.where(tags_in_stations(stations))
    return session.scalars(query.order_by(CaseTag.start_us)).all()


def open_sessions(session: Session) -> Sequence[CaseTag]:
    return session.scalars(
        select(CaseTag).where(CaseTag.session.is_(True), CaseTag.status == TagStatus.OPEN.value)
    ).all()


def overlapping_open_session(session: Session, camera_ids: Sequence[str]) -> CaseTag | None:
    """An open session already holding any of these cameras."""
    return session.scalars(
        select(CaseTag)
        .join(TagCamera, TagCamera.tag_id == CaseTag.id)
        .where(
            CaseTag.session.is_(True),
            CaseTag.status == TagStatus.OPEN.value,
            TagCamera.camera_id.in_(camera_ids),
        )
        .limit(1)
    ).first()


def close_session(session: Session, tag: CaseTag, *, end_us: int, now_us: int) -> None:
    """Close an open session at ``end_us`` and end its holds there (the report is set later)."""
    if tag.status != TagStatus.OPEN.value:
        raise ConflictError(f"session {tag.id} is already closed", field="session_id")
    tag.status = TagStatus.CLOSED.value
    tag.end_us = end_us
    tag.closed_us = now_us
    for hold in session.scalars(select(EvidenceHold).where(EvidenceHold.tag_id == tag.id)):
        hold.end_us = end_us


# -- holds ---------------------------------------------------------------------------------------


def case_holds(session: Session, number: str) -> Sequence[EvidenceHold]:
    return session.scalars(
        select(EvidenceHold).where(EvidenceHold.case_number == number).order_by(EvidenceHold.id)
    ).all()


def release_hold(
    session: Session, hold_id: int, *, reason: str, by: str | None, now_us: int
) -> EvidenceHold:
    """An inspector lets retention have the footage again (it still stands while the case is
    open)."""
    hold = _releasable(session, hold_id)
    hold.released_us = now_us
    hold.release_reason = reason
    hold.released_by = by
    return hold


def _releasable(session: Session, hold_id: int) -> EvidenceHold:
    hold = session.get(EvidenceHold, hold_id)
    if hold is None:
        raise NotFoundError(f"no hold {hold_id}", field="hold_id")
    if hold.released_us is not None:
        raise ConflictError(f"hold {hold_id} was already released", field="hold_id")
    if hold.end_us is None:
        raise ConflictError(
            f"hold {hold_id} belongs to an open session; close the session first",
            field="hold_id",
        )
    return hold


def request_release(
    session: Session, hold_id: int, *, reason: str, by: str, now_us: int
) -> EvidenceHold:
    """Four-eyes: ask for a hold's release; a second user decides (``decide_release``)."""
    hold = _releasable(session, hold_id)
    if hold.release_requested_us is not None:
        raise ConflictError(
            f"hold {hold_id}: a release by {hold.release_requested_by} waits for approval",
            field="hold_id",
        )
    hold.release_requested_by, hold.release_requested_us = by, now_us
    hold.release_request_reason = reason
    return hold


def decide_release(
    session: Session, hold_id: int, *, by: str, approve: bool, now_us: int
) -> EvidenceHold:
    """Four-eyes: a second user (not the one who asked) releases the hold, or refuses and the
    request is withdrawn."""
    hold = _releasable(session, hold_id)
    if hold.release_requested_us is None:
        raise ConflictError(f"hold {hold_id}: no release waits for approval", field="hold_id")
    if hold.release_requested_by == by:
        raise ForbiddenError(
            "a second user must approve: you asked for this release", field="hold_id"
        )
    if approve:
        hold.released_us, hold.released_by = now_us, by
        hold.release_reason = hold.release_request_reason
    else:
        hold.release_requested_by = hold.release_requested_us = None
        hold.release_request_reason = None
    return hold
