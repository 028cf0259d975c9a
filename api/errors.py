"""Domain errors and their one mapping to HTTP: always a JSON body, never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a client caused or must know about."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers: dict[str, str] = {}


class NotFound(ApiError):
    status = 404


class BadRequest(ApiError):
    status = 400


class Conflict(ApiError):
    status = 409


class Unavailable(ApiError):
    status = 503


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> JSONResponse:
        body: dict[str, object] = {"error": error.message}
        if error.field:
            body["field"] = error.field
        return JSONResponse(body, status_code=error.status, headers=error.headers or None)

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
