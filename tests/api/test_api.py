"""The HTTP API against a real server and camera: errors, snapshot, ranges, events, metrics."""

from __future__ import annotations

import json
import time
from typing import Any

import cv2
import numpy as np
import pytest
from servers import Server, http, iso

pytestmark = pytest.mark.media


@pytest.fixture
def server(sim: Any, make_server: Any) -> Server:
    started: Server = make_server(
        [
            {"id": "rec", "name": "讯问室1", "area": "interrogation", "url": sim.rtsp_url("rec")},
        ],
        storage={"segment_seconds": 3},
    ).start()
    started.wait_recording("rec")
    return started


def test_bad_queries_get_json_4xx(server: Server) -> None:
    now = time.time()
    cases = [
        ({"camera": "nope", "start": iso(now - 60), "end": iso(now)}, 404, "unknown camera"),
        ({"camera": "rec", "start": iso(now), "end": iso(now - 60)}, 400, "end: must be after"),
        ({"camera": "rec", "start": "yesterday", "end": iso(now)}, 422, "start:"),
        ({"camera": "rec", "start": "2026-01-01T00:00:00", "end": iso(now)}, 400, "time zone"),
        ({"camera": "rec", "start": iso(now - 86400 * 40), "end": iso(now)}, 400, "31 days"),
        ({"start": iso(now - 60), "end": iso(now)}, 422, "camera:"),
    ]
    for params, status, text in cases:
        response = http.get(f"{server.url}/api/v1/recordings", params=params)
        assert response.status_code == status, (params, response.text)
        assert text in response.json()["error"]
    assert http.get(f"{server.url}/api/v1/segments/999999/file").status_code == 404
    assert http.get(f"{server.url}/api/v1/cameras/nope/snapshot").status_code == 404


def test_snapshot_is_a_decodable_picture(server: Server) -> None:
    response = http.get(f"{server.url}/api/v1/cameras/rec/snapshot", timeout=10)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (360, 640, 3) and image.std() > 10


def test_segment_download_supports_ranges(server: Server) -> None:
    deadline = time.monotonic() + 15
    segments: list[dict[str, Any]] = []
    while not segments and time.monotonic() < deadline:
        segments = server.recordings("rec", time.time() - 60, time.time())["segments"]
        time.sleep(0.5)
    assert segments
    url = f"{server.url}{segments[0]['url']}"
    whole = http.get(url)
    assert whole.status_code == 200 and len(whole.content) == segments[0]["size_bytes"]
    part = http.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]


def test_events_stream_and_metrics(server: Server, sim: Any) -> None:
    with http.stream("GET", f"{server.url}/api/v1/events", timeout=10) as stream:
        lines = stream.iter_lines()
        first = next(line for line in lines if line.startswith("data:"))
        event = json.loads(first.removeprefix("data:").strip())
        assert event["camera_id"] == "rec" and event["state"] == "live"
    metrics = http.get(f"{server.url}/metrics").text
    assert 'casewatch_camera_up{camera="rec",site="test"} 1.0' in metrics
    assert 'casewatch_camera_recording{camera="rec",site="test"} 1.0' in metrics
    health = server.get("/api/v1/health")
    assert health["status"] == "ok" and health["cameras"] == {"live": 1}
    assert http.get(f"{server.url}/docs").status_code == 200
