"""Spot-check patrols (巡查): automatic checks of cameras now, and their reference pictures."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from access.principal import Principal
from access.roles import Permission
from api.audit import audit_async
from api.auth import needs
from api.deps import CameraId, CameraIdField, Empty, State, camera_runtime
from api.errors import NotFound, Unavailable, Unprocessable
from patrol.checker import NoPicture
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
                raise Unprocessable(f"unknown camera {camera_id!r}", field=f"cameras[{index}]")
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
