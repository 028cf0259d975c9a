"""Cases, tags, interrogation sessions with completeness reports, and evidence holds — against a
real server recording real RTSP cameras."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from servers import Server, http, iso, parse_iso

pytestmark = pytest.mark.media

CASE = "A6103020000002026110007"


def room_camera(camera_id: str, mount: str, sim: Any, room: str = "讯问室1") -> dict[str, Any]:
    return {
        "id": camera_id,
        "name": f"{room} {camera_id}",
        "area": "interrogation",
        "room": room,
        "url": sim.rtsp_url(mount),
    }


def post(server: Server, path: str, body: Any = None) -> httpx.Response:
    return http.post(f"{server.url}{path}", json=body, timeout=30)


def test_cases_are_validated_searched_and_closed_in_order(sim: Any, make_server: Any) -> None:
    server = make_server([room_camera("cam-a", "m7", sim)]).start()
    created = post(server, "/api/v1/cases", {"number": CASE, "title": "张某盗窃案"})
    assert created.status_code == 201, created.text
    assert created.json()["type"] == "criminal"
    assert created.json()["unit_code"] == "610302000000"
    bad = [
        ({"number": "A123", "title": "x"}, 400, "number"),
        ({"number": "A6103020000002026130007", "title": "x"}, 400, "number"),
        ({"number": CASE, "type": "incident", "title": "x"}, 400, "number"),
        ({"number": CASE, "title": "again"}, 409, "number"),
        ({"number": "B6103020000002026110001"}, 422, "title"),
        ({"number": "B6103020000002026110001", "title": "x", "x": 1}, 422, "x"),
    ]
    for body, status, field in bad:
        response = post(server, "/api/v1/cases", body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["field"] == field and response.json()["error"]
    assert http.get(f"{server.url}/api/v1/cases/A999").status_code == 400
    missing = http.get(f"{server.url}/api/v1/cases/B6103020000002026110001")
    assert missing.status_code == 404 and missing.json()["field"] == "number"

    server.wait_recording("cam-a")
    time.sleep(2)
    start = time.time() - 1.5
    tag = post(
        server,
        f"/api/v1/cases/{CASE}/tags",
        {
            "room": "讯问室1",
            "kind": "identification",
            "start": iso(start),
            "persons": ["张三"],
            "officers": ["李警官"],
            "note": "辨认",
        },
    )
    assert tag.status_code == 201, tag.text
    assert tag.json()["camera_ids"] == ["cam-a"] and tag.json()["site"] == "test"
    for body, status, field in [
        (
            {"room": "讯问室1", "kind": "other", "start": iso(start), "end": iso(start - 5)},
            400,
            "end",
        ),
        ({"room": "讯问室9", "kind": "other", "start": iso(start)}, 422, "room"),
        ({"camera_ids": ["nope"], "kind": "other", "start": iso(start)}, 422, "camera_ids.0"),
        ({"room": "讯问室1", "kind": "other", "start": "2026-01-01T00:00:00"}, 400, "start"),
        ({"room": "讯问室1", "kind": "dance", "start": iso(start)}, 422, "kind"),
        ({"kind": "other", "start": iso(start)}, 422, ""),
    ]:
        response = post(server, f"/api/v1/cases/{CASE}/tags", body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["field"].startswith(field)

    found = server.get("/api/v1/cases", person="张三")["data"]
    assert [c["number"] for c in found] == [CASE]
    assert server.get("/api/v1/cases", person="王五")["count"] == 0
    assert server.get("/api/v1/cases", site="test", q="盗窃")["count"] == 1
    # a day of the branch's calendar (Asia/Shanghai: UTC+8), not a UTC day
    branch_day = time.strftime("%Y-%m-%d", time.gmtime(start + 8 * 3600))
    assert server.get("/api/v1/cases", date=branch_day)["count"] == 1
    next_day = time.strftime("%Y-%m-%d", time.gmtime(start + 8 * 3600 + 86_400))
    assert server.get("/api/v1/cases", date=next_day)["count"] == 0
    footage = server.get(f"/api/v1/cases/{CASE}/footage")["footage"]
    assert footage[0]["cameras"][0]["coverage_percent"] > 50

    opened = post(server, f"/api/v1/cases/{CASE}/sessions", {"room": "讯问室1"})
    assert opened.status_code == 201, opened.text
    closing = http.patch(f"{server.url}/api/v1/cases/{CASE}", json={"status": "closed"})
    assert closing.status_code == 409 and "open sessions" in closing.json()["error"]
    assert post(server, f"/api/v1/sessions/{opened.json()['id']}/close").status_code == 200
    closed = http.patch(f"{server.url}/api/v1/cases/{CASE}", json={"status": "closed"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    refused = post(server, f"/api/v1/cases/{CASE}/sessions", {"room": "讯问室1"})
    assert refused.status_code == 409 and "closed" in refused.json()["error"]


def test_session_report_shows_the_outage_and_the_audio(sim: Any, make_server: Any) -> None:
    server = make_server(
        [room_camera("cam-a", "flap", sim), room_camera("cam-b", "m7", sim)],
        storage={"segment_seconds": 4},
        ingest={"stall_seconds": 2},
    ).start()
    server.wait_recording("cam-a")
    server.wait_recording("cam-b")
    assert post(server, "/api/v1/cases", {"number": CASE, "title": "讯问"}).status_code == 201
    opened = post(
        server,
        f"/api/v1/cases/{CASE}/sessions",
        {"room": "讯问室1", "persons": ["张三"], "officers": ["李警官", "王警官"]},
    )
    assert opened.status_code == 201, opened.text
    session_id = opened.json()["id"]
    assert opened.json()["camera_ids"] == ["cam-a", "cam-b"]
    badge = server.camera("cam-a")["session"]
    assert badge["id"] == session_id and badge["case_number"] == CASE

    # an open session's cameras cannot stop recording, and the room takes no second session
    for body in ({"recording": False}, {"enabled": False}):
        refused = http.patch(f"{server.url}/api/v1/cameras/cam-b", json=body)
        assert refused.status_code == 409 and f"session {session_id}" in refused.json()["error"]
    assert server.camera("cam-b")["recording"]
    second = post(server, f"/api/v1/cases/{CASE}/sessions", {"camera_ids": ["cam-b"]})
    assert second.status_code == 409 and second.json()["field"] == "room"

    time.sleep(4)
    sim.stop_mount("flap")
    outage_start = time.time()
    time.sleep(5)
    sim.start_mount("flap")
    outage_end = time.time()
    server.wait_recording("cam-a")
    time.sleep(4)
    named = post(server, f"/api/v1/sessions/{session_id}/close", {"by": "李警官"})
    assert named.status_code == 422 and named.json()["field"] == "by"  # never from the body
    report = post(server, f"/api/v1/sessions/{session_id}/close", None).json()
    assert report["final"] and not report["complete"] and report["closed_by"] == "admin"
    a, b = report["cameras"]
    assert a["camera_id"] == "cam-a" and len(a["gaps"]) == 1
    gap = a["gaps"][0]
    assert gap["cause"] == "camera_offline"
    assert abs(parse_iso(gap["start"]) - outage_start) < 1.0
    assert parse_iso(gap["end"]) - outage_end < 2.0  # back within the recorder's resume time
    duration = report["duration_seconds"]
    expected = 100 * (duration - gap["duration"]) / duration
    assert abs(a["coverage_percent"] - expected) < 1.0, (a, duration)
    assert b["coverage_percent"] > 99.5 and not b["gaps"]
    assert b["audio_present_percent"] > 95
    assert all(s["sha256"] and s["status"] == "ok" for s in a["segments"] + b["segments"])
    assert b["hash_chain_intact"] and not b["in_progress"], b
    assert any("cam-a" in problem for problem in report["problems"])
    again = post(server, f"/api/v1/sessions/{session_id}/close")
    assert again.status_code == 409 and "already closed" in again.json()["error"]
    stored = server.get(f"/api/v1/sessions/{session_id}/report")
    assert stored["cameras"][0]["gaps"] == a["gaps"]
    assert server.camera("cam-a")["session"] is None

    # a microphone that records silence is not "audio present"
    sim.set_audio("m7", "silent")
    try:
        time.sleep(1)
        quiet = post(server, f"/api/v1/cases/{CASE}/sessions", {"camera_ids": ["cam-b"]}).json()
        time.sleep(6)
        silent = post(server, f"/api/v1/sessions/{quiet['id']}/close").json()
    finally:
        sim.set_audio("m7", "tone")
    only = silent["cameras"][0]
    assert only["coverage_percent"] > 99 and only["audio_track_percent"] > 99
    assert only["audio_present_percent"] < 20
    assert any("audio present" in problem for problem in silent["problems"])


def test_held_footage_survives_a_full_quota(sim: Any, make_server: Any) -> None:
    server = make_server(
        [room_camera("cam-q", "m8", sim)],
        storage={"segment_seconds": 2},
        retention={"max_bytes": 600_000, "interval_seconds": 1},
        access={"four_eyes": False},  # approval of a release has its own test
    ).start()
    server.wait_recording("cam-q")
    assert post(server, "/api/v1/cases", {"number": CASE, "title": "held"}).status_code == 201
    time.sleep(9)
    held_start, held_end = time.time() - 3, time.time() - 1
    tag = post(
        server,
        f"/api/v1/cases/{CASE}/tags",
        {"camera_ids": ["cam-q"], "kind": "other", "start": iso(held_start), "end": iso(held_end)},
    )
    assert tag.status_code == 201
    deadline = time.monotonic() + 40
    while True:
        rec = server.recordings("cam-q", held_start - 60, time.time())
        deleted = [s for s in rec["segments"] if s["status"] == "deleted"]
        if len(deleted) >= 3:
            break
        assert time.monotonic() < deadline, rec["segments"]
        time.sleep(1)
    held = [
        s
        for s in rec["segments"]
        if parse_iso(s["end"]) > held_start and parse_iso(s["start"]) < held_end
    ]
    assert held and all(s["status"] == "ok" for s in held)  # evidence kept
    older = [s for s in rec["segments"] if parse_iso(s["end"]) <= held_start]
    assert older and all(s["status"] == "deleted" for s in older)  # unheld footage went
    holds = server.get(f"/api/v1/cases/{CASE}/holds")
    assert holds["count"] == 1 and holds["case_open"]
    release = post(server, f"/api/v1/holds/{holds['data'][0]['id']}/release", {"reason": "x"})
    assert release.status_code == 422  # a reason of at least 3 characters
    release = post(
        server, f"/api/v1/holds/{holds['data'][0]['id']}/release", {"reason": "结案, 已移交检察院"}
    )
    assert release.status_code == 200 and release.json()["released_at"]
    time.sleep(3)  # released, but the case is still open: the footage is still held
    rec = server.recordings("cam-q", held_start - 1, held_end + 1)
    assert all(
        s["status"] == "ok"
        for s in rec["segments"]
        if parse_iso(s["end"]) > held_start and parse_iso(s["start"]) < held_end
    )
    # everything held: retention keeps it all and raises an alarm instead
    everything = post(
        server,
        f"/api/v1/cases/{CASE}/tags",
        {"camera_ids": ["cam-q"], "kind": "other", "start": iso(held_start - 120)},
    )
    assert everything.status_code == 201
    assert (
        post(server, f"/api/v1/cases/{CASE}/sessions", {"camera_ids": ["cam-q"]}).status_code == 201
    )
    deadline = time.monotonic() + 20
    while True:
        alarms = server.get("/api/v1/alarms", active="true")["data"]
        if any(a["kind"] == "storage_full" for a in alarms):
            break
        assert time.monotonic() < deadline, alarms
        time.sleep(0.5)
    ok_at_alarm = {
        s["id"]
        for s in server.recordings("cam-q", held_start - 120, time.time())["segments"]
        if s["status"] == "ok"
    }
    time.sleep(3)  # further passes still find only held footage: nothing more is deleted
    after = server.recordings("cam-q", held_start - 120, time.time())["segments"]
    assert ok_at_alarm and all(s["status"] == "ok" for s in after if s["id"] in ok_at_alarm)


@pytest.mark.parametrize("workers", [1, 0], ids=["in-a-worker", "in-the-server"])
def test_operator_pauses_and_disables_a_camera_outside_sessions(
    sim: Any, make_server: Any, workers: int
) -> None:
    server = make_server(
        [room_camera("cam-p", "m6", sim)],
        storage={"segment_seconds": 3},
        recorder={"workers": workers},
    ).start()
    server.wait_recording("cam-p")
    time.sleep(2)
    paused = http.patch(f"{server.url}/api/v1/cameras/cam-p", json={"recording": False})
    assert paused.status_code == 200 and paused.json()["recording_paused"]
    pause_at = time.time()
    deadline = time.monotonic() + 5
    while server.camera("cam-p")["recording"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(3)
    resumed = http.patch(f"{server.url}/api/v1/cameras/cam-p", json={"recording": True})
    assert resumed.status_code == 200 and not resumed.json()["recording_paused"]
    server.wait_recording("cam-p")
    time.sleep(1)
    gaps = server.recordings("cam-p", pause_at - 1, time.time())["gaps"]
    assert [g["cause"] for g in gaps] == ["recording_paused"]
    assert abs(parse_iso(gaps[0]["start"]) - pause_at) < 1.5

    off = http.patch(f"{server.url}/api/v1/cameras/cam-p", json={"enabled": False})
    assert off.status_code == 200 and off.json()["state"] == "disabled"
    assert ("worker 0 started" in server.log.read_text()) is bool(workers)
    server.stop()  # the operator's choice outlives a restart
    server.start()
    assert server.camera("cam-p")["state"] == "disabled"
    on = http.patch(f"{server.url}/api/v1/cameras/cam-p", json={"enabled": True})
    assert on.status_code == 200
    server.wait_recording("cam-p")
    bad = http.patch(f"{server.url}/api/v1/cameras/cam-p", json={"recording": "maybe"})
    assert bad.status_code == 422 and bad.json()["field"] == "recording"
