"""An H.265 + G.711 recording reviewed in Chromium, which (without hardware) cannot decode H.265:
the review page asks for H.264, the server makes it from the recording on the way (the files
stay as recorded), and the interrogation plays with its sound."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from browser import CONTEXT, launch, sign_in, wait_for
from playwright.sync_api import Page, sync_playwright
from servers import Server, http

pytestmark = [pytest.mark.media, pytest.mark.timeout(180)]

CASE = "A6103020000002026120013"
ROOM = "讯问室7"


@pytest.fixture(scope="module")
def server(station_sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    camera = {"id": "hik", "name": f"{ROOM} 全景", "area": "interrogation", "room": ROOM,
              "url": station_sim.rtsp_url("hik-main")}  # fmt: skip
    running = Server(tmp_path_factory.mktemp("station-review"), [camera],
                     storage={"segment_seconds": 4}).start()  # fmt: skip
    running.wait_recording("hik")
    yield running
    running.stop()


def stats(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("window.casewatchReview.stats()")
    return result


def test_an_h265_interrogation_plays_in_review(server: Server, tmp_path: Path) -> None:
    assert http.post(
        f"{server.url}/api/v1/cases", json={"number": CASE, "title": "周某案"}
    ).is_success
    opened = http.post(f"{server.url}/api/v1/cases/{CASE}/sessions", json={"room": ROOM})
    assert opened.status_code == 201, opened.text
    time.sleep(8)
    session = opened.json()["id"]
    assert http.post(f"{server.url}/api/v1/sessions/{session}/close", timeout=30).is_success
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(**CONTEXT, viewport={"width": 1400, "height": 900})
        sign_in(context, server.url)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server.url}/wall/review.html?case={CASE}&session={session}")
        page.wait_for_function("document.body.dataset.ready === 'true'")
        assert (
            page.evaluate("MediaSource.isTypeSupported('video/mp4; codecs=\"hvc1.1.6.L120.90\"')")
            is False
        )

        def playing() -> dict[str, Any] | None:
            players = stats(page)["players"]
            if not players or players[0]["stream"] is None:
                return None
            player = players[0]
            return player if (player["framesPresented"] or 0) > 50 else None

        player = wait_for(playing, timeout=30, what="H.265 footage playing as H.264",
                          last=lambda: stats(page)["players"])  # fmt: skip
        browser.close()
    assert player["stream"]["codecs"] == "avc1.640029,flac"  # H.264 made for it; G.711 as FLAC
    assert "video=h264" in player["stream"]["url"]
    assert player["error"] is None and errors == []
    # meanwhile each segment it played got a rendition, kept: the same footage again is a copy
    report = server.get(f"/api/v1/sessions/{session}/report")
    span = {"start": report["cameras"][0]["start"], "end": report["cameras"][0]["end"]}
    kept = server.workdir / "data" / "renditions"
    again = None
    for _ in range(60):
        again = http.get(f"{server.url}/api/v1/playback/hik", params={**span, "video": "h264"})
        if again.headers.get("x-playback-video") == "h264-kept":
            break
        time.sleep(1.0)
    assert again is not None and again.headers["x-playback-video"] == "h264-kept", list(
        kept.glob("*")
    )
    assert again.headers["x-playback-codecs"] == "avc1.640029,flac"
    played = tmp_path / "again.mp4"
    played.write_bytes(again.content)
    with av.open(str(played)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "flac"
        assert sum(1 for _ in container.decode(video=0)) > 100  # the 8 s session, and more
    recorded = http.get(f"{server.url}/api/v1/playback/hik", params=span)
    assert recorded.headers["x-playback-video"] == "recorded"  # as recorded, for H.265 browsers
