"""Dependencies as Annotated aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.errors import NotFound
from api.state import AppState
from recorder.service import RecordingRuntime


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.casewatch
    return state


State = Annotated[AppState, Depends(get_state)]


def get_session(state: State) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


def camera_runtime(state: AppState, camera_id: str) -> RecordingRuntime:
    runtime = state.service.cameras.get(camera_id)
    if runtime is None:
        raise NotFound(f"unknown camera {camera_id!r}", field="camera")
    return runtime
