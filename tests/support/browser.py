"""Test support: the system Chromium driven by Playwright, and polling helpers for the wall page.

Never ``playwright install``: the Debian ``chromium`` package is used as it is, headless, with
everything that would reach the network switched off.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Browser, BrowserContext, Page, Playwright
from servers import ADMIN, ADMIN_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]

T = TypeVar("T")

CONTEXT: dict[str, Any] = {"bypass_csp": True}
"""Browser context options of every test: the pages' Content-Security-Policy forbids eval, which
the test driver itself needs for ``evaluate`` and ``wait_for_function`` (the pages never do)."""


def sign_in(
    context: BrowserContext, base_url: str, name: str = ADMIN, password: str = ADMIN_PASSWORD
) -> None:
    """Sign the browser context in (its cookies are the context's, as after the sign-in page)."""
    response = context.request.post(
        f"{base_url}/api/v1/auth/login", data={"name": name, "password": password}
    )
    assert response.ok, response.text()


def launch(playwright: Playwright, *, home: Path | None = None) -> Browser:
    """Headless system Chromium; ``home`` gives it a home directory (e.g. one whose NSS database
    trusts a test CA: ``tls.home_trusting``)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        env={**os.environ, "HOME": str(home)} if home is not None else None,
    )


def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.25,
    what: str = "condition",
    last: Callable[[], Any] | None = None,
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``last()`` for context."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            context = last() if last is not None else None
            raise AssertionError(f"{what} not met within {timeout} s; last: {context}")
        time.sleep(interval)


def tile_stats(page: Page) -> list[dict[str, Any]]:
    """``window.casewatch.tileStats()``: one entry per tile with a camera."""
    stats: list[dict[str, Any]] = page.evaluate("window.casewatch.tileStats()")
    return stats


def stats_by_camera(page: Page) -> dict[str, dict[str, Any]]:
    return {entry["camera_id"]: entry for entry in tile_stats(page)}


def tile_cameras(page: Page) -> list[str | None]:
    """Camera id of every tile in tile order (None for an empty tile)."""
    cells: list[str | None] = page.eval_on_selector_all(
        "#wall .tile",
        "tiles => tiles.sort((a, b) => a.dataset.tileIndex - b.dataset.tileIndex)"
        ".map(t => t.dataset.cameraId || null)",
    )
    return cells


def wait_decoding(page: Page, cameras: list[str], *, timeout: float) -> dict[str, int]:
    """Wait until each camera's tile decoded a frame; returns framesDecoded per camera."""

    def probe() -> dict[str, int] | None:
        stats = stats_by_camera(page)
        frames = {cam: int(stats[cam]["framesDecoded"]) for cam in cameras if cam in stats}
        return frames if len(frames) == len(cameras) and min(frames.values()) > 0 else None

    return wait_for(
        probe, timeout=timeout, what=f"frames decoded in {cameras}", last=lambda: tile_stats(page)
    )


def wait_frames_growing(page: Page, camera: str, *, timeout: float, gap: float = 1.0) -> int:
    """Wait until the tile of ``camera`` decodes new frames (two samples ``gap`` apart)."""
    deadline = time.monotonic() + timeout
    before = stats_by_camera(page).get(camera, {}).get("framesDecoded", 0)
    while time.monotonic() < deadline:
        time.sleep(gap)
        now = stats_by_camera(page).get(camera, {}).get("framesDecoded", 0)
        if now > before > 0 or (now > 0 and before == 0 and now > 5):
            return int(now)
        before = now
    raise AssertionError(f"{camera}: frames not growing; last {stats_by_camera(page).get(camera)}")
