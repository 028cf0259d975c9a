"""The review page in a real headless Chromium: a real server recording two real RTSP cameras of
one room, an interrogation session opened and closed through the API, then an inspector's path —
search the case, play the session, seek to an instant and see decoded frames of that instant on
both cameras, kept together on one clock; step a frame, change speed, tag a stretch with mark in /
mark out, and read the completeness report (printable).

Times on the page are checked the way the page maps them: the stream's ``X-Playback-Start`` (wall
time of media time 0) plus the element's media time since that stream's ``timestampOffset``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import CONTEXT, launch, sign_in, wait_for
from playwright.sync_api import Browser, Page, sync_playwright
from servers import Server, http, iso, parse_iso

from camsim.harness import SimulatorProcess
from camsim.spec import MountSpec

pytestmark = [pytest.mark.media, pytest.mark.timeout(180)]

CASE = "A6103020000002026110021"
ROOM = "讯问室1"
CAMERAS = ["int-a", "int-b"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SESSION_SECONDS = 12


@pytest.fixture(scope="module")
def review_sim() -> Iterator[SimulatorProcess]:
    specs = [
        MountSpec(name=name, width=640, height=360, fps=25, gop=1.0, bitrate=500)
        for name in ("ra", "rb")
    ]
    with SimulatorProcess(specs, ident=True, loop_seconds=10) as process:
        yield process


@pytest.fixture(scope="module")
def server(
    review_sim: SimulatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    cameras = [
        {
            "id": camera_id,
            "name": f"{ROOM} {label}",
            "area": "interrogation",
            "room": ROOM,
            "url": review_sim.rtsp_url(mount),
        }
        for camera_id, mount, label in (("int-a", "ra", "全景"), ("int-b", "rb", "特写"))
    ]
    instance = Server(tmp_path_factory.mktemp("review"), cameras, storage={"segment_seconds": 4})
    instance.start()
    try:
        for camera_id in CAMERAS:
            instance.wait_recording(camera_id)
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def session(server: Server) -> dict[str, Any]:
    """A closed interrogation session of about 12 s on both cameras of the room."""
    created = http.post(f"{server.url}/api/v1/cases", json={"number": CASE, "title": "王某诈骗案"})
    assert created.status_code == 201, created.text
    time.sleep(8)  # footage before the session too: a seek there is not buffered yet
    opened = http.post(
        f"{server.url}/api/v1/cases/{CASE}/sessions",
        json={"room": ROOM, "persons": ["王五"], "officers": ["李警官"]},
    )
    assert opened.status_code == 201, opened.text
    time.sleep(SESSION_SECONDS)
    closed = http.post(
        f"{server.url}/api/v1/sessions/{opened.json()['id']}/close",
        timeout=30,
    )
    assert closed.status_code == 200, closed.text
    return dict(server.get(f"/api/v1/sessions/{opened.json()['id']}"))


@pytest.fixture(scope="module")
def page(server: Server, session: dict[str, Any]) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser: Browser = launch(playwright)
        context = browser.new_context(
            **CONTEXT, viewport={"width": 1600, "height": 1000}, locale="zh-CN"
        )
        sign_in(context, server.url)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(f"{server.url}/wall/review.html")
        tab.wait_for_function("document.body.dataset.ready === 'true'", timeout=10_000)
        tab.set_default_timeout(10_000)
        yield tab
        assert errors == [], errors
        browser.close()


def stats(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("window.casewatchReview.stats()")
    return result


def mapped_wall(player: dict[str, Any]) -> float:
    """Wall time (s) of what the element shows, through the stream's X-Playback-Start."""
    stream = player["stream"]
    return float(
        parse_iso(stream["startHeader"]) + player["currentTime"] - stream["timestampOffset"]
    )


def showing(page: Page, target: float, tolerance: float) -> list[dict[str, Any]] | None:
    """Both players settled on ``target`` with a frame presented there, or None."""
    players = stats(page)["players"]
    for player in players:
        if player["stream"] is None or player["seeking"] or player["readyState"] < 2:
            return None
        if abs(mapped_wall(player) - target) > tolerance:
            return None
        if player["lastFrameMediaTime"] is None:
            return None
        if abs(player["lastFrameMediaTime"] - player["currentTime"]) > 0.1:
            return None
    return players


