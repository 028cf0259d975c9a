"""Who a request is, and whether they may: the ``needs(permission)`` guard of every route.

A request carries either ``Authorization: Bearer TOKEN`` (scripts, third-party WHEP players) or
the session cookie set at sign-in (the browser pages). A cookie request that changes state must
also send the session's CSRF token in ``X-CSRF-Token`` (the pages read it from the
``casewatch_csrf`` cookie, which other sites cannot read), so a page elsewhere cannot act with
the user's cookie; SameSite=Strict cookies are the second lock on that door.

Every route declares the one permission it needs with ``needs``; the guard keeps it as an
attribute, so a test can walk ``app.routes`` and find any route without one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response

from access.audit import Outcome
from access.principal import Principal
from access.roles import Permission
from access.secrets import same
from api.audit import audit
from api.errors import Forbidden, Unauthorized
from api.state import AppState

SESSION_COOKIE = "casewatch_session"
CSRF_COOKIE = "casewatch_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def authenticate(request: Request) -> Principal:
    """The request's user, or 401. Runs in the thread pool (one indexed catalog read)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    state: AppState = request.app.state.casewatch
    token = bearer_token(request)
    if token is not None:
        principal = state.access.from_token(token)
        if principal is None:
            raise Unauthorized("the API token is not valid (unknown, revoked or expired)")
        if principal.token_id is not None and state.access.first_use_this_hour(principal.token_id):
            audit(request, "token_use", principal, object_type="token",
                  object_id=str(principal.token_id))  # fmt: skip
    else:
        secret = request.cookies.get(SESSION_COOKIE)
        if not secret:
            raise Unauthorized("sign in first")
        principal = state.access.from_session(secret)
        if principal is None:
            raise Unauthorized("the session has ended; sign in again")
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if principal.csrf is None or not same(sent, principal.csrf):
                raise Forbidden(
                    f"a request made with the session cookie must send the {CSRF_HEADER} header",
                    field=CSRF_HEADER,
                )
    request.state.principal = principal
    return principal


def needs(permission: Permission) -> Any:
    """The dependency of a route that needs ``permission``; its value is the ``Principal``."""

    def guard(
        request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Principal:
        if not principal.can(permission):
            audit(
                request, "access_denied", principal, object_type="route",
                object_id=f"{request.method} {request.url.path}", outcome=Outcome.DENIED,
                details={"needs": permission.value},
            )  # fmt: skip
            raise Forbidden(f"your roles do not allow this ({permission.value})")
        return principal

    guard.permission = permission  # type: ignore[attr-defined]
    guard.__name__ = f"needs_{permission.value}"
    return Depends(guard)


def set_session_cookies(response: Response, secret: str, csrf: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE, secret, httponly=True, samesite="strict", secure=secure, path="/"
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, httponly=False, samesite="strict", secure=secure, path="/"
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""
