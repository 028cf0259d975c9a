"""The wall-screen registry stays bounded whatever names clients send."""

from __future__ import annotations

import pytest

from monitor.events import EventBus
from monitor.screens import MAX_SCREENS, ScreenRegistry, TooManyScreens


def test_new_names_replace_the_least_recently_used_idle_screen() -> None:
    registry = ScreenRegistry(EventBus())
    registry.push("lobby", ["cam"], "1x1")  # pushed first, never connected
    for index in range(MAX_SCREENS - 1):
        registry.connect(f"wall-{index}")
        registry.disconnect(f"wall-{index}")
    registry.connect("wall-0")  # used again: now the most recent
    registry.connect("newcomer")
    names = {screen["name"] for screen in registry.all()}
    assert len(names) == MAX_SCREENS
    assert "lobby" not in names and "wall-0" in names and "newcomer" in names


def test_when_every_screen_is_connected_a_new_name_is_refused() -> None:
    registry = ScreenRegistry(EventBus())
    for index in range(MAX_SCREENS):
        registry.connect(f"wall-{index}")
    assert not registry.has_room_for("one-more") and registry.has_room_for("wall-3")
    with pytest.raises(TooManyScreens):
        registry.push("one-more", ["cam"], "1x1")
    assert len(registry.all()) == MAX_SCREENS
