"""Cases, their tags and interrogation sessions, holds, and the footage that belongs to a case."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from access.principal import Principal
from access.roles import Permission
from api.audit import audit, audit_async
from api.auth import needs
from api.deps import MAX_ID, CameraIdField, CaseNumberPath, DbSession, Empty, State
from api.errors import BadRequest, Conflict, Unprocessable
from api.state import AppState
from api.timerange import BranchDay, Instant, parse_instant
from evidence import cases
from evidence.case_numbers import CaseNumberError, parse_case_number
from evidence.completeness import footage_summary, tag_footage
from evidence.sessions import describe_tag
from ingest.clock import day_bounds_us, isoformat_us
from monitor.events import Event
from recorder.models import Camera, Case, CaseStatus, CaseTag, CaseType, EvidenceHold, TagKind

router = APIRouter(prefix="/api/v1", tags=["cases"])

Reader = Annotated[Principal, needs(Permission.CASES_READ)]
Writer = Annotated[Principal, needs(Permission.CASES_WRITE)]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]

DAY_US = 86_400 * 1_000_000
CLOCK_SKEW_US = 5 * 1_000_000
MAX_TAG_US = 7 * DAY_US
"""The longest a tag may span (a hold over a camera's whole history is not a tag)."""
Names = Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=50)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CaseCreate(Strict):
    number: str = Field(min_length=1, max_length=40, description="A…/B…/J… case number")
    type: CaseType | None = Field(default=None, description="checked against the number")
    title: str = Field(min_length=1, max_length=500)
    site: str | None = Field(
        default=None,
        min_length=1,
        max_length=63,
        description="the station handling it (default: the user's station, if they have one)",
    )


class CaseUpdate(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=500)
    status: CaseStatus | None = None


class Where(Strict):
    """Cameras by id, or a room (with its station when the name is not unique)."""

    camera_ids: list[CameraIdField] | None = Field(default=None, min_length=1, max_length=36)
    room: str | None = Field(default=None, min_length=1, max_length=100)
    site: str | None = Field(default=None, min_length=1, max_length=63)

    @model_validator(mode="after")
    def _one(self) -> Where:
        if (self.camera_ids is None) == (self.room is None):
            raise ValueError("give camera_ids or room")
        return self


class TagCreate(Where):
    kind: TagKind
    start: Instant
    end: Instant | None = Field(default=None, description="omitted: now")
    persons: Names = Field(default_factory=list)
    officers: Names = Field(default_factory=list)
    note: str = Field(default="", max_length=2000)


class SessionCreate(Where):
    kind: TagKind = TagKind.INTERROGATION
    persons: Names = Field(default_factory=list)
    officers: Names = Field(default_factory=list)
    note: str = Field(default="", max_length=2000)


class ReleaseBody(Strict):
    reason: str = Field(min_length=3, max_length=500)


def _number(state: AppState, number: str, field: str = "number") -> str:
    try:
        return parse_case_number(number, state.settings.cases.number_patterns).number
    except CaseNumberError as error:
        raise BadRequest(str(error), field=field) from None


def _resolve_cameras(
    state: AppState, where: Where, viewer: Principal
) -> tuple[list[str], str | None, str | None]:
    """(camera ids, site id, room) of a request; other stations' cameras and rooms do not
    exist for a user scoped to stations."""
    cameras = {
        camera_id: runtime
        for camera_id, runtime in state.service.cameras.items()
        if viewer.sees(runtime.site.id)
    }
    if where.camera_ids is not None:
        for index, camera_id in enumerate(where.camera_ids):
            if camera_id not in cameras:
                raise Unprocessable(f"unknown camera {camera_id!r}", field=f"camera_ids.{index}")
        ids = list(dict.fromkeys(where.camera_ids))
        sites = {cameras[c].site.id for c in ids}
        rooms = {cameras[c].camera.room_name() for c in ids}
        return (
            ids,
            sites.pop() if len(sites) == 1 else None,
            rooms.pop() if len(rooms) == 1 else None,
        )
    matches = [
        rt
        for rt in cameras.values()
        if rt.camera.room_name() == where.room and (where.site is None or rt.site.id == where.site)
    ]
    if not matches:
        raise Unprocessable(f"no camera in room {where.room!r}", field="room")
    sites = {rt.site.id for rt in matches}
    if len(sites) > 1:
        raise Unprocessable(
            f"room {where.room!r} exists in {sorted(sites)}; give site", field="site"
        )
    return [rt.camera.id for rt in matches], sites.pop(), where.room


