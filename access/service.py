"""Sign-in, sessions and API tokens over the catalog.

Procedures:

* **Sign in**: refuse at once while the account or the address is locked out → verify the
  password with Argon2id (against a dummy hash for unknown names, so timing tells nothing) →
  on failure count it for the account and the address → on success forget the account's
  failures, re-hash if the parameters grew, store a new session (the cookie secret only as its
  SHA-256, a fresh CSRF token) and return the secret once.
* **Each request**: the cookie or bearer secret's SHA-256 finds the row; a session ended, past
  its absolute limit or idle for too long, a token revoked or expired, or a disabled user is no
  user at all (401). ``last_seen_us`` / ``last_used_us`` are written at most once a minute.
* **Disable a user** ends every session of theirs at once; their tokens stop working with the
  user (they come back if the user is enabled again; revoke them to end them for good).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from access import users
from access.lockout import Lockout
from access.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from access.principal import Principal
from access.secrets import TOKEN_PREFIX, digest, new_secret
from configs.schema import AccessSettings
from ingest.clock import Clock
from recorder.models import ApiToken, LoginSession, User

logger = logging.getLogger(__name__)

MINUTE_US = 60_000_000
TOUCH_EVERY_US = MINUTE_US
"""How often a session's ``last_seen_us`` (a token's ``last_used_us``) is written at most."""


class SignInFailed(Exception):
    """Wrong name or password (the message never says which)."""


class SignInLocked(Exception):
    """Too many failed sign-ins: the account or address may try again after ``retry_after``;
    ``refusals`` attempts were refused during this lock-out so far."""

    def __init__(self, retry_after: float, refusals: int = 1) -> None:
        super().__init__(f"too many failed sign-ins; try again in {int(retry_after) + 1} s")
        self.retry_after = retry_after
        self.refusals = refusals

    @property
    def worth_recording(self) -> bool:
        """Whether the audit trail records this refusal: the first of a lock-out and then the
        10th, 100th, … — a script hammering a locked account cannot flood the trail, and the
        trail still tells how hard it tried."""
        return self.refusals == 1 or str(self.refusals).rstrip("0") == "1"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: the principal, and the cookie secret (returned this once only)."""

    principal: Principal
    secret: str


