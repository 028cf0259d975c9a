"""A third-party WHEP player on another origin: Eyevinn's ``@eyevinn/webrtc-player``, unmodified
(bundled by ``./run test`` from the npm registry), on a page served from another port — another
origin — plays a camera with a bearer token once that origin is in ``server.cors_origins``: the
preflights pass, the player reads ``Location`` and ends its session with ``DELETE``. From an
origin not in the list the preflight is refused and nothing plays."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from browser import CONTEXT, wait_for
from playwright.sync_api import Browser, Page
from servers import Server, free_port, http, token_for

pytestmark = pytest.mark.media

PLAYER = Path(__file__).resolve().parents[1] / "support" / "whep_player" / "build" / "player.js"
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><script src="player.js"></script></head>
<body><video id="video" muted autoplay playsinline></video>
<script>
  window.play = async (url, token) => {
    window.player = new ThirdPartyWhep.WebRTCPlayer({
      video: document.getElementById("video"), type: "whep", iceServers: [],
    });
    await window.player.load(new URL(url), `Bearer ${token}`);
  };
  window.frames = () => document.getElementById("video").getVideoPlaybackQuality().totalVideoFrames;
</script></body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def player_site(root: Path) -> ThreadingHTTPServer:
    """The player's page, served from another origin (another port of 127.0.0.1)."""
    assert PLAYER.exists(), f"{PLAYER} is missing: ./run test builds it (npm registry)"
    (root / "index.html").write_text(PAGE)
    (root / "player.js").write_bytes(PLAYER.read_bytes())
    site = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), functools.partial(QuietHandler, directory=str(root))
    )
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site


@pytest.fixture(scope="module")
def player_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An origin in ``server.cors_origins``."""
    site = player_site(tmp_path_factory.mktemp("player-site"))
    yield f"http://127.0.0.1:{site.server_address[1]}"
    site.shutdown()


@pytest.fixture(scope="module")
def stranger_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An origin not in ``server.cors_origins``."""
    site = player_site(tmp_path_factory.mktemp("stranger-site"))
    yield f"http://127.0.0.1:{site.server_address[1]}"
    site.shutdown()


@pytest.fixture(scope="module")
def server(
    sim: Any, player_origin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    camera = {"id": "room-7", "name": "询问室7", "url": sim.rtsp_url("m7"), "record": False}
    running = Server(
        tmp_path_factory.mktemp("cors"),
        [camera],
        users=[("player", "operator", [])],
        server={"cors_origins": [player_origin]},
        relay={"ice_host_addresses": ["127.0.0.1"]},
    ).start()
    yield running
    running.stop()


def playing(chromium: Browser, server: Server, origin: str) -> tuple[Page, list[str]]:
    """The player's page on ``origin``, asked to play the camera with the user's token; the page
    and what its console said."""
    page = chromium.new_context(**CONTEXT).new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{origin}/index.html")
    whep = f"{server.url}/api/v1/live/room-7/whep"
    page.evaluate("([url, token]) => window.play(url, token)", [whep, token_for("player")])
    return page, console


def live_sessions(server: Server) -> int:
    return int(http.get(f"{server.url}/api/v1/live/sessions").json()["count"])


def test_a_third_party_player_on_an_allowed_origin_plays_and_hangs_up(
    chromium: Browser, server: Server, player_origin: str
) -> None:
    page, console = playing(chromium, server, player_origin)
    wait_for(
        lambda: page.evaluate("window.frames()") > 50,
        timeout=20,
        what="frames decoded by the third-party player",
        last=lambda: console[-5:],
    )
    assert live_sessions(server) == 1  # admin sees every viewer's session
    page.evaluate("window.player.unload()")  # DELETE on the Location it read
    wait_for(lambda: live_sessions(server) == 0, timeout=10, what="the session ended")
    page.close()


def test_a_player_on_an_origin_not_in_the_list_is_refused(
    chromium: Browser, server: Server, stranger_origin: str
) -> None:
    page, console = playing(chromium, server, stranger_origin)
    wait_for(
        lambda: (
            page.evaluate("window.frames()") == 0  # (lets the console events in)
            and any("CORS" in line for line in console)
        ),
        timeout=10,
        what="the browser's CORS refusal",
        last=lambda: console[-5:],
    )
    assert page.evaluate("window.frames()") == 0
    assert live_sessions(server) == 0  # the offer never reached the server
    page.close()
