"""Sign-in and one's own account: sign in / out, who am I, language, password, API tokens."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from access import users
from access.audit import Outcome
from access.passwords import MAX_LENGTH
from access.principal import Principal
from access.roles import Permission
from access.secrets import digest
from access.service import SignInFailed, SignInLocked
from api.audit import audit, audit_async
from api.auth import (
    SESSION_COOKIE,
    authenticate,
    clear_session_cookies,
    client_address,
    needs,
    set_session_cookies,
)
from api.deps import MAX_ID, State
from api.errors import NotFound, Unauthorized
from ingest.clock import isoformat_us
from recorder.models import ApiToken, User

router = APIRouter(prefix="/api/v1/auth", tags=["sign-in"])

SignedIn = Annotated[Principal, needs(Permission.SIGNED_IN)]


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class AccountChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str = Field(pattern="^(zh|en)$")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current: str = Field(min_length=1, max_length=MAX_LENGTH)
    new: str = Field(min_length=1, max_length=MAX_LENGTH)


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="what the token is for")
    password: str = Field(
        min_length=1, max_length=MAX_LENGTH, description="one's password, asked again"
    )
    expires_days: float | None = Field(default=None, gt=0, le=3650)


def me(principal: Principal) -> dict[str, Any]:
    return {
        "name": principal.name,
        "display_name": principal.display_name,
        "roles": sorted(role.value for role in principal.roles),
        "permissions": sorted(p.value for p in principal.permissions),
        "sites": sorted(principal.sites) if principal.sites is not None else None,
        "language": principal.language,
        "via": "token" if principal.token_id is not None else "session",
    }


def token_json(token: ApiToken) -> dict[str, Any]:
    def iso(value: int | None) -> str | None:
        return isoformat_us(value) if value is not None else None

    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created": isoformat_us(token.created_us),
        "expires": iso(token.expires_us),
        "revoked": iso(token.revoked_us),
        "last_used": iso(token.last_used_us),
    }


@router.post("/login")
async def login(body: Credentials, request: Request, response: Response, state: State) -> Any:
    """Sign in with a name and password: sets the session cookie (HttpOnly, SameSite=Strict)
    and the CSRF cookie whose value cookie requests that change state send back in
    ``X-CSRF-Token``. Wrong credentials: 401; too many failures: 429 with Retry-After."""
    try:
        signed = await asyncio.to_thread(
            state.access.sign_in,
            body.name,
            body.password,
            address=client_address(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except SignInFailed as error:
        await audit_async(
            request, "sign_in", None, user=body.name[:64], outcome=Outcome.FAILED,
            details={"reason": str(error)},
        )  # fmt: skip
        raise
    except SignInLocked as error:
        if error.worth_recording:
            await audit_async(
                request, "sign_in", None, user=body.name[:64], outcome=Outcome.DENIED,
                details={"reason": str(error), "refused": error.refusals},
            )  # fmt: skip
        raise
    await audit_async(request, "sign_in", signed.principal)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:  # the browser's earlier session ends: one browser, one session
        await asyncio.to_thread(state.access.sign_out, digest(previous))
    assert signed.principal.csrf is not None
    secure = request.url.scheme == "https"
    set_session_cookies(response, signed.secret, signed.principal.csrf, secure=secure)
    return {"user": me(signed.principal), "csrf_token": signed.principal.csrf}


@router.post("/logout", status_code=204)
async def logout(request: Request, response: Response, state: State) -> None:
    """End this session (its cookie stops working at once) and clear the cookies; with a
    session that has already ended, just clear them. A live session needs the CSRF header like
    any change (another site cannot sign the user out)."""
    secret = request.cookies.get(SESSION_COOKIE)
    principal = await asyncio.to_thread(state.access.from_session, secret) if secret else None
    if principal is not None:
        await asyncio.to_thread(authenticate, request)  # the CSRF check
        assert principal.session_id is not None
        await asyncio.to_thread(state.access.sign_out, principal.session_id)
        await audit_async(request, "sign_out", principal)
    clear_session_cookies(response)


@router.get("/me")
def whoami(principal: SignedIn, state: State) -> dict[str, Any]:
    """The signed-in user: roles, permissions, stations (null: all), language, and the
    branch's time zone, in which the pages show every time."""
    return {**me(principal), "timezone": state.settings.timezone}


@router.patch("/me")
def change_account(principal: SignedIn, body: AccountChange, state: State) -> dict[str, Any]:
    """Remember the user's language (not audited: a preference, not an action)."""
    with state.sessions.begin() as session:
        user = session.get(User, principal.user_id)
        assert user is not None
        user.language = body.language
        user.updated_us = state.clock.wall_us()
        return me(users.principal(user))


@router.post("/password", status_code=204)
def change_password(
    principal: SignedIn, body: PasswordChange, request: Request, state: State
) -> None:
    """Change one's own password (the current one is asked again, counted against the sign-in
    lock-out); one's other sessions end and one's API tokens are revoked."""
    with state.sessions.begin() as session:
        user = session.get(User, principal.user_id)
        assert user is not None
        if not state.access.check_password(user, body.current, address=client_address(request)):
            raise Unauthorized("the current password is wrong", field="current")
        users.set_password(
            user,
            body.new,
            min_length=state.settings.access.password_min_length,
            now_us=state.clock.wall_us(),
        )
        state.access.end_sessions_of(session, user, "password_changed", keep=principal.session_id)
        revoked = state.access.revoke_tokens_of(session, user)
    audit(
        request, "password_change", principal, object_type="user", object_id=principal.name,
        details={"tokens_revoked": revoked},
    )  # fmt: skip


@router.get("/tokens")
def list_tokens(principal: SignedIn, state: State) -> dict[str, Any]:
    """One's own API tokens (never their secrets)."""
    with state.sessions() as session:
        user = session.get(User, principal.user_id)
        assert user is not None
        rows = state.access.tokens_of(session, user)
        return {"data": [token_json(t) for t in rows], "count": len(rows)}


@router.post("/tokens", status_code=201)
def create_token(
    principal: SignedIn, body: TokenRequest, request: Request, state: State
) -> dict[str, Any]:
    """A bearer token acting as oneself, with one's roles and stations (the password is asked
    again: a borrowed session cannot mint lasting access). The secret is in this answer only."""
    with state.sessions.begin() as session:
        user = session.get(User, principal.user_id)
        assert user is not None
        if not state.access.check_password(user, body.password, address=client_address(request)):
            raise Unauthorized("the password is wrong", field="password")
        row, secret = state.access.create_token(
            session, user, body.name, expires_days=body.expires_days
        )
        created = token_json(row)
    audit(request, "token_create", principal, object_type="token", object_id=str(created["id"]))
    return {**created, "token": secret}


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(
    principal: SignedIn,
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    state: State,
) -> None:
    """Revoke one of one's own tokens (admins: anyone's)."""
    with state.sessions.begin() as session:
        row = session.get(ApiToken, token_id)
        mine = row is not None and row.user_id == principal.user_id
        if row is None or not (mine or principal.can(Permission.USERS_MANAGE)):
            raise NotFound(f"no token {token_id}", field="token_id")
        if row.revoked_us is None:
            row.revoked_us = state.clock.wall_us()
    audit(request, "token_revoke", principal, object_type="token", object_id=str(token_id))
