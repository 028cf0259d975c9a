"""Command-center API: alarms raised/cleared/acknowledged, saved layouts and tours, screen pushes,
and the event stream that carries them — against a real server and real RTSP cameras."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from servers import ADMIN, ADMIN_PASSWORD, Server, free_port, http

pytestmark = pytest.mark.media


@pytest.fixture
def server(sim: Any, make_server: Any) -> Server:
    started: Server = make_server(
        [
            {"id": "flap", "name": "讯问室1", "area": "interrogation", "url": sim.rtsp_url("flap")},
            {"id": "m1", "name": "办案区", "area": "case_room", "url": sim.rtsp_url("m1")},
        ],
        ingest={"stall_seconds": 2},
        alarms={"recording_stopped_after_seconds": 3},
    ).start()
    started.wait_recording("flap")
    return started


class EventTap:
    """Collects SSE events from /api/v1/events on a background thread."""

    def __init__(self, url: str) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._url = url
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop = threading.Event()
        self._thread.start()

    def _run(self) -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server stops at the end of a test
            self._read()

    def _read(self) -> None:
        kind = ""
        with http.stream("GET", self._url, timeout=None) as stream:
            for line in stream.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event:"):
                    kind = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    self.events.append((kind, json.loads(line.removeprefix("data:").strip())))

    def wait(self, event: str, within: float, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for got_kind, data in list(self.events):
                if got_kind == event and all(data.get(k) == v for k, v in match.items()):
                    return data
            time.sleep(0.05)
        seen = [e for e in self.events if e[0] == event][-10:]
        raise AssertionError(f"no {event} {match} in {seen}")

    def close(self) -> None:
        self._stop.set()


@pytest.fixture
def tap(server: Server) -> Iterator[EventTap]:
    events = EventTap(f"{server.url}/api/v1/events")
    yield events
    events.close()


def test_offline_camera_raises_an_alarm_that_clears_and_can_be_acknowledged(
    server: Server, sim: Any, tap: EventTap
) -> None:
    tap.wait("camera", 5, camera_id="flap", state="live")
    tap.wait("recording", 5, camera_id="flap", recording=True)
    time.sleep(1.5)  # the monitor samples recording once a second
    stopped = time.monotonic()
    sim.stop_mount("flap")
    try:
        raised = tap.wait("alarm", 10, camera_id="flap", kind="camera_offline", active=True)
        assert time.monotonic() - stopped < 5
        assert raised["camera_name"] == "讯问室1" and raised["site_name"] == "测试派出所"
        tap.wait("recording", 5, camera_id="flap", recording=False)
        active = server.get("/api/v1/alarms", active="true")["data"]
        assert [a["id"] for a in active] == [raised["id"]]  # offline only: no second alarm
        acked = http.post(f"{server.url}/api/v1/alarms/{raised['id']}/ack").json()
        assert acked["acked_by"] == "admin" and acked["acked_at"] and acked["active"]
        tap.wait("alarm", 5, id=raised["id"], acked_by="admin")
    finally:
        sim.start_mount("flap")
    cleared = tap.wait("alarm", 20, id=raised["id"], active=False)
    assert cleared["cleared_at"] and cleared["acked_by"] == "admin"
    assert server.get("/api/v1/alarms", active="true")["count"] == 0
    assert server.get("/api/v1/alarms")["data"][0]["id"] == raised["id"]  # kept as the log
    missing = http.post(f"{server.url}/api/v1/alarms/999999/ack")
    assert missing.status_code == 404 and missing.json()["field"] == "alarm_id"


def test_alarms_left_open_by_a_killed_server_are_closed_at_restart(
    sim: Any, make_server: Any
) -> None:
    server = make_server(
        [
            {"id": "m2", "name": "讯问室2", "area": "interrogation", "url": sim.rtsp_url("m2")},
            {"id": "dead", "name": "询问室", "url": f"rtsp://127.0.0.1:{free_port()}/x"},
        ],
    ).start()
    deadline = time.monotonic() + 15
    while not server.get("/api/v1/alarms", active="true")["count"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    first = server.get("/api/v1/alarms", active="true")["data"][0]
    assert first["camera_id"] == "dead" and first["detail"].startswith("unreachable")
    server.kill()
    server.start()
    deadline = time.monotonic() + 15
    while True:
        alarms = server.get("/api/v1/alarms")["data"]
        old = next(a for a in alarms if a["id"] == first["id"])
        active = [a for a in alarms if a["active"]]
        if not old["active"] and len(active) == 1:
            break
        assert time.monotonic() < deadline, alarms
        time.sleep(0.2)
    assert "restart" in old["detail"] and active[0]["camera_id"] == "dead"


def test_layouts_and_tours_are_saved_and_validated(server: Server) -> None:
    url = f"{server.url}/api/v1/wall"
    saved = http.put(f"{url}/layouts/值班大屏", json={"grid": "2x2", "cells": ["flap", None, "m1"]})
    assert saved.status_code == 200, saved.text
    assert server.get("/api/v1/wall/layouts")["data"] == [
        {"name": "值班大屏", "grid": "2x2", "cells": ["flap", None, "m1"]}
    ]
    tour = {
        "interval_seconds": 10,
        "steps": [{"cameras": ["flap"], "grid": "1x1"}, {"layout": "值班大屏"}],
    }
    assert http.put(f"{url}/tours/夜间轮巡", json=tour).status_code == 200
    assert server.get("/api/v1/wall/tours")["data"][0]["steps"] == tour["steps"]
    bad = [
        ("layouts/x", {"grid": "7x7", "cells": []}, "grid"),
        ("layouts/x", {"grid": "1x1", "cells": ["flap", "m1"]}, ""),
        ("layouts/x", {"grid": "2x2", "cells": ["nope"]}, "cells.0"),
        ("layouts/x", {"grid": "2x2", "cells": [], "extra": 1}, "extra"),
        ("tours/t", {"interval_seconds": 1, "steps": [{"layout": "值班大屏"}]}, "interval_seconds"),
        ("tours/t", {"interval_seconds": 5, "steps": []}, "steps"),
        ("tours/t", {"interval_seconds": 5, "steps": [{"layout": "无"}]}, "steps.0.layout"),
        ("tours/t", {"interval_seconds": 5, "steps": [{"cameras": ["flap"], "layout": "a"}]}, ""),
        ("tours/t", {"interval_seconds": 5, "steps": [{"cameras": ["x"]}]}, "steps.0.cameras.0"),
    ]
    for path, body, field in bad:
        response = http.put(f"{url}/{path}", json=body)
        assert response.status_code == 422, (path, body, response.text)
        assert response.json()["field"].startswith(field) and response.json()["error"]
    assert http.delete(f"{url}/layouts/值班大屏").status_code == 204
    assert http.delete(f"{url}/layouts/值班大屏").status_code == 404
    assert http.delete(f"{url}/tours/夜间轮巡").status_code == 204


def test_push_to_a_wall_screen(server: Server) -> None:
    screen = EventTap(f"{server.url}/api/v1/events?screen=wall-1")
    try:
        deadline = time.monotonic() + 5
        while not server.get("/api/v1/wall/screens")["data"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert server.get("/api/v1/wall/screens")["data"][0]["connected"] is True
        pushed = http.put(
            f"{server.url}/api/v1/wall/screens/wall-1", json={"cameras": ["m1", "flap"]}
        )
        assert pushed.status_code == 200 and pushed.json()["layout"] == "2x2"
        got = screen.wait("screen", 5, name="wall-1")
        assert got["cameras"] == ["m1", "flap"] and got["layout"] == "2x2"
    finally:
        screen.close()
    late = EventTap(f"{server.url}/api/v1/events?screen=wall-1")  # reconnecting screen
    try:
        assert late.wait("screen", 5, name="wall-1")["cameras"] == ["m1", "flap"]
    finally:
        late.close()
    for body, field in (
        ({"cameras": ["nope"]}, "cameras.0"),
        ({"cameras": ["m1"] * 5, "layout": "2x2"}, "layout"),
        ({"cameras": []}, "cameras"),
    ):
        response = http.put(f"{server.url}/api/v1/wall/screens/wall-1", json=body)
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    bad_name = http.put(f"{server.url}/api/v1/wall/screens/a b", json={"cameras": ["m1"]})
    assert bad_name.status_code == 422


def test_wall_pages_are_served(server: Server) -> None:
    root = http.get(server.url, follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/wall/"
    anonymous = httpx.get(f"{server.url}/wall/")
    assert anonymous.status_code == 303  # to the sign-in page
    with httpx.Client(base_url=server.url) as browser:
        signed = browser.post(
            "/api/v1/auth/login", json={"name": ADMIN, "password": ADMIN_PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        page = browser.get("/wall/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
