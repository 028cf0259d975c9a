"""Sign-in attempts lock an account or an address for a while, then it may try again; parallel
attempts cannot slip past the limit, and a locked key is never forgotten to make room."""

from __future__ import annotations

from access.lockout import MAX_KEYS, Locked, Lockout
from access.service import SignInLocked


def test_the_limit_locks_for_the_window_and_success_clears() -> None:
    lockout = Lockout(limit=3, window_seconds=60)
    for t in (0.0, 1.0):
        assert lockout.attempt("user:a", t) is None
    assert lockout.attempt("user:a", 2.0) is None  # the third attempt counts, then the key locks
    assert lockout.locked_for("user:a", 2.0) == 60.0
    assert lockout.attempt("user:a", 30.0) == Locked(32.0, 1)  # refused, and not counted
    assert lockout.attempt("user:a", 31.0) == Locked(31.0, 2)
    assert lockout.locked_for("user:a", 61.0) == 1.0
    assert lockout.attempt("user:a", 62.5) is None  # the lock has passed
    lockout.attempt("user:a", 63.0)
    lockout.attempt("user:a", 64.0)
    assert lockout.attempt("user:a", 65.0) == Locked(59.0, 1)  # a new lock-out counts anew
    lockout.attempt("user:b", 0.0)
    lockout.succeeded("user:b")
    lockout.attempt("user:b", 1.0)
    lockout.attempt("user:b", 2.0)
    assert lockout.locked_for("user:b", 2.0) == 0  # the success took its attempt back


def test_attempts_count_as_they_start() -> None:
    """Five checks running at once (a slow password hash each): the fourth and fifth are
    refused even though none has finished."""
    lockout = Lockout(limit=3, window_seconds=60)
    started = [lockout.attempt("user:a", 0.0) for _ in range(5)]
    assert started[:3] == [None, None, None] and all(started[3:])


def test_old_attempts_expire_and_the_table_is_bounded_but_keeps_locks() -> None:
    lockout = Lockout(limit=2, window_seconds=10)
    lockout.attempt("k", 0.0)
    lockout.attempt("k", 11.0)
    assert lockout.locked_for("k", 11.0) == 0  # the first attempt is out of the window
    lockout.attempt("victim", 20.0)
    lockout.attempt("victim", 20.0)
    assert lockout.locked_for("victim", 20.0) > 0
    for n in range(MAX_KEYS + 100):  # a spray from many addresses
        lockout.attempt(f"addr:{n}", 20.0)
    assert len(lockout._attempts) <= MAX_KEYS + 1
    assert lockout.locked_for("victim", 21.0) > 0  # still locked


def test_a_hammered_lock_out_is_recorded_sparingly() -> None:
    recorded = [n for n in range(1, 2001) if SignInLocked(30.0, n).worth_recording]
    assert recorded == [1, 10, 100, 1000]