def test_inspector_plays_seeks_tags_and_reads_the_report(
    page: Page, server: Server, session: dict[str, Any]
) -> None:
    start, end = parse_iso(session["start"]), parse_iso(session["end"])
    assert end - start >= SESSION_SECONDS - 1

    # search the case by number, person, station and day; open it, play its session
    page.fill("#search-q", CASE)
    page.fill("#search-person", "王五")
    page.select_option("#search-site", "test")
    # the day on the branch's calendar (Asia/Shanghai), whatever the browser's zone
    page.fill("#search-date", time.strftime("%Y-%m-%d", time.gmtime(start + 8 * 3600)))
    page.click("#search-go")
    page.locator(f"#results li[data-case='{CASE}']").wait_for()
    assert page.locator("#results li").count() == 1
    page.click(f"#results li[data-case='{CASE}'] button")
    item = page.locator(f"#case-sessions li[data-session-id='{session['id']}']")
    assert "王五" in item.inner_text() and "李警官" in item.inner_text()
    item.locator("button.play").click()
    wait_for(
        lambda: all(
            (p["totalVideoFrames"] or 0) > 5 and p["framesPresented"] > 5
            for p in stats(page)["players"]
        ),
        timeout=20,
        what="both cameras decoding",
        last=lambda: stats(page)["players"],
    )
    first_frame_ms = [p["seekLatencies"][0] for p in stats(page)["players"] if p["seekLatencies"]]

    # pause, seek to session start + 6 s: both show that instant, frames decoded there
    page.click("#btn-play")
    wait_for(lambda: not stats(page)["playing"], timeout=5, what="paused")
    target = start + 6
    before = [len(p["seekLatencies"]) for p in stats(page)["players"]]
    page.fill("#seek-input", iso(target))
    page.press("#seek-input", "Enter")
    players = wait_for(
        lambda: showing(page, target, 1.0),
        timeout=10,
        what="frames at session start + 6 s",
        last=lambda: stats(page)["players"],
    )
    for player in players:
        assert abs(mapped_wall(player) - target) < 0.1, player
        assert player["wallMs"] / 1000 == pytest.approx(mapped_wall(player), abs=0.01)
    seek_ms = [p["seekLatencies"][n] for p, n in zip(players, before, strict=True)]

    # play: frames keep coming, the picture changes, the two cameras stay together
    page.click("#btn-play")
    frames = [(p["totalVideoFrames"], p["framesPresented"]) for p in stats(page)["players"]]
    shot = page.locator("video[data-camera-id='int-a']").screenshot()
    drifts = []
    for _ in range(12):
        time.sleep(0.25)
        now = stats(page)["players"]
        drifts.append(abs(now[0]["wallMs"] - now[1]["wallMs"]) / 1000)
    assert page.locator("video[data-camera-id='int-a']").screenshot() != shot  # ident clock moves
    after = stats(page)["players"]
    for (total, presented), player in zip(frames, after, strict=True):
        assert player["totalVideoFrames"] - total >= 25, player  # ≥ 1 s of 25 fps in 3 s
        assert player["framesPresented"] - presented >= 15, player  # requestVideoFrameCallback
        assert player["status"] == "ready" and not player["paused"], player
    assert max(drifts) <= 0.2, drifts
    clock = stats(page)["clock"] / 1000
    assert target + 1.5 < clock < target + 6, clock
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review.png"))

    # a seek to footage not loaded yet (before the session): a new stream from its keyframe
    page.click("#btn-play")
    wait_for(lambda: not stats(page)["playing"], timeout=5, what="paused")
    earlier = start - 6
    assert not any(  # not buffered: the first stream began at the session's start
        a <= earlier - p["origin"] / 1000 <= b
        for p in stats(page)["players"]
        for a, b in p["buffered"]
    )
    before = [len(p["seekLatencies"]) for p in stats(page)["players"]]
    page.fill("#seek-input", iso(earlier))
    page.press("#seek-input", "Enter")
    players = wait_for(
        lambda: showing(page, earlier, 1.0),
        timeout=10,
        what="frames before the session",
        last=lambda: stats(page)["players"],
    )
    for player in players:
        assert abs(mapped_wall(player) - earlier) < 0.1, player
        assert parse_iso(player["stream"]["startHeader"]) <= earlier, player["stream"]
    cold_seek_ms = [p["seekLatencies"][n] for p, n in zip(players, before, strict=True)]

    # play at 2×, then pause and click the timeline: that moment is shown
    page.click("#speeds button[data-rate='2']")
    page.click("#btn-play")
    wait_for(
        lambda: (
            stats(page)["rate"] == 2
            and any(
                abs(p["playbackRate"] - 2) < 0.5 and not p["paused"] for p in stats(page)["players"]
            )
        ),
        timeout=5,
        what="playing at 2x",
        last=lambda: stats(page)["players"],
    )
    page.click("#speeds button[data-rate='1']")
    page.click("#btn-play")
    wait_for(lambda: not stats(page)["playing"], timeout=5, what="paused")
    view = stats(page)["timeline"]
    box = page.locator("#timeline").bounding_box()
    assert box is not None and view is not None
    clicked = start + 3
    ratio = (clicked * 1000 - view["start"]) / (view["end"] - view["start"])
    x = view["labelPx"] + ratio * (box["width"] - view["labelPx"])
    page.mouse.click(box["x"] + x, box["y"] + box["height"] - 5)
    wait_for(
        lambda: showing(page, clicked, 0.2),
        timeout=10,
        what="timeline click",
        last=lambda: stats(page)["players"],
    )

    # frame step: one frame (1/25 s) forward, paused
    shown = stats(page)["players"][0]["currentTime"]
    page.click("#btn-step-fwd")
    wait_for(
        lambda: abs(stats(page)["players"][0]["currentTime"] - shown - 0.04) < 0.005,
        timeout=5,
        what="one frame forward",
        last=lambda: stats(page)["players"][0],
    )

    # mark in / mark out while watching → a tag of both cameras
    page.click("#btn-mark-in")
    mark_in = stats(page)["clock"] / 1000
    page.fill("#seek-input", iso(mark_in + 2))
    page.press("#seek-input", "Enter")
    page.click("#btn-mark-out")
    page.select_option("#tag-kind", "identification")
    page.fill("#tag-persons", "王五, 赵六")
    page.fill("#tag-note", "辨认过程")
    page.click("#tag-save")
    page.locator("#case-tags li[data-tag-id]").first.wait_for()
    tags = server.get(f"/api/v1/cases/{CASE}")["tags"]
    assert len(tags) == 1, tags
    tag = tags[0]
    assert tag["kind"] == "identification" and sorted(tag["camera_ids"]) == CAMERAS
    assert tag["persons"] == ["王五", "赵六"] and tag["note"] == "辨认过程"
    assert parse_iso(tag["start"]) == pytest.approx(mark_in, abs=0.01)
    assert parse_iso(tag["end"]) == pytest.approx(mark_in + 2, abs=0.01)

    # the completeness report: both cameras, readable, printable without controls
    page.locator(f"#case-sessions li[data-session-id='{session['id']}'] button.report-btn").click()
    page.locator("#report-view").wait_for(state="visible")
    for camera_id in CAMERAS:
        section = page.locator(f"#report .report-camera[data-camera-id='{camera_id}']")
        assert camera_id in section.inner_text() and "%" in section.inner_text()
    assert page.locator("#report .report-verdict").get_attribute("data-complete") == "true"
    assert page.locator("#report .report-segments td.hash").count() >= 4
    page.emulate_media(media="print")
    assert page.locator("#report").is_visible()
    for hidden in ("#report-print", ".sidebar", ".controls", ".topbar"):
        assert not page.locator(hidden).first.is_visible(), hidden
    page.pdf(path=str(ARTIFACTS / "review-report.pdf"), format="A4")
    page.emulate_media(media="screen")
    page.screenshot(path=str(ARTIFACTS / "review-report.png"))
    page.click("#report-close")

    # English labels on demand
    page.click("#lang-toggle")
    assert page.locator("#search-go").inner_text() == "Search"
    page.click("#lang-toggle")
    assert page.locator("#search-go").inner_text() == "检索"

    print(
        f"\nseek → first frame: opening the session {first_frame_ms} ms, "
        f"buffered (session start + 6 s) {seek_ms} ms, "
        f"new stream (session start − 6 s) {cold_seek_ms} ms "
        f"(median {statistics.median(first_frame_ms + seek_ms + cold_seek_ms):.0f} ms); "
        f"camera drift max {max(drifts):.3f} s"
    )
