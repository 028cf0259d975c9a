"""Which methods a path takes, and which other origins may use them (CORS).

* **Allow**: ``OPTIONS`` on any route answers ``204`` with ``Allow`` listing every method some
  route takes at that path (several routes often share one: ``GET`` and ``PATCH
  /cases/{number}``); every ``405`` carries the same list. A route that exists only to answer
  405 with an explanation (WHEP's ``PATCH``: no trickle ICE) is not in it.
* **CORS**: pages of the origins in ``server.cors_origins`` (none by default; the wall's own
  origin needs none) may call the API and WHEP with a bearer token — a third-party WHEP player,
  an integration. Preflights are answered for the methods of the path (WHEP's ``PATCH``
  included, so such a player reads its 405); responses expose ``Location``, ``ETag`` and
  ``Link`` (WHEP) and the API's own headers. Credentials (cookies) are never allowed across
  origins: the session cookie stays with the wall's pages; another origin signs in with a token.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http_guards import refuse

ALLOWED_REQUEST_HEADERS = (
    "authorization", "content-type", "if-match", "if-none-match", "accept", "accept-language",
)  # fmt: skip
EXPOSED_HEADERS = (
    "Location", "ETag", "Link", "Retry-After", "Content-Disposition", "X-Playback-Start",
)  # fmt: skip
PREFLIGHT_MAX_AGE = 600


@dataclass(frozen=True, slots=True)
class PathMethods:
    """What the routes of a path take: ``allow`` (for ``Allow``) and ``answered`` (``allow``
    plus the methods a route answers only to explain 405 — what a preflight lets through)."""

    allow: frozenset[str]
    answered: frozenset[str]

    def header(self) -> bytes:
        return ", ".join(sorted(self.allow | {"OPTIONS"})).encode()


def _route_methods(route: BaseRoute) -> tuple[frozenset[str], bool]:
    """(methods, whether the route only ever answers 405)."""
    if isinstance(route, Mount):  # static pages
        return frozenset({"GET", "HEAD"}), False
    if isinstance(route, Route):
        explains = getattr(route, "status_code", None) == 405
        return frozenset(route.methods or ()), explains
    return frozenset(), False


class RouteMethods:
    """The methods of each path, found from the application's routes (``routes()`` is called
    when first asked, after every router is included)."""

    def __init__(self, routes: Callable[[], Iterable[BaseRoute]]) -> None:
        self._routes = routes
        self._table: list[tuple[re.Pattern[str], frozenset[str], bool]] | None = None

    def at(self, path: str) -> PathMethods | None:
        """The methods at ``path``; None when no route has it."""
        if self._table is None:
            self._table = [
                (route.path_regex, *_route_methods(route))
                for route in self._routes()
                if isinstance(route, (Route, Mount))
            ]
        allow: set[str] = set()
        answered: set[str] = set()
        found = False
        for pattern, methods, explains in self._table:
            if pattern.match(path):
                found = True
                answered |= methods
                if not explains:
                    allow |= methods
        return PathMethods(frozenset(allow), frozenset(answered)) if found else None


class MethodsAndOrigins:
    """Pure ASGI middleware: answers ``OPTIONS`` (plain and CORS preflight), completes every 405's
    ``Allow``, and adds the CORS headers for an allowed origin."""

    def __init__(self, app: ASGIApp, *, routes: RouteMethods, origins: Sequence[str]) -> None:
        self.app = app
        self.routes = routes
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        foreign = bool(origin) and origin != _own_origin(scope, headers)
        allowed_origin = foreign and origin in self.origins
        methods = self.routes.at(scope["path"])
        if scope["method"] == "OPTIONS" and methods is not None:
            requested = headers.get(b"access-control-request-method")
            if foreign and requested is not None:
                await self._preflight(send, origin, allowed_origin, requested, headers, methods)
            else:
                await _answer(send, 204, [(b"allow", methods.header())])
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra: list[tuple[bytes, bytes]] = []
                if message["status"] == 405 and methods is not None:
                    extra.append((b"allow", methods.header()))
                if allowed_origin:
                    extra += _cors_headers(origin)
                    extra.append((b"access-control-expose-headers",
                                  ", ".join(EXPOSED_HEADERS).encode()))  # fmt: skip
                if extra:
                    names = {name for name, _ in extra}
                    kept = [(k, v) for k, v in message.get("headers", []) if k not in names]
                    message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _preflight(
        self,
        send: Send,
        origin: str,
        allowed_origin: bool,
        requested: bytes,
        headers: dict[bytes, bytes],
        methods: PathMethods,
    ) -> None:
        if not allowed_origin:
            await refuse(
                send, 403, f"Origin: {origin} may not use this server (server.cors_origins)",
                "Origin",
            )  # fmt: skip
            return
        method = requested.decode("latin-1").strip().upper()
        if method not in methods.answered:
            await refuse(send, 405, f"method: {method} is not taken here", "method",
                         extra=[(b"allow", methods.header())])  # fmt: skip
            return
        asked = headers.get(b"access-control-request-headers", b"").decode("latin-1").lower()
        unknown = sorted(
            {h.strip() for h in asked.split(",") if h.strip()} - set(ALLOWED_REQUEST_HEADERS)
        )
        if unknown:
            await refuse(send, 403, f"headers: {', '.join(unknown)} may not be sent", "headers")
            return
        answered = ", ".join(sorted(methods.answered | {"OPTIONS"})).encode()
        await _answer(
            send,
            204,
            [
                (b"allow", methods.header()),
                *_cors_headers(origin),
                (b"access-control-allow-methods", answered),
                (b"access-control-allow-headers", ", ".join(ALLOWED_REQUEST_HEADERS).encode()),
                (b"access-control-max-age", str(PREFLIGHT_MAX_AGE).encode()),
            ],
        )


def _own_origin(scope: Scope, headers: dict[bytes, bytes]) -> str:
    """This server's origin as the client reached it (scheme and Host)."""
    host = headers.get(b"host", b"").decode("latin-1").lower()
    return f"{scope.get('scheme', 'http')}://{host}"


def _cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin")]


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", b"0")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b""})
