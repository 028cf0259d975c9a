"""Failed sign-ins counted per account and per address, with a temporary lock-out.

In memory: a restart forgets the counts, which only gives an attacker one more window. Bounded:
at most ``MAX_KEYS`` keys are tracked (the oldest are forgotten first)."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

MAX_KEYS = 10_000


@dataclass(frozen=True, slots=True)
class Locked:
    """An attempt refused: ``seconds`` until the key may try again, ``refusals`` the attempts
    refused during this lock-out, this one included."""

    seconds: float
    refusals: int


class Lockout:
    """``limit`` attempts of a key within ``window`` seconds that did not succeed lock it for
    ``window`` seconds from the attempt that reached the limit.

    Every attempt counts as it starts (``attempt``), and a success takes it back
    (``succeeded``): parallel guesses cannot slip past the limit while a slow password check is
    running. A locked key is never forgotten to make room."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self._limit = limit
        self._window = window_seconds
        self._attempts: collections.OrderedDict[str, list[float]] = collections.OrderedDict()
        self._locked_until: dict[str, float] = {}
        self._refusals: dict[str, int] = {}
        self._lock = threading.Lock()

    def locked_for(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0: it may)."""
        with self._lock:
            return self._locked(key, now)

    def attempt(self, key: str, now: float) -> Locked | None:
        """Count an attempt of ``key`` unless it is locked (then ``Locked`` says for how long);
        None: the attempt counts and may go ahead."""
        with self._lock:
            locked = self._locked(key, now)
            if locked > 0:
                self._refusals[key] = refusals = self._refusals.get(key, 0) + 1
                return Locked(locked, refusals)
            times = [t for t in self._attempts.get(key, []) if now - t < self._window]
            times.append(now)
            if len(times) >= self._limit:
                self._locked_until[key] = now + self._window
                times = []
            self._attempts[key] = times
            self._attempts.move_to_end(key)
            self._evict(now)
            return None

    def succeeded(self, key: str) -> None:
        """The attempt succeeded: the key's failures are forgotten."""
        with self._lock:
            self._attempts.pop(key, None)

    def _locked(self, key: str, now: float) -> float:
        until = self._locked_until.get(key)
        if until is None:
            return 0.0
        if until <= now:
            del self._locked_until[key]
            self._refusals.pop(key, None)
            return 0.0
        return until - now

    def _evict(self, now: float) -> None:
        for key in list(self._attempts):
            if len(self._attempts) <= MAX_KEYS:
                break
            if self._locked(key, now) == 0:
                del self._attempts[key]
