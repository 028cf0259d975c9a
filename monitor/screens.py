"""Wall screens: kiosk pages that announce a name, and what an operator pushed to each.

A kiosk page (``/wall/?screen=NAME``) holds the event stream open with ``?screen=NAME``; while it
does, the screen counts as connected. ``push`` remembers the view for the name (so a screen that
reconnects, or connects later, gets it) and broadcasts a ``screen`` event. Event loop only.

The registry is bounded: it remembers at most ``MAX_SCREENS`` names. A new name beyond that
takes the place of the screen least recently connected or pushed to that is not connected now;
when every remembered screen is connected, the new name is refused (``TooManyScreens``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from monitor.events import Event, EventBus

MAX_SCREENS = 64
"""Wall screens a node remembers (a wall has a few dozen at most)."""


class TooManyScreens(Exception):
    """Every remembered screen is connected; a new name cannot be added."""

    def __init__(self) -> None:
        super().__init__(f"{MAX_SCREENS} wall screens are connected; no room for another name")
        self.message = str(self)


@dataclass
class Screen:
    """One named wall screen."""

    name: str
    connections: int = 0
    view: dict[str, Any] | None = None
    pushed: list[str] = field(default_factory=list)
    used: int = 0
    """When it last connected or was pushed to (a counter: higher is more recent)."""


class ScreenRegistry:
    """Which screens are connected and what they should show."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._screens: dict[str, Screen] = {}
        self._uses = itertools.count(1)

    def _screen(self, name: str) -> Screen:
        """The screen of ``name``, made room for when new; raises ``TooManyScreens``."""
        screen = self._screens.get(name)
        if screen is None:
            if len(self._screens) >= MAX_SCREENS:
                idle = [s for s in self._screens.values() if s.connections == 0]
                if not idle:
                    raise TooManyScreens
                del self._screens[min(idle, key=lambda s: s.used).name]
            screen = self._screens[name] = Screen(name)
        screen.used = next(self._uses)
        return screen

    def has_room_for(self, name: str) -> bool:
        """Whether ``name`` can connect now (known, or room can be made for it)."""
        return (
            name in self._screens
            or len(self._screens) < MAX_SCREENS
            or any(s.connections == 0 for s in self._screens.values())
        )

    def connect(self, name: str) -> Screen:
        screen = self._screen(name)
        screen.connections += 1
        return screen

    def disconnect(self, name: str) -> None:
        screen = self._screens.get(name)
        if screen is not None:
            screen.connections = max(0, screen.connections - 1)

    def push(self, name: str, cameras: list[str], layout: str) -> dict[str, Any]:
        screen = self._screen(name)
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
