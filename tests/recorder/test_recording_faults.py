"""Faults of the recording path, injected for real into a running server: the API state, the
alarm, the gap and its cause, and nothing lost beyond the fault."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faultfs import faulty_file_system
from faults import small_file_system, wait_for
from servers import Server, http, parse_iso
from whep_client import WhepViewer

pytestmark = pytest.mark.media


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 16 MiB file system for the recordings."""
    with small_file_system(tmp_path / "disk", "16m") as mount:
        yield mount


def active_alarms(server: Server, kind: str) -> list[dict[str, Any]]:
    return [a for a in server.get("/api/v1/alarms", active="true")["data"] if a["kind"] == kind]


def fill(filler: Path, leave: int = 32_768) -> None:
    """Take the file system's free space but ``leave`` bytes (or all of it: the recorder
    writes on meanwhile, and a full disk is what is wanted)."""
    stats = os.statvfs(filler.parent)
    with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
        out.write(b"\0" * max(0, stats.f_bavail * stats.f_frsize - leave))


def test_disk_full_stops_recording_visibly_and_it_resumes_when_space_returns(
    sim: Any, small_disk: Path, make_server: Any
) -> None:
    server: Server = make_server(
        [{"id": "disk", "name": "讯问室3", "url": sim.rtsp_url("disk")}],
        storage={"path": str(small_disk), "segment_seconds": 4},
    ).start()
    began = server.wait_recording("disk")
    time.sleep(3)

    filler = small_disk / "filler"
    fill(filler)
    filled = time.time()

    # recording state is the truth: not recording, with its cause, at once
    camera = wait_for(
        lambda: (c := server.camera("disk"))["recording_failure"] is not None and c, timeout=5
    )
    failed = time.time()
    assert camera["recording"] is False
    assert camera["recording_failure"]["cause"] == "disk_full"
    assert camera["state"] == "live"  # the camera itself is fine
    # and the operator is told within 2 s
    alarm = wait_for(
        lambda: [a for a in active_alarms(server, "recording_stopped") if a["camera_id"] == "disk"],
        timeout=2,
    )[0]
    assert "disk_full" in alarm["detail"]

    time.sleep(3)
    filler.unlink()  # space returns
    freed = time.time()
    server.wait_recording("disk", timeout=15)
    resumed = time.time()
    wait_for(
        lambda: not active_alarms(server, "recording_stopped"),
        timeout=5,
    )
    assert server.camera("disk")["recording_failure"] is None
    time.sleep(5)  # a segment of the new run gets catalogued

    data = server.recordings("disk", began, time.time() - 1)
    gaps = [g for g in data["gaps"] if g["cause"] != "camera_connecting"]
    # every second missing is missing for the fault, and says so (a few frames written whole
    # between two failed attempts may split it in pieces)
    assert gaps and {g["cause"] for g in gaps} == {"disk_full"}, data["gaps"]
    start, end = parse_iso(gaps[0]["start"]), parse_iso(gaps[-1]["end"])
    # it starts at the last whole fragment before the disk filled (fragments are 1 s) and ends
    # when recording resumed: within the retry backoff and a GOP of space returning
    assert filled - 2.0 <= start <= failed
    assert freed <= end <= resumed + 1.0
    assert end - freed <= 8.0 + 1.0


