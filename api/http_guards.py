"""Guards on every HTTP exchange: a bound on request bodies and the browser security headers.

* **Host**: a request whose ``Host`` is not one of ``allowed_hosts`` is refused (400): a page of
  another site that rebinds its name to this address (DNS rebinding) reaches nothing.
* **Body limit**: a body larger than ``max_bytes`` is refused with 413 and the project's JSON
  error before it is buffered — by its ``Content-Length``, or, for a chunked body, as soon as the
  bytes received pass the limit. (WHEP offers keep their own, smaller limit.)
* **Headers**: a Content-Security-Policy that allows only this origin's scripts, styles, media
  and connections and no framing (``frame-ancestors 'none'``), ``X-Content-Type-Options:
  nosniff``, ``Referrer-Policy: same-origin``; ``Strict-Transport-Security`` over TLS. The
  OpenAPI page (``/docs``) loads Swagger UI from its CDN and gets its own policy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'none'"
HSTS = "max-age=31536000"


class BodyTooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException, so FastAPI's body reading passes it on and the
    error mapping answers it (413, JSON)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body: larger than {limit} bytes")


class HttpGuards:
    """Pure ASGI middleware (streaming responses pass through untouched)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int = MAX_BODY_BYTES,
        allowed_hosts: Sequence[str] = ("*",),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.any_host = "*" in allowed_hosts
        self.hosts = frozenset(h.lower() for h in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if not self.any_host:
            host = _host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in self.hosts:
                await refuse(send, 400, "Host: this server does not answer to that name", "Host")
                return
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await refuse(send, 413, f"body: larger than {self.max_bytes} bytes", "body")
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        secure = scope.get("scheme") == "https"
        policy = DOCS_CSP if scope.get("path") == "/docs" else CSP

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = [
                    (b"content-security-policy", policy.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                if secure:
                    extra.append((b"strict-transport-security", HSTS.encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if not started:
                await refuse(send, 413, f"body: larger than {self.max_bytes} bytes", "body")


def _host_name(header: str) -> str:
    """``name:port`` / ``[v6]:port`` → the name, lower case."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


async def refuse(
    send: Send,
    status: int,
    message: str,
    field: str,
    *,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer with the project's JSON error shape before the application sees the request."""
    body = json.dumps({"error": message, "field": field}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
