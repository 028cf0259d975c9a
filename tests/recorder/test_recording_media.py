"""Recording real RTSP cameras end to end: files, catalog, flaps, crashes, many cameras."""

from __future__ import annotations

import hashlib
import itertools
import json
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fake_rtsp import FakeRtspServer
from servers import Server, http, parse_iso

pytestmark = pytest.mark.media


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type,codec_name",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(out))


def garbage_server() -> int:
    """A TCP server that answers anything with nonsense (a camera that 'lies')."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()

    def serve() -> None:
        while True:
            conn, _ = sock.accept()
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"\x00garbage" * 100)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return int(sock.getsockname()[1])


def test_records_camera_with_audio_and_bad_cameras_do_not_disturb(
    sim: Any, make_server: Any
) -> None:
    garbage = garbage_server()
    locked, audio_only = FakeRtspServer("unauthorized"), FakeRtspServer("audio_only")
    server: Server = make_server(
        [
            {"id": "rec", "name": "讯问室1", "area": "interrogation", "url": sim.rtsp_url("rec")},
            {"id": "noaudio", "name": "候问室", "area": "waiting", "url": sim.rtsp_url("noaudio")},
            {"id": "refused", "name": "refused", "url": "rtsp://admin:hunter2@127.0.0.1:1/x"},
            {"id": "wrongpath", "name": "wrong path", "url": sim.rtsp_url("no-such-mount")},
            {"id": "garbage", "name": "garbage", "url": f"rtsp://127.0.0.1:{garbage}/live"},
            {"id": "badauth", "name": "wrong password", "url": locked.url(user="admin:hunter3")},
            {"id": "novideo", "name": "audio only", "url": audio_only.url()},
        ],
        storage={"segment_seconds": 8},
    ).start()
    started = server.wait_recording("rec")
    time.sleep(20)
    cameras = {c["id"]: c for c in server.get("/api/v1/cameras")["data"]}
    assert cameras["rec"]["state"] == "live" and cameras["rec"]["audio"]["codec"] == "aac"
    assert 20 <= cameras["rec"]["fps"] <= 30
    assert cameras["noaudio"]["state"] == "live" and cameras["noaudio"]["audio"] is None
    assert cameras["refused"]["cause"] == "unreachable"
    assert cameras["wrongpath"]["cause"] == "not_found"
    assert cameras["garbage"]["cause"] in {"protocol_error", "timeout"}
    assert cameras["badauth"]["cause"] == "unauthorized"
    assert cameras["novideo"]["cause"] == "no_video"
    for secret in ("hunter2", "hunter3"):
        assert secret not in json.dumps(cameras) and secret not in server.log.read_text()
    server.stop()
    stopped = time.time()

    segments = catalog_segments(server, "rec")
    assert len(segments) >= 3
    total = 0.0
    previous_hash = None
    assert sorted(
        p.relative_to(server.storage).as_posix() for p in server.storage.rglob("rec_*.mp4")
    ) == [s["path"] for s in segments]
    for index, segment in enumerate(segments):
        path = server.storage / segment["path"]
        assert path.stat().st_size == segment["size_bytes"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == segment["sha256"]
        if index:
            assert segment["prev_sha256"] == previous_hash
        previous_hash = segment["sha256"]
        probe = ffprobe(path)
        kinds = {s["codec_type"]: s["codec_name"] for s in probe["streams"]}
        assert kinds == {"video": "h264", "audio": "aac"}
        total += float(probe["format"]["duration"])
        assert segment["has_audio"]
    recorded_span = segments[-1]["end"] - segments[0]["start"]
    assert abs(total - recorded_span) < 1.0
    assert abs(recorded_span - (stopped - started)) < 1.5
    noaudio = catalog_segments(server, "noaudio")
    assert noaudio and not any(s["has_audio"] for s in noaudio)
    result = server.check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "clean" in result.stdout


def catalog_segments(server: Server, camera_id: str) -> list[dict[str, Any]]:
    """Segment rows straight from the catalog (the server is stopped)."""
    from recorder import catalog
    from recorder.db import make_engine, session_factory

    engine = make_engine(f"sqlite:///{server.workdir / 'catalog.db'}")
    with session_factory(engine)() as session:
        rows = catalog.segments_between(session, camera_id=camera_id, start_us=0, end_us=2**62)
        result = [
            {
                "path": r.path,
                "start": r.start_us / 1e6,
                "end": r.end_us / 1e6,
                "size_bytes": r.size_bytes,
                "sha256": r.sha256,
                "prev_sha256": r.prev_sha256,
                "has_audio": r.has_audio,
            }
            for r in rows
        ]
    engine.dispose()
    return result


def test_flap_shows_gap_with_cause_and_recording_resumes(sim: Any, make_server: Any) -> None:
    server: Server = make_server(
        [{"id": "flap", "name": "讯问室2", "url": sim.rtsp_url("flap")}]
    ).start()
    server.wait_recording("flap")
    time.sleep(4)
    down = time.time()
    sim.stop_mount("flap")
    time.sleep(5)
    up = time.time()
    sim.start_mount("flap")
    deadline = time.monotonic() + 10
    resumed = None
    while time.monotonic() < deadline:
        data = server.recordings("flap", down - 10, time.time())
        if data["in_progress"] and data["gaps"]:
            resumed = data
            break
        time.sleep(0.1)
    assert resumed is not None, "recording did not resume"
    gaps = [g for g in resumed["gaps"] if g["cause"] == "camera_offline"]
    assert len(gaps) == 1, resumed["gaps"]
    gap = gaps[0]
    assert abs(parse_iso(gap["start"]) - down) < 1.0
    assert abs(gap["duration"] - (up - down)) < 2.0
    assert gap["duration"] - (up - down) < 2.0  # resumed within 2 s of the camera's return
    camera = server.camera("flap")
    assert camera["state"] == "live" and camera["recording"]


def test_crash_loses_at_most_a_second_and_check_is_clean(sim: Any, make_server: Any) -> None:
    server: Server = make_server(
        [{"id": "crash", "name": "讯问室3", "url": sim.rtsp_url("crash")}],
        storage={"segment_seconds": 30},
    ).start()
    started = server.wait_recording("crash")
    time.sleep(12)
    killed = time.time()
    server.kill()
    partial = list(server.storage.rglob("crash_*.mp4"))
    assert len(partial) == 1
    server.start()
    data = server.recordings("crash", started - 5, killed + 1)
    adopted = [s for s in data["segments"] if s["adopted"]]
    assert len(adopted) == 1
    lost = killed - parse_iso(adopted[0]["end"])
    assert lost <= 1.0, f"lost {lost:.3f} s to the crash"
    causes = {g["cause"] for g in server.recordings("crash", started, time.time())["gaps"]}
    assert "recorder_down" in causes
    server.stop()
    result = server.check()
    assert result.returncode == 0, result.stdout
    probe = ffprobe(partial[0])
    assert {s["codec_type"] for s in probe["streams"]} == {"video", "audio"}


@pytest.mark.slow
def test_eight_cameras_for_half_a_minute_lose_nothing(sim: Any, make_server: Any) -> None:
    """Eight cameras across several segment boundaries: every packet kept, no gap, segments
    end to end (the hour-long soak is bench/soak.py)."""
    names = [f"m{i}" for i in range(1, 9)]
    server: Server = make_server(
        [{"id": name, "name": name, "url": sim.rtsp_url(name)} for name in names],
        storage={"segment_seconds": 8},
    ).start()
    for name in names:
        server.wait_recording(name)
    begin = time.time()
    before = {c["id"]: c for c in server.get("/api/v1/cameras")["data"]}
    metrics_before = server_metrics(server)
    time.sleep(30)
    end = time.time()
    metrics = server_metrics(server)
    for name in names:
        dropped = ("casewatch_camera_packets_dropped_total", name)
        assert metrics[dropped] == metrics_before[dropped]
        video = ("casewatch_camera_packets_total", name)
        assert metrics[video] - metrics_before[video] >= 0.99 * 30 * (25 + 46)  # video + AAC
        data = server.recordings(name, begin, end)
        assert data["gaps"] == [], (name, data["gaps"])
        assert data["coverage_percent"] >= 99.9
        assert before[name]["state"] == "live"
    server.stop()
    for name in names:
        segments = catalog_segments(server, name)
        assert len(segments) >= 4
        for before_segment, after_segment in itertools.pairwise(segments):
            assert after_segment["start"] == before_segment["end"]  # contiguous, no overlap


def server_metrics(server: Server) -> dict[tuple[str, str], float]:

    text = http.get(f"{server.url}/metrics", timeout=10).text
    values: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        if line.startswith("#") or "{" not in line:
            continue
        name, rest = line.split("{", 1)
        labels, value = rest.rsplit("}", 1)
        camera = next(
            (
                part.split("=")[1].strip('"')
                for part in labels.split(",")
                if part.startswith("camera=")
            ),
            "",
        )
        values[(name, camera)] = values.get((name, camera), 0.0) + float(value)
    return values


def test_silent_camera_is_detected_as_stalled_from_the_packet_clock(
    sim: Any, make_server: Any
) -> None:
    from urllib.parse import urlsplit

    from proxy import FreezableProxy

    target = urlsplit(sim.rtsp_url("m1"))
    proxy = FreezableProxy(target.hostname or "127.0.0.1", target.port or 554)
    try:
        url = f"rtsp://127.0.0.1:{proxy.port}{target.path}"
        server: Server = make_server([{"id": "frozen", "name": "询问室", "url": url}])
        server.start()
        server.wait_recording("frozen")
        time.sleep(3)
        frozen_at = time.time()
        proxy.freeze()
        deadline = time.monotonic() + 15
        states = []
        while time.monotonic() < deadline:
            camera = server.camera("frozen")
            states.append(camera["state"])
            if camera["cause"] == "stalled":
                break
            time.sleep(0.2)
        detected = time.time() - frozen_at
        assert camera["cause"] == "stalled", states
        assert detected < 3 + 3  # stall_seconds is 3 in the test config
        proxy.thaw()
        resumed_by = time.monotonic() + 15
        while time.monotonic() < resumed_by and not server.camera("frozen")["recording"]:
            time.sleep(0.2)
        assert server.camera("frozen")["recording"]
        gaps = server.recordings("frozen", frozen_at - 2, time.time())["gaps"]
        assert [g["cause"] for g in gaps] == ["camera_stalled"], gaps
    finally:
        proxy.close()


def test_a_hung_encoder_with_a_live_session_is_found_stalled(sim: Any, make_server: Any) -> None:
    """The camera's session stays up and keeps sending RTCP, but no media (the simulator's
    stall): still a stall within ``stall_seconds``, a ``camera_stalled`` gap, and recording
    resumes after the reconnect."""
    server: Server = make_server([{"id": "hung", "name": "讯问室", "url": sim.rtsp_url("m3")}])
    server.start()
    server.wait_recording("hung")
    time.sleep(3)
    stalled_at = time.time()
    sim.stall("m3", 12.0)
    deadline = time.monotonic() + 12
    camera = server.camera("hung")
    while time.monotonic() < deadline and camera["cause"] != "stalled":
        time.sleep(0.2)
        camera = server.camera("hung")
    detected = time.time() - stalled_at
    assert camera["cause"] == "stalled", camera
    assert detected < 3 + 3  # stall_seconds is 3 in the test config
    server.wait_recording("hung", timeout=20)  # a reconnect gets a media that plays
    time.sleep(2)
    gaps = server.recordings("hung", stalled_at - 2, time.time() - 1)["gaps"]
    assert gaps and {g["cause"] for g in gaps} == {"camera_stalled"}, gaps
    assert abs(parse_iso(gaps[0]["start"]) - stalled_at) < 1.5
