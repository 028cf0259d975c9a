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

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from access import users
from access.lockout import Lockout
from access.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from access.principal import Principal
from access.secrets import TOKEN_PREFIX, digest, new_secret
from configs.schema import AccessSettings
from ingest.clock import Clock
from recorder.models import ApiToken, LoginSession, User

MINUTE_US = 60_000_000
TOUCH_EVERY_US = MINUTE_US
"""How often a session's ``last_seen_us`` (a token's ``last_used_us``) is written at most."""


class SignInFailed(Exception):
    """Wrong name or password (the message never says which)."""


class SignInLocked(Exception):
    """Too many failed sign-ins: the account or address may try again after ``retry_after``."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed sign-ins; try again in {int(retry_after) + 1} s")
        self.retry_after = retry_after


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

    # -- sign-in -----------------------------------------------------------------------------------

    def sign_in(self, name: str, password: str, *, address: str, user_agent: str) -> SignedIn:
        now = time.monotonic()
        account, place = f"user:{name.casefold()}", f"addr:{address}"
        locked = max(
            self._by_account.locked_for(account, now), self._by_address.locked_for(place, now)
        )
        if locked > 0:
            raise SignInLocked(locked)
        with self._sessions.begin() as session:
            user = users.find(session, name)
            ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
            if not ok or user is None or user.disabled:
                self._by_account.failed(account, now)
                self._by_address.failed(place, now)
                raise SignInFailed("wrong user name or password")
            self._by_account.succeeded(account)
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            return self._open(session, user, address=address, user_agent=user_agent)

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
        idle_us = int(self.settings.session_idle_minutes * MINUTE_US)
        with self._sessions.begin() as session:
            row = session.get(LoginSession, digest(secret))
            if row is None or row.ended_us is not None:
                return None
            reason = None
            if now_us >= row.expires_us:
                reason = "expired"
            elif now_us - row.last_seen_us >= idle_us:
                reason = "idle"
            user = session.get(User, row.user_id)
            if user is None or user.disabled:
                reason = reason or "user_disabled"
            if reason is not None:
                row.ended_us, row.end_reason = now_us, reason
                return None
            assert user is not None
            if now_us - row.last_seen_us >= TOUCH_EVERY_US:
                row.last_seen_us = now_us
            return users.principal(user, session_id=row.id, csrf=row.csrf)

    def from_token(self, token: str) -> Principal | None:
        with self._sessions.begin() as session:
            found = self._token_row(session, token)
            if found is None:
                return None
            row, user = found
            now_us = self._clock.wall_us()
            if row.last_used_us is None or now_us - row.last_used_us >= TOUCH_EVERY_US:
                row.last_used_us = now_us
            return users.principal(user, token_id=row.id)

    def session_alive(self, session_id: str | None, token_id: int | None) -> bool:
        """Whether what a long request (a live view, an event stream) started with still
        stands: the session not ended, the token not revoked, the user not disabled."""
        now_us = self._clock.wall_us()
        with self._sessions() as session:
            if session_id is not None:
                row = session.get(LoginSession, session_id)
                if row is None or row.ended_us is not None or now_us >= row.expires_us:
                    return False
                user = session.get(User, row.user_id)
                return user is not None and not user.disabled
            if token_id is not None:
                token = session.get(ApiToken, token_id)
                if token is None or not _token_usable(token, now_us):
                    return False
                user = session.get(User, token.user_id)
                return user is not None and not user.disabled
        return False

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
