"""WHEP live view with a client that is not the browser (aiortc): real RTSP camera, real WebRTC."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import hevc_client
import httpx
import pytest
from servers import AUTH, http
from whep_client import WhepViewer

pytestmark = pytest.mark.media

RELAY = {"ice_host_addresses": ["127.0.0.1"], "connect_timeout_seconds": 2}


def camera(mount: str, sim: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": mount,
        "name": f"讯问室 {mount}",
        "area": "interrogation",
        "url": sim.rtsp_url(mount),
        "record": False,
        **extra,
    }


def wait_live(server: Any, camera_id: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.camera(camera_id)["state"] == "live":
            return
        time.sleep(0.1)
    raise AssertionError(server.camera(camera_id))


def test_non_browser_client_plays_video_and_audio(sim: Any, make_server: Any) -> None:
    server = make_server([camera("live1", sim)], relay=RELAY).start()
    wait_live(server, "live1")
    time.sleep(1.5)  # join mid-GOP: the viewer must not wait for the next keyframe

    async def scenario() -> tuple[WhepViewer, bool, int, int]:
        viewer = WhepViewer(server.url, "live1", audio=True)
        response = await viewer.start()
        assert response.status_code == 201, response.text
        assert response.headers["content-type"].startswith("application/sdp")
        assert response.headers["location"].startswith("/api/v1/live/sessions/")
        got = await viewer.wait_frames(50, within=10)
        await asyncio.sleep(0.5)
        listed = server.get("/api/v1/live/sessions")["count"]
        deleted = await viewer.delete()
        again = await viewer.delete()
        assert again == 404
        await viewer.close()
        return viewer, got, listed, deleted

    viewer, got, listed, deleted = asyncio.run(scenario())
    received = viewer.received
    assert got, f"only {received.video_frames} frames decoded"
    assert received.sizes == {(640, 360)}
    assert received.first_frame_at is not None
    # the cached GOP is replayed: the first picture does not wait for the camera's next IDR
    assert received.first_frame_at - viewer.posted_at < 1.0
    assert received.audio_frames > 20 and received.audio_peak > 1000  # the simulator's tone
    assert listed == 1 and deleted == 204
    assert server.get("/api/v1/live/sessions")["count"] == 0


def test_bad_requests_get_clear_errors(sim: Any, make_server: Any) -> None:
    server = make_server(
        [camera("live1", sim), camera("live2", sim, enabled=False)],
        relay={**RELAY, "max_peers_per_camera": 1},
    ).start()
    wait_live(server, "live1")
    whep = f"{server.url}/api/v1/live/live1/whep"
    sdp = {"Content-Type": "application/sdp"}

    def post(url: str, body: str, headers: dict[str, str] = sdp) -> httpx.Response:
        return http.post(url, content=body, headers=headers, timeout=10)

    cases = [
        (post(f"{server.url}/api/v1/live/nope/whep", "v=0"), 404, "camera"),
        (post(f"{server.url}/api/v1/live/live2/whep", "v=0"), 409, "camera"),
        (post(whep, "v=0", {"Content-Type": "application/json"}), 415, "content-type"),
        (post(whep, ""), 400, "sdp"),
        (post(whep, "hello"), 400, "sdp"),
        (post(whep, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"), 400, "sdp"),
        (post(whep, "v=0\r\n" + "a=x\r\n" * 20000), 413, "sdp"),
        (post(f"{whep}?stream=side", "v=0"), 422, "stream"),
    ]
    for response, status, field in cases:
        assert response.status_code == status, response.text
        body = response.json()
        assert body["field"] == field and body["error"], body

    async def offers() -> None:
        audio_only = WhepViewer(server.url, "live1")
        audio_only.pc.addTransceiver("audio", direction="recvonly")
        await audio_only.pc.setLocalDescription(await audio_only.pc.createOffer())
        response = post(whep, audio_only.pc.localDescription.sdp)
        assert response.status_code == 400 and "video" in response.json()["error"]
        await audio_only.pc.close()

        first = WhepViewer(server.url, "live1")
        assert (await first.start()).status_code == 201
        second = WhepViewer(server.url, "live1")
        busy = await second.start()
        assert busy.status_code == 503 and busy.headers["retry-after"]
        assert "max_peers_per_camera" in busy.json()["error"]
        patch = await asyncio.to_thread(http.patch, f"{server.url}{first.location}", timeout=10)
        assert patch.status_code == 405 and "trickle" in patch.json()["error"]
        assert await first.wait_frames(10, within=10)  # the refused viewer did not disturb it
        assert await first.delete() == 204
        third = WhepViewer(server.url, "live1")
        assert (await third.start()).status_code == 201
        assert await third.wait_frames(5, within=10)
        for viewer in (first, second, third):
            await viewer.close()

    asyncio.run(offers())


def test_offline_camera_is_answered_and_plays_when_it_returns(sim: Any, make_server: Any) -> None:
    server = make_server([camera("live2", sim)], relay=RELAY).start()
    wait_live(server, "live2")

    async def scenario() -> tuple[int, int]:
        viewer = WhepViewer(server.url, "live2")
        assert (await viewer.start()).status_code == 201
        assert await viewer.wait_frames(10, within=10)
        sim.stop_mount("live2")
        await asyncio.sleep(3)
        during = viewer.received.video_frames
        await asyncio.sleep(1)
        assert viewer.received.video_frames == during  # nothing while the camera is away
        late = WhepViewer(server.url, "live2")  # a viewer joining while it is offline
        assert (await late.start()).status_code == 201
        sim.start_mount("live2")
        resumed = await viewer.wait_frames(during + 25, within=20)
        late_ok = await late.wait_frames(25, within=20)
        assert resumed and late_ok, (viewer.received.video_frames, late.received.video_frames)
        await viewer.close()
        await late.close()
        return during, viewer.received.video_frames

    asyncio.run(scenario())


def test_viewer_that_never_connects_is_reaped(sim: Any, make_server: Any) -> None:
    server = make_server([camera("live1", sim)], relay=RELAY).start()

    async def scenario() -> None:
        ghost = WhepViewer(server.url, "live1")
        sdp = await ghost.offer()
        async with httpx.AsyncClient(base_url=server.url, timeout=10, headers=AUTH) as client:
            response = await client.post(
                "/api/v1/live/live1/whep", content=sdp, headers={"Content-Type": "application/sdp"}
            )
        assert response.status_code == 201  # the answer is never applied: no ICE, no DTLS
        assert server.get("/api/v1/live/sessions")["count"] == 1
        await ghost.pc.close()

    asyncio.run(scenario())
    deadline = time.monotonic() + 10
    while server.get("/api/v1/live/sessions")["count"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.get("/api/v1/live/sessions")["count"] == 0


def test_grid_tiles_use_the_substream_opened_only_while_watched(sim: Any, make_server: Any) -> None:
    server = make_server(
        [camera("live1", sim, substream_url=sim.rtsp_url("m3")), camera("live2", sim)],
        relay={**RELAY, "substream_idle_seconds": 0},
    ).start()
    wait_live(server, "live1")
    wait_live(server, "live2")

    async def scenario() -> dict[str, str]:
        tile = WhepViewer(server.url, "live1", stream="sub")
        plain = WhepViewer(server.url, "live2", stream="sub")  # no substream: main instead
        assert (await tile.start()).status_code == 201
        assert (await plain.start()).status_code == 201
        assert await tile.wait_frames(25, within=15)
        assert await plain.wait_frames(25, within=15)
        sessions = server.get("/api/v1/live/sessions")["data"]
        streams = {s["camera_id"]: s["stream"] for s in sessions}
        for viewer in (tile, plain):
            assert await viewer.delete() == 204
            await viewer.close()
        return streams

    assert asyncio.run(scenario()) == {"live1": "sub", "live2": "main"}
    assert "sub-stream opened" in server.log.read_text()
    deadline = time.monotonic() + 10
    while "sub-stream closed" not in server.log.read_text():
        assert time.monotonic() < deadline, "the idle sub-stream was not closed"
        time.sleep(0.2)


def test_station_cameras_h265_transcoded_once_and_g711_as_sent(
    station_sim: Any, make_server: Any
) -> None:
    """An H.265 main stream reaches WebRTC viewers as H.264 made once for all of them (started
    with the first, stopped after the last), its G.711 A-law as the camera sent it; its H.264
    sub-stream is passed through; a μ-law camera with B-frames plays with its own audio."""
    hik = camera("hik-main", station_sim, id="hik", substream_url=station_sim.rtsp_url("hik-sub"))
    dahua = camera("dahua", station_sim, id="dahua")
    server = make_server([hik, dahua], relay=RELAY).start()
    wait_live(server, "hik")
    wait_live(server, "dahua")
    time.sleep(1.0)

    def transcode_viewers() -> str:
        text = http.get(f"{server.url}/metrics").text
        return "".join(line for line in text.splitlines() if "live_transcode_viewers{" in line)

    async def scenario() -> tuple[list[WhepViewer], dict[str, Any], str, str]:
        first = WhepViewer(server.url, "hik", audio=True)
        second = WhepViewer(server.url, "hik")
        tile = WhepViewer(server.url, "hik", stream="sub")
        other = WhepViewer(server.url, "dahua", audio=True)
        viewers = [first, second, tile, other]
        for viewer in viewers:
            response = await viewer.start()
            assert response.status_code == 201, response.text
        for viewer in viewers:
            assert await viewer.wait_frames(40, within=15), viewer.camera_id
        await asyncio.sleep(1.0)
        sessions = {
            (s["camera_id"], s["stream"], s["audio"]): s
            for s in server.get("/api/v1/live/sessions")["data"]
        }
        shared = transcode_viewers()
        for viewer in viewers:
            await viewer.delete()
            await viewer.close()
        await asyncio.sleep(0.5)
        return viewers, sessions, shared, transcode_viewers()

    viewers, sessions, shared, after = asyncio.run(scenario())
    first, second, tile, other = viewers
    assert first.received.sizes == second.received.sizes == {(640, 360)}
    assert tile.received.sizes == {(320, 180)}
    assert first.received.first_frame_at is not None
    # the rendition starts from the cached GOP: no wait for the camera's next keyframe
    assert first.received.first_frame_at - first.posted_at < 1.5
    assert sessions[("hik", "main", True)]["transcoded"] is True
    assert sessions[("hik", "main", True)]["audio_codec"] == "pcm_alaw"
    assert sessions[("hik", "sub", False)]["transcoded"] is False
    assert sessions[("dahua", "main", True)]["audio_codec"] == "pcm_mulaw"
    assert 'camera="hik"} 2.0' in shared  # two viewers, one encoder
    assert after == ""  # stopped after the last
    for viewer in (first, other):  # the room's voice, as the camera sent it
        assert viewer.received.audio_frames > 20 and viewer.received.audio_peak > 1000


def test_a_viewer_that_takes_h265_gets_the_cameras_h265_as_sent(
    station_sim: Any, make_server: Any
) -> None:
    """Passthrough of H.265 (RFC 7798 payloads, parameter sets in band) to a viewer whose offer
    has it: no rendition starts."""
    hevc_client.install()
    server = make_server([camera("hik-main", station_sim, id="hik")], relay=RELAY).start()
    wait_live(server, "hik")
    time.sleep(1.0)

    async def scenario() -> tuple[WhepViewer, dict[str, Any]]:
        viewer = WhepViewer(server.url, "hik", video_codec="video/h265")
        response = await viewer.start()
        assert response.status_code == 201, response.text
        assert "H265/90000" in response.text
        assert await viewer.wait_frames(50, within=15)
        session = server.get("/api/v1/live/sessions")["data"][0]
        await viewer.delete()
        await viewer.close()
        return viewer, session

    viewer, session = asyncio.run(scenario())
    assert session["video_codec"] == "hevc" and session["transcoded"] is False
    assert viewer.received.sizes == {(640, 360)}
    assert viewer.received.first_frame_at is not None
    assert viewer.received.first_frame_at - viewer.posted_at < 1.0  # from the cached GOP
