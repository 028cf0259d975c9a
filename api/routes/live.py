"""Live view over WebRTC with WHEP (RFC 9725): one resource per viewer.

``POST /api/v1/live/{camera}/whep`` takes an SDP offer (``application/sdp``) and answers
``201 Created`` with the SDP answer, carrying all of the server's ICE candidates (no trickle), and
a ``Location`` for the session; ``DELETE`` on it ends the session. An offline camera is answered
like a live one: the viewer's picture starts when the camera comes back, on the same connection.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from access.principal import Principal
from access.roles import Permission
from api.audit import audit_async
from api.auth import needs
from api.deps import CameraId, State, camera_runtime
from api.errors import BadRequest, Conflict, NotAllowed, TooLarge, UnsupportedMediaType
from relay.errors import SessionNotFound
from relay.peers import LiveSession
from relay.sdp import MAX_OFFER_BYTES
from relay.sources import StreamChoice

router = APIRouter(prefix="/api/v1/live", tags=["live"])

SDP = "application/sdp"
Viewer = Annotated[Principal, needs(Permission.LIVE_VIEW)]
SessionId = Annotated[str, Path(min_length=1, max_length=64)]


def _mine(session: LiveSession, viewer: Principal) -> bool:
    """A viewer's own live sessions; an admin's are everyone's."""
    owner = session.owner
    own = isinstance(owner, Principal) and owner.user_id == viewer.user_id
    return own or viewer.can(Permission.USERS_MANAGE)


async def _read_offer(request: Request) -> str:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != SDP:
        raise UnsupportedMediaType(
            f"send the offer as {SDP} (got {content_type or 'no content type'})",
            field="content-type",
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_OFFER_BYTES:
            raise TooLarge(f"the offer is larger than {MAX_OFFER_BYTES} bytes", field="sdp")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("sdp: the offer is not UTF-8 text", field="sdp") from None


@router.post(
    "/{camera_id}/whep",
    status_code=201,
    response_class=Response,
    responses={
        201: {"content": {SDP: {}}, "description": "SDP answer; Location = session"},
        400: {"description": "malformed offer"},
        404: {"description": "unknown camera"},
        409: {"description": "camera disabled"},
        415: {"description": "not application/sdp"},
        422: {"description": "camera codec cannot be played over WebRTC"},
        503: {"description": "too many viewers"},
    },
)
async def whep_offer(
    camera_id: CameraId,
    request: Request,
    state: State,
    viewer: Viewer,
    stream: Annotated[
        StreamChoice, Query(description="main, or sub for a grid tile (falls back to main)")
    ] = StreamChoice.MAIN,
    audio: Annotated[
        bool,
        Query(
            description="also send the camera's audio: G.711 as the camera sends it when the "
            "offer takes it, else Opus"
        ),
    ] = False,
) -> Response:
    """Start watching a camera: SDP offer in, SDP answer out."""
    runtime = camera_runtime(state, camera_id, viewer)
    if not runtime.camera.enabled:
        raise Conflict(f"camera {camera_id!r} is disabled", field="camera")
    offer = await _read_offer(request)
    session_id, answer = await state.live.create(runtime, offer, stream, audio, owner=viewer)
    await audit_async(
        request, "live_view_start", viewer, object_type="camera", object_id=camera_id,
        site_id=runtime.site.id,
        details={"session": session_id[:8], "stream": stream.value, "audio": audio},
    )  # fmt: skip
    location = f"/api/v1/live/sessions/{session_id}"
    return Response(
        answer,
        status_code=201,
        media_type=SDP,
        headers={"Location": location, "ETag": f'"{session_id}"', "Cache-Control": "no-store"},
    )


@router.delete("/sessions/{session_id}", status_code=204, response_class=Response)
async def whep_delete(session_id: SessionId, state: State, viewer: Viewer) -> Response:
    """Stop watching (the WHEP session resource; one's own only, admins' any)."""
    session = next((s for s in state.live.sessions() if s.id == session_id), None)
    if session is None or not _mine(session, viewer):
        raise SessionNotFound(f"no live session {session_id!r}")
    await state.live.close(session_id)
    return Response(status_code=204)


@router.patch(
    "/sessions/{session_id}",
    status_code=405,
    response_class=Response,
    dependencies=[needs(Permission.LIVE_VIEW)],
)
async def whep_patch(session_id: SessionId) -> Response:
    """Trickle ICE and ICE restarts are not supported: the answer carries every candidate."""
    raise NotAllowed(
        "trickle ICE is not supported: the answer already carries all candidates; "
        "to restart, DELETE the session and POST a new offer",
    )


@router.get("/sessions")
async def list_sessions(state: State, viewer: Viewer) -> dict[str, Any]:
    """One's own live sessions on this node (an admin's: every one, with its viewer)."""
    data = [
        {**session.describe(), "user": getattr(session.owner, "name", None)}
        for session in state.live.sessions()
        if _mine(session, viewer)
    ]
    return {"data": data, "count": len(data)}
