"""The video wall's saved views: named layouts, tours (轮巡), and pushes to wall screens."""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from access.principal import Principal
from access.roles import Permission
from api.auth import needs
from api.deps import CameraIdField, DbSession, State
from api.errors import NotFound, Unprocessable
from api.routes.events import SCREEN_NAME
from api.state import AppState
from recorder.models import WallLayout, WallTour

router = APIRouter(prefix="/api/v1/wall", tags=["wall"])

NAME = r"^[^/\\\x00-\x1f\x7f]{1,64}$"
Name = Annotated[str, Path(pattern=NAME, description="1–64 characters, no '/' or '\\'")]
ScreenName = Annotated[str, Path(pattern=SCREEN_NAME, description="letters, digits, . _ -")]
Viewer = Annotated[Principal, needs(Permission.LIVE_VIEW)]
Editor = Annotated[Principal, needs(Permission.WALL_EDIT)]


class Grid(enum.StrEnum):
    """Tiles per side: 1, 4, 9, 16, 25 or 36 tiles."""

    G1 = "1x1"
    G2 = "2x2"
    G3 = "3x3"
    G4 = "4x4"
    G5 = "5x5"
    G6 = "6x6"

    @property
    def tiles(self) -> int:
        side = int(self.value[0])
        return side * side


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LayoutBody(Strict):
    """A grid and the camera in each tile (null: empty tile)."""

    grid: Grid
    cells: list[str | None] = Field(default_factory=list, max_length=36)

    @model_validator(mode="after")
    def _fits(self) -> LayoutBody:
        if len(self.cells) > self.grid.tiles:
            raise ValueError(f"{len(self.cells)} cells do not fit a {self.grid.value} grid")
        return self


class TourStep(Strict):
    """Either some cameras in a grid, or a saved layout."""

    cameras: list[CameraIdField] | None = Field(default=None, min_length=1, max_length=36)
    grid: Grid | None = None
    layout: str | None = Field(default=None, pattern=NAME)

    @model_validator(mode="after")
    def _one_kind(self) -> TourStep:
        if (self.cameras is None) == (self.layout is None):
            raise ValueError("a step has either cameras or layout")
        if self.layout is not None and self.grid is not None:
            raise ValueError("grid belongs to a cameras step")
        if self.cameras is not None and self.grid and len(self.cameras) > self.grid.tiles:
            raise ValueError(f"{len(self.cameras)} cameras do not fit {self.grid.value}")
        return self


class TourBody(Strict):
    """Steps shown in turn, each for ``interval_seconds``."""

    interval_seconds: int = Field(ge=3, le=3600)
    steps: list[TourStep] = Field(min_length=1, max_length=100)


class ScreenBody(Strict):
    """What a wall screen should show."""

    cameras: list[CameraIdField] = Field(min_length=1, max_length=36)
    layout: Grid | None = None


def _sees(state: AppState, viewer: Principal, camera_id: str) -> bool:
    runtime = state.service.cameras.get(camera_id)
    return runtime is not None and viewer.sees(runtime.site.id)


def _check_cameras(state: AppState, viewer: Principal, ids: list[str | None], field: str) -> None:
    """Every camera named exists for ``viewer`` (another station's is unknown to them)."""
    for index, camera_id in enumerate(ids):
        if camera_id is not None and not _sees(state, viewer, camera_id):
            raise Unprocessable(f"unknown camera {camera_id!r}", field=f"{field}.{index}")


def _layout_json(row: WallLayout, state: AppState, viewer: Principal) -> dict[str, Any]:
    """A layout as ``viewer`` sees it: cells of other stations' cameras are empty."""
    cells = [c if c is None or _sees(state, viewer, c) else None for c in json.loads(row.cells)]
    return {"name": row.name, "grid": row.grid, "cells": cells}


def _tour_json(row: WallTour, state: AppState, viewer: Principal) -> dict[str, Any]:
    """A tour as ``viewer`` sees it: other stations' cameras left out of its steps."""
    steps = json.loads(row.steps)
    for step in steps:
        if "cameras" in step:
            step["cameras"] = [c for c in step["cameras"] if _sees(state, viewer, c)]
    return {"name": row.name, "interval_seconds": row.interval_seconds, "steps": steps}


