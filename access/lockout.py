"""Failed sign-ins counted per account and per address, with a temporary lock-out.

In memory: a restart forgets the counts, which only gives an attacker one more window. Bounded:
at most ``MAX_KEYS`` keys are tracked (the oldest are forgotten first)."""

from __future__ import annotations

import collections
import threading

MAX_KEYS = 10_000


class Lockout:
    """``limit`` failures of a key within ``window`` seconds lock it for ``window`` seconds from
    the failure that reached the limit."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self._limit = limit
        self._window = window_seconds
        self._failures: collections.OrderedDict[str, list[float]] = collections.OrderedDict()
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def locked_for(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0: it may)."""
        with self._lock:
            return max(0.0, self._locked_until.get(key, 0.0) - now)

    def failed(self, key: str, now: float) -> None:
        with self._lock:
            times = [t for t in self._failures.get(key, []) if now - t < self._window]
            times.append(now)
            if len(times) >= self._limit:
                self._locked_until[key] = now + self._window
                times = []
            self._failures[key] = times
            self._failures.move_to_end(key)
            while len(self._failures) > MAX_KEYS:
                old, _ = self._failures.popitem(last=False)
                self._locked_until.pop(old, None)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