class AccessService:
    """Thread-safe; every method runs its own short transaction (call off the event loop)."""

    def __init__(
        self, settings: AccessSettings, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        self.settings = settings
        self._sessions = sessions
        self._clock = clock
        window = settings.lockout_minutes * 60
        self._by_account = Lockout(settings.max_failed_signins, window)
        self._by_address = Lockout(settings.max_failed_signins_per_address, window)
        self._token_hours: dict[int, int] = {}
        self._token_lock = threading.Lock()
        self._noted: dict[tuple[str, str | int], int] = {}
        """(table, session or token id) → its last use noted here (its write may be pending)"""
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="access-use")

    # -- sign-in -----------------------------------------------------------------------------------

    def sign_in(self, name: str, password: str, *, address: str, user_agent: str) -> SignedIn:
        account, place = f"user:{name.casefold()}", f"addr:{address}"
        self._attempt(account, place)
        with self._sessions.begin() as session:
            user = users.find(session, name)
            ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
            if not ok or user is None or user.disabled:
                raise SignInFailed("wrong user name or password")
            self._by_account.succeeded(account)
            self._by_address.succeeded(place)
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            return self._open(session, user, address=address, user_agent=user_agent)

    def _attempt(self, account: str, place: str) -> None:
        """Count a password attempt for the account and the address, or refuse it while either
        is locked out."""
        now = time.monotonic()
        locked = self._by_account.attempt(account, now) or self._by_address.attempt(place, now)
        if locked is not None:
            raise SignInLocked(locked.seconds, locked.refusals)

    def check_password(self, user: User, password: str, *, address: str) -> bool:
        """A signed-in user's password asked again (to change it, to make a token): counted
        against the same lock-out as sign-in."""
        account = f"user:{user.name.casefold()}"
        self._attempt(account, f"addr:{address}")
        ok = verify_password(user.password_hash, password)
        if ok:
            self._by_account.succeeded(account)
        return ok

    def kiosk_sign_in(self, token: str, *, address: str, user_agent: str) -> SignedIn | None:
        """A session for the user of API token ``token`` (a wall screen's kiosk URL)."""
        with self._sessions.begin() as session:
            found = self._token_row(session, token)
            if found is None:
                return None
            row, user = found
            return self._open(
                session, user, address=address, user_agent=user_agent, token_id=row.id
            )

    def _open(
        self,
        session: Session,
        user: User,
        *,
        address: str,
        user_agent: str,
        token_id: int | None = None,
    ) -> SignedIn:
        now_us = self._clock.wall_us()
        secret, csrf = new_secret(), new_secret()
        row = LoginSession(
            id=digest(secret),
            user_id=user.id,
            csrf=csrf,
            created_us=now_us,
            last_seen_us=now_us,
            expires_us=now_us + int(self.settings.session_max_hours * 3600 * 1_000_000),
            # (a kiosk token's session ignores it: it lasts as long as the token, _ended_because)
            address=address[:64],
            user_agent=user_agent[:300],
            via_token_id=token_id,
        )
        session.add(row)
        return SignedIn(users.principal(user, session_id=row.id, csrf=csrf), secret)

    def sign_out(self, session_id: str) -> None:
        with self._sessions.begin() as session:
            self._end(session, LoginSession.id == session_id, "signed_out")

    # -- each request ------------------------------------------------------------------------------

    def from_session(self, secret: str) -> Principal | None:
        now_us = self._clock.wall_us()
        with self._sessions.begin() as session:
            row = session.get(LoginSession, digest(secret))
            if row is None or row.ended_us is not None:
                return None
            user = session.get(User, row.user_id)
            reason = self._ended_because(session, row, user, now_us)
            if reason is not None:
                row.ended_us, row.end_reason = now_us, reason
                return None
            assert user is not None
            self._note_use(LoginSession, row.id, row.last_seen_us, now_us)
            return users.principal(user, session_id=row.id, csrf=row.csrf)

    def _ended_because(
        self, session: Session, row: LoginSession, user: User | None, now_us: int
    ) -> str | None:
        """Why a session no longer stands, or None. A session a kiosk token opened lasts as
        long as the token (no absolute limit: a wall screen has no keyboard to sign in again)."""
        if user is None or user.disabled:
            return "user_disabled"
        if row.via_token_id is not None:
            token = session.get(ApiToken, row.via_token_id)
            if token is None or not _token_usable(token, now_us):
                return "token_revoked"
        elif now_us >= row.expires_us:
            return "expired"
        noted_us = self._noted.get((LoginSession.__tablename__, row.id), 0)
        last_seen_us = max(row.last_seen_us, noted_us)
        if now_us - last_seen_us >= int(self.settings.session_idle_minutes * MINUTE_US):
            return "idle"
        return None

    def from_token(self, token: str) -> Principal | None:
        with self._sessions.begin() as session:
            found = self._token_row(session, token)
            if found is None:
                return None
            row, user = found
            self._note_use(ApiToken, row.id, row.last_used_us, self._clock.wall_us())
            return users.principal(user, token_id=row.id)

    def _note_use(
        self,
        table: type[LoginSession] | type[ApiToken],
        key: str | int,
        stored_us: int | None,
        now_us: int,
    ) -> None:
        """Write a session's ``last_seen_us`` (a token's ``last_used_us``) at most once a minute,
        on a thread of its own: a locked catalog (an outage) must not hold every signed-in
        request for the database's busy timeout. The time is kept here meanwhile."""
        noted = (table.__tablename__, key)
        with self._token_lock:
            if now_us - max(stored_us or 0, self._noted.get(noted, 0)) < TOUCH_EVERY_US:
                return
            if len(self._noted) > 100_000:
                self._noted.clear()
            self._noted[noted] = now_us
        self._writer.submit(self._write_use, table, key, now_us)

    def _write_use(
        self, table: type[LoginSession] | type[ApiToken], key: str | int, now_us: int
    ) -> None:
        column = "last_seen_us" if table is LoginSession else "last_used_us"
        try:
            with self._sessions.begin() as session:
                session.execute(update(table).where(table.id == key).values({column: now_us}))
        except SQLAlchemyError as error:
            logger.warning("the use of a session or token was not written: %s", error)

    def first_use_this_hour(self, token_id: int) -> bool:
        """True at a token's first use in each hour of this process (when its use is audited:
        once an hour, not at every request of a script)."""
        hour = int(time.monotonic() // 3600)
        with self._token_lock:
            if self._token_hours.get(token_id) == hour:
                return False
            self._token_hours[token_id] = hour
            if len(self._token_hours) > 100_000:
                self._token_hours.clear()
            return True

    def session_alive(self, principal: Principal) -> bool:
        """Whether what a long request (a live view, an event stream) started with still
        stands: the session not ended, the token not revoked, the user not disabled, and their
        roles and stations not narrowed since."""
        now_us = self._clock.wall_us()
        with self._sessions() as session:
            if principal.session_id is not None:
                row = session.get(LoginSession, principal.session_id)
                if row is None or row.ended_us is not None:
                    return False
                user = session.get(User, row.user_id)
                if self._ended_because(session, row, user, now_us) not in (None, "idle"):
                    return False  # a live view is use: idleness is for the pages
            elif principal.token_id is not None:
                token = session.get(ApiToken, principal.token_id)
                if token is None or not _token_usable(token, now_us):
                    return False
                user = session.get(User, token.user_id)
            else:
                return False
            if user is None or user.disabled:
                return False
            return (
                users.roles_of(user) == principal.roles and users.sites_of(user) == principal.sites
            )

    # -- users and tokens --------------------------------------------------------------------------

    def end_sessions_of(
        self, session: Session, user: User, reason: str, *, keep: str | None = None
    ) -> None:
        """End every open session of ``user`` but ``keep`` (inside the caller's transaction)."""
        which = LoginSession.user_id == user.id
        if keep is not None:
            which = which & (LoginSession.id != keep)
        self._end(session, which, reason)

    def create_token(
        self, session: Session, user: User, name: str, *, expires_days: float | None
    ) -> tuple[ApiToken, str]:
        """A new API token for ``user``; the secret is returned this once only."""
        now_us = self._clock.wall_us()
        secret = new_secret(TOKEN_PREFIX)
        row = ApiToken(
            user_id=user.id,
            name=name.strip()[:100] or "token",
            secret_hash=digest(secret),
            prefix=secret[:10],
            created_us=now_us,
            expires_us=None if expires_days is None else now_us + int(expires_days * 86_400e6),
        )
        session.add(row)
        session.flush()
        return row, secret

    def revoke_tokens_of(self, session: Session, user: User) -> int:
        """Revoke every token of ``user`` (their password changed); returns how many."""
        result = session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_us.is_(None))
            .values(revoked_us=self._clock.wall_us())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def tokens_of(self, session: Session, user: User) -> Sequence[ApiToken]:
        return session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        ).all()

    def _token_row(self, session: Session, token: str) -> tuple[ApiToken, User] | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        row = session.scalars(select(ApiToken).where(ApiToken.secret_hash == digest(token))).first()
        if row is None or not _token_usable(row, self._clock.wall_us()):
            return None
        user = session.get(User, row.user_id)
        if user is None or user.disabled:
            return None
        return row, user

    def _end(self, session: Session, which: object, reason: str) -> None:
        session.execute(
            update(LoginSession)
            .where(which, LoginSession.ended_us.is_(None))  # type: ignore[arg-type]
            .values(ended_us=self._clock.wall_us(), end_reason=reason)
        )


def _token_usable(token: ApiToken, now_us: int) -> bool:
    return token.revoked_us is None and (token.expires_us is None or now_us < token.expires_us)