def _case(state: AppState, session: Session, number: str, viewer: Principal) -> Case:
    """The case, if it exists for ``viewer`` (another station's case answers as unknown)."""
    case = cases.get_case(session, _number(state, number))
    if viewer.sites is not None and not cases.case_in_stations(session, case.number, viewer.sites):
        raise cases.NotFoundError(f"no case {case.number}", field="number")
    return case


def _visible_tag(session: Session, tag_id: int, viewer: Principal, what: str) -> None:
    """404 for a tag or session of another station (``what`` names it in the message)."""
    if viewer.sites is not None and not cases.tag_in_stations(session, tag_id, viewer.sites):
        raise cases.NotFoundError(f"no {what} {tag_id}", field=f"{what}_id")


def _case_json(case: Case) -> dict[str, Any]:
    return {
        "number": case.number,
        "type": case.type,
        "title": case.title,
        "status": case.status,
        "unit_code": case.unit_code,
        "site": case.site_id,
        "created_at": isoformat_us(case.created_us),
        "updated_at": isoformat_us(case.updated_us),
        "closed_at": isoformat_us(case.closed_us) if case.closed_us else None,
    }


def hold_json(hold: EvidenceHold) -> dict[str, Any]:
    return {
        "id": hold.id,
        "camera_id": hold.camera_id,
        "tag_id": hold.tag_id,
        "case_number": hold.case_number,
        "start": isoformat_us(hold.start_us),
        "end": isoformat_us(hold.end_us) if hold.end_us is not None else None,
        "reason": hold.reason,
        "released_at": isoformat_us(hold.released_us) if hold.released_us else None,
        "released_by": hold.released_by,
        "release_reason": hold.release_reason,
        "release_requested_by": hold.release_requested_by,
        "release_requested_at": (
            isoformat_us(hold.release_requested_us) if hold.release_requested_us else None
        ),
        "release_request_reason": hold.release_request_reason,
    }


# -- cases ---------------------------------------------------------------------------------------


@router.post("/cases", status_code=201)
def create_case(
    body: CaseCreate, request: Request, state: State, session: DbSession, writer: Writer
) -> dict[str, Any]:
    """Register a case; the number is validated (cases.number_patterns)."""
    site = body.site
    if site is None and writer.sites is not None and len(writer.sites) == 1:
        (site,) = writer.sites
    known = {s.id for s in state.settings.sites}
    if site is not None and (site not in known or not writer.sees(site)):
        raise Unprocessable(f"unknown station {site!r}", field="site")
    try:
        number = parse_case_number(
            body.number, state.settings.cases.number_patterns, expected=body.type
        )
        case = cases.create_case(
            session, number=number, title=body.title, now_us=state.clock.wall_us(), site_id=site
        )
        session.commit()
    except CaseNumberError as error:
        raise BadRequest(str(error), field="number") from None
    audit(request, "case_create", writer, object_type="case", object_id=case.number,
          details={"title": case.title})  # fmt: skip
    return _case_json(case)


