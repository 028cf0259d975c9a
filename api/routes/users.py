"""Users, for admins: list, add, change roles / stations / password, disable, their tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from access import users
from access.passwords import MAX_LENGTH
from access.principal import Principal
from access.roles import Permission, Role, format_roles
from api.audit import audit
from api.auth import needs
from api.deps import State
from api.routes.auth import token_json
from configs.schema import IDENTIFIER_PATTERN

router = APIRouter(prefix="/api/v1/users", tags=["users"])

Admin = Annotated[Principal, needs(Permission.USERS_MANAGE)]
UserName = Annotated[str, Path(pattern=users.NAME_PATTERN, description="sign-in name")]
SiteId = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]


class NewUserBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=users.NAME_PATTERN)
    display_name: str = Field(default="", max_length=100)
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    sites: list[SiteId] = Field(default_factory=list, max_length=1000)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=100)
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=len(Role))
    sites: list[SiteId] | None = Field(default=None, max_length=1000)
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=MAX_LENGTH)


def _known_sites(state: Any) -> list[str]:
    return [site.id for site in state.settings.sites]


@router.get("")
def list_users(_admin: Admin, state: State) -> dict[str, Any]:
    with state.sessions() as session:
        rows = users.listing(session)
        return {"data": [users.describe(u) for u in rows], "count": len(rows)}


@router.post("", status_code=201)
def add_user(admin: Admin, body: NewUserBody, request: Request, state: State) -> dict[str, Any]:
    """A new user. The password must meet the policy (``access.password_min_length``…)."""
    with state.sessions.begin() as session:
        user = users.add(
            session,
            users.NewUser(
                body.name, frozenset(body.roles), frozenset(body.sites), body.password,
                body.display_name,
            ),
            known_sites=_known_sites(state),
            min_length=state.settings.access.password_min_length,
            now_us=state.clock.wall_us(),
        )  # fmt: skip
        described = users.describe(user)
    audit(request, "user_add", admin, object_type="user", object_id=body.name, details=described)
    return described


@router.get("/{name}")
def get_user(_admin: Admin, name: UserName, state: State) -> dict[str, Any]:
    with state.sessions() as session:
        user = users.get(session, name)
        tokens = state.access.tokens_of(session, user)
        return {**users.describe(user), "tokens": [token_json(t) for t in tokens]}


@router.patch("/{name}")
def change_user(
    admin: Admin, name: UserName, body: UserChange, request: Request, state: State
) -> dict[str, Any]:
    """Change roles, stations, display name or password, or disable / enable. Disabling (and
    any change of roles, stations or password) ends the user's sessions at once; a password
    reset also revokes their API tokens."""
    now = state.clock.wall_us()
    with state.sessions.begin() as session:
        user = users.get(session, name)
        if body.disabled and user.id == admin.user_id:
            raise users.UserError("you cannot disable yourself", field="disabled")
        ends = False
        if body.display_name is not None:
            user.display_name = body.display_name.strip()
        if body.roles is not None:
            ends |= format_roles(frozenset(body.roles)) != user.roles
            user.roles = format_roles(frozenset(body.roles))
        if body.sites is not None:
            sites = users.check_sites(body.sites, _known_sites(state))
            ends |= ",".join(sorted(sites)) != user.sites
            user.sites = ",".join(sorted(sites))
        if body.password is not None:
            users.set_password(
                user, body.password, min_length=state.settings.access.password_min_length,
                now_us=now,
            )  # fmt: skip
            state.access.revoke_tokens_of(session, user)
            ends = True
        if body.disabled is not None:
            ends |= body.disabled and not user.disabled
            user.disabled = body.disabled
        user.updated_us = now
        if ends:
            state.access.end_sessions_of(session, user, "changed_by_admin")
        described = users.describe(user)
    changed = body.model_dump(exclude_none=True, exclude={"password"})
    if body.password is not None:
        changed["password_reset"] = True
    audit(request, "user_change", admin, object_type="user", object_id=name, details=changed)
    return described
