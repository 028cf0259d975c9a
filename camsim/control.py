"""The simulator's HTTP JSON control API (stdlib `http.server`, one thread per request).

Routes (mount names may contain '/'; they may also be sent URL-encoded, e.g. `a%2Fb`):

- `GET  /health`                 → 200 `{"ready": true, "mounts": [names]}`, 503 until ready
- `GET  /mounts`                 → `{"mounts": [status, ...]}`
- `GET  /mounts/{name}`          → status
- `POST /mounts/{name}/stop`     → stop serving, drop clients
- `POST /mounts/{name}/start`    → serve again
- `POST /mounts/{name}/flap`     body `{"seconds": 5}`
- `POST /mounts/{name}/stall`    body `{"seconds": 5}` (no media; the RTSP session stays up)
- `POST /mounts/{name}/video`    body `{"mode": "normal" | "black" | "frozen" | "resized"}`, or
                                 with `picture_faults` "blurred" | "covered" | "dark" |
                                 "overexposed" | "colour_cast" | "noisy" | "turned"
- `POST /mounts/{name}/audio`    body `{"mode": "tone" | "silent"}`
- `POST /mounts/{name}/clock`    body `{"ppm": 500}` (the media clock runs fast; negative: slow)
- `POST /mounts/{name}/time`     body `{"offset_seconds": 3600}` (the wall clock in RTCP is off)

Errors are JSON `{"error": message}` with 400 (bad body), 404 (unknown mount or route), 405
(wrong method), 409 (fault that does not apply to the mount).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import MountConflictError, UnknownMountError
from .spec import AudioMode, VideoMode

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


class ControlBackend(Protocol):
    """What the control API drives; every method may be called from any thread."""

    def is_ready(self) -> bool: ...
    def mount_names(self) -> list[str]: ...
    def list_mounts(self) -> list[dict[str, object]]: ...
    def get_mount(self, name: str) -> dict[str, object]: ...
    def stop_mount(self, name: str) -> dict[str, object]: ...
    def start_mount(self, name: str) -> dict[str, object]: ...
    def flap(self, name: str, seconds: float) -> dict[str, object]: ...
    def stall(self, name: str, seconds: float) -> dict[str, object]: ...
    def set_video(self, name: str, mode: VideoMode) -> dict[str, object]: ...
    def set_audio(self, name: str, mode: AudioMode) -> dict[str, object]: ...
    def set_clock_rate(self, name: str, ppm: float) -> dict[str, object]: ...
    def set_clock_offset(self, name: str, seconds: float) -> dict[str, object]: ...


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmptyBody(_Body):
    """Body of `stop` / `start`: nothing (or `{}`)."""


class FlapBody(_Body):
    """Body of `flap` and `stall`."""

    seconds: Annotated[float, Field(gt=0, le=3600, description="Seconds the fault lasts.")]


class VideoBody(_Body):
    """Body of `video`."""

    mode: Annotated[VideoMode, Field(description="Video variant to send.")]


class ClockBody(_Body):
    """Body of `clock`."""

    ppm: Annotated[
        float,
        Field(
            ge=-100_000,
            le=100_000,
            description="How fast (positive) or slow the mount's media clock runs, in ppm.",
        ),
    ]


class TimeBody(_Body):
    """Body of `time`."""

    offset_seconds: Annotated[
        float,
        Field(
            ge=-10 * 365 * 86_400,
            le=10 * 365 * 86_400,
            description="How far the mount's wall clock (RTCP sender reports) is off, in s.",
        ),
    ]


class AudioBody(_Body):
    """Body of `audio`."""

    mode: Annotated[AudioMode, Field(description="Audio variant to send.")]


B = TypeVar("B", bound=_Body)


class HttpError(Exception):
    """An error answer of the control API."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _parse_body(model: type[B], raw: bytes) -> B:
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise HttpError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()
        )
        raise HttpError(HTTPStatus.BAD_REQUEST, problems) from exc


