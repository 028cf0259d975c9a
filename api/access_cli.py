"""``casewatch user …``, ``token create`` and ``audit verify``: access on the command line.

There is no default account: the first admin is made here (``casewatch user add NAME --role
admin --config FILE``). A password is typed twice at a terminal, or read as two lines from
standard input when it is not one (scripts). ``token create`` prints the new bearer token alone
on its last line. Every change is written to the audit trail as done by the operating-system
user on the command line. ``audit verify`` checks the trail offline. Problems are one line on
stderr and exit status 2 (``ConfigError``).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from access import users
from access.audit import AuditTrail, Record
from access.roles import parse_roles
from access.service import AccessService
from configs.loader import ConfigError, load_settings
from configs.schema import Settings

EXIT_OK, EXIT_PROBLEMS = 0, 1


def read_password(prompt: str = "password") -> str:
    """Twice at a terminal (they must match), else two lines of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"{prompt}: ")
        second = getpass.getpass(f"{prompt} (again): ")
    else:
        first, second = sys.stdin.readline().rstrip("\r\n"), sys.stdin.readline().rstrip("\r\n")
    if not first:
        raise ConfigError("password: none given (type it twice, or send two lines on stdin)")
    if first != second:
        raise ConfigError("password: the two entries differ")
    return first


@dataclass
class _Catalog:
    settings: Settings
    session: Session
    access: AccessService
    trail: AuditTrail

    def audit(self, action: str, object_type: str, object_id: str, **details: Any) -> None:
        """Record a change made here, by the operating-system user, once it is committed."""
        self.pending.append(
            Record(
                action,
                user=f"{getpass.getuser()}@cli"[:64],
                address="localhost",
                user_agent="casewatch command line",
                object_type=object_type,
                object_id=object_id,
                details=details,
            )
        )

    pending: list[Record] = field(default_factory=list)


@contextmanager
def _catalog(config: Path) -> Iterator[_Catalog]:
    from api.app import node_audit_trail
    from api.preflight import error_line, open_catalog
    from ingest.clock import SystemClock
    from recorder.db import session_factory

    settings = load_settings(config)
    engine = open_catalog(settings, upgrade=True)
    sessions = session_factory(engine)
    clock = SystemClock()
    access = AccessService(settings.access, sessions, clock)
    try:
        with sessions.begin() as session:
            catalog = _Catalog(
                settings, session, access, node_audit_trail(settings, sessions, clock)
            )
            yield catalog
        for record in catalog.pending:
            catalog.trail.append(record)
    except users.UserError as error:
        raise ConfigError(f"{error.field}: {error}") from None
    except SQLAlchemyError as error:
        raise ConfigError(f"database.url: the catalog failed: {error_line(error)}") from None
    finally:
        engine.dispose()


def _now() -> int:
    from ingest.clock import SystemClock

    return SystemClock().wall_us()


def cmd_user_add(args: argparse.Namespace) -> int:
    try:
        roles = parse_roles(args.role)
    except ValueError as error:
        raise ConfigError(f"--role: {error}") from None
    _valid_name(args.name)
    password = read_password()
    with _catalog(args.config) as catalog:
        settings = catalog.settings
        user = users.add(
            catalog.session,
            users.NewUser(args.name, roles, frozenset(args.site), password, args.display_name),
            known_sites=[site.id for site in settings.sites],
            min_length=settings.access.password_min_length,
            now_us=_now(),
        )
        catalog.audit("user_add", "user", user.name, **users.describe(user))
        print(
            f"added user {user.name} ({user.roles}"
            + (f"; stations {user.sites})" if user.sites else ")")
        )
    return EXIT_OK


def _valid_name(name: str) -> bool:
    try:
        users.check_name(name)
    except users.UserError as error:
        raise ConfigError(f"name: {error}") from None
    return True


def cmd_user_passwd(args: argparse.Namespace) -> int:
    _valid_name(args.name)
    password = read_password("new password")
    with _catalog(args.config) as catalog:
        user = users.get(catalog.session, args.name)
        users.set_password(
            user, password, min_length=catalog.settings.access.password_min_length, now_us=_now()
        )
        catalog.access.end_sessions_of(catalog.session, user, "password_changed")
        revoked = catalog.access.revoke_tokens_of(catalog.session, user)
        catalog.audit("user_change", "user", user.name, password_reset=True, tokens_revoked=revoked)
        print(
            f"password of {user.name} changed; their sessions were ended and {revoked} API "
            "token(s) revoked"
        )
    return EXIT_OK


def _set_disabled(disabled: bool) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        _valid_name(args.name)
        with _catalog(args.config) as catalog:
            user = users.get(catalog.session, args.name)
            user.disabled = disabled
            user.updated_us = _now()
            if disabled:
                catalog.access.end_sessions_of(catalog.session, user, "user_disabled")
            catalog.audit("user_change", "user", user.name, disabled=disabled)
            print(f"{user.name} {'disabled; their sessions were ended' if disabled else 'enabled'}")
        return EXIT_OK

    return command


