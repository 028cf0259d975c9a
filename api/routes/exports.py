"""Verifiable exports of a case's footage: create, follow, list, download; the public key.

``POST /api/v1/cases/{number}/exports`` answers 202 at once; the package is built in the
background (``evidence.export_service.ExportService``), one export after another, and ``GET
/api/v1/exports/{id}`` shows its progress. What a request selects is documented in
``evidence.export_request``; the package layout in ``evidence.export_manifest``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from access.principal import Principal
from access.roles import Permission
from api.audit import audit
from api.auth import needs
from api.deps import CameraIdField, CaseNumberPath, State
from api.errors import BadRequest, Conflict, Gone, NotFound, Unprocessable
from api.state import AppState
from api.timerange import Instant
from evidence import cases
from evidence.export_request import RangeSpec, Selection
from evidence.export_service import ExportService, describe
from ingest.clock import us_from_datetime
from monitor.events import Event
from recorder.models import Export, ExportStatus

router = APIRouter(prefix="/api/v1", tags=["exports"])

MAX_LIST = 1000
Reader = Annotated[Principal, needs(Permission.CASES_READ)]


class RangeBody(BaseModel):
    """A camera over an explicit time range."""

    model_config = ConfigDict(extra="forbid")
    camera: CameraIdField
    start: Instant = Field(description="ISO 8601 with time zone")
    end: Instant = Field(description="ISO 8601 with time zone")


class ExportBody(BaseModel):
    """What to export; an empty body exports the whole case."""

    model_config = ConfigDict(extra="forbid")
    tags: list[int] | None = Field(default=None, max_length=500, description="tag ids")
    sessions: list[int] | None = Field(
        default=None, max_length=500, description="interrogation session ids (tags)"
    )
    cameras: list[CameraIdField] | None = Field(
        default=None, max_length=500, description="only these cameras of the selected tags"
    )
    ranges: list[RangeBody] | None = Field(
        default=None, max_length=500, description="explicit camera ranges"
    )


def _service(state: AppState) -> ExportService:
    return state.exports


def _selection(body: ExportBody | None) -> Selection:
    if body is None:
        return Selection()
    ranges = None
    if body.ranges is not None:
        ranges = []
        for index, spec in enumerate(body.ranges):
            for name, value in (("start", spec.start), ("end", spec.end)):
                if value.tzinfo is None:
                    field = f"ranges[{index}].{name}"
                    raise BadRequest(
                        f"{field}: give a time zone (e.g. 2026-11-25T08:00:00Z)", field=field
                    )
            ranges.append(
                RangeSpec(spec.camera, us_from_datetime(spec.start), us_from_datetime(spec.end))
            )
    return Selection(body.tags, body.sessions, body.cameras, ranges)


@router.post("/cases/{number}/exports", status_code=202)
def create_export(
    number: CaseNumberPath,
    request: Request,
    state: State,
    response: Response,
    requester: Annotated[Principal, needs(Permission.EXPORTS_CREATE)],
    body: Annotated[ExportBody | None, Body()] = None,
) -> dict[str, Any]:
    """Queue an export of the case's footage as the signed-in user; follow it at the returned
    URL."""
    service = _service(state)
    selection = _selection(body)
    _check_scope(state, number, body, requester)
    row = service.create(number, selection, requester.name)
    audit(
        request, "export_request", requester, object_type="export", object_id=str(row.id),
        details={"case": row.case_number, **(body.model_dump(exclude_none=True, mode="json")
                                            if body else {})},
    )  # fmt: skip
    response.headers["Location"] = f"/api/v1/exports/{row.id}"
    result = describe(row, position=service.queue_position(row))
    if row.status == ExportStatus.PENDING_APPROVAL.value:  # four-eyes: tell the approvers
        anyio.from_thread.run_sync(
            state.events.publish, Event("approval", {"kind": "export", **result})
        )
    return result


@router.get("/cases/{number}/exports")
def case_exports(number: CaseNumberPath, state: State, reader: Reader) -> dict[str, Any]:
    """The case's exports, newest first."""
    _case_seen(state, number, reader)
    rows = _service(state).for_case(number)
    data = [describe(row) for row in rows[:MAX_LIST]]
    return {"data": data, "count": len(data)}


