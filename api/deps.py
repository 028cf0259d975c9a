"""Dependencies as Annotated aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Body, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from access.principal import Principal
from api.errors import NotFound
from api.state import AppState
from configs.schema import IDENTIFIER_PATTERN
from recorder.service import RecordingRuntime


class NoBody(BaseModel):
    """The body of an action that takes none: ``{}`` or nothing. Anything else is refused
    (422 naming the field) — in particular a ``by``: who acts is the signed-in user."""

    model_config = ConfigDict(extra="forbid")


Empty = Annotated[NoBody | None, Body()]


CameraId = Annotated[
    str,
    Path(pattern=IDENTIFIER_PATTERN, description="camera id: lower-case letters, digits, '-', '_'"),
]
CameraIdField = Annotated[
    str,
    Field(
        pattern=IDENTIFIER_PATTERN, description="camera id: lower-case letters, digits, '-', '_'"
    ),
]
CaseNumberPath = Annotated[
    str,
    Path(min_length=1, max_length=40, description="case number (the schema's pattern is the "
         "node's cases.number_patterns)"),
]  # fmt: skip


MAX_ID = 2**63 - 1
"""The largest row id (a signed 64-bit integer): larger path or query ids are refused (422)."""


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.casewatch
    return state


State = Annotated[AppState, Depends(get_state)]


def get_session(state: State) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


def camera_runtime(state: AppState, camera_id: str, viewer: Principal) -> RecordingRuntime:
    """The camera, if it exists for ``viewer`` (a camera of a station outside their scope does
    not: 404, the same answer as for an unknown id)."""
    runtime = state.service.cameras.get(camera_id)
    if runtime is None or not viewer.sees(runtime.site.id):
        raise NotFound(f"unknown camera {camera_id!r}", field="camera")
    return runtime
