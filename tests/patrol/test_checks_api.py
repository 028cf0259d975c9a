"""Automatic checks of running cameras, asked of a real server watching real RTSP cameras:
the faults switched on in the simulator are found by their checks, the command line gives the
same verdicts (from the server, or with --direct from the cameras), bad input names its field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from servers import Server, auth_for, token_for

from camsim.harness import SimulatorProcess
from camsim.spec import MountSpec

pytestmark = pytest.mark.media

SMALL = {"width": 640, "height": 360, "fps": 25, "gop": 1.0, "bitrate": 600}
FAULTS = {
    "blurred": "blurred", "covered": "covered", "frozen": "frozen", "turned": "scene_changed",
    "black": "black", "dark": "dark",
}  # fmt: skip
"""Simulator fault mode → the check that must find it (one camera per fault)."""
MOUNTS = [
    MountSpec(name="room", picture_faults=True, **SMALL),
    *[MountSpec(name=mode, picture_faults=True, **SMALL) for mode in FAULTS],
    MountSpec(name="clock", **SMALL),
]
CLOCK_OFFSET_SECONDS = 3600.0


@pytest.fixture(scope="module")
def patrol_sim() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(MOUNTS, ident=True, loop_seconds=10) as process:
        process.set_clock_offset("clock", CLOCK_OFFSET_SECONDS)  # before anyone connects
        yield process


@pytest.fixture(scope="module")
def server(
    patrol_sim: SimulatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("patrol")
    cameras = [
        {"id": f"p-{m.name}", "name": f"讯问室 {m.name}", "area": "interrogation",
         "url": patrol_sim.rtsp_url(m.name)}
        for m in MOUNTS
    ]  # fmt: skip
    running = Server(
        workdir,
        cameras,
        users=[("xuncha", "patrol", []), ("zhanli", "inspector", ["test"]),
               ("other", "patrol", ["other"])],
        more_sites=[{"id": "other", "name": "其他派出所", "cameras": []}],
        storage={"segment_seconds": 4},
    ).start()  # fmt: skip
    for camera in cameras:
        running.wait_recording(camera["id"])
    yield running
    running.stop()


def check(server: Server, *cameras: str, user: str = "xuncha", **body: Any) -> httpx.Response:
    payload = {"cameras": list(cameras), **body} if cameras else body
    return httpx.post(
        f"{server.url}/api/v1/patrol/checks", json=payload, headers=auth_for(user), timeout=60
    )


def verdicts(server: Server, camera: str) -> dict[str, dict[str, Any]]:
    response = check(server, camera)
    assert response.status_code == 200, response.text
    return {r["check"]: r for r in response.json()["data"]}


def wait_until_failing(
    server: Server, camera: str, name: str, timeout: float = 20
) -> dict[str, Any]:
    """The results of the first check in which ``name`` fails."""
    deadline = time.monotonic() + timeout
    while True:
        results = verdicts(server, camera)
        if results[name]["ok"] is False or time.monotonic() > deadline:
            return results
        time.sleep(1)


def failing(results: dict[str, dict[str, Any]]) -> set[str]:
    return {name for name, result in results.items() if result["ok"] is False}


def results_by_camera(server: Server, cameras: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """One check of several cameras: camera → check → result."""
    response = check(server, *cameras)
    assert response.status_code == 200, response.text
    by_camera: dict[str, dict[str, dict[str, Any]]] = {camera: {} for camera in cameras}
    for result in response.json()["data"]:
        by_camera[result["camera"]][result["check"]] = result
    return by_camera


def not_passing(by_camera: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """camera → check → (ok, detail) of each check that did not pass, to tell why."""
    return {
        camera: {name: (r["ok"], r["detail"]) for name, r in results.items() if r["ok"] is not True}
        for camera, results in by_camera.items()
    }


def failing_by_camera(server: Server, cameras: list[str]) -> dict[str, set[str]]:
    """The cameras with a failing check, and those checks."""
    by_camera = results_by_camera(server, cameras)
    return {camera: failing(results) for camera, results in by_camera.items() if failing(results)}


def test_healthy_cameras_pass_and_keep_a_reference(server: Server) -> None:
    time.sleep(5)  # three keyframes two seconds apart in the Hub
    results = verdicts(server, "p-room")
    assert failing(results) == set(), results
    assert results["audio"]["value"] > -30 and results["audio"]["unit"] == "dBFS"
    assert results["online"]["value"] == "live" and results["recording"]["value"] < 10
    coverage = results["coverage"]  # from the camera's first recording on
    assert coverage["value"] > 99 and coverage["gaps"] == [], coverage
    assert results["frozen"]["ok"] is True and "frames over" in results["frozen"]["detail"]
    assert abs(results["clock"]["value"]) < 2
    reference = httpx.get(
        f"{server.url}/api/v1/patrol/cameras/p-room/reference", headers=auth_for("xuncha")
    )
    assert reference.status_code == 200 and reference.content[:4] == b"\x89PNG"


def test_each_fault_switched_on_is_found_by_its_check(
    server: Server, patrol_sim: SimulatorProcess
) -> None:
    cameras = {f"p-{mode}": mode for mode in FAULTS}

    def healthy_with_reference() -> bool:
        healthy = not failing_by_camera(server, list(cameras))  # a passing check keeps one
        kept = all(
            httpx.get(
                f"{server.url}/api/v1/patrol/cameras/{camera}/reference", headers=auth_for("xuncha")
            ).status_code
            == 200
            for camera in cameras
        )
        return healthy and kept

    deadline = time.monotonic() + 20
    while not healthy_with_reference():  # each camera's normal picture kept as its reference
        assert time.monotonic() < deadline, not_passing(results_by_camera(server, list(cameras)))
        time.sleep(1)
    for mode in FAULTS:
        patrol_sim.set_video(mode, mode)
    try:
        found: dict[str, dict[str, dict[str, Any]]] = {}
        deadline = time.monotonic() + 25
        while len(found) < len(cameras) and time.monotonic() < deadline:
            pending = [camera for camera in cameras if camera not in found]
            for camera, results in results_by_camera(server, pending).items():
                if results[FAULTS[cameras[camera]]]["ok"] is False:
                    found[camera] = results
            time.sleep(1)
        assert set(found) == set(cameras), f"not found: {set(cameras) - set(found)}"
        for camera, results in found.items():
            name = FAULTS[cameras[camera]]
            assert failing(results) == {name}, json.dumps(results, ensure_ascii=False)
            assert results[name]["value"] is not None and results[name]["threshold"] is not None
    finally:
        for mode in FAULTS:
            patrol_sim.set_video(mode, "normal")


def test_a_silent_microphone_and_a_wrong_camera_clock_are_found(
    server: Server, patrol_sim: SimulatorProcess
) -> None:
    clock = verdicts(server, "p-clock")["clock"]
    assert clock["ok"] is False and abs(clock["value"] - CLOCK_OFFSET_SECONDS) < 5, clock
    patrol_sim.set_audio("room", "silent")
    try:
        audio = wait_until_failing(server, "p-room", "audio")["audio"]
        assert audio["ok"] is False and audio["value"] < -90, audio
    finally:
        patrol_sim.set_audio("room", "tone")


def test_bad_requests_name_the_field_and_scope_hides_other_stations(server: Server) -> None:
    unknown = check(server, "p-room", "no-such-camera")
    assert unknown.status_code == 422 and unknown.json()["field"] == "cameras.1"
    bad_check = check(server, "p-room", checks=["sharpness"])
    assert bad_check.status_code == 422 and "checks" in bad_check.json()["field"]
    malformed = check(server, "Not An Id")
    assert malformed.status_code == 422 and "cameras" in malformed.json()["field"]
    empty = check(server, checks=[])
    assert empty.status_code == 422
    # another station's patrol does not see this station's cameras: the same answer as unknown
    hidden = check(server, "p-room", user="other")
    assert hidden.status_code == 422 and hidden.json()["field"] == "cameras.0"
    assert check(server, user="other").json()["data"] == []
    # a station's inspector reads patrol data but runs no checks
    assert check(server, "p-room", user="zhanli").status_code == 403


def run_cli(
    server: Server, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CASEWATCH_TOKEN"}
    if token is not None:
        env["CASEWATCH_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "patrol", "check", "--config", str(server.config), *args],
        cwd=server.workdir, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_command_line_asks_the_server_or_the_cameras(server: Server) -> None:
    asked = run_cli(server, "--json", "--camera", "p-clock", token=token_for("xuncha"))
    assert asked.returncode == 1, asked.stderr  # the clock is an hour off
    lines = [json.loads(line) for line in asked.stdout.splitlines()]
    assert {line["camera"] for line in lines} == {"p-clock"}
    assert {"camera", "check", "ok", "value", "threshold"} <= set(lines[0])
    assert [line["check"] for line in lines if line["ok"] is False] == ["clock"]

    direct = run_cli(server, "--direct", "--camera", "p-room")
    assert direct.returncode == 0, direct.stdout + direct.stderr
    assert "p-room" in direct.stdout and " ok " in direct.stdout
    assert "FAIL" not in direct.stdout

    no_token = run_cli(server, "--camera", "p-room")
    assert no_token.returncode == 2 and "CASEWATCH_TOKEN" in no_token.stderr
    unknown = run_cli(server, "--camera", "nope", token=token_for("xuncha"))
    assert unknown.returncode == 2 and "--camera" in unknown.stderr
    assert "Traceback" not in unknown.stderr + no_token.stderr
