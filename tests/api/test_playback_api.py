"""Recorded playback against a real server recording real RTSP cameras: the streamed fragmented
MP4 plays (ffprobe: video and audio), starts at the keyframe at or before the wanted instant,
stops at a gap and says where footage resumes, and bad requests are refused with the field."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from servers import Server, http, iso, parse_iso

pytestmark = pytest.mark.media

GOP_SECONDS = 1.0  # tests/conftest.py SMALL


def camera(camera_id: str, mount: str, sim: Any) -> dict[str, Any]:
    return {
        "id": camera_id,
        "name": f"讯问室1 {camera_id}",
        "area": "interrogation",
        "room": "讯问室1",
        "url": sim.rtsp_url(mount),
    }


def probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def first_video_packet(path: Path) -> tuple[float, str]:
    out = subprocess.run(
        [
            "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_packets",
            "-show_entries", "packet=pts_time,flags", "-read_intervals", "%+#1", "-of", "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    pts, flags = out.stdout.strip().splitlines()[0].split(",")[:2]
    return float(pts), flags


def fetch(server: Server, camera_id: str, path: Path, **params: Any) -> httpx.Response:
    """GET the stream into ``path``; returns the response (body consumed)."""
    with (
        http.stream(
            "GET", f"{server.url}/api/v1/playback/{camera_id}", params=params, timeout=30
        ) as response,
        path.open("wb") as out,
    ):
        for chunk in response.iter_bytes():
            out.write(chunk)
    return response


def streaming_ffmpegs(server: Server) -> list[psutil.Process]:
    """The server's ffmpeg children that have a segment file open (idle pooled ones have none)."""
    assert server.process is not None
    found = []
    for child in psutil.Process(server.process.pid).children(recursive=True):
        try:
            if child.name() == "ffmpeg" and any(
                f.path.endswith(".mp4") for f in child.open_files()
            ):
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_playback_streams_from_the_keyframe_and_stops_at_gaps(
    sim: Any, make_server: Any, tmp_path: Path
) -> None:
    server = make_server(
        [camera("cam-p", "m3", sim), camera("cam-g", "flap", sim)],
        storage={"segment_seconds": 2},
        ingest={"stall_seconds": 2},
    ).start()
    began = max(server.wait_recording("cam-p"), server.wait_recording("cam-g"))
    time.sleep(6)
    sim.stop_mount("flap")
    try:
        time.sleep(4)
    finally:
        sim.start_mount("flap")
    server.wait_recording("cam-g")
    time.sleep(5)  # footage after the outage, catalogued in 2 s segments

    # -- a stream from the middle of a segment: video + audio, from the keyframe before start --
    segments = [
        s
        for s in server.recordings("cam-p", began - 10, time.time())["segments"]
        if s["status"] == "ok"
    ]
    assert len(segments) >= 4, segments
    middle = segments[len(segments) // 2]
    start = parse_iso(middle["start"]) + 1.37
    clip = tmp_path / "clip.mp4"
    t0 = time.perf_counter()
    response = fetch(server, "cam-p", clip, start=iso(start), end=iso(start + 3))
    assert response.status_code == 200, clip.read_text(errors="replace")
    assert response.headers["content-type"] == "video/mp4"
    assert time.perf_counter() - t0 < 5
    first = parse_iso(response.headers["X-Playback-Start"])
    assert start - (GOP_SECONDS + 0.1) <= first <= start, (first, start)
    assert parse_iso(response.headers["X-Playback-End"]) == pytest.approx(start + 3, abs=1e-3)
    assert response.headers["X-Playback-Codecs"].startswith("avc1.")
    assert "mp4a.40" in response.headers["X-Playback-Codecs"]
    assert float(response.headers["X-Playback-Fps"]) == pytest.approx(25, abs=0.5)
    assert "X-Playback-Gap" not in response.headers and response.headers["X-Playback-Stop"] == "end"
    info = probe(clip)
    kinds = {s["codec_type"]: s for s in info["streams"]}
    assert kinds["video"]["codec_name"] == "h264" and kinds["audio"]["codec_name"] == "aac"
    pts, flags = first_video_packet(clip)
    assert pts == pytest.approx(0.0, abs=0.002) and flags.startswith("K")  # media time 0: keyframe
    duration = float(info["format"]["duration"])
    assert duration == pytest.approx(start + 3 - first, abs=0.3), (duration, start, first)

    # -- the index of the camera with an outage: two pieces, a gap with its cause -------------
    index = server.get(
        "/api/v1/playback/cam-g/index", start=iso(began + 1), end=iso(time.time() - 3)
    )
    outages = [g for g in index["gaps"] if g["cause"] == "camera_offline"]
    assert len(outages) == 1, index["gaps"]
    gap = outages[0]
    gap_start, gap_end = parse_iso(gap["start"]), parse_iso(gap["end"])
    assert len(index["pieces"]) == 2, (index["pieces"], index["gaps"])
    assert parse_iso(index["pieces"][0]["end"]) == pytest.approx(gap_start, abs=0.05)
    assert parse_iso(index["pieces"][1]["start"]) == pytest.approx(gap_end, abs=0.05)
    assert index["segments"] and all(s["sha256"] for s in index["segments"])

    # -- a stream across the gap stops at it and says where footage resumes -------------------
    before = tmp_path / "before.mp4"
    response = fetch(server, "cam-g", before, start=iso(gap_start - 2.5), end=iso(gap_end + 3))
    assert response.status_code == 200
    assert parse_iso(response.headers["X-Playback-End"]) == pytest.approx(gap_start, abs=0.05)
    assert response.headers["X-Playback-Stop"] == "gap"
    stop_gap = response.headers["X-Playback-Gap"]
    assert stop_gap.endswith(" camera_offline"), stop_gap
    assert parse_iso(response.headers["X-Playback-Next"]) == pytest.approx(gap_end, abs=0.05)
    first = parse_iso(response.headers["X-Playback-Start"])
    assert float(probe(before)["format"]["duration"]) == pytest.approx(gap_start - first, abs=0.3)

    # -- a start inside the gap plays from where footage resumes ------------------------------
    after = tmp_path / "after.mp4"
    response = fetch(server, "cam-g", after, start=iso(gap_start + 1), end=iso(gap_end + 2))
    assert response.status_code == 200
    assert parse_iso(response.headers["X-Playback-Start"]) == pytest.approx(gap_end, abs=0.05)
    assert "camera_offline" in response.headers["X-Playback-Skipped-Gap"]
    assert {s["codec_type"] for s in probe(after)["streams"]} == {"video", "audio"}

    # -- nothing in the range: 404 naming the cause -------------------------------------------
    missing = http.get(
        f"{server.url}/api/v1/playback/cam-g",
        params={"start": iso(gap_start + 0.5), "end": iso(gap_end - 0.5)},
    )
    assert missing.status_code == 404
    assert "camera_offline" in missing.json()["error"] and missing.json()["field"] == "start"
    assert missing.json()["gaps"][0]["cause"] == "camera_offline"
    before_server = http.get(
        f"{server.url}/api/v1/playback/cam-p",
        params={"start": iso(began - 3600), "end": iso(began - 1800)},
    )
    assert before_server.status_code == 404 and before_server.json()["gaps"], before_server.text
    future = http.get(
        f"{server.url}/api/v1/playback/cam-p", params={"start": iso(time.time() + 60)}
    )
    assert future.status_code == 404 and "future" in future.json()["error"]

    # -- a client that goes away: its ffmpeg is killed ----------------------------------------
    with http.stream(
        "GET",
        f"{server.url}/api/v1/playback/cam-p",
        params={"start": iso(began + 0.5)},
        timeout=10,
    ) as response:
        assert response.status_code == 200
        next(response.iter_raw())
        during = streaming_ffmpegs(server)  # held back by the client that does not read
    deadline = time.monotonic() + 5
    while streaming_ffmpegs(server) or any(p.is_running() for p in during):
        assert time.monotonic() < deadline, "ffmpeg still running after the client left"
        time.sleep(0.1)


def test_bad_playback_requests_are_refused_with_the_field(sim: Any, make_server: Any) -> None:
    server = make_server([camera("cam-p", "m4", sim)]).start()
    now = time.time()
    url = f"{server.url}/api/v1/playback"
    cases: list[tuple[str, dict[str, str], int, str]] = [
        ("nope", {"start": iso(now - 10)}, 404, "camera"),
        ("cam-p", {"start": "2026-11-25T08:00:00"}, 400, "start"),
        ("cam-p", {"start": iso(now - 10), "end": "2026-11-25T08:00:00"}, 400, "end"),
        ("cam-p", {"start": "yesterday"}, 422, "start"),
        ("cam-p", {}, 422, "start"),
        ("cam-p", {"start": iso(now - 10), "end": iso(now - 20)}, 400, "end"),
        ("cam-p", {"start": iso(now - 10), "end": iso(now - 10)}, 400, "end"),
        ("cam-p", {"start": iso(now - 7200), "end": iso(now - 10)}, 400, "end"),
    ]
    for camera_id, params, status, field in cases:
        response = http.get(f"{url}/{camera_id}", params=params)
        assert response.status_code == status, (camera_id, params, response.text)
        body = response.json()
        assert body["field"] == field and body["error"], body
    index = http.get(f"{url}/cam-p/index", params={"start": iso(now), "end": iso(now - 1)})
    assert index.status_code == 400 and index.json()["field"] == "end"
    index = http.get(f"{url}/nope/index", params={"start": iso(now - 5), "end": iso(now)})
    assert index.status_code == 404
