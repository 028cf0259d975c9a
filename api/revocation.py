"""Long requests end when their user's right to them does: a live view or an event stream
whose session was signed out or ended by an admin, whose token was revoked, or whose user was
disabled is closed within ``SWEEP_SECONDS`` — also when the change was made on the command line
by another process.

Once per sweep each distinct (session, token) behind a live view or a stream is looked up in the
catalog once (a wall of 36 tiles under one operator costs one indexed read a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging

from access.principal import Principal
from access.service import AccessService
from relay.errors import SessionNotFound
from relay.peers import PeerRegistry

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0

_Key = tuple[str | None, int | None]


def _key(principal: Principal) -> _Key:
    return principal.session_id, principal.token_id


class RevocationWatch:
    """Event loop only."""

    def __init__(self, access: AccessService, live: PeerRegistry) -> None:
        self._access = access
        self._live = live
        self._streams: dict[int, tuple[Principal, asyncio.Event]] = {}
        self._ids = itertools.count()
        self._task: asyncio.Task[None] | None = None

    def watch(self, principal: Principal) -> tuple[int, asyncio.Event]:
        """Register a stream of ``principal``: the event is set when it must end."""
        handle = next(self._ids)
        revoked = asyncio.Event()
        self._streams[handle] = (principal, revoked)
        return handle, revoked

    def streams_of(self, user_id: int) -> int:
        """How many event streams a user has open now."""
        return sum(1 for p, _ in self._streams.values() if p.user_id == user_id)

    def unwatch(self, handle: int) -> None:
        self._streams.pop(handle, None)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def sweep(self) -> None:
        """Close what no longer stands (one catalog read per distinct session or token)."""
        owners: dict[_Key, Principal] = {}
        for session in self._live.sessions():
            if isinstance(session.owner, Principal):
                owners[_key(session.owner)] = session.owner
        for principal, _event in self._streams.values():
            owners[_key(principal)] = principal
        if not owners:
            return
        gone: set[_Key] = set()
        for key, principal in owners.items():
            if not await asyncio.to_thread(self._access.session_alive, principal):
                gone.add(key)
        for handle, (principal, revoked) in list(self._streams.items()):
            if _key(principal) in gone:
                revoked.set()
                self._streams.pop(handle, None)
        for session in self._live.sessions():
            owner = session.owner
            if isinstance(owner, Principal) and _key(owner) in gone:
                logger.info("live view %s of %s closed: sign-in ended", session.id[:8], owner.name)
                with contextlib.suppress(SessionNotFound):
                    await self._live.close(session.id, "the viewer's sign-in ended")

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception:  # a catalog outage must not end the sweeper
                logger.exception("revocation sweep failed; retrying")