LOCK_HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
"""


def test_a_catalog_outage_keeps_recording_and_its_rows_land_when_it_returns(
    sim: Any, make_server: Any
) -> None:
    server: Server = make_server(
        [{"id": "rec", "name": "讯问室1", "url": sim.rtsp_url("rec")}],
        storage={"segment_seconds": 4},
    ).start()
    began = server.wait_recording("rec")
    time.sleep(3)
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(server.workdir / "catalog.db"), "15"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    locked = time.time()
    try:
        # the operator is told, and the wall keeps its live state meanwhile
        alarm = wait_for(
            lambda: active_alarms(server, "catalog_unavailable"),
            timeout=10,
        )[0]
        assert "footage is kept on disk" in alarm["detail"]
        assert time.time() - locked < 10
        camera = server.camera("rec")
        assert camera["recording"] and camera["state"] == "live"
    finally:
        holder.wait(60)
    released = time.time()
    wait_for(
        lambda: not active_alarms(server, "catalog_unavailable"),
        timeout=15,
    )
    time.sleep(5)
    data = server.recordings("rec", began + 1, released)
    assert data["gaps"] == [], data["gaps"]  # every segment written meanwhile is catalogued
    assert data["coverage_percent"] == 100.0
    log = server.get("/api/v1/alarms")["data"]
    assert any(a["kind"] == "catalog_unavailable" and not a["active"] for a in log)


def test_a_resolution_change_mid_stream_starts_a_new_segment(sim: Any, make_server: Any) -> None:
    server: Server = make_server(
        [{"id": "resize", "name": "讯问室4", "url": sim.rtsp_url("resize")}],
        storage={"segment_seconds": 30},
    ).start()
    began = server.wait_recording("resize")
    time.sleep(3)
    try:
        sim.set_video("resize", "resized")  # an installer halves the resolution
        changed = time.time()
        camera = wait_for(
            lambda: (c := server.camera("resize"))["video"]["width"] == 320 and c, timeout=5
        )
        assert camera["video"] == {"codec": "h264", "width": 320, "height": 180}
        # the run of the old stream ended; the new one starts at the keyframe that changed it
        wait_for(lambda: server.camera("resize")["recording"], timeout=2)
        time.sleep(3)
    finally:
        sim.set_video("resize", "normal")
    time.sleep(2)
    data = server.recordings("resize", began + 1, time.time() - 1)
    closed = [s for s in data["segments"] if s["status"] == "ok"]
    sizes = [s["video"] for s in closed]
    # one segment per stream: cut at the keyframe that brought the new parameter sets
    assert sizes[:2] == ["h264 640x360", "h264 320x180"], sizes
    assert abs(parse_iso(closed[0]["end"]) - changed) < 1.5
    assert [g for g in data["gaps"] if g["duration"] > 0.1] == [], data["gaps"]
    for segment, (width, height) in zip(closed[:2], [(640, 360), (320, 180)], strict=True):
        body = http.get(f"{server.url}{segment['url']}", timeout=10).content
        path = server.workdir / f"{segment['id']}.mp4"
        path.write_bytes(body)
        probed = subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
             "stream=width,height", "-of", "csv=p=0", str(path)],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert probed == f"{width},{height}"


def test_a_fast_camera_clock_is_slewed_not_cut(sim: Any, make_server: Any) -> None:
    """A media clock 500 ppm fast: no gap, and every segment's catalog duration is its media
    duration within a video and an audio frame (the camera runs ahead; wall time follows real
    time; a file's last AAC frame may end up to 21 ms after its last picture)."""
    sim.set_clock_rate("clock", 500)
    try:
        server: Server = make_server(
            [{"id": "clock", "name": "讯问室6", "url": sim.rtsp_url("clock")}],
            storage={"segment_seconds": 8},
        ).start()
        began = server.wait_recording("clock")
        time.sleep(30)
        data = server.recordings("clock", began + 1, time.time() - 1)
    finally:
        sim.set_clock_rate("clock", 0)
    assert data["gaps"] == [], data["gaps"]
    closed = [s for s in data["segments"] if s["status"] == "ok"]
    assert len(closed) >= 3
    for segment in closed:
        path = server.storage / segment["path"]
        probed = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
             str(path)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert abs(float(probed) - segment["duration"]) < 0.040 + 0.022, segment


def test_io_errors_stop_recording_with_their_cause_and_it_resumes(
    sim: Any, tmp_path: Path, make_server: Any
) -> None:
    """The recordings' file system answers EIO to every write for 4 s."""
    with faulty_file_system(tmp_path / "faulty") as disk:
        server: Server = make_server(
            [{"id": "eio", "name": "讯问室5", "url": sim.rtsp_url("eio")}],
            storage={"path": str(tmp_path / "faulty"), "segment_seconds": 4},
        ).start()
        began = server.wait_recording("eio")
        time.sleep(3)
        disk.write_errno = errno.EIO
        injected = time.time()
        try:
            camera = wait_for(
                lambda: (c := server.camera("eio"))["recording_failure"] is not None and c,
                timeout=5,
            )
            assert camera["recording_failure"]["cause"] == "write_error"
            assert "Input/output error" in camera["recording_failure"]["detail"]
            alarm = wait_for(lambda: active_alarms(server, "recording_stopped"), timeout=2)[0]
            assert "write_error" in alarm["detail"]
            time.sleep(3)
        finally:
            disk.write_errno = None
        healed = time.time()
        server.wait_recording("eio", timeout=15)
        time.sleep(5)
        data = server.recordings("eio", began, time.time() - 1)
        server.stop()
    gaps = [g for g in data["gaps"] if g["cause"] != "camera_connecting"]
    assert gaps and {g["cause"] for g in gaps} == {"write_error"}, data["gaps"]
    assert injected - 2.0 <= parse_iso(gaps[0]["start"]) <= injected + 1.0
    assert healed <= parse_iso(gaps[-1]["end"]) <= healed + 8.0 + 1.0


def max_pause(times: list[float], start: float, end: float) -> float:
    """The longest wait between two decoded frames inside [start, end] (monotonic seconds)."""
    inside = [start, *(t for t in times if start <= t <= end), end]
    return max(b - a for a, b in itertools.pairwise(inside))


def test_a_slow_disk_never_freezes_live_view_and_a_stalled_one_is_a_gap_with_its_cause(
    sim: Any, tmp_path: Path, make_server: Any
) -> None:
    """fsync takes 1 s (a slow disk): live view keeps its pace and nothing is lost. Then one
    fsync hangs 10 s, past the 4 s write backlog: live view still keeps its pace, recording shows
    ``storage_stalled`` at once with the alarm, the loss is a gap with that cause, and recording
    resumes by itself."""
    cameras = [{"id": m, "name": f"讯问室 {m}", "url": sim.rtsp_url(m)} for m in ("slow1", "slow2")]
    with faulty_file_system(tmp_path / "faulty") as disk:
        server: Server = make_server(
            cameras,
            storage={"path": str(tmp_path / "faulty"), "segment_seconds": 4,
                     "write_backlog_seconds": 4},
            relay={"ice_host_addresses": ["127.0.0.1"]},
        ).start()  # fmt: skip
        began = max(server.wait_recording("slow1"), server.wait_recording("slow2"))

        async def scenario() -> dict[str, Any]:
            viewer = WhepViewer(server.url, "slow1")
            assert (await viewer.start()).status_code == 201
            assert await viewer.wait_frames(25, within=10)
            seen: dict[str, Any] = {"recording": set()}

            async def poll_for(seconds: float) -> None:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    for cam in ("slow1", "slow2"):
                        state = await asyncio.to_thread(server.camera, cam)
                        seen["recording"].add((cam, state["recording"]))
                    await asyncio.sleep(0.3)

            disk.fsync_delay = 1.0
            slow = time.monotonic(), time.time()
            await poll_for(10)
            disk.fsync_delay = 0.0
            seen["slow"] = (slow[1], time.time())
            seen["slow_pause"] = max_pause(viewer.received.frame_times, slow[0], time.monotonic())
            seen["recording_while_slow"] = set(seen["recording"])
            await asyncio.sleep(3)  # the last slow fsyncs return

            disk.fsync_delay = 10.0  # the disk hangs until the stall is shown (each recorder
            hung = time.monotonic(), time.time()  # fdatasyncs every second, a loaded one later)
            try:
                camera = await asyncio.to_thread(
                    wait_for,
                    lambda: (c := server.camera("slow1"))["recording_failure"] is not None and c,
                    12,
                )
            finally:
                disk.fsync_delay = 0.0  # only the fsyncs already waiting hang on
            seen["failed_after"] = time.time() - hung[1]
            seen["failure"] = camera["recording_failure"]
            alarms = await asyncio.to_thread(
                wait_for,
                lambda: [a for a in active_alarms(server, "recording_stopped")
                         if a["camera_id"] == "slow1"],
                2,
            )  # fmt: skip
            seen["alarm"] = alarms[0]
            await asyncio.to_thread(server.wait_recording, "slow1", 20)
            seen["hung"] = (hung[1], time.time())
            seen["hung_pause"] = max_pause(viewer.received.frame_times, hung[0], time.monotonic())
            await viewer.close()
            return seen

        seen = asyncio.run(scenario())
        time.sleep(5)
        data = {
            cam: server.recordings(cam, began + 1, time.time() - 2) for cam in ("slow1", "slow2")
        }
        server.stop()
    # a slow disk: live view kept its pace (25 fps), recording never stopped, nothing was lost
    assert seen["slow_pause"] < 0.5, seen["slow_pause"]
    assert seen["recording_while_slow"] == {("slow1", True), ("slow2", True)}
    slow_end = seen["slow"][1]
    for cam, recordings in data.items():
        during = [g for g in recordings["gaps"] if parse_iso(g["start"]) < slow_end + 2]
        assert during == [], (cam, during)
    # a hung disk: live view still kept its pace; the stall was shown with its cause at once
    assert seen["hung_pause"] < 0.5, seen["hung_pause"]
    assert seen["failure"]["cause"] == "storage_stalled"
    assert "storage too slow" in seen["failure"]["detail"]
    assert seen["failed_after"] < 4 + 2  # the backlog bound, then at once
    assert "storage_stalled" in seen["alarm"]["detail"]
    hung_start, resumed = seen["hung"]
    gaps = [g for g in data["slow1"]["gaps"] if g["cause"] != "camera_connecting"]
    assert gaps and {g["cause"] for g in gaps} == {"storage_stalled"}, data["slow1"]["gaps"]
    # the loss starts where the backlog ran out (4 s after the recorder's first fdatasync into
    # the hang: up to 1 s in, more on loaded cores) and ends where recording resumed
    assert hung_start <= parse_iso(gaps[0]["start"]) <= hung_start + 4 + 2
    assert parse_iso(gaps[-1]["end"]) <= resumed + 1