@router.get(
    "/exports/public-key",
    response_class=PlainTextResponse,
    dependencies=[needs(Permission.SIGNED_IN)],
)
def public_key(state: State) -> PlainTextResponse:
    """The PEM public key that verifies export manifests (``casewatch verify --key``)."""
    key = _service(state).public_key
    return PlainTextResponse(
        key.public_pem.decode("ascii"),
        headers={"X-Key-Fingerprint": key.fingerprint, "X-Key-Id": key.key_id},
    )


def _export(state: AppState, export_id: str, viewer: Principal) -> Export:
    row = _service(state).get(export_id)
    if row is None or not export_visible(state, row, viewer):
        raise NotFound(f"no export {export_id}", field="export_id")
    return row


def export_visible(state: AppState, row: Export, viewer: Principal) -> bool:
    """An export exists for ``viewer`` when its case does."""
    return case_visible(state, row.case_number, viewer)


def case_visible(state: AppState, number: str, viewer: Principal) -> bool:
    """Whether the case exists for ``viewer``: any case for an unscoped user, else a case with
    footage or its home at one of their stations."""
    if viewer.sites is None:
        return True
    with state.sessions() as session:
        return cases.case_in_stations(session, number, viewer.sites)


def _case_seen(state: AppState, number: str, viewer: Principal) -> None:
    if not case_visible(state, number, viewer):
        raise NotFound(f"no case {number}", field="number")


def _check_scope(state: AppState, number: str, body: ExportBody | None, viewer: Principal) -> None:
    """A user scoped to stations exports only their stations' footage: the case must exist for
    them, and every camera the selection takes footage from must be theirs."""
    if viewer.sites is None:
        return
    _case_seen(state, number, viewer)
    chosen = set(body.cameras) if body is not None and body.cameras is not None else None
    cameras = {r.camera for r in body.ranges or []} if body is not None else set()
    with state.sessions() as session:
        tag_ids = [*(body.tags or []), *(body.sessions or [])] if body is not None else []
        if not tag_ids and not cameras:  # the whole case
            tag_ids = [tag.id for tag in cases.case_tags(session, number)]
        for tag_id in tag_ids:
            if not cases.tag_in_stations(session, tag_id, viewer.sites):
                raise NotFound(f"no tag {tag_id}", field="tags")
        for tag_cameras in cases.tag_cameras(session, tag_ids).values():
            cameras |= {c for c in tag_cameras if chosen is None or c in chosen}
    for camera_id in sorted(cameras):
        runtime = state.service.cameras.get(camera_id)
        if runtime is None or not viewer.sees(runtime.site.id):
            raise Unprocessable(
                "the selection includes footage of other stations: select your stations' "
                "cameras (cameras)",
                field="cameras",
            )


@router.get("/exports/{export_id}")
def get_export(export_id: str, state: State, reader: Reader) -> dict[str, Any]:
    """Status and progress of an export; its download URL once done."""
    row = _export(state, export_id, reader)
    return describe(row, position=_service(state).queue_position(row))


@router.get("/exports/{export_id}/download", response_class=FileResponse)
def download(
    export_id: str,
    request: Request,
    state: State,
    reader: Annotated[Principal, needs(Permission.CASES_READ)],
) -> FileResponse:
    """The package (ZIP); supports HTTP range requests."""
    row = _export(state, export_id, reader)
    if row.status != ExportStatus.DONE.value:
        detail = f" ({row.error})" if row.status == ExportStatus.FAILED.value else ""
        raise Conflict(f"export {export_id} is {row.status}{detail}", field="export_id")
    path = Path(row.path) if row.path else None
    if path is None or not path.is_file():
        raise Gone(f"export {export_id}: {row.error or 'the package is gone'}", field="export_id")
    audit(
        request, "export_download", reader, object_type="export", object_id=str(export_id),
        details={"case": row.case_number, "sha256": row.sha256},
    )  # fmt: skip
    return FileResponse(
        path,
        media_type="application/zip",
        filename=path.name,
        headers={"X-Content-SHA256": row.sha256 or ""},
    )
