"""Users in the catalog: add, change, disable, list. Callers own the transaction.

Names are sign-in names (ASCII letters, digits, ``.``, ``_``, ``-``; compared case-blind);
``display_name`` may be any text (a person's name in Chinese). Users are never deleted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from access.passwords import check_policy, hash_password
from access.principal import Principal
from access.roles import Role, format_roles
from recorder.models import User

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
LANGUAGES = ("zh", "en")


class UserError(ValueError):
    """A user operation that cannot be done; ``field`` names the input at fault."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownUser(UserError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no user named {name!r}", field="name")


class UserExists(UserError):
    def __init__(self, name: str) -> None:
        super().__init__(f"a user named {name!r} exists already", field="name")


@dataclass(frozen=True, slots=True)
class NewUser:
    name: str
    roles: frozenset[Role]
    sites: frozenset[str]
    """Empty: every station."""
    password: str
    display_name: str = ""


def check_name(name: str) -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        raise UserError(
            "a user name is 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field="name",
        )
    return name


def check_sites(sites: Iterable[str], known: Iterable[str]) -> frozenset[str]:
    chosen, known_set = frozenset(sites), frozenset(known)
    unknown = sorted(chosen - known_set)
    if unknown:
        raise UserError(f"unknown station {unknown[0]!r}", field="sites")
    return chosen


def find(session: Session, name: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.name) == name.lower())).first()


def get(session: Session, name: str) -> User:
    user = find(session, name)
    if user is None:
        raise UnknownUser(name)
    return user


def add(
    session: Session, new: NewUser, *, known_sites: Iterable[str], min_length: int, now_us: int
) -> User:
    check_name(new.name)
    if not new.roles:
        raise UserError("at least one role is needed", field="roles")
    sites = check_sites(new.sites, known_sites)
    try:
        check_policy(new.name, new.password, min_length=min_length)
    except ValueError as error:
        raise UserError(str(error), field="password") from None
    if find(session, new.name) is not None:
        raise UserExists(new.name)
    user = User(
        name=new.name,
        display_name=new.display_name.strip()[:100],
        password_hash=hash_password(new.password),
        roles=format_roles(new.roles),
        sites=",".join(sorted(sites)),
        language="zh",
        disabled=False,
        created_us=now_us,
        updated_us=now_us,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # added by someone else meanwhile
        raise UserExists(new.name) from None
    return user


def set_password(user: User, password: str, *, min_length: int, now_us: int) -> None:
    try:
        check_policy(user.name, password, min_length=min_length)
    except ValueError as error:
        raise UserError(str(error), field="password") from None
    user.password_hash = hash_password(password)
    user.updated_us = now_us


def roles_of(user: User) -> frozenset[Role]:
    return frozenset(Role(name) for name in user.roles.split(",") if name)


def sites_of(user: User) -> frozenset[str] | None:
    """The stations a user is scoped to; ``None``: every station."""
    sites = frozenset(site for site in user.sites.split(",") if site)
    return sites or None


def principal(
    user: User,
    *,
    session_id: str | None = None,
    csrf: str | None = None,
    token_id: int | None = None,
) -> Principal:
    return Principal(
        user_id=user.id,
        name=user.name,
        display_name=user.display_name or user.name,
        roles=roles_of(user),
        sites=sites_of(user),
        language=user.language,
        session_id=session_id,
        csrf=csrf,
        token_id=token_id,
    )


def listing(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.name)).all()


def describe(user: User) -> dict[str, object]:
    """A user as lists show them (never the hash)."""
    sites = sites_of(user)
    return {
        "name": user.name,
        "display_name": user.display_name,
        "roles": sorted(role.value for role in roles_of(user)),
        "sites": sorted(sites) if sites is not None else [],
        "language": user.language,
        "disabled": user.disabled,
    }
