"""A patrol plan from schedule to verified finding, on a real server with real RTSP cameras:
the scheduled run made late after the server was down finds the blurred and the frozen camera
among normal ones, the station rectifies, the next run verifies, an overdue finding alarms the
wall, and every step is in the audit trail."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from servers import Server, auth_for

from camsim.harness import SimulatorProcess
from camsim.spec import MountSpec
from patrol.results import Check

pytestmark = pytest.mark.media

SMALL = {"width": 640, "height": 360, "fps": 25, "gop": 1.0, "bitrate": 600}
MOUNTS = [
    MountSpec(name="n1", **SMALL),
    MountSpec(name="n2", **SMALL),
    MountSpec(name="soft", picture_faults=True, **SMALL),
    MountSpec(name="stuck", picture_faults=True, **SMALL),
]
HOUR_US = 3_600_000_000


@pytest.fixture(scope="module")
def flow_sim() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(MOUNTS, ident=True, loop_seconds=10) as process:
        yield process


def camera(sim: SimulatorProcess, name: str, area: str = "interrogation") -> dict[str, Any]:
    return {"id": f"c-{name}", "name": f"讯问室 {name}", "area": area, "url": sim.rtsp_url(name)}


@pytest.fixture(scope="module")
def server(
    flow_sim: SimulatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("flow")
    running = Server(
        workdir,
        [camera(flow_sim, "n1"), camera(flow_sim, "soft")],
        more_sites=[{"id": "east", "name": "东站派出所",
                     "cameras": [camera(flow_sim, "n2"), camera(flow_sim, "stuck")]}],
        users=[("xuncha", "patrol", []), ("zhanli", "inspector", ["test"]),
               ("dongzhan", "inspector", ["east"])],
        storage={"segment_seconds": 4},
    ).start()  # fmt: skip
    yield running
    running.stop()


def api(
    server: Server, method: str, path: str, user: str = "xuncha", **kwargs: Any
) -> httpx.Response:
    return httpx.request(
        method, f"{server.url}/api/v1/patrol{path}", headers=auth_for(user), timeout=60, **kwargs
    )


def catalog(server: Server) -> sqlite3.Connection:
    return sqlite3.connect(server.database_url.removeprefix("sqlite:///"))


def test_bad_plans_are_refused_naming_the_field(server: Server) -> None:
    cases = [
        ({"name": "x", "schedule": "61 * * * *"}, "schedule"),
        ({"name": "x", "schedule": "every hour"}, "schedule"),
        ({"name": "x", "scope": {"cameras": ["c-n1", "nope"]}}, "scope.cameras.1"),
        ({"name": "x", "scope": {"sites": ["atlantis"]}}, "scope.sites.0"),
        ({"name": "x", "scope": {"areas": ["property"]}}, "scope"),  # covers no camera
        ({"name": "x", "sampling": {"mode": "random"}}, "sampling"),
        ({"name": "x", "thresholds": {"blur_min_ratio": 7}}, "thresholds.blur_min_ratio"),
        ({"name": "x", "checks": ["sharpness"]}, "checks.0"),
        ({"name": "", "schedule": None}, "name"),
        ({"name": "x", "conduct_items": [{"key": "a", "label": "甲"}] * 2}, "conduct_items"),
    ]
    for body, field in cases:
        response = api(server, "POST", "/plans", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"].startswith(field), (body, response.json())
    assert api(server, "GET", "/plans").json()["data"] == []  # nothing half-written


def test_a_scheduled_plan_finds_rectification_is_verified_by_the_next_run(
    server: Server, flow_sim: SimulatorProcess
) -> None:
    for name in ("c-n1", "c-soft", "c-n2", "c-stuck"):
        server.wait_recording(name)
    flow_sim.set_video("soft", "blurred")
    flow_sim.set_video("stuck", "frozen")
    # every check but coverage: the restart below leaves a gap in each camera's seconds of
    # footage, which would be a finding of its own
    checks = [c.value for c in Check if c is not Check.COVERAGE]
    created = api(server, "POST", "/plans", json={
        "name": "每小时设备巡查", "schedule": "0 * * * *", "due_hours": 48, "checks": checks,
    })  # fmt: skip
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["next_run"] is not None and plan["conduct_items"]
    # the server was down over three scheduled times: on start the plan runs once, late
    server.stop()
    with catalog(server) as db:
        db.execute(
            "UPDATE patrol_plans SET last_fire_us = last_fire_us - ? WHERE id = ?",
            (3 * HOUR_US + 60_000_000, plan["id"]),
        )
    server.start()
    for name in ("c-n1", "c-soft", "c-n2", "c-stuck"):
        server.wait_recording(name)
    # after a start the scheduler waits for the cameras to settle, then runs the plan once
    run = wait_for_run(server, lambda r: r["trigger"] == "scheduled")
    assert run["late"] is True and run["cameras"] == 4, run
    report = api(server, "GET", f"/runs/{run['id']}").json()
    findings = {(f["camera"], f["item"]): f for f in report["finding_list"]}
    assert ("c-soft", "blurred") in findings, report["finding_list"]
    if ("c-stuck", "frozen") not in findings:
        # the Hub had not yet two frozen keyframes two seconds apart when the run checked
        run_id = api(server, "POST", f"/plans/{plan['id']}/runs").json()["id"]
        report = api(server, "GET", f"/runs/{run_id}").json()
        findings |= {(f["camera"], f["item"]): f for f in report["finding_list"]}
    assert ("c-stuck", "frozen") in findings
    cameras_with_findings = {camera for camera, _ in findings}
    assert cameras_with_findings == {"c-soft", "c-stuck"}, findings
    blurred = findings[("c-soft", "blurred")]
    assert blurred["state"] == "open" and blurred["severity"] == "medium"
    assert blurred["created_by"] == "scheduler" and "画面模糊" in blurred["description"]
    picture = api(server, "GET", f"/findings/{blurred['id']}/evidence/0")
    assert picture.status_code == 200 and picture.content[:2] == b"\xff\xd8"
    item = next(i for i in report["items"] if i["camera"] == "c-soft")
    snapshot = api(server, "GET", f"/runs/{report['id']}/items/{item['id']}/snapshot")
    assert snapshot.status_code == 200 and snapshot.content[:2] == b"\xff\xd8"

    # the station sees its own finding only, and answers it
    own = api(server, "GET", "/findings", user="zhanli").json()["data"]
    assert {f["camera"] for f in own} == {"c-soft"}
    frozen_id = findings[("c-stuck", "frozen")]["id"]
    assert api(server, "GET", f"/findings/{frozen_id}", user="zhanli").status_code == 404
    no_note = api(server, "POST", f"/findings/{blurred['id']}/rectify", user="zhanli", json={})
    assert no_note.status_code == 409 and no_note.json()["field"] == "note"
    flow_sim.set_video("soft", "normal")
    time.sleep(2)
    rectified = api(
        server, "POST", f"/findings/{blurred['id']}/rectify", user="zhanli",
        json={"note": "已重新对焦镜头"},
    )  # fmt: skip
    assert rectified.status_code == 200, rectified.text
    assert rectified.json()["state"] == "rectified"
    assert rectified.json()["evidence"][-1]["type"] == "rectification"
    assert (
        api(server, "POST", f"/findings/{blurred['id']}/verify", user="zhanli").status_code == 403
    )

    # the next run's passing check verifies it; the frozen camera's finding stays open
    rerun = api(server, "POST", f"/plans/{plan['id']}/runs")
    assert rerun.status_code == 201, rerun.text
    verified = api(server, "GET", f"/findings/{blurred['id']}").json()
    assert verified["state"] == "verified" and verified["verified_by"] == "automatic check"
    assert [step["to"] for step in verified["history"]] == ["open", "rectified", "verified"]
    assert api(server, "GET", f"/findings/{frozen_id}").json()["state"] == "open"

    # every step is in the audit trail, automatic ones as the scheduler
    entries = httpx.get(
        f"{server.url}/api/v1/audit", params={"limit": 500}, headers=auth_for("admin"), timeout=30
    ).json()["data"]
    steps = [(e["action"], e["user"]) for e in entries if e["object_id"] == str(blurred["id"])]
    assert ("finding_open", "scheduler") in steps
    assert ("finding_rectify", "zhanli") in steps
    assert ("finding_auto_verify", "scheduler") in steps


def test_an_overdue_finding_raises_an_alarm_on_the_wall(server: Server) -> None:
    open_findings = api(server, "GET", "/findings", params={"state": "open"}).json()["data"]
    assert open_findings, "the flow test leaves the frozen camera's finding open"
    finding = open_findings[0]
    server.stop()
    with catalog(server) as db:
        db.execute("UPDATE patrol_findings SET due_us = 1 WHERE id = ?", (finding["id"],))
    server.start()
    deadline = time.monotonic() + 20
    alarms: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        alarms = httpx.get(
            f"{server.url}/api/v1/alarms", params={"active": "true"}, headers=auth_for("admin"),
            timeout=10,
        ).json()["data"]  # fmt: skip
        if any(a["kind"] == "finding_overdue" for a in alarms):
            break
        time.sleep(0.5)
    overdue = [a for a in alarms if a["kind"] == "finding_overdue"]
    assert [a["camera_id"] for a in overdue] == [finding["camera"]], alarms
    listed = api(server, "GET", "/findings", params={"overdue": "true"}).json()["data"]
    assert [f["id"] for f in listed] == [finding["id"]] and listed[0]["overdue"] is True


def wait_for_run(server: Server, match: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in api(server, "GET", "/runs").json()["data"]:
            if match(run) and run["state"] != "checking":
                return dict(run)
        time.sleep(0.5)
    raise AssertionError(api(server, "GET", "/runs").json())


def test_a_manual_visit_records_a_conduct_problem_and_the_bulletin_counts_it(
    server: Server,
) -> None:
    for name in ("c-n1", "c-soft"):  # the last test restarted the server
        server.wait_recording(name)
    plan = api(server, "POST", "/plans", json={
        "name": "讯问室巡查", "scope": {"areas": ["interrogation"], "sites": ["test"]},
        "checks": ["online", "recording", "black"],
    }).json()  # fmt: skip
    run = api(server, "POST", f"/plans/{plan['id']}/runs").json()
    assert run["state"] == "open" and {i["camera"] for i in run["items"]} == {"c-n1", "c-soft"}
    room = run["items"][0]
    problem = {"two_officers": "problem", "never_alone": "ok"}
    no_note = api(server, "PUT", f"/runs/{run['id']}/items/{room['id']}", json={"conduct": problem})
    assert no_note.status_code == 422 and no_note.json()["field"] == "note"
    unknown = api(server, "PUT", f"/runs/{run['id']}/items/{room['id']}",
                  json={"conduct": {"dancing": "ok"}})  # fmt: skip
    assert unknown.status_code == 422 and unknown.json()["field"] == "conduct.dancing"
    visited = api(
        server, "PUT", f"/runs/{run['id']}/items/{room['id']}",
        json={"conduct": problem, "note": "仅一名民警在场", "evidence": "clip", "severity": "high"},
    )  # fmt: skip
    assert visited.status_code == 200, visited.text
    (finding,) = visited.json()["findings_opened"]
    assert finding["kind"] == "conduct" and finding["severity"] == "high"
    assert finding["source"] == "manual" and finding["created_by"] == "xuncha"
    kinds = [e["type"] for e in finding["evidence"]]
    assert kinds == ["snapshot", "clip"], finding["evidence"]
    assert api(server, "GET", f"/findings/{finding['id']}/evidence/0").content[:2] == b"\xff\xd8"
    finished = api(server, "POST", f"/runs/{run['id']}/finish")
    assert finished.status_code == 200 and finished.json()["state"] == "done"
    assert finished.json()["visited"] == 1 and finished.json()["cameras"] == 2
    again = api(server, "PUT", f"/runs/{run['id']}/items/{room['id']}", json={"conduct": {}})
    assert again.status_code == 409

    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))  # Asia/Shanghai
    report = api(server, "GET", "/bulletin", params={"start": today, "end": today}).json()
    stations = {row["site"]: row for row in report["stations"]}
    test = stations["test"]
    assert test["findings_by_kind"].get("conduct") == 1
    assert test["patrol_runs"] >= 2 and test["rooms_checked"] == 2 and test["cameras_checked"] == 2
    # seconds of footage across two restarts: some of the period is a gap, none is invented
    assert test["online_rate"] == 100.0 and 0 < test["recording_completeness"] < 100
    assert report["totals"]["findings"] == sum(row["findings"] for row in report["stations"])
    own = api(server, "GET", "/bulletin", user="zhanli", params={"start": today, "end": today})
    assert [row["site"] for row in own.json()["stations"]] == ["test"]
    csv_text = api(
        server, "GET", "/bulletin", params={"start": today, "end": today, "format": "csv"}
    ).text
    assert csv_text.lstrip("\ufeff").startswith("单位,巡查次数") and "合计" in csv_text
    backwards = api(server, "GET", "/bulletin", params={"start": today, "end": "2000-01-01"})
    assert backwards.status_code == 422 and backwards.json()["field"] == "end"
