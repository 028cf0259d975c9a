"""Reconnect delays that grow with each failure and reset after healthy uptime."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay before the next connection attempt.

    ``next_delay()`` returns ``initial``, then grows by ``factor`` up to ``maximum``.
    ``connected_for(seconds)`` resets the sequence once a connection stayed healthy for
    ``reset_after`` seconds, so a camera that flaps once a day reconnects fast every time.
    """

    initial: float
    factor: float
    maximum: float
    reset_after: float
    _failures: int = field(default=0, init=False)

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * self.factor**self._failures)
        self._failures += 1
        return delay

    def connected_for(self, seconds: float) -> None:
        if seconds >= self.reset_after:
            self._failures = 0

    def reset(self) -> None:
        """Start again from ``initial`` (the thing being retried works again)."""
        self._failures = 0

    @property
    def failures(self) -> int:
        return self._failures
