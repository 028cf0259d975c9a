"""An H.265 camera on the wall in Chromium: its grid tile plays the H.264 sub-stream as it is;
full screen plays the H.265 main stream through the camera's one H.264 rendition, which a second
screen watching the same camera shares (no second encoder)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser import CONTEXT, sign_in, stats_by_camera, wait_for
from playwright.sync_api import Browser, Page
from servers import Server, http

pytestmark = [pytest.mark.media, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def server(station_sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    camera = {"id": "hik", "name": "讯问室6", "area": "interrogation", "record": False,
              "url": station_sim.rtsp_url("hik-main"),
              "substream_url": station_sim.rtsp_url("hik-sub")}  # fmt: skip
    running = Server(
        tmp_path_factory.mktemp("station-wall"),
        [camera],
        relay={"ice_host_addresses": ["127.0.0.1"]},
    ).start()
    wait_for(lambda: running.camera("hik")["state"] == "live", timeout=20, what="hik live")
    yield running
    running.stop()


def kiosk(chromium: Browser, server: Server, layout: str) -> Page:
    context = chromium.new_context(**CONTEXT, viewport={"width": 1280, "height": 720})
    sign_in(context, server.url)
    page = context.new_page()
    page.goto(f"{server.url}/wall/?cameras=hik&layout={layout}")
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=10_000)
    return page


def decoding(page: Page, at_least: int) -> dict[str, Any] | None:
    entry = stats_by_camera(page).get("hik")
    return entry if entry and entry.get("framesDecoded", 0) >= at_least else None


def transcode_viewers(server: Server) -> str:
    text = http.get(f"{server.url}/metrics").text
    return "".join(line for line in text.splitlines() if "live_transcode_viewers{" in line)


def test_an_h265_camera_plays_on_the_wall(chromium: Browser, server: Server) -> None:
    grid = kiosk(chromium, server, "2x2")
    tile = wait_for(lambda: decoding(grid, 25), timeout=20, what="the grid tile decoding")
    assert tile["stream"] == "sub" and (tile["width"], tile["height"]) == (320, 180)
    assert transcode_viewers(server) == ""  # the sub-stream is H.264: nothing to transcode
    first = kiosk(chromium, server, "1x1")
    second = kiosk(chromium, server, "1x1")
    for page in (first, second):
        full = wait_for(lambda p=page: decoding(p, 50), timeout=20, what="H.265 via H.264")
        assert full["stream"] == "main" and (full["width"], full["height"]) == (640, 360)
    assert 'camera="hik"} 2.0' in transcode_viewers(server)  # one encoder, two viewers
    for page in (grid, first, second):
        page.context.close()
    wait_for(lambda: transcode_viewers(server) == "", timeout=10, what="the rendition stopped")