def _actions(backend: ControlBackend) -> dict[str, Callable[[str, bytes], dict[str, object]]]:
    def stop(name: str, raw: bytes) -> dict[str, object]:
        _parse_body(EmptyBody, raw)
        return backend.stop_mount(name)

    def start(name: str, raw: bytes) -> dict[str, object]:
        _parse_body(EmptyBody, raw)
        return backend.start_mount(name)

    def flap(name: str, raw: bytes) -> dict[str, object]:
        return backend.flap(name, _parse_body(FlapBody, raw).seconds)

    def stall(name: str, raw: bytes) -> dict[str, object]:
        return backend.stall(name, _parse_body(FlapBody, raw).seconds)

    def video(name: str, raw: bytes) -> dict[str, object]:
        return backend.set_video(name, _parse_body(VideoBody, raw).mode)

    def audio(name: str, raw: bytes) -> dict[str, object]:
        return backend.set_audio(name, _parse_body(AudioBody, raw).mode)

    def clock(name: str, raw: bytes) -> dict[str, object]:
        return backend.set_clock_rate(name, _parse_body(ClockBody, raw).ppm)

    def time(name: str, raw: bytes) -> dict[str, object]:
        return backend.set_clock_offset(name, _parse_body(TimeBody, raw).offset_seconds)

    return {
        "stop": stop,
        "start": start,
        "flap": flap,
        "stall": stall,
        "video": video,
        "audio": audio,
        "clock": clock,
        "time": time,
    }


class _Handler(BaseHTTPRequestHandler):
    server_version = "casewatch-sim"
    backend: ControlBackend
    actions: dict[str, Callable[[str, bytes], dict[str, object]]]

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("control %s - " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        try:
            raw = self._read_body()
            status, payload = self._route(method, urlsplit(self.path).path, raw)
        except HttpError as exc:
            status, payload = exc.status, {"error": exc.message}
        except UnknownMountError as exc:
            status, payload = HTTPStatus.NOT_FOUND, {"error": str(exc)}
        except MountConflictError as exc:
            status, payload = HTTPStatus.CONFLICT, {"error": str(exc)}
        except Exception as exc:
            logger.exception("control request %s %s failed", method, self.path)
            status, payload = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(exc)}
        self._send(status, payload)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _route(self, method: str, path: str, raw: bytes) -> tuple[HTTPStatus, object]:
        backend = self.backend
        if path == "/health":
            self._require(method, "GET")
            ready = backend.is_ready()
            body = {"ready": ready, "mounts": backend.mount_names() if ready else []}
            return (HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE), body
        if path in ("/mounts", "/mounts/"):
            self._require(method, "GET")
            return HTTPStatus.OK, {"mounts": backend.list_mounts()}
        prefix = "/mounts/"
        if not path.startswith(prefix):
            raise HttpError(HTTPStatus.NOT_FOUND, f"no route {path}")
        rest = path[len(prefix) :].rstrip("/")
        if method == "GET":
            return HTTPStatus.OK, backend.get_mount(unquote(rest))
        self._require(method, "POST")
        raw_name, _, action = rest.rpartition("/")
        handler = self.actions.get(action)
        if not raw_name or handler is None:
            raise HttpError(
                HTTPStatus.NOT_FOUND,
                f"no route POST {path}; use /mounts/<name>/({'|'.join(self.actions)})",
            )
        return HTTPStatus.OK, handler(unquote(raw_name), raw)

    @staticmethod
    def _require(method: str, allowed: str) -> None:
        if method != allowed:
            raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, f"use {allowed}")

    def _send(self, status: HTTPStatus, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ControlServer:
    """The control API on a loopback port, served from a daemon thread."""

    def __init__(self, host: str, port: int, backend: ControlBackend) -> None:
        handler = type("Handler", (_Handler,), {"backend": backend, "actions": _actions(backend)})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        """Serve requests on a background thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sim-control",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
