"""Errors and their one mapping to HTTP: always a JSON body ``{"error", "field"?}``, never a
traceback.

Routes raise the ``ApiError`` kinds below for what they check themselves; errors of the domain
packages (a case that does not exist, a WHEP offer that cannot be answered, an export request
that names no footage) propagate from the services and are given their status here, in
``DOMAIN_STATUS`` — the one place that decides what each means to a client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from access import users
from access.service import SignInFailed, SignInLocked
from evidence import cases
from evidence.export_request import ExportRequestError
from evidence.export_service import ExportsUnavailable
from monitor.alarms import AlarmNotFound
from monitor.screens import TooManyScreens
from patrol.service import PatrolConflict, PatrolError
from relay.errors import CapacityError, OfferError, RelayError, SessionNotFound, UnsupportedStream

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
"""What a client at capacity is told to wait before it asks again."""


class ApiError(Exception):
    """An error a client caused or must know about."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers: dict[str, str] = {}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    """401: no user (sign in, or send a valid bearer token)."""

    status = 401

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.headers["WWW-Authenticate"] = 'Bearer realm="casewatch"'


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class NotAllowed(ApiError):
    status = 405


class Conflict(ApiError):
    status = 409


class Gone(ApiError):
    status = 410


class TooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class Unprocessable(ApiError):
    status = 422


class TooManyRequests(ApiError):
    status = 429

    def __init__(self, message: str, *, field: str | None = None, retry_after: float) -> None:
        super().__init__(message, field=field)
        self.headers["Retry-After"] = str(int(retry_after) + 1)


class Unavailable(ApiError):
    """503; ``retry_after`` seconds go to the ``Retry-After`` header."""

    status = 503

    def __init__(
        self, message: str, *, field: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message, field=field)
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)


DOMAIN_ERRORS: tuple[type[Exception], ...] = (
    SignInFailed,
    SignInLocked,
    users.UserError,
    cases.CaseError,
    RelayError,
    ExportRequestError,
    ExportsUnavailable,
    TooManyScreens,
    AlarmNotFound,
    PatrolError,
    OperationalError,
)
"""The domain errors that reach a client, each mapped by ``from_domain``."""


def from_domain(error: Exception) -> ApiError:
    """The HTTP error of a domain error (subclasses before their bases)."""
    match error:
        case SignInFailed():
            return Unauthorized(str(error), field="password")
        case SignInLocked():
            return TooManyRequests(str(error), field="name", retry_after=error.retry_after)
        case users.UnknownUser():
            return NotFound(str(error), field=error.field)
        case users.UserExists():
            return Conflict(str(error), field=error.field)
        case users.UserError():
            return Unprocessable(str(error), field=error.field)
        case cases.NotFoundError():
            return NotFound(error.message, field=error.field)
        case cases.ForbiddenError():
            return Forbidden(error.message, field=error.field)
        case cases.CaseError():
            return Conflict(error.message, field=error.field)
        case OfferError():
            return BadRequest(error.message, field="sdp")
        case UnsupportedStream():
            return Unprocessable(error.message, field="camera")
        case CapacityError():
            return Unavailable(error.message, retry_after=RETRY_AFTER_SECONDS)
        case SessionNotFound():
            return NotFound(error.message, field="session")
        case RelayError():
            return BadRequest(error.message)
        case ExportRequestError() if error.kind == "busy":
            return TooManyRequests(error.message, field=error.field, retry_after=60)
        case ExportRequestError():
            return EXPORT_REQUEST_STATUS[error.kind](error.message, field=error.field)
        case ExportsUnavailable():
            return Unavailable(f"exports are unavailable: {error}")
        case OperationalError():
            return Unavailable(
                "the catalog is unavailable (its database does not answer); recording goes on, "
                "try again shortly",
                retry_after=RETRY_AFTER_SECONDS,
            )
        case AlarmNotFound():
            return NotFound(error.message, field="alarm_id")
        case TooManyScreens():
            return Unavailable(error.message, field="screen", retry_after=RETRY_AFTER_SECONDS)
        case PatrolError() if error.missing:
            return NotFound(str(error), field=error.field)
        case PatrolConflict():
            return Conflict(str(error), field=error.field)
        case PatrolError():
            return Unprocessable(str(error), field=error.field)
    raise TypeError(f"no HTTP mapping for {type(error).__name__}")


EXPORT_REQUEST_STATUS: dict[str, type[ApiError]] = {
    "invalid": BadRequest,
    "not_found": NotFound,
    "no_footage": Unprocessable,
    "conflict": Conflict,
    "forbidden": Forbidden,
}


def _body(error: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"error": error.message}
    if error.field:
        body["field"] = error.field
    return JSONResponse(body, status_code=error.status, headers=error.headers or None)


class ErrorBody(BaseModel):
    """Every error answer: what went wrong, the input at fault, every problem when several."""

    error: str
    field: str | None = None
    problems: list[dict[str, str]] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "bad input (the field is named)"),
        (401, "no user: sign in, or send a valid bearer token"),
        (403, "the user's roles do not allow it, or a cookie request without its CSRF token"),
        (404, "unknown — or of a station outside the user's scope"),
        (409, "contradicts the current state"),
        (413, "body too large"),
        (422, "invalid input (the field is named)"),
        (429, "too many attempts; see Retry-After"),
        (503, "unavailable for now (capacity, catalog); see Retry-After"),
    )
}
"""The error answers every route may give, declared in the OpenAPI description."""


def install(app: FastAPI) -> None:
    """Register the mapping on the app."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> JSONResponse:
        return _body(error)

    async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
        return _body(from_domain(error))

    for kind in DOMAIN_ERRORS:
        app.add_exception_handler(kind, _domain_error)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        # what the framework itself refuses (unknown route, wrong method, a body too large)
        field = "body" if error.status_code == 413 else None
        message = error.detail if isinstance(error.detail, str) else str(error.detail)
        body: dict[str, Any] = {"error": message}
        if field:
            body["field"] = field
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(
                    str(p) for p in item["loc"] if p not in ("query", "body", "path")
                ),
                "reason": item["msg"],
            }
            for item in error.errors()
        ]
        first = problems[0] if problems else {"field": "", "reason": "invalid request"}
        return JSONResponse(
            {
                "error": f"{first['field']}: {first['reason']}",
                "field": first["field"],
                "problems": problems,
            },
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        logger.exception("unexpected error")
        return JSONResponse({"error": "internal error; see the server log"}, status_code=500)
