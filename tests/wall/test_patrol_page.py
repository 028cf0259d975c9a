"""The patrol page in Chromium: a patrol user steps through a run's rooms with the keyboard,
watching each room live, and records a conduct problem with a snapshot; the station's user
rectifies it on the findings tab; the bulletin page of the period counts it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser import CONTEXT, sign_in, wait_for
from playwright.sync_api import Browser, Page
from servers import ADMIN_PASSWORD, Server, auth_for, parse_iso

pytestmark = [pytest.mark.media, pytest.mark.timeout(180)]

ROOMS = ["live1", "live2"]


@pytest.fixture(scope="module")
def server(sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cameras = [
        {"id": f"p-{name}", "name": f"讯问室{index}", "area": "interrogation",
         "url": sim.rtsp_url(name)}
        for index, name in enumerate(ROOMS, 1)
    ]  # fmt: skip
    running = Server(
        tmp_path_factory.mktemp("patrol-page"),
        cameras,
        users=[("xuncha", "patrol", []), ("zhanli", "inspector", ["test"])],
        relay={"ice_host_addresses": ["127.0.0.1"]},
    ).start()
    for camera in cameras:
        running.wait_recording(camera["id"])
    yield running
    running.stop()


def page_as(chromium: Browser, server: Server, user: str, path: str) -> Page:
    # a browser far from the branch: the pages still show the branch's (Asia/Shanghai) times
    context = chromium.new_context(
        **CONTEXT, viewport={"width": 1400, "height": 900}, timezone_id="America/New_York"
    )
    sign_in(context, server.url, user, ADMIN_PASSWORD)
    page = context.new_page()
    page.goto(f"{server.url}{path}")
    return page


def live_frames(page: Page) -> int:
    script = """() => {
        const video = document.querySelector('#room-video video');
        return video ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
    }"""
    return int(page.evaluate(script))


def test_a_manual_patrol_by_keyboard_records_a_problem_that_the_station_rectifies(
    chromium: Browser, server: Server
) -> None:
    plan = httpx.post(
        f"{server.url}/api/v1/patrol/plans", headers=auth_for("xuncha"), timeout=30,
        json={"name": "讯问室抽查", "checks": ["online", "recording", "black"]},
    )  # fmt: skip
    assert plan.status_code == 201, plan.text

    page = page_as(chromium, server, "xuncha", "/wall/patrol.html")
    page.get_by_role("button", name="立即巡查").click()
    page.wait_for_selector("#manual:not([hidden])")
    assert page.locator("#room-counter").inner_text() == "房间 1 / 2"
    first_room = page.locator("#room-name").inner_text()
    assert "讯问室" in first_room
    # the room is watched live: frames decoded, not only a page served
    wait_for(lambda: live_frames(page) > 25 or None, timeout=20, what="live frames")
    assert page.locator("#room-results li.bad").count() == 0  # online, recording, not black
    assert page.locator("#room-checklist li").count() == 4

    page.keyboard.press("ArrowRight")
    assert page.locator("#room-counter").inner_text() == "房间 2 / 2"
    assert page.locator("#room-name").inner_text() != first_room
    page.keyboard.press("1")  # the first item: 讯问时两名民警在场 → problem
    assert page.locator("#room-checklist li.problem").count() == 1
    page.locator("#room-note").fill("仅一名民警在场")
    page.locator("#room-note").press("Escape")
    page.keyboard.press("Enter")
    wait_for(
        lambda: "发现问题 1 项" in page.locator("#patrol-status").inner_text() or None,
        timeout=10, what="the visit saved",
    )  # fmt: skip
    page.get_by_role("button", name="结束巡查").click()
    page.wait_for_selector("#tab-runs:not([hidden]) #runs-rows tr")
    row = page.locator("#runs-rows tr").first
    assert "已完成" in row.inner_text()
    run = httpx.get(
        f"{server.url}/api/v1/patrol/runs", headers=auth_for("xuncha"), timeout=10
    ).json()["data"][0]
    shanghai = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(parse_iso(run["started"]) + 8 * 3600))
    assert row.locator("td").first.inner_text() == shanghai

    findings = httpx.get(
        f"{server.url}/api/v1/patrol/findings", headers=auth_for("xuncha"), timeout=10
    ).json()["data"]
    (finding,) = [f for f in findings if f["kind"] == "conduct"]
    assert finding["evidence"][0]["type"] == "snapshot" and finding["description"].endswith(
        "仅一名民警在场"
    )

    # the station's user answers it on the findings tab (no runs tab, no plan form for them)
    station = page_as(chromium, server, "zhanli", "/wall/patrol.html")
    row = station.locator(f"#findings-rows tr[data-finding-id='{finding['id']}']")
    row.wait_for()
    assert station.locator("[data-tab=runs]").is_hidden()
    assert row.locator("img").count() == 1  # the snapshot, decoded by the browser
    wait_for(
        lambda: row.locator("img").evaluate("img => img.naturalWidth") > 0 or None,
        timeout=10, what="the evidence picture",
    )  # fmt: skip
    row.get_by_role("button", name="提交整改").click()
    row.locator("input").fill("已增派民警，落实两人讯问制度")
    row.get_by_role("button", name="确定").click()
    wait_for(
        lambda: "已整改待核查" in station.locator(
            f"#findings-rows tr[data-finding-id='{finding['id']}']"
        ).inner_text() or None,
        timeout=10, what="rectified",
    )  # fmt: skip

    # the bulletin of today counts the patrol, the rooms and the finding
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))
    bulletin = page_as(chromium, server, "xuncha", f"/wall/bulletin.html?start={today}&end={today}")
    bulletin.wait_for_selector("#bulletin-table tr.total")
    total = bulletin.locator("#bulletin-table tr.total td")
    figures = [total.nth(i).inner_text() for i in range(total.count())]
    # patrols, rooms, cameras, failed checks, findings, rectified, on time, overdue, …
    assert figures[:8] == ["1", "2", "2", "0", "1", "1", "1", "0"], figures
    assert "1 次" in bulletin.locator("#bulletin-summary").inner_text()