def cmd_user_list(args: argparse.Namespace) -> int:
    with _catalog(args.config) as catalog:
        rows = users.listing(catalog.session)
        print(f"{'name':<20} {'roles':<32} {'stations':<24} state")
        for user in rows:
            print(
                f"{user.name:<20} {user.roles:<32} {user.sites or '(all)':<24} "
                f"{'disabled' if user.disabled else 'active'}"
            )
    return EXIT_OK


def cmd_token_create(args: argparse.Namespace) -> int:
    _valid_name(args.name)
    with _catalog(args.config) as catalog:
        user = users.get(catalog.session, args.name)
        if user.disabled:
            raise ConfigError(f"name: {user.name} is disabled")
        row, secret = catalog.access.create_token(
            catalog.session, user, args.label, expires_days=args.expires_days
        )
        catalog.audit("token_create", "token", str(row.id), user=user.name, label=args.label)
        expiry = f"expires in {args.expires_days:g} days" if args.expires_days else "no expiry"
        print(f"token {row.id} ({row.prefix}…) for {user.name}, {expiry}; keep it secret:")
        print(secret)
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check the audit trail offline; exit 0 when intact, 1 naming every problem."""
    from access.audit import verify
    from evidence.signing import SigningKeyError, load_public
    from evidence.signing import verify as check_signature

    with _catalog(args.config) as catalog:
        try:
            if args.key is not None:
                public = load_public(args.key.read_bytes())
            else:
                from evidence.signing import load_or_create

                public = load_or_create(catalog.settings.export.signing_key).private.public_key()
        except (OSError, SigningKeyError) as error:
            raise ConfigError(f"--key: {error}") from None
        report = verify(catalog.session, lambda sig, data: check_signature(public, sig, data))
    for problem in report.problems:
        print(f"problem: {problem}")
    covered = report.last_checkpoint_id or 0
    print(
        f"checked {report.entries} audit entries and {report.checkpoints} signed checkpoints "
        f"(entries up to {covered} covered by a signature): "
        + ("intact" if report.intact else f"{len(report.problems)} problems")
    )
    return EXIT_OK if report.intact else EXIT_PROBLEMS


def _positive_days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 3650:
        raise argparse.ArgumentTypeError("between 0 and 3650 days")
    return value


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    with_config: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add ``user`` and ``token`` to the ``casewatch`` parser."""
    user = commands.add_parser("user", help="add, change, disable and list users")
    actions = user.add_subparsers(dest="action", required=True)

    add = actions.add_parser("add", help="add a user (password typed twice, or 2 stdin lines)")
    add.add_argument("name", help="sign-in name")
    add.add_argument(
        "--role",
        required=True,
        help="operator, inspector, patrol, auditor, admin (comma-separated)",
    )
    add.add_argument(
        "--site", action="append", default=[], help="scope to this station (repeatable)"
    )
    add.add_argument("--display-name", default="", help="the person's name as pages show it")
    with_config(add)
    add.set_defaults(func=cmd_user_add)

    passwd = actions.add_parser("passwd", help="set a user's password (ends their sessions)")
    passwd.add_argument("name")
    with_config(passwd)
    passwd.set_defaults(func=cmd_user_passwd)

    for action, disabled, text in (
        ("disable", True, "disable a user (ends their sessions and live views)"),
        ("enable", False, "enable a disabled user"),
    ):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("name")
        with_config(sub)
        sub.set_defaults(func=_set_disabled(disabled))

    listing = actions.add_parser("list", help="list users")
    with_config(listing)
    listing.set_defaults(func=cmd_user_list)

    token = commands.add_parser("token", help="API tokens for scripts and WHEP players")
    token_actions = token.add_subparsers(dest="action", required=True)
    create = token_actions.add_parser("create", help="a bearer token for NAME (last line)")
    create.add_argument("name", help="the user the token acts as")
    create.add_argument("--expires-days", type=_positive_days, default=None)
    create.add_argument("--label", default="command line", help="what the token is for")
    with_config(create)
    create.set_defaults(func=cmd_token_create)

    trail = commands.add_parser("audit", help="the audit trail")
    trail_actions = trail.add_subparsers(dest="action", required=True)
    check = trail_actions.add_parser(
        "verify", help="check every entry and signed checkpoint; exit 1 naming what was changed"
    )
    check.add_argument(
        "--key",
        type=Path,
        default=None,
        help="the node's public key (PEM) you trust (default: from export.signing_key)",
    )
    with_config(check)
    check.set_defaults(func=cmd_audit_verify)
