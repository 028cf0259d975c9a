"""Wall screens: kiosk pages that announce a name, and what an operator pushed to each.

A kiosk page (``/wall/?screen=NAME``) holds the event stream open with ``?screen=NAME``; while it
does, the screen counts as connected. ``push`` remembers the view for the name (so a screen that
reconnects, or connects later, gets it) and broadcasts a ``screen`` event. Event loop only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.events import Event, EventBus


@dataclass
class Screen:
    """One named wall screen."""

    name: str
    connections: int = 0
    view: dict[str, Any] | None = None
    pushed: list[str] = field(default_factory=list)


class ScreenRegistry:
    """Which screens are connected and what they should show."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._screens: dict[str, Screen] = {}

    def connect(self, name: str) -> Screen:
        screen = self._screens.setdefault(name, Screen(name))
        screen.connections += 1
        return screen

    def disconnect(self, name: str) -> None:
        screen = self._screens.get(name)
        if screen is not None:
            screen.connections = max(0, screen.connections - 1)

    def push(self, name: str, cameras: list[str], layout: str) -> dict[str, Any]:
        screen = self._screens.setdefault(name, Screen(name))
        screen.view = {"name": name, "cameras": cameras, "layout": layout}
        self._bus.publish(Event("screen", screen.view))
        return self.describe(screen)

    def get(self, name: str) -> Screen | None:
        return self._screens.get(name)

    def describe(self, screen: Screen) -> dict[str, Any]:
        view = screen.view or {}
        return {
            "name": screen.name,
            "connected": screen.connections > 0,
            "cameras": view.get("cameras", []),
            "layout": view.get("layout"),
        }

    def all(self) -> list[dict[str, Any]]:
        return [self.describe(s) for s in sorted(self._screens.values(), key=lambda s: s.name)]
