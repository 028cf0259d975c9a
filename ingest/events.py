"""Camera states, the causes of every disconnect, and the state-change event."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CameraState(enum.StrEnum):
    """Supervisor states: connecting → live → stalled/offline (cause) → backoff → connecting."""

    DISABLED = "disabled"
    CONNECTING = "connecting"
    LIVE = "live"
    STALLED = "stalled"
    OFFLINE = "offline"
    BACKOFF = "backoff"
    STOPPED = "stopped"


class Cause(enum.StrEnum):
    """Why a camera is not (or no longer) delivering media."""

    UNREACHABLE = "unreachable"  # connection refused, no route, DNS failure
    TIMEOUT = "timeout"  # no answer within the connect timeout
    UNAUTHORIZED = "unauthorized"  # 401/403: wrong or missing credentials
    NOT_FOUND = "not_found"  # 404: wrong path, or the camera's stream is gone
    PROTOCOL_ERROR = "protocol_error"  # the server does not speak RTSP properly
    NO_VIDEO = "no_video"  # the stream has no video track
    UNSUPPORTED = "unsupported"  # a codec the recorder cannot store
    STREAM_ENDED = "stream_ended"  # the camera closed the stream
    STALLED = "stalled"  # connected, but no video packet for the stall time
    STREAM_CHANGED = "stream_changed"  # new parameter sets mid-stream: size or profile changed
    READ_ERROR = "read_error"  # an error while reading packets
    STOPPED = "stopped"  # casewatch stopped reading it (shutdown, disabled)
    WORKER_CRASHED = "worker_crashed"  # the recorder worker process that read it crashed


@dataclass(frozen=True, slots=True)
class StateChange:
    """A camera's supervisor changed state. ``at_us`` is UTC wall time in microseconds."""

    camera_id: str
    state: CameraState
    at_us: int
    cause: Cause | None = None
    detail: str = ""
