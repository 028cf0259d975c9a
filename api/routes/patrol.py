"""Spot-check patrols (巡查): checks of cameras now, reference pictures, plans, runs, findings."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as FastPath
from pydantic import BaseModel, ConfigDict, Field

from access.principal import Principal
from access.roles import Permission
from api.audit import audit_async
from api.auth import needs
from api.deps import MAX_ID, CameraId, CameraIdField, Empty, State, camera_runtime
from api.errors import NotFound, Unavailable, Unprocessable
from api.state import AppState
from api.timerange import BranchDay
from configs.schema import IDENTIFIER_PATTERN
from ingest.snapshot import decode_keyframe, jpeg
from patrol.bulletins import MAX_DAYS, bulletin, bulletin_csv
from patrol.checker import NoPicture
from patrol.findings import Action, FindingState, Severity
from patrol.plans import PlanSpec
from patrol.results import Check

router = APIRouter(prefix="/api/v1/patrol", tags=["patrol"])

Reader = Annotated[Principal, needs(Permission.PATROL_READ)]
Patroller = Annotated[Principal, needs(Permission.PATROL_RUN)]

MAX_CAMERAS = 1000


class CheckRequest(BaseModel):
    """Which cameras to check now, and which checks (all of both when left out)."""

    model_config = ConfigDict(extra="forbid")

    cameras: list[CameraIdField] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_CAMERAS,
        description="camera ids (default: every camera you see)",
    )
    checks: list[Check] | None = Field(
        default=None, min_length=1, description="checks to run (default: all)"
    )


@router.post("/checks")
async def run_checks(
    request: Request, state: State, principal: Patroller, body: CheckRequest | None = None
) -> dict[str, Any]:
    """Run the automatic checks of cameras now, on what their Hubs hold (no second connection
    to any camera). One result per camera and check: ``ok`` true, false, or null when the check
    could not judge (``detail`` says why)."""
    body = body or CheckRequest()
    cameras = state.service.cameras
    if body.cameras is None:
        ids = [cid for cid, rt in cameras.items() if principal.sees(rt.site.id)]
    else:
        for index, camera_id in enumerate(body.cameras):
            runtime = cameras.get(camera_id)
            if runtime is None or not principal.sees(runtime.site.id):
                raise Unprocessable(f"unknown camera {camera_id!r}", field=f"cameras.{index}")
        ids = list(dict.fromkeys(body.cameras))
    checks = body.checks or list(Check)
    results = await asyncio.to_thread(state.checker.check_many, ids, checks)
    await audit_async(
        request, "patrol_check", principal, object_type="camera",
        object_id=ids[0] if len(ids) == 1 else "",
        details={"cameras": len(ids), "failed": sum(r.ok is False for r in results)},
    )  # fmt: skip
    data = [result.as_json() for result in results]
    return {"data": data, "count": len(data)}


@router.get(
    "/cameras/{camera_id}/reference",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def get_reference(camera_id: CameraId, state: State, viewer: Reader) -> Response:
    """The camera's reference picture: its view as it should be (PNG)."""
    camera_runtime(state, camera_id, viewer)
    path = state.checker.references.path(camera_id)
    try:
        body = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise NotFound(f"camera {camera_id!r} has no reference picture yet") from None
    return Response(body, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.put("/cameras/{camera_id}/reference", status_code=204)
async def take_reference(
    camera_id: CameraId, request: Request, state: State, principal: Patroller, _body: Empty = None
) -> Response:
    """Keep the camera's picture now as its reference (after it was moved on purpose)."""
    runtime = camera_runtime(state, camera_id, principal)
    try:
        await asyncio.to_thread(state.checker.take_reference, camera_id)
    except NoPicture as error:
        raise Unavailable(str(error)) from None
    await audit_async(
        request, "patrol_reference", principal, object_type="camera", object_id=camera_id,
        site_id=runtime.site.id,
    )  # fmt: skip
    return Response(status_code=204)


@router.delete("/cameras/{camera_id}/reference", status_code=204)
async def forget_reference(
    camera_id: CameraId, request: Request, state: State, principal: Patroller
) -> Response:
    """Forget the camera's reference picture (its next passing check keeps a new one)."""
    runtime = camera_runtime(state, camera_id, principal)
    await asyncio.to_thread(state.checker.references.forget, camera_id)
    await audit_async(
        request, "patrol_reference_forget", principal, object_type="camera", object_id=camera_id,
        site_id=runtime.site.id,
    )  # fmt: skip
    return Response(status_code=204)


# -- plans ----------------------------------------------------------------------------------------

PlanId = Annotated[int, FastPath(ge=1, le=MAX_ID)]
RunId = Annotated[int, FastPath(ge=1, le=MAX_ID)]
FindingId = Annotated[int, FastPath(ge=1, le=MAX_ID)]


@router.get("/plans")
async def list_plans(state: State, viewer: Reader) -> dict[str, Any]:
    """Every plan, with its next scheduled run."""
    data = await asyncio.to_thread(state.patrol.plans)
    return {"data": data, "count": len(data)}


@router.post("/plans", status_code=201)
async def create_plan(
    spec: PlanSpec, request: Request, response: Response, state: State, principal: Patroller
) -> dict[str, Any]:
    """A new plan: schedule (cron in the branch's time zone), scope, sampling, checklist."""
    plan = await asyncio.to_thread(state.patrol.save_plan, spec, principal.name)
    await audit_async(
        request, "patrol_plan_create", principal, object_type="patrol_plan",
        object_id=str(plan["id"]), details={"name": spec.name, "schedule": spec.schedule},
    )  # fmt: skip
    response.headers["Location"] = f"/api/v1/patrol/plans/{plan['id']}"
    return plan


@router.get("/plans/{plan_id}")
async def get_plan(plan_id: PlanId, state: State, viewer: Reader) -> dict[str, Any]:
    return await asyncio.to_thread(state.patrol.plan, plan_id)


@router.put("/plans/{plan_id}")
async def replace_plan(
    plan_id: PlanId, spec: PlanSpec, request: Request, state: State, principal: Patroller
) -> dict[str, Any]:
    """Replace a plan (a changed schedule counts from now: no runs for the past)."""
    plan = await asyncio.to_thread(state.patrol.save_plan, spec, principal.name, plan_id)
    await audit_async(
        request, "patrol_plan_change", principal, object_type="patrol_plan",
        object_id=str(plan_id), details={"name": spec.name, "schedule": spec.schedule,
                                         "enabled": spec.enabled},
    )  # fmt: skip
    return plan


@router.delete("/plans/{plan_id}", status_code=204)
async def delete_plan(
    plan_id: PlanId, request: Request, state: State, principal: Patroller
) -> Response:
    """Delete a plan that never ran (one with runs is disabled instead: 409)."""
    await asyncio.to_thread(state.patrol.delete_plan, plan_id)
    await audit_async(
        request, "patrol_plan_delete", principal, object_type="patrol_plan",
        object_id=str(plan_id),
    )  # fmt: skip
    return Response(status_code=204)


# -- runs -----------------------------------------------------------------------------------------


@router.post("/plans/{plan_id}/runs", status_code=201)
async def run_plan(
    plan_id: PlanId, request: Request, response: Response, state: State, principal: Patroller,
    _body: Empty = None,
) -> dict[str, Any]:  # fmt: skip
    """Run a plan now: its sample is drawn and checked before this answers."""
    run_id = await asyncio.to_thread(state.patrol.run_now, plan_id, principal.name)
    await audit_async(
        request, "patrol_run", principal, object_type="patrol_run", object_id=str(run_id),
        details={"plan_id": plan_id},
    )  # fmt: skip
    response.headers["Location"] = f"/api/v1/patrol/runs/{run_id}"
    return await asyncio.to_thread(state.patrol.run, run_id, principal.sees)


@router.get("/runs")
async def list_runs(
    state: State,
    viewer: Reader,
    plan: Annotated[int | None, Query(ge=1, le=MAX_ID, description="only this plan's")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Newest first; a station's user sees the runs that sampled their rooms."""
    data = await asyncio.to_thread(state.patrol.runs, plan, limit, viewer.sees)
    return {"data": data, "count": len(data)}


@router.get("/runs/{run_id}")
async def get_run(run_id: RunId, state: State, viewer: Reader) -> dict[str, Any]:
    """A run with its rooms, their check results and manual visits (the run's report)."""
    return await asyncio.to_thread(state.patrol.run, run_id, viewer.sees)


@router.get(
    "/runs/{run_id}/items/{item_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def item_snapshot(
    run_id: RunId, item_id: Annotated[int, FastPath(ge=1, le=MAX_ID)], state: State, viewer: Reader
) -> Response:
    """The picture a run's check of a room was judged on (JPEG)."""
    path = await asyncio.to_thread(state.patrol.item_snapshot, run_id, item_id, viewer.sees)
    body = await asyncio.to_thread(path.read_bytes)
    return Response(
        body, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )


CLIP_SECONDS = 30.0
"""A clip marked as evidence: the last this many seconds of the room's footage, held."""


class VisitBody(BaseModel):
    """A patrol user's visit of one room of a run."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    conduct: dict[str, Literal["ok", "problem"]] = Field(
        default_factory=dict,
        max_length=9,
        description="each conduct item of the plan: ok or problem",
    )
    note: str = Field(
        default="", max_length=2000, description="what was seen (needed with a problem)"
    )
    severity: Severity = Field(
        default=Severity.MEDIUM, description="of the findings a problem opens"
    )
    evidence: Literal["none", "snapshot", "clip"] = Field(
        default="snapshot",
        description=f"keep the room's picture now; clip: also hold its last {CLIP_SECONDS:g} s",
    )


@router.put("/runs/{run_id}/items/{item_id}")
async def visit_room(
    run_id: RunId, item_id: Annotated[int, FastPath(ge=1, le=MAX_ID)], body: VisitBody,
    request: Request, state: State, principal: Patroller,
) -> dict[str, Any]:  # fmt: skip
    """Record the visit of a room: conduct items, a note, evidence. Every problem opens a
    finding for the station."""
    item_camera = await asyncio.to_thread(state.patrol.item_camera, run_id, item_id, principal.sees)
    picture = None
    if body.evidence != "none":
        picture = await asyncio.to_thread(_picture_now, state, item_camera)
    room, opened = await asyncio.to_thread(
        state.patrol.visit, run_id, item_id, principal.name, conduct=dict(body.conduct),
        note=body.note, severity=body.severity, picture=picture,
        clip_seconds=CLIP_SECONDS if body.evidence == "clip" else 0.0, visible=principal.sees,
    )  # fmt: skip
    await audit_async(
        request, "patrol_visit", principal, object_type="camera", object_id=room["camera"],
        site_id=room["site"], details={"run_id": run_id, "conduct": dict(body.conduct)},
    )  # fmt: skip
    for finding in opened:
        await audit_async(
            request, "finding_open", principal, object_type="finding", object_id=str(finding["id"]),
            site_id=finding["site"], details={"camera": finding["camera"], "item": finding["item"]},
        )  # fmt: skip
    return {**room, "findings_opened": opened}


@router.post("/runs/{run_id}/finish")
async def finish_run(
    run_id: RunId, request: Request, state: State, principal: Patroller, _body: Empty = None
) -> dict[str, Any]:
    """End the manual part of a run; its report counts the rooms not visited."""
    run = await asyncio.to_thread(state.patrol.finish, run_id, principal.name, principal.sees)
    await audit_async(
        request, "patrol_finish", principal, object_type="patrol_run", object_id=str(run_id),
        details={"visited": run["visited"], "cameras": run["cameras"]},
    )  # fmt: skip
    return run


def _picture_now(state: AppState, camera_id: str) -> bytes | None:
    """The camera's latest keyframe as JPEG (None when it sends no picture)."""
    runtime = state.service.cameras.get(camera_id)
    latest = runtime.hub.latest_keyframe() if runtime is not None else None
    if latest is None:
        return None
    try:
        return jpeg(decode_keyframe(*latest))
    except ValueError:
        return None


# -- findings -------------------------------------------------------------------------------------


@router.get("/findings")
async def list_findings(
    state: State,
    viewer: Reader,
    finding_state: Annotated[
        list[FindingState] | None, Query(alias="state", description="only these states")
    ] = None,
    site: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    camera: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    overdue: Annotated[bool, Query(description="only those past their deadline")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Newest first, within the viewer's stations."""
    data = await asyncio.to_thread(
        state.patrol.findings,
        states=finding_state, site=site, camera=camera, overdue=overdue, limit=limit,
        visible=viewer.sees,
    )  # fmt: skip
    return {"data": data, "count": len(data)}


@router.get("/findings/{finding_id}")
async def get_finding(finding_id: FindingId, state: State, viewer: Reader) -> dict[str, Any]:
    """A finding with its history."""
    return await asyncio.to_thread(state.patrol.finding, finding_id, viewer.sees)


class AssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    owner: str | None = Field(
        default=None, min_length=1, max_length=100, description="who rectifies (default: you)"
    )
    note: str = Field(default="", max_length=2000)


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str = Field(default="", max_length=2000, description="what was done, or why")


async def _step(
    request: Request, state: State, principal: Principal, finding_id: int, action: Action,
    note: str, owner: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    step = await asyncio.to_thread(
        state.patrol.transition, finding_id, action, principal.name, note=note, owner=owner,
        visible=principal.sees, evidence=lambda camera: _picture_now(state, camera),
    )  # fmt: skip
    finding = step.finding
    await audit_async(
        request, f"finding_{action.value}", principal, object_type="finding",
        object_id=str(finding_id), site_id=finding["site"],
        details={"camera": finding["camera"], "item": finding["item"],
                 "from": step.from_state.value, "to": finding["state"], "note": note[:200]},
    )  # fmt: skip
    return finding


@router.post("/findings/{finding_id}/assign")
async def assign_finding(
    finding_id: FindingId, body: AssignBody, request: Request, state: State, principal: Patroller
) -> dict[str, Any]:
    """Name who at the station rectifies it (open, assigned or reopened findings)."""
    return await _step(request, state, principal, finding_id, Action.ASSIGN, body.note, body.owner)


@router.post("/findings/{finding_id}/rectify")
async def rectify_finding(
    finding_id: FindingId, body: NoteBody, request: Request, state: State,
    principal: Annotated[Principal, needs(Permission.FINDINGS_RECTIFY)],
) -> dict[str, Any]:  # fmt: skip
    """The station's answer: what was done (a note is required); the camera's picture now is
    attached as evidence."""
    return await _step(request, state, principal, finding_id, Action.RECTIFY, body.note)


@router.post("/findings/{finding_id}/verify")
async def verify_finding(
    finding_id: FindingId, request: Request, state: State, principal: Patroller,
    body: NoteBody | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The center confirms a rectification."""
    return await _step(
        request, state, principal, finding_id, Action.VERIFY, body.note if body else ""
    )


@router.post("/findings/{finding_id}/reopen")
async def reopen_finding(
    finding_id: FindingId, body: NoteBody, request: Request, state: State, principal: Patroller
) -> dict[str, Any]:
    """The center sends a rectification back, saying why (a note is required)."""
    return await _step(request, state, principal, finding_id, Action.REOPEN, body.note)


@router.get(
    "/findings/{finding_id}/evidence/{index}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def finding_evidence(
    finding_id: FindingId, index: Annotated[int, FastPath(ge=0, le=10_000)], state: State,
    viewer: Reader,
) -> Response:  # fmt: skip
    """A finding's evidence picture ``index`` (in the order of its ``evidence`` list)."""
    path = await asyncio.to_thread(state.patrol.evidence_path, finding_id, index, viewer.sees)
    body = await asyncio.to_thread(path.read_bytes)
    return Response(
        body, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )


# -- bulletins ------------------------------------------------------------------------------------


@router.get("/bulletin", responses={200: {"content": {"text/csv": {}}}})
async def get_bulletin(
    state: State,
    viewer: Reader,
    start: Annotated[BranchDay, Query(description="first day (YYYY-MM-DD, the branch's zone)")],
    end: Annotated[BranchDay, Query(description="last day, inclusive")],
    output: Annotated[Literal["json", "csv"], Query(alias="format", description="json or csv")] = (
        "json"
    ),
) -> Any:
    """Counts and rates per station for the days ``start`` to ``end`` (the viewer's stations):
    patrols run, rooms checked, problems found by kind, rectified on time, overdue, online
    rate, recording completeness and audio presence."""
    if end < start:
        raise Unprocessable("the period ends before it starts", field="end")
    if (end - start).days >= MAX_DAYS:
        raise Unprocessable(f"a bulletin covers at most {MAX_DAYS} days", field="end")

    def build() -> dict[str, Any]:
        with state.sessions() as session:
            return bulletin(
                session, state.settings, first=start, last=end, now_us=state.clock.wall_us(),
                visible=viewer.sees,
            )  # fmt: skip

    data = await asyncio.to_thread(build)
    if output == "csv":
        name = f"bulletin-{start.isoformat()}-{end.isoformat()}.csv"
        return Response(
            "\ufeff" + bulletin_csv(data),  # a BOM, so spreadsheet programs read UTF-8
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return data
