"""The video wall in a real headless Chromium: real RTSP cameras, real WebRTC, decoded frames.

One simulator with 16 small cameras and one ``casewatch serve`` for the whole module; each test
opens its own browser context (fresh localStorage) and asserts what an operator would notice:
tiles decoding frames, an offline badge, an alarm row, a tour switching the grid, a screen push.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import (
    CONTEXT,
    sign_in,
    stats_by_camera,
    tile_cameras,
    tile_stats,
    wait_decoding,
    wait_for,
    wait_frames_growing,
)
from playwright.sync_api import Browser, BrowserContext, Page
from servers import Server, http

from api.auth import SESSION_COOKIE
from camsim.harness import SimulatorProcess
from camsim.spec import MountSpec

pytestmark = [pytest.mark.media, pytest.mark.timeout(180)]

MOUNTS = [f"w{i}" for i in range(16)]
ROOMS = ["案管室", "讯问室1", "讯问室2", "询问室"]
AREAS = ["case_room", "interrogation", "interrogation", "inquiry"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def wall_sim() -> Iterator[SimulatorProcess]:
    specs = [
        MountSpec(name=name, width=640, height=360, fps=25, gop=2.0, bitrate=500) for name in MOUNTS
    ]
    with SimulatorProcess(specs, ident=True, loop_seconds=10) as process:
        yield process


@pytest.fixture(scope="module")
def server(
    wall_sim: SimulatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    cameras = [
        {
            "id": mount,
            "name": f"{ROOMS[i % 4]}-{i}",
            "area": AREAS[i % 4],
            "url": wall_sim.rtsp_url(mount),
        }
        for i, mount in enumerate(MOUNTS)
    ]
    instance = Server(
        tmp_path_factory.mktemp("wall"),
        cameras,
        relay={"ice_host_addresses": ["127.0.0.1"]},
        ingest={"stall_seconds": 2},
    )
    instance.start()
    try:
        wait_for(
            lambda: all(c["state"] == "live" for c in instance.get("/api/v1/cameras")["data"]),
            timeout=30,
            what="all cameras live",
            last=lambda: [(c["id"], c["state"]) for c in instance.get("/api/v1/cameras")["data"]],
        )
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    ctx = chromium.new_context(**CONTEXT, viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    yield ctx
    ctx.close()


PAGE_ERRORS: dict[Page, list[str]] = {}


def open_page(context: BrowserContext, server: Server, path: str) -> Page:
    """A new page on ``path``, ready; its uncaught script errors go to ``PAGE_ERRORS``.

    The context signs in once: signing in again ends the browser's earlier session (one browser,
    one session), and with it the live views and event stream of the pages already open."""
    if not any(cookie["name"] == SESSION_COOKIE for cookie in context.cookies(server.url)):
        sign_in(context, server.url)
    page = context.new_page()
    errors = PAGE_ERRORS.setdefault(page, [])
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.url}{path}")
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=10_000)
    page.set_default_timeout(10_000)
    return page


def wait_live_views_ended(server: Server) -> None:
    """Every live view on the server ended (the pages that had them were closed)."""
    wait_for(
        lambda: server.get("/api/v1/live/sessions")["count"] == 0,
        timeout=10,
        what="the closed pages' live views ended",
        last=lambda: server.get("/api/v1/live/sessions")["data"],
    )


def camera_state(server: Server, camera_id: str) -> str:
    return str(server.camera(camera_id)["state"])


def restart_mount(sim: SimulatorProcess, server: Server, mount: str) -> None:
    sim.start_mount(mount)
    wait_for(lambda: camera_state(server, mount) == "live", timeout=20, what=f"{mount} live")


def test_sixteen_tile_kiosk_decodes_everywhere(context: BrowserContext, server: Server) -> None:
    page = open_page(context, server, f"/wall/?cameras={','.join(MOUNTS)}&layout=4x4")
    assert tile_cameras(page) == MOUNTS
    # no tree, panels or header in kiosk mode
    assert not page.locator(".topbar").is_visible()
    assert not page.locator("#sidebar").is_visible()
    first = wait_decoding(page, MOUNTS, timeout=20)
    time.sleep(3)
    later = {cam: entry["framesDecoded"] for cam, entry in stats_by_camera(page).items()}
    stuck = [cam for cam in MOUNTS if later[cam] <= first[cam]]
    assert not stuck, f"tiles stopped decoding: {stuck} {later}"
    assert {entry["stream"] for entry in tile_stats(page)} == {"sub"}
    assert page.locator(".tile .badge.state[data-state='live']").count() == 16
    wait_for(
        lambda: page.locator(".tile .badge.rec.on").count() == 16,
        timeout=10,
        what="every tile shows REC (a stuck '未录像' is the server's recording flag dropping "
        "to false at a segment cut)",
        last=lambda: page.locator(".tile .badge.rec.on").count(),
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "wall.png"))
    assert PAGE_ERRORS[page] == []


def test_flapping_camera_resumes_in_the_same_tile(
    context: BrowserContext, server: Server, wall_sim: SimulatorProcess
) -> None:
    page = open_page(context, server, "/wall/?cameras=w4,w5&layout=2x2")
    wait_decoding(page, ["w4", "w5"], timeout=15)
    tile = page.locator("#wall .tile[data-camera-id='w5']")
    sessions = stats_by_camera(page)["w5"]["sessions"]
    wall_sim.stop_mount("w5")
    try:
        tile.locator(
            ".badge.state[data-state='offline'], .badge.state[data-state='backoff']"
        ).wait_for(timeout=10_000)
        assert tile.locator(".tile-message").inner_text().startswith("摄像机离线")
    finally:
        wall_sim.start_mount("w5")
    wait_frames_growing(page, "w5", timeout=15)
    assert tile.get_attribute("data-tile-index") == "1"
    wait_for(
        lambda: tile.locator(".badge.state").get_attribute("data-state") == "live",
        timeout=10,
        what="live badge",
    )
    # the picture came back on the same peer connection: no reconnect by the tile
    assert stats_by_camera(page)["w5"]["sessions"] == sessions
    wait_frames_growing(page, "w4", timeout=5)


def test_tour_switches_the_grid(context: BrowserContext, server: Server) -> None:
    first, second = MOUNTS[12:16], MOUNTS[8:12]
    tour = {
        "interval_seconds": 3,  # the server's minimum
        "steps": [{"cameras": first, "grid": "2x2"}, {"cameras": second, "grid": "2x2"}],
    }
    http.put(f"{server.url}/api/v1/wall/tours/巡查-测试", json=tour, timeout=10).raise_for_status()
    page = open_page(context, server, "/wall/")
    # a fresh wall fills its first four tiles once the camera list has loaded
    wait_for(lambda: tile_cameras(page) == MOUNTS[0:4], timeout=10, what="the first four cameras",
             last=lambda: tile_cameras(page))  # fmt: skip
    page.locator("#tours-panel > summary").click()
    row = page.locator(".tour-row[data-tour-name='巡查-测试']")
    row.locator(".tour-start").click()
    page.wait_for_function("document.body.dataset.tour === '巡查-测试'")
    assert page.locator("#tour-indicator").is_visible()
    wait_for(lambda: tile_cameras(page) == first, timeout=2, what="first step shown")
    wait_decoding(page, first, timeout=10)
    wait_for(
        lambda: tile_cameras(page) == second,
        timeout=6,
        what="second step shown",
        last=lambda: tile_cameras(page),
    )
    wait_decoding(page, second, timeout=10)
    wait_for(lambda: tile_cameras(page) == first, timeout=6, what="back to the first step")
    row.locator(".tour-stop").click()
    page.wait_for_function("document.body.dataset.tour === undefined")
    shown = tile_cameras(page)
    time.sleep(3.5)
    assert tile_cameras(page) == shown, "the tour kept running after stop"


def test_alarm_panel_offline_alarm_and_acknowledge(
    context: BrowserContext, server: Server, wall_sim: SimulatorProcess
) -> None:
    page = open_page(context, server, "/wall/")
    page.locator(".tree-camera[data-camera-id='w6']").click()
    tile = page.locator("#wall .tile[data-camera-id='w6']")
    tile.wait_for()
    wait_decoding(page, ["w6"], timeout=10)
    counter = page.locator("#alarm-counter")
    before = int(counter.inner_text())
    wall_sim.stop_mount("w6")
    try:
        row = page.locator(
            ".alarm-row[data-camera-id='w6'][data-kind='camera_offline'][data-active='true']"
        )
        row.wait_for(timeout=7_000)
        assert row.get_attribute("data-acked") == "false"
        assert "摄像机离线" in row.inner_text()
        assert "测试派出所" in row.inner_text()
        wait_for(lambda: int(counter.inner_text()) >= before + 1, timeout=3, what="count up")
        wait_for(lambda: "alarm" in (tile.get_attribute("class") or ""), timeout=3, what="red")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "wall-alarm.png"))
        row.locator(".alarm-ack").click()
        wait_for(lambda: row.get_attribute("data-acked") == "true", timeout=5, what="acked")
        assert "已确认" in row.inner_text()
        assert row.locator(".alarm-ack").count() == 0
        wait_for(lambda: "alarm" not in (tile.get_attribute("class") or ""), timeout=3, what="calm")
        wait_for(lambda: int(counter.inner_text()) == before, timeout=3, what="count down")
    finally:
        restart_mount(wall_sim, server, "w6")
    # the camera came back: the alarm clears in the panel and the tile decodes again
    cleared = page.locator(".alarm-row[data-camera-id='w6'][data-active='false']")
    cleared.first.wait_for(timeout=10_000)
    wait_frames_growing(page, "w6", timeout=15)


def test_layouts_fullscreen_drag_and_screen_push(
    context: BrowserContext, chromium: Browser, server: Server, request: pytest.FixtureRequest
) -> None:
    page = open_page(context, server, "/wall/")
    wait_for(  # first visit: the first four cameras, once the camera list has arrived
        lambda: tile_cameras(page) == MOUNTS[0:4],
        timeout=5,
        what="the first four cameras",
        last=lambda: tile_cameras(page),
    )
    page.locator(".grid-btn[data-grid='3x3']").click()
    assert tile_cameras(page) == [*MOUNTS[0:4], None, None, None, None, None]
    page.locator(".tree-camera[data-camera-id='w7']").click()  # next free tile
    page.locator(".tree-camera[data-camera-id='w9']").drag_to(
        page.locator("#wall .tile[data-tile-index='8']")
    )
    page.locator("#wall .tile[data-tile-index='0']").drag_to(
        page.locator("#wall .tile[data-tile-index='1']")
    )
    cells = ["w1", "w0", "w2", "w3", "w7", None, None, None, "w9"]
    assert tile_cameras(page) == cells
    wait_decoding(page, ["w0", "w1", "w7", "w9"], timeout=10)
    assert stats_by_camera(page)["w0"]["sessions"] == 1, "a swap must not reconnect"

    page.fill("#layout-name", "值班-A")
    page.click("#layout-save")
    page.locator("#layout-select option[value='值班-A']").wait_for(state="attached")
    saved = http.get(f"{server.url}/api/v1/wall/layouts", timeout=10).json()["data"]
    assert {"name": "值班-A", "grid": "3x3", "cells": cells} in saved
    page.locator(".grid-btn[data-grid='1x1']").click()
    assert tile_cameras(page) == ["w1"]
    page.select_option("#layout-select", "值班-A")
    page.click("#layout-load")
    wait_for(lambda: tile_cameras(page) == cells, timeout=5, what="layout loaded")

    # full-screen on double-click: the main stream, decoding; double-click again: back to sub
    tile = page.locator("#wall .tile[data-camera-id='w7']")
    tile.dblclick()
    assert "full" in (tile.get_attribute("class") or "")
    box = tile.bounding_box()
    wall_box = page.locator("#wall").bounding_box()
    assert box is not None and wall_box is not None
    assert abs(box["width"] - wall_box["width"]) < 2 and abs(box["height"] - wall_box["height"]) < 2
    wait_for(lambda: stats_by_camera(page)["w7"]["stream"] == "main", timeout=2, what="main")
    wait_frames_growing(page, "w7", timeout=10)
    # the full-screen tile may be unmuted: a new session with audio, the picture goes on
    tile.hover()
    tile.locator(".tile-btn.audio").click()
    wait_for(lambda: stats_by_camera(page)["w7"]["audio"], timeout=2, what="audio requested")
    wait_for(lambda: stats_by_camera(page)["w7"]["phase"] == "connected", timeout=10, what="up")
    wait_frames_growing(page, "w7", timeout=10)
    assert page.evaluate("document.querySelector('.tile.full video').muted") is False
    tile.dblclick()
    assert "full" not in (tile.get_attribute("class") or "")
    assert stats_by_camera(page)["w7"]["stream"] == "sub"
    assert stats_by_camera(page)["w7"]["audio"] is False  # muted again in the grid
    tile.dblclick()
    page.keyboard.press("Escape")
    assert "full" not in (tile.get_attribute("class") or "")

    # a wall screen (a browser of its own) registers through its event stream; the operator
    # pushes the grid to it
    screen = chromium.new_context(**CONTEXT, viewport={"width": 1920, "height": 1080})
    request.addfinalizer(screen.close)
    kiosk = open_page(screen, server, "/wall/?screen=wall-2")
    assert kiosk.locator("#kiosk-waiting").is_visible()
    screens = f"{server.url}/api/v1/wall/screens"
    wait_for(
        lambda: any(
            s["name"] == "wall-2" and s["connected"] for s in http.get(screens).json()["data"]
        ),
        timeout=5,
        what="screen registered",
    )
    page.locator("#screens-panel > summary").click()
    page.click("#screen-refresh")
    page.locator("#screen-select option[value='wall-2']").wait_for(state="attached")
    page.select_option("#screen-select", "wall-2")
    page.click("#screen-push")
    pushed = ["w1", "w0", "w2", "w3", "w7", "w9"]
    wait_for(
        lambda: tile_cameras(kiosk)[: len(pushed)] == pushed,
        timeout=5,
        what="push applied",
        last=lambda: tile_cameras(kiosk),
    )
    assert kiosk.locator("#wall").get_attribute("data-grid") == "3x3"
    wait_decoding(kiosk, pushed, timeout=10)
    assert PAGE_ERRORS[page] == [] and PAGE_ERRORS[kiosk] == []
    kiosk.close()  # the screen switched off: its live views end on the way out
    page.close()
    wait_live_views_ended(server)


def test_language_toggle_is_remembered(
    context: BrowserContext, chromium: Browser, server: Server
) -> None:
    page = open_page(context, server, "/wall/")
    assert page.locator(".topbar h1").inner_text() == "案管中心 · 视频墙"
    page.click("#lang-toggle")
    assert page.locator(".topbar h1").inner_text() == "Case center · Video wall"
    page.reload()
    page.wait_for_function("document.body.dataset.ready === 'true'")
    assert page.locator(".topbar h1").inner_text() == "Case center · Video wall"
    badge = page.locator("#wall .tile .badge.state").first
    wait_for(lambda: badge.inner_text() == "Live", timeout=5, what="English badge")
    # remembered for the user, not the browser: another browser signed in as them starts in it
    elsewhere = chromium.new_context(**CONTEXT, viewport={"width": 1280, "height": 800})
    try:
        other = open_page(elsewhere, server, "/wall/")
        title = other.locator(".topbar h1")
        wait_for(lambda: title.inner_text() == "Case center · Video wall", timeout=5)
        other.click("#lang-toggle")  # back to Chinese, for the tests that follow
        wait_for(lambda: server.get("/api/v1/auth/me")["language"] == "zh", timeout=5)
        # every tile's offer answered, so the page knows each session it ends on the way out (an
        # offer still in flight would be reaped only after relay.connect_timeout_seconds)
        wait_for(
            lambda: (
                (stats := tile_stats(other))
                and all(entry.get("framesDecoded", 0) > 0 for entry in stats)
            ),
            timeout=15,
            what="every tile of the other browser decoding",
        )
        other.close()  # its live views end on the way out
        page.close()
        wait_live_views_ended(server)
    finally:
        elsewhere.close()


def test_session_badge_and_closing_the_page(context: BrowserContext, server: Server) -> None:
    page = open_page(context, server, "/wall/?cameras=w12,w13")
    wait_decoding(page, ["w12", "w13"], timeout=10)
    badge = page.locator("#wall .tile[data-camera-id='w12'] .badge.session")
    assert badge.is_hidden()
    # the event the server sends when an interrogation session opens in the camera's room
    page.evaluate(
        """window.casewatch.model.applySessionEvent({id: 7, case_number: "A6103020000002026110007",
        kind: "interrogation", camera_ids: ["w12"], status: "open"})"""
    )
    assert badge.inner_text() == "审讯中 A6103020000002026110007"
    assert page.locator("#wall .tile[data-camera-id='w13'] .badge.session").is_hidden()
    page.evaluate(
        """window.casewatch.model.applySessionEvent({id: 7, case_number: "A6103020000002026110007",
        kind: "interrogation", camera_ids: ["w12"], status: "closed"})"""
    )
    assert badge.is_hidden()

    def viewing() -> list[str]:
        live = http.get(f"{server.url}/api/v1/live/sessions", timeout=5).json()["data"]
        return sorted(s["camera_id"] for s in live if s["camera_id"] in ("w12", "w13"))

    assert viewing() == ["w12", "w13"]
    page.close()  # the page DELETEs its WHEP sessions on the way out
    wait_for(lambda: viewing() == [], timeout=5, what="sessions deleted", last=viewing)


def test_tiles_come_back_after_a_server_restart(context: BrowserContext, tmp_path: Path) -> None:
    """Its own simulator and server: the simulator can crash when 16 clients leave at once."""
    specs = [
        MountSpec(name=name, width=640, height=360, gop=2.0, bitrate=500) for name in MOUNTS[:2]
    ]
    with SimulatorProcess(specs, ident=True, loop_seconds=10) as sim:
        cameras = [
            {"id": f"r{i}", "name": f"讯问室{i}", "area": "interrogation", "url": sim.rtsp_url(m)}
            for i, m in enumerate(MOUNTS[:2])
        ]
        server = Server(tmp_path, cameras, relay={"ice_host_addresses": ["127.0.0.1"]}).start()
        try:
            page = open_page(context, server, "/wall/?cameras=r0,r1")
            wait_decoding(page, ["r0", "r1"], timeout=15)
            before = {cam: entry["sessions"] for cam, entry in stats_by_camera(page).items()}
            server.stop()
            page.wait_for_function("document.body.dataset.events === 'lost'", timeout=10_000)
            server.start()

            def reconnected() -> bool:
                stats = stats_by_camera(page)
                return all(stats[cam]["sessions"] > before[cam] for cam in ("r0", "r1"))

            wait_for(
                reconnected, timeout=15, what="tiles reconnected", last=lambda: tile_stats(page)
            )
            for camera in ("r0", "r1"):
                wait_frames_growing(page, camera, timeout=20)
            page.wait_for_function("document.body.dataset.events === 'open'", timeout=10_000)
            assert PAGE_ERRORS[page] == []
        finally:
            server.stop()