@router.get("/cases")
def search_cases(
    state: State,
    session: DbSession,
    reader: Reader,
    q: Annotated[str | None, Query(max_length=100, description="number or title text")] = None,
    person: Annotated[str | None, Query(max_length=100, description="a person or officer")] = None,
    site: Annotated[str | None, Query(max_length=63, description="station id")] = None,
    date: Annotated[
        BranchDay | None,
        Query(description="cases with footage on this day of the branch's calendar (YYYY-MM-DD)"),
    ] = None,
    status: CaseStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Search by number or title, person, station, day."""
    day = day_bounds_us(date, date, state.settings.zone()) if date is not None else None
    found = cases.search_cases(
        session,
        text=q,
        person=person,
        site_id=site,
        day=day,
        status=status,
        limit=limit,
        offset=offset,
        stations=reader.sites,
    )
    return {"data": [_case_json(c) for c in found], "count": len(found)}


@router.get("/cases/{number}")
def get_case(
    number: CaseNumberPath, state: State, session: DbSession, reader: Reader
) -> dict[str, Any]:
    """A case with its tags and sessions (of the user's stations)."""
    case = _case(state, session, number, reader)
    tags = cases.case_tags(session, case.number, stations=reader.sites)
    cameras = cases.tag_cameras(session, [t.id for t in tags])
    return {
        **_case_json(case),
        "tags": [describe_tag(t, cameras[t.id]) for t in tags if not t.session],
        "sessions": [describe_tag(t, cameras[t.id]) for t in tags if t.session],
    }


@router.patch("/cases/{number}")
def update_case(
    number: CaseNumberPath,
    body: CaseUpdate,
    request: Request,
    state: State,
    session: DbSession,
    writer: Writer,
) -> dict[str, Any]:
    """Change the title, close or reopen a case (closing needs every session closed)."""
    now = state.clock.wall_us()
    case = _case(state, session, number, writer)
    if body.title is not None:
        case.title = body.title
        case.updated_us = now
    if body.status is CaseStatus.CLOSED and case.status != CaseStatus.CLOSED.value:
        cases.close_case(session, case, now_us=now)
    elif body.status is CaseStatus.OPEN:
        case.status, case.closed_us, case.updated_us = CaseStatus.OPEN.value, None, now
    session.commit()
    audit(request, "case_update", writer, object_type="case", object_id=case.number,
          details=body.model_dump(exclude_none=True, mode="json"))  # fmt: skip
    return _case_json(case)


@router.get("/cases/{number}/footage")
def case_footage(
    number: CaseNumberPath, state: State, session: DbSession, reader: Reader
) -> dict[str, Any]:
    """Every tag and session of the case (of the user's stations) with its cameras, ranges and
    coverage."""
    case = _case(state, session, number, reader)
    now = state.clock.wall_us()
    tags = cases.case_tags(session, case.number, stations=reader.sites)
    cameras_of = cases.tag_cameras(session, [t.id for t in tags])
    items = []
    for tag in tags:
        per_camera = []
        for camera_id in cameras_of[tag.id]:
            runtime = state.service.cameras.get(camera_id)
            footage = tag_footage(
                session, tag, camera_id, now_us=now, live_span=state.service.live_span(camera_id)
            )
            per_camera.append(
                {
                    **footage_summary(footage, name=runtime.camera.name if runtime else camera_id),
                    "site": runtime.site.id if runtime else None,
                    "segments": len(footage.segments),
                }
            )
        items.append({**describe_tag(tag, cameras_of[tag.id]), "cameras": per_camera})
    return {"case": _case_json(case), "footage": items, "count": len(items)}


# -- tags ----------------------------------------------------------------------------------------


@router.post("/cases/{number}/tags", status_code=201)
def add_tag(
    number: CaseNumberPath,
    body: TagCreate,
    request: Request,
    state: State,
    session: DbSession,
    writer: Writer,
) -> dict[str, Any]:
    """Bind a case to footage over a past or current time range (mark in / mark out)."""
    now = state.clock.wall_us()
    start_us = parse_instant(body.start, "start")
    end_us = parse_instant(body.end, "end") if body.end is not None else now
    if end_us <= start_us:
        raise BadRequest("end: must be after start", field="end")
    if start_us > now + CLOCK_SKEW_US:
        raise BadRequest("start: is in the future", field="start")
    if end_us > now + CLOCK_SKEW_US:
        raise BadRequest("end: is in the future; tag the past, or open a session", field="end")
    if end_us - start_us > MAX_TAG_US:
        raise BadRequest("end: a tag spans at most 7 days; tag each stretch", field="end")
    case = _case(state, session, number, writer)
    camera_ids, site_id, room = _resolve_cameras(state, body, writer)
    first = min(
        (c.first_seen_us for c in session.scalars(select(Camera).where(Camera.id.in_(camera_ids)))),
        default=now,
    )
    if start_us < first - DAY_US:
        raise BadRequest(
            f"start: before these cameras' first footage ({isoformat_us(first)})", field="start"
        )
    spec = cases.TagSpec(
        kind=body.kind,
        camera_ids=camera_ids,
        site_id=site_id,
        room=room,
        start_us=start_us,
        end_us=min(end_us, now),
        persons=body.persons,
        officers=body.officers,
        note=body.note,
        by=writer.name,
    )
    tag = cases.add_tag(session, case=case, spec=spec, live_session=False, now_us=now)
    session.commit()
    audit(
        request, "tag_create", writer, object_type="tag", object_id=str(tag.id), site_id=site_id,
        details={"case": case.number, "cameras": camera_ids, "start": isoformat_us(start_us),
                 "end": isoformat_us(spec.end_us or now)},
    )  # fmt: skip
    return describe_tag(tag, camera_ids)


@router.get("/tags/{tag_id}")
def get_tag(tag_id: RowId, session: DbSession, reader: Reader) -> dict[str, Any]:
    tag = cases.get_tag(session, tag_id, live_session=False)
    _visible_tag(session, tag_id, reader, "tag")
    return describe_tag(tag, cases.tag_cameras(session, [tag_id])[tag_id])


# -- sessions ------------------------------------------------------------------------------------


@router.post("/cases/{number}/sessions", status_code=201)
async def open_session(
    number: CaseNumberPath, body: SessionCreate, request: Request, state: State, writer: Writer
) -> dict[str, Any]:
    """Open a live interrogation session on a room's cameras (or the given cameras)."""

    def visible_case() -> str:
        with state.sessions() as session:
            return _case(state, session, number, writer).number

    case_number = await asyncio.to_thread(visible_case)
    camera_ids, site_id, room = _resolve_cameras(state, body, writer)
    for camera_id in camera_ids:
        runtime = state.service.cameras[camera_id]
        if runtime.worker is None:
            raise Conflict(f"camera {camera_id!r} is disabled; enable it first", field="room")
        if runtime.recorder is None or runtime.recorder.paused:
            raise Conflict(
                f"camera {camera_id!r} is not recording; resume recording first", field="room"
            )
    spec = cases.TagSpec(
        kind=body.kind,
        camera_ids=camera_ids,
        site_id=site_id,
        room=room,
        start_us=state.clock.wall_us(),
        end_us=None,
        persons=body.persons,
        officers=body.officers,
        note=body.note,
        by=writer.name,
    )
    opened = await state.case_sessions.open(case_number, spec)
    await audit_async(
        request, "session_open", writer, object_type="session", object_id=str(opened["id"]),
        site_id=site_id, details={"case": case_number, "cameras": camera_ids},
    )  # fmt: skip
    return opened


@router.get("/sessions")
def list_sessions(
    state: State,
    session: DbSession,
    reader: Reader,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
) -> dict[str, Any]:
    """Sessions (of the user's stations), newest first (at most 500)."""
    query = select(CaseTag).where(CaseTag.session.is_(True))
    if reader.sites is not None:
        query = query.where(cases.tags_in_stations(reader.sites))
    if status:
        query = query.where(CaseTag.status == status)
    tags = session.scalars(query.order_by(CaseTag.start_us.desc()).limit(500)).all()
    cameras = cases.tag_cameras(session, [t.id for t in tags])
    data = [describe_tag(t, cameras[t.id]) for t in tags]
    return {"data": data, "count": len(data)}


@router.get("/sessions/{session_id}")
async def get_session(session_id: RowId, state: State, reader: Reader) -> dict[str, Any]:
    """A session; closed sessions carry the report made at close."""
    await _session_seen(state, session_id, reader)
    return await asyncio.to_thread(state.case_sessions.describe, session_id)


@router.get("/sessions/{session_id}/report")
async def session_report(session_id: RowId, state: State, reader: Reader) -> dict[str, Any]:
    """The completeness report: the stored one of a closed session, an interim one while open."""
    await _session_seen(state, session_id, reader)
    described = await asyncio.to_thread(state.case_sessions.describe, session_id)
    if described["report"] is not None:
        report: dict[str, Any] = described["report"]
        return report
    return await asyncio.to_thread(state.case_sessions.report, session_id)


@router.post("/sessions/{session_id}/close")
async def close_session(
    session_id: RowId, request: Request, state: State, writer: Writer, _body: Empty = None
) -> dict[str, Any]:
    """Close a session as the signed-in user; returns its completeness report."""
    await _session_seen(state, session_id, writer)
    report = await state.case_sessions.close(session_id, writer.name)
    await audit_async(
        request, "session_close", writer, object_type="session", object_id=str(session_id),
        details={"complete": report.get("complete")},
    )  # fmt: skip
    return report


# -- holds ---------------------------------------------------------------------------------------


@router.get("/cases/{number}/holds")
def case_holds(
    number: CaseNumberPath, state: State, session: DbSession, reader: Reader
) -> dict[str, Any]:
    case = _case(state, session, number, reader)
    holds = [h for h in cases.case_holds(session, case.number) if hold_seen(session, h, reader)]
    return {
        "data": [hold_json(h) for h in holds],
        "count": len(holds),
        "case_open": case.status == CaseStatus.OPEN.value,
    }


@router.post("/holds/{hold_id}/release")
def release_hold(
    hold_id: RowId,
    body: ReleaseBody,
    request: Request,
    response: Response,
    state: State,
    session: DbSession,
    writer: Writer,
) -> dict[str, Any]:
    """Release a hold (retention may then delete the footage once the case is closed). With
    ``access.four_eyes`` the release waits for a second user (202, ``release_requested_by``):
    ``POST /holds/{id}/approve-release``."""
    held = session.get(EvidenceHold, hold_id)
    if held is None or not hold_seen(session, held, writer):
        raise cases.NotFoundError(f"no hold {hold_id}", field="hold_id")
    now = state.clock.wall_us()
    four_eyes = state.settings.access.four_eyes
    if four_eyes:
        hold = cases.request_release(
            session, hold_id, reason=body.reason, by=writer.name, now_us=now
        )
    else:
        hold = cases.release_hold(session, hold_id, reason=body.reason, by=writer.name, now_us=now)
    session.commit()
    result = hold_json(hold)
    action = "hold_release_request" if four_eyes else "hold_release"
    audit(request, action, writer, object_type="hold", object_id=str(hold_id),
          details={"reason": body.reason, "case": hold.case_number})  # fmt: skip
    if four_eyes:
        response.status_code = 202
        anyio.from_thread.run_sync(
            state.events.publish, Event("approval", {"kind": "hold_release", **result})
        )
    return result


# -- station scope helpers ------------------------------------------------------------------------


async def _session_seen(state: AppState, session_id: int, viewer: Principal) -> None:
    def check() -> None:
        with state.sessions() as session:
            _visible_tag(session, session_id, viewer, "session")

    if viewer.sites is not None:
        await asyncio.to_thread(check)


def hold_seen(session: Session, hold: EvidenceHold, viewer: Principal) -> bool:
    if viewer.sites is None:
        return True
    camera = session.get(Camera, hold.camera_id)
    return camera is not None and viewer.sees(camera.site_id)