def _smallest_grid(count: int) -> Grid:
    return next(g for g in Grid if g.tiles >= count)


# -- layouts ------------------------------------------------------------------------------------


@router.get("/layouts")
def list_layouts(state: State, session: DbSession, viewer: Viewer) -> dict[str, Any]:
    rows = session.scalars(select(WallLayout).order_by(WallLayout.name)).all()
    return {"data": [_layout_json(r, state, viewer) for r in rows], "count": len(rows)}


@router.put("/layouts/{name}")
def save_layout(
    name: Name, body: LayoutBody, state: State, session: DbSession, editor: Editor
) -> dict[str, Any]:
    """Create or replace a named layout."""
    _check_cameras(state, editor, body.cells, "cells")
    row = session.get(WallLayout, name) or WallLayout(name=name)
    row.grid = body.grid.value
    row.cells = json.dumps(body.cells)
    row.updated_us = state.clock.wall_us()
    session.add(row)
    session.commit()
    return _layout_json(row, state, editor)


@router.delete(
    "/layouts/{name}",
    status_code=204,
    response_class=Response,
    dependencies=[needs(Permission.WALL_EDIT)],
)
def delete_layout(name: Name, session: DbSession) -> Response:
    _delete(session, WallLayout, name, "layout")
    return Response(status_code=204)


# -- tours --------------------------------------------------------------------------------------


@router.get("/tours")
def list_tours(state: State, session: DbSession, viewer: Viewer) -> dict[str, Any]:
    rows = session.scalars(select(WallTour).order_by(WallTour.name)).all()
    return {"data": [_tour_json(r, state, viewer) for r in rows], "count": len(rows)}


@router.put("/tours/{name}")
def save_tour(
    name: Name, body: TourBody, state: State, session: DbSession, editor: Editor
) -> dict[str, Any]:
    """Create or replace a tour; its cameras and layouts must exist."""
    for index, step in enumerate(body.steps):
        if step.cameras is not None:
            _check_cameras(state, editor, list(step.cameras), f"steps.{index}.cameras")
        elif step.layout is not None and session.get(WallLayout, step.layout) is None:
            raise Unprocessable(f"unknown layout {step.layout!r}", field=f"steps.{index}.layout")
    row = session.get(WallTour, name) or WallTour(name=name)
    row.interval_seconds = body.interval_seconds
    row.steps = json.dumps([s.model_dump(exclude_none=True, mode="json") for s in body.steps])
    row.updated_us = state.clock.wall_us()
    session.add(row)
    session.commit()
    return _tour_json(row, state, editor)


@router.delete(
    "/tours/{name}",
    status_code=204,
    response_class=Response,
    dependencies=[needs(Permission.WALL_EDIT)],
)
def delete_tour(name: Name, session: DbSession) -> Response:
    _delete(session, WallTour, name, "tour")
    return Response(status_code=204)


def _delete(
    session: Session, model: type[WallLayout] | type[WallTour], name: str, what: str
) -> None:
    row = session.get(model, name)
    if row is None:
        raise NotFound(f"no {what} named {name!r}", field="name")
    session.delete(row)
    session.commit()


# -- screens ------------------------------------------------------------------------------------


@router.get("/screens", dependencies=[needs(Permission.LIVE_VIEW)])
async def list_screens(state: State) -> dict[str, Any]:
    """Wall screens that connected since start-up (``connected``: showing the kiosk page now)."""
    data = state.screens.all()
    return {"data": data, "count": len(data)}


@router.put("/screens/{name}")
async def push_to_screen(
    name: ScreenName, body: ScreenBody, state: State, editor: Editor
) -> dict[str, Any]:
    """Show these cameras on a wall screen (kept for it if it is not connected right now)."""
    _check_cameras(state, editor, list(body.cameras), "cameras")
    layout = body.layout or _smallest_grid(len(body.cameras))
    if len(body.cameras) > layout.tiles:
        raise Unprocessable(
            f"{len(body.cameras)} cameras do not fit {layout.value}", field="layout"
        )
    return state.screens.push(name, list(body.cameras), layout.value)
