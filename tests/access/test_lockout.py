"""Failed sign-ins lock an account or an address for a while, then it may try again."""

from __future__ import annotations

from access.lockout import MAX_KEYS, Lockout


def test_the_limit_locks_for_the_window_and_success_clears() -> None:
    lockout = Lockout(limit=3, window_seconds=60)
    for t in (0.0, 1.0):
        lockout.failed("user:a", t)
        assert lockout.locked_for("user:a", t) == 0
    lockout.failed("user:a", 2.0)
    assert lockout.locked_for("user:a", 2.0) == 60.0
    assert lockout.locked_for("user:a", 61.0) == 1.0
    assert lockout.locked_for("user:a", 62.5) == 0  # the window has passed
    lockout.failed("user:b", 0.0)
    lockout.succeeded("user:b")
    lockout.failed("user:b", 1.0)
    lockout.failed("user:b", 2.0)
    assert lockout.locked_for("user:b", 2.0) == 0  # the success reset the count


def test_old_failures_expire_and_the_table_is_bounded() -> None:
    lockout = Lockout(limit=2, window_seconds=10)
    lockout.failed("k", 0.0)
    lockout.failed("k", 11.0)
    assert lockout.locked_for("k", 11.0) == 0  # the first failure is out of the window
    for n in range(MAX_KEYS + 100):
        lockout.failed(f"addr:{n}", 0.0)
    assert len(lockout._failures) == MAX_KEYS
