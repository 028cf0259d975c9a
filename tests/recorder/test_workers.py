"""Recorder worker processes: a worker killed mid-segment costs only its own cameras about a
second plus the restart, and a camera that crashes its worker at every connect is isolated."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import threading
import time
from typing import Any

import pytest
from servers import Server, http, parse_iso

pytestmark = pytest.mark.media

STARTED = re.compile(r"worker (\d+) started \(pid (\d+)\): (.*)$")


def workers(server: Server) -> dict[str, int]:
    """Per camera, the pid of the worker process that owns it now (from the server's log)."""
    owner: dict[str, int] = {}
    for line in server.log.read_text(errors="replace").splitlines():
        found = STARTED.search(line)
        if found:
            for camera in found.group(3).split(", "):
                owner[camera] = int(found.group(2))
    return owner


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def runs(server: Server, camera: str) -> list[tuple[str | None, str | None]]:
    """(end reason, end detail) of a camera's recording runs, oldest first."""
    path = server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return list(
            db.execute(
                "SELECT end_reason, end_detail FROM recording_runs WHERE camera_id = ? "
                "ORDER BY started_us",
                (camera,),
            )
        )


def test_a_killed_worker_costs_only_its_cameras_a_second_and_the_restart(
    sim: Any, make_server: Any
) -> None:
    server: Server = make_server(
        [
            {"id": "w1", "name": "讯问室1", "url": sim.rtsp_url("w1"), "area": "interrogation"},
            {"id": "w2", "name": "讯问室2", "url": sim.rtsp_url("w2"), "area": "interrogation"},
        ],
        recorder={"workers": 2},
        storage={"segment_seconds": 30},
    ).start()
    begin = server.wait_recording("w1") + 0.5
    server.wait_recording("w2")
    owner = workers(server)
    assert owner["w1"] != owner["w2"]  # one station's interrogation rooms: different workers
    time.sleep(4)  # mid-segment
    losses: dict[str, float] = {}
    kills: dict[str, float] = {}
    for camera, sig in (("w1", signal.SIGSEGV), ("w2", signal.SIGKILL)):
        pid = workers(server)[camera]
        kills[camera] = killed = time.time()
        os.kill(pid, sig)
        wait_for(lambda c=camera: server.camera(c)["state"] != "live", 5, f"{camera} down")
        down = server.camera(camera)
        assert down["recording"] is False  # a recording that stopped is never shown as one
        assert down["cause"] == "worker_crashed", down
        alarms = server.get("/api/v1/alarms")["data"]
        assert any(a["camera_id"] == camera and "worker_crashed" in a["detail"] for a in alarms)
        back = server.wait_recording(camera, timeout=20)
        losses[camera] = back - killed
        assert workers(server)[camera] != pid
        time.sleep(3)
    end = time.time()
    metrics = http.get(f"{server.url}/metrics", timeout=10).text
    restarts = re.findall(r'^casewatch_worker_restarts_total\{worker="\d+"\} (\S+)$', metrics, re.M)
    assert sum(float(value) for value in restarts) == 2
    for camera, sig in (("w1", "SIGSEGV"), ("w2", "SIGKILL")):
        data = server.recordings(camera, begin, end)
        (gap,) = data["gaps"]
        assert gap["cause"] == "recorder_down"
        # what the crash cost: the fragment being written (≤ 1 s) plus the restart
        assert gap["duration"] <= 1.0 + losses[camera], (camera, gap, losses)
        ended = runs(server, camera)
        assert [detail for reason, detail in ended if reason == "recorder_crashed"] == [
            f"worker_crashed: {sig}"
        ]
    # the other worker's camera recorded on through the first crash, until its own
    w2_gaps = server.recordings("w2", begin, end)["gaps"]
    assert all(parse_iso(g["start"]) > kills["w2"] - 1.5 for g in w2_gaps), (kills, w2_gaps)
    w1_gaps = server.recordings("w1", kills["w1"] + losses["w1"] + 1, end)["gaps"]
    assert w1_gaps == [], w1_gaps
    server.stop()
    result = server.check()
    assert result.returncode == 0, result.stdout
    print(f"restart to recording again: {losses}")


def hanging_camera() -> int:
    """A TCP server that accepts and never answers: a camera stuck in connecting."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            conn, _ = sock.accept()
            held.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    return int(sock.getsockname()[1])


def test_a_camera_that_crashes_its_worker_at_every_connect_gets_a_worker_of_its_own(
    sim: Any, make_server: Any
) -> None:
    """The camera is connecting each time its worker dies (a stream that crashes the demuxer
    as it opens): after two such crashes it moves to a worker of its own, and the camera it
    shared a worker with records on."""
    port = hanging_camera()
    server: Server = make_server(
        [
            {"id": "good", "name": "讯问室", "url": sim.rtsp_url("wgood")},
            {"id": "bad", "name": "候问室", "url": f"rtsp://127.0.0.1:{port}/stream"},
        ],
        recorder={"workers": 1},
        ingest={"connect_timeout_seconds": 20},
    ).start()
    server.wait_recording("good")
    for _ in range(2):
        wait_for(lambda: server.camera("bad")["state"] == "connecting", 20, "bad connecting")
        pid = workers(server)["bad"]
        os.kill(pid, signal.SIGSEGV)
        wait_for(lambda p=pid: workers(server)["bad"] != p, 30, "a new worker")
    owner = workers(server)
    assert owner["bad"] != owner["good"]
    server.wait_recording("good", timeout=20)
    # the culprit's worker crashes again: the good camera records on
    begin = time.time()
    wait_for(lambda: server.camera("bad")["state"] == "connecting", 20, "bad connecting")
    os.kill(owner["bad"], signal.SIGSEGV)
    time.sleep(5)
    assert server.camera("good")["recording"] is True
    assert server.recordings("good", begin, time.time())["gaps"] == []
    assert "a worker of its own" in server.log.read_text()
    server.stop()
