"""A signed-in request does not wait for a locked catalog to note the session's use: another
process holds the SQLite catalog's write lock (a real lock, as a backup or a long repair does),
and the session still answers at once; its last use is written once the lock is gone."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from access.roles import Role
from access.service import TOUCH_EVERY_US, AccessService
from access.users import NewUser, add
from configs.schema import AccessSettings
from recorder.db import make_engine, migrate, session_factory
from recorder.models import LoginSession

HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""


class Clock:
    def __init__(self) -> None:
        self.now_us = 1_780_000_000_000_000

    def wall_us(self) -> int:
        return self.now_us

    def monotonic(self) -> float:
        return self.now_us / 1e6


def test_a_locked_catalog_does_not_hold_a_signed_in_request(tmp_path: Path) -> None:
    database = tmp_path / "catalog.db"
    engine = make_engine(f"sqlite:///{database}")
    migrate(engine)
    sessions = session_factory(engine)
    clock = Clock()
    access = AccessService(AccessSettings(), sessions, clock)
    with sessions.begin() as session:
        add(
            session,
            NewUser("inspector1", frozenset({Role.INSPECTOR}), frozenset(), "a long passphrase 7"),
            known_sites=[],
            min_length=12,
            now_us=clock.now_us,
        )
    signed_in = access.sign_in(
        "inspector1", "a long passphrase 7", address="127.0.0.1", user_agent="test"
    )
    clock.now_us += 2 * TOUCH_EVERY_US  # the session's use is due to be written
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        principal = access.from_session(signed_in.secret)
        assert principal is not None and principal.name == "inspector1"
        assert time.monotonic() - started < 5  # not the catalog's 30 s busy timeout
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sessions() as session:
            seen = session.scalar(select(LoginSession.last_seen_us))
        if seen == clock.now_us:
            break
        time.sleep(0.1)
    assert seen == clock.now_us  # written once the catalog was free again
    engine.dispose()
