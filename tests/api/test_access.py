"""No request without a user, no user beyond their role and stations.

The route walk covers every route of the app as it is built: a route added later without a
``needs(...)`` guard fails ``test_every_route_names_its_permission``, and every guarded route is
asked without a user (401) and by every role that lacks its permission (403), over real HTTP
against a running server.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from faults import wait_for
from servers import AUTH, Server, auth_for, http, token_for
from whep_client import WhepViewer

from access.roles import ROLE_PERMISSIONS, Permission, Role
from api.app import ROUTERS, create_app
from configs.loader import load_settings

PUBLIC = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),  # clears the cookies; a live session needs the CSRF header
    ("GET", "/api/v1/health"),
    ("GET", "/"),
}
ROLES = [role.value for role in Role if role is not Role.ADMIN]
OTHER_SITE = {"id": "other", "name": "其他派出所", "cameras": []}


def permissions(route: APIRoute) -> set[Permission]:
    found: set[Permission] = set()

    def walk(dependant: Any) -> None:
        permission = getattr(dependant.call, "permission", None)
        if permission is not None:
            found.add(permission)
        for sub in dependant.dependencies:
            walk(sub)

    walk(route.dependant)
    return found


def api_routes(server: Server) -> list[APIRoute]:
    """Every route the app serves: its routers' and its own."""
    app = create_app(load_settings(server.config))
    routes = [r for router in ROUTERS for r in router.routes] + list(app.routes)
    return [route for route in routes if isinstance(route, APIRoute)]


def guarded_routes(server: Server) -> list[tuple[str, str, Permission]]:
    """(method, path with sample parameters, permission) of every route but the public ones."""
    result = []
    for route in api_routes(server):
        for method in sorted(route.methods):
            if (method, route.path) in PUBLIC:
                continue
            (permission,) = permissions(route)
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            result.append((method, path, permission))
    return result


def test_every_route_names_its_permission(tmp_path: Path) -> None:
    server = Server(tmp_path, [])
    routes = api_routes(server)
    assert len(routes) > 40
    missing = [
        f"{method} {route.path}"
        for route in routes
        for method in route.methods
        if (method, route.path) not in PUBLIC and len(permissions(route)) != 1
    ]
    assert missing == [], "routes without exactly one needs(...) guard"


def test_no_route_answers_without_a_user_or_beyond_a_role(make_server: Any) -> None:
    server: Server = make_server([], users=[(r, r, []) for r in ROLES]).start()
    routes = guarded_routes(server)
    assert len(routes) > 40
    asked = refused = 0
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for method, path, permission in routes:
            for headers in ({}, {"Authorization": "Bearer cw_not-a-token"}):
                response = client.request(method, path, headers=headers)
                asked += 1
                assert response.status_code == 401, (method, path, response.text)
                assert response.json()["error"] and "WWW-Authenticate" in response.headers
            for role in ROLES:
                if permission in ROLE_PERMISSIONS[Role(role)]:
                    continue
                response = client.request(method, path, headers=auth_for(role))
                asked += 1
                refused += 1
                assert response.status_code == 403, (role, method, path, response.text)
                assert permission.value in response.json()["error"]
        # pages that show data send the browser to the sign-in page; it alone is served
        for page in ("/wall/", "/wall/index.html", "/wall/review.html"):
            response = client.get(page)
            assert response.status_code == 303, page
            assert response.headers["location"].startswith("/wall/login.html?next=")
        assert client.get("/wall/login.html").status_code == 200
        assert client.get("/api/v1/health").status_code == 200
    print(f"route walk: {len(routes)} guarded routes, {asked} requests, {refused} role refusals")


def test_sign_in_sessions_csrf_and_lockout(make_server: Any) -> None:
    server: Server = make_server(
        [], users=[("operator", "operator", [])], access={"max_failed_signins": 3}
    ).start()
    login = f"{server.url}/api/v1/auth/login"
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        wrong = browser.post(login, json={"name": "operator", "password": "not-it-at-all"})
        assert wrong.status_code == 401 and wrong.json()["field"] == "password"
        ok = browser.post(login, json={"name": "operator", "password": "test-Pass-word-0451"})
        assert ok.status_code == 200, ok.text
        cookie = ok.headers.get_list("set-cookie")
        session_cookie = next(c for c in cookie if c.startswith("casewatch_session="))
        assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
        csrf = ok.json()["csrf_token"]
        me = browser.get("/api/v1/auth/me").json()
        assert me["name"] == "operator" and me["roles"] == ["operator"] and me["sites"] is None
        # a state-changing request with the cookie must echo the CSRF token
        layout = {"grid": "2x2", "cells": [None, None, None, None]}
        forged = browser.put("/api/v1/wall/layouts/早班", json=layout)
        assert forged.status_code == 403 and forged.json()["field"] == "X-CSRF-Token"
        saved = browser.put(
            "/api/v1/wall/layouts/早班", json=layout, headers={"X-CSRF-Token": csrf}
        )
        assert saved.status_code == 200, saved.text
        assert browser.get("/wall/").status_code == 200  # the page, now that a user is signed in
        out = browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204
        browser.cookies.set("casewatch_session", session_cookie.split(";")[0].split("=", 1)[1])
        assert browser.get("/api/v1/auth/me").status_code == 401  # ended on the server
    # lock-out: three failures lock the account; even the right password waits
    for _ in range(3):
        assert (
            httpx.post(login, json={"name": "admin", "password": "wrong-wrong-1"}).status_code
            == 401
        )
    locked = httpx.post(login, json={"name": "admin", "password": "test-Pass-word-0451"})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert locked.json()["field"] == "name"
    for _ in range(11):  # a script hammering the locked account
        assert httpx.post(login, json={"name": "admin", "password": "x"}).status_code == 429
    denied = http.get(
        f"{server.url}/api/v1/audit", params={"action": "sign_in", "user": "admin", "limit": 100}
    ).json()["data"]
    refusals = [e["details"].get("refused") for e in denied if e["outcome"] == "denied"]
    assert sorted(refusals) == [1, 10]  # the first refusal and the tenth, not all twelve
    # a bearer token is not subject to the account's sign-in lock, and needs no CSRF token
    assert http.put(f"{server.url}/api/v1/wall/layouts/晚班", json=layout).status_code == 200


def test_station_scope_hides_other_stations_cameras(sim: Any, make_server: Any) -> None:
    camera = {"id": "scoped", "name": "讯问室9", "url": sim.rtsp_url("live2"), "record": False}
    server: Server = make_server(
        [camera],
        more_sites=[OTHER_SITE],
        users=[
            ("op-here", "operator,inspector", ["test"]),
            ("op-away", "operator,inspector", ["other"]),
        ],
        relay={"ice_host_addresses": ["127.0.0.1"]},
    ).start()
    here, away = auth_for("op-here"), auth_for("op-away")
    assert http.get(f"{server.url}/api/v1/cameras", headers=here).json()["count"] == 1
    assert http.get(f"{server.url}/api/v1/cameras", headers=away).json()["count"] == 0
    for path in ("/api/v1/cameras/scoped", "/api/v1/cameras/scoped/snapshot"):
        response = http.get(f"{server.url}{path}", headers=away)
        assert response.status_code == 404, path  # not 403: it does not exist for them
    now = time.time()
    span = {"camera": "scoped", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"}
    assert http.get(f"{server.url}/api/v1/recordings", params=span, headers=away).status_code == 404

    async def offers() -> tuple[int, int]:
        theirs = WhepViewer(server.url, "scoped", headers=away)
        refused = (await theirs.start()).status_code
        await theirs.close()
        mine = WhepViewer(server.url, "scoped", headers=here)
        accepted = (await mine.start()).status_code
        await mine.close()
        return refused, accepted

    assert asyncio.run(offers()) == (404, 201)
    assert time.time() - now < 30


def test_disabling_a_user_ends_their_live_view_at_once(sim: Any, make_server: Any) -> None:
    camera = {"id": "watched", "name": "讯问室8", "url": sim.rtsp_url("live1"), "record": False}
    server: Server = make_server(
        [camera], users=[("operator", "operator", [])], relay={"ice_host_addresses": ["127.0.0.1"]}
    ).start()

    async def scenario() -> float:
        viewer = WhepViewer(server.url, "watched", headers=auth_for("operator"))
        assert (await viewer.start()).status_code == 201
        assert await viewer.wait_frames(10, within=15)
        disabled = await asyncio.to_thread(
            http.patch, f"{server.url}/api/v1/users/operator", json={"disabled": True}
        )
        assert disabled.status_code == 200, disabled.text
        began = time.monotonic()
        while viewer.pc.connectionState not in ("closed", "failed"):
            sessions = (await asyncio.to_thread(server.get, "/api/v1/live/sessions"))["data"]
            if not sessions:
                break
            assert time.monotonic() - began < 5, sessions
            await asyncio.sleep(0.1)
        took = time.monotonic() - began
        await viewer.close()
        return took

    took = asyncio.run(scenario())
    assert took < 2.0, took
    assert http.get(f"{server.url}/api/v1/cameras", headers=auth_for("operator")).status_code == 401


def test_kiosk_url_token_opens_a_session_once(make_server: Any) -> None:
    server: Server = make_server([], users=[("wall", "operator", [])]).start()
    with httpx.Client(base_url=server.url, timeout=10) as kiosk:
        first = kiosk.get(f"/wall/?token={token_for('wall')}&layout=2x2&screen=wall-1")
        assert first.status_code == 303
        assert first.headers["location"] == "/wall/?layout=2x2&screen=wall-1"  # token dropped
        assert kiosk.get(first.headers["location"]).status_code == 200  # by the cookie now
        assert kiosk.get("/api/v1/auth/me").json()["name"] == "wall"
    bad = httpx.get(f"{server.url}/wall/?token=cw_revoked", follow_redirects=False)
    assert bad.status_code == 303 and "error=token" in bad.headers["location"]


def test_users_and_tokens_on_the_command_line(make_server: Any) -> None:
    server: Server = make_server([]).start()

    def casewatch(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.cli", *args, "--config", str(server.config)],
            input=stdin, capture_output=True, text=True, timeout=60, cwd=server.workdir,
        )  # fmt: skip

    twice = "Inspector-pass-77\nInspector-pass-77\n"
    added = casewatch("user", "add", "li.wei", "--role", "inspector", "--site", "test", stdin=twice)
    assert added.returncode == 0, added.stderr
    assert casewatch("user", "add", "li.wei", "--role", "inspector", stdin=twice).returncode == 2
    weak = casewatch("user", "add", "wang", "--role", "operator", stdin="abc\nabc\n")
    assert weak.returncode == 2 and "password" in weak.stderr and "Traceback" not in weak.stderr
    differ = casewatch("user", "add", "wang", "--role", "operator", stdin="Aa-1234567890\nx\n")
    assert differ.returncode == 2 and "differ" in differ.stderr
    role = casewatch("user", "add", "wang", "--role", "boss", stdin=twice)
    assert role.returncode == 2 and "unknown role 'boss'" in role.stderr
    listed = casewatch("user", "list")
    assert "li.wei" in listed.stdout and "inspector" in listed.stdout and "test" in listed.stdout
    created = casewatch("token", "create", "li.wei", "--expires-days", "7")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("cw_") and " " not in token
    me = http.get(f"{server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == "li.wei" and me.json()["sites"] == ["test"]
    assert casewatch("user", "disable", "li.wei").returncode == 0
    gone = httpx.get(f"{server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401  # a disabled user's tokens stop working at once
    assert casewatch("user", "passwd", "nobody", stdin=twice).returncode == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x y", "roles": ["operator"], "password": "Aa-1234567890"}, "name"),
        ({"name": "xy", "roles": ["boss"], "password": "Aa-1234567890"}, "roles.0"),
        ({"name": "xy", "roles": ["operator"], "password": "short"}, "password"),
        (
            {
                "name": "xy",
                "roles": ["operator"],
                "sites": ["nowhere"],
                "password": "Aa-1234567890",
            },
            "sites",
        ),
        ({"name": "admin", "roles": ["operator"], "password": "Aa-1234567890"}, "name"),
    ],
)
def test_bad_user_requests_name_the_field(
    make_server: Any, body: dict[str, Any], field: str
) -> None:
    server: Server = make_server([]).start()
    response = http.post(f"{server.url}/api/v1/users", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["field"] == field, response.json()
    assert AUTH  # the admin made the request


def test_the_audit_trail_records_each_action_and_names_an_edited_entry(
    sim: Any, make_server: Any
) -> None:
    camera = {"id": "audited", "name": "讯问室7", "url": sim.rtsp_url("live2")}
    server: Server = make_server(
        [camera],
        users=[("auditor", "auditor", []), ("operator", "operator", [])],
        relay={"ice_host_addresses": ["127.0.0.1"]},
    ).start()
    server.wait_recording("audited")
    login = f"{server.url}/api/v1/auth/login"
    assert (
        httpx.post(login, json={"name": "operator", "password": "wrong-wrong-1"}).status_code == 401
    )
    assert httpx.post(
        login, json={"name": "operator", "password": "test-Pass-word-0451"}
    ).is_success

    async def watch() -> None:
        viewer = WhepViewer(server.url, "audited", headers=auth_for("operator"))
        assert (await viewer.start()).status_code == 201
        assert await viewer.wait_frames(5, within=15)
        assert await viewer.delete() == 204
        await viewer.close()

    asyncio.run(watch())
    assert http.get(f"{server.url}/api/v1/cameras/audited/snapshot").status_code == 200
    assert http.patch(f"{server.url}/api/v1/cameras/audited", json={"recording": False}).is_success
    assert http.patch(f"{server.url}/api/v1/cameras/audited", json={"recording": True}).is_success
    denied = http.get(f"{server.url}/api/v1/users", headers=auth_for("operator"))
    assert denied.status_code == 403

    def entries(**query: str) -> list[dict[str, Any]]:
        response = http.get(f"{server.url}/api/v1/audit", params=query, headers=auth_for("auditor"))
        assert response.status_code == 200, response.text
        return list(response.json()["data"])

    wait_for(lambda: entries(action="live_view_end"), timeout=5)
    sign_ins = entries(action="sign_in")
    assert {(e["user"], e["outcome"]) for e in sign_ins} == {
        ("operator", "ok"),
        ("operator", "failed"),
    }
    start, end = entries(action="live_view_start")[0], entries(action="live_view_end")[0]
    assert start["user"] == end["user"] == "operator" and start["site"] == "test"
    assert start["object_id"] == "audited" and end["details"]["seconds"] > 0
    assert entries(action="snapshot")[0]["user"] == "admin"
    changes = entries(action="camera_change")
    assert [c["details"]["recording"] for c in changes] == [True, False]
    assert changes[0]["details"]["via"] == "token"  # the admin used its API token
    assert entries(action="access_denied")[0]["outcome"] == "denied"
    assert entries(action="token_use")  # the admin's token, once this hour
    csv_text = http.get(f"{server.url}/api/v1/audit/export.csv", headers=auth_for("auditor")).text
    assert csv_text.startswith("\ufeffid,at,user") and "live_view_start" in csv_text
    assert http.get(f"{server.url}/api/v1/audit", headers=auth_for("operator")).status_code == 403
    report = http.get(f"{server.url}/api/v1/audit/verify", headers=auth_for("auditor")).json()
    assert report["intact"] and report["entries"] >= 10, report
    # an entry edited behind the server's back is named
    import sqlite3

    edited = entries(action="snapshot")[0]["id"]
    with sqlite3.connect(server.workdir / "catalog.db") as db:
        db.execute("UPDATE audit_log SET user = 'someone else' WHERE id = ?", (edited,))
    report = http.get(f"{server.url}/api/v1/audit/verify", headers=auth_for("auditor")).json()
    assert not report["intact"]
    assert any(f"entry {edited} (" in p and "edited" in p for p in report["problems"]), report
    server.stop()
    offline = subprocess.run(
        [sys.executable, "-m", "api.cli", "audit", "verify", "--config", str(server.config)],
        capture_output=True, text=True, timeout=60, cwd=server.workdir,
    )  # fmt: skip
    assert offline.returncode == 1 and f"entry {edited} (" in offline.stdout, offline.stdout


def test_cases_tags_sessions_and_exports_of_another_station_do_not_exist(
    sim: Any, make_server: Any
) -> None:
    camera = {"id": "cam-s", "name": "讯问室6", "url": sim.rtsp_url("m6")}
    server: Server = make_server(
        [camera],
        more_sites=[OTHER_SITE],
        users=[("here", "inspector", ["test"]), ("away", "inspector", ["other"])],
    ).start()
    here, away = auth_for("here"), auth_for("away")
    number = "A6103020000002026120007"
    url = server.url + "/api/v1"
    created = http.post(f"{url}/cases", json={"number": number, "title": "李某案"}, headers=here)
    assert created.status_code == 201 and created.json()["site"] == "test"  # the user's station
    start = time.time() - 60
    tag = http.post(
        f"{url}/cases/{number}/tags",
        json={"camera_ids": ["cam-s"], "kind": "interrogation",
              "start": iso_at(start), "end": iso_at(start + 30)},
        headers=here,
    )  # fmt: skip
    assert tag.status_code == 201, tag.text
    tag_id = tag.json()["id"]
    # the other station's inspector: none of it exists
    for path in (f"/cases/{number}", f"/cases/{number}/footage", f"/cases/{number}/holds",
                 f"/tags/{tag_id}", f"/cases/{number}/exports"):  # fmt: skip
        assert http.get(f"{url}{path}", headers=away).status_code == 404, path
    assert http.get(f"{url}/cases", headers=away).json()["count"] == 0
    assert http.get(f"{url}/cases", headers=here).json()["count"] == 1
    exported = http.post(f"{url}/cases/{number}/exports", headers=away)
    assert exported.status_code == 404
    # a four-eyes request is announced to approvers of the case's station, and only to them
    server.wait_recording("cam-s")
    time.sleep(3)
    recorded = http.post(
        f"{url}/cases/{number}/tags",
        json={"camera_ids": ["cam-s"], "kind": "interrogation",
              "start": iso_at(time.time() - 2.5), "end": iso_at(time.time() - 0.5)},
        headers=here,
    )  # fmt: skip
    assert recorded.status_code == 201, recorded.text
    with ThreadPoolExecutor(2) as pool:
        heard = {name: pool.submit(approval_events, url, auth_for(name), 6.0)
                 for name in ("here", "away")}  # fmt: skip
        time.sleep(1.5)  # both streams are open
        asked = http.post(
            f"{url}/cases/{number}/exports", json={"tags": [recorded.json()["id"]]}, headers=here
        )
        assert asked.status_code == 202, asked.text
        assert asked.json()["status"] == "pending_approval"
        assert [e["id"] for e in heard["here"].result()] == [asked.json()["id"]]
        assert heard["away"].result() == []
    foreign_tag = http.post(
        f"{url}/cases/{number}/tags",
        json={"camera_ids": ["cam-s"], "kind": "inquiry", "start": iso_at(start),
              "end": iso_at(start + 10)},
        headers=away,
    )  # fmt: skip
    assert foreign_tag.status_code == 404
    own = http.post(
        f"{url}/cases", json={"number": number[:-1] + "8", "title": "x", "site": "test"},
        headers=away,
    )  # fmt: skip
    assert own.status_code == 422 and own.json()["field"] == "site"
    assert http.get(f"{url}/cases/{number}", headers=here).status_code == 200


def approval_events(url: str, headers: dict[str, str], seconds: float) -> list[dict[str, Any]]:
    """The ``approval`` events an event stream delivers within ``seconds``."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    kind = ""
    try:
        with httpx.stream("GET", f"{url}/events", headers=headers, timeout=seconds) as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "approval":
                    found.append(json.loads(line[6:]))
                if time.monotonic() > deadline:
                    break
    except httpx.ReadTimeout:
        pass  # nothing more came
    return found


def iso_at(seconds: float) -> str:
    from servers import iso

    return iso(seconds)


def test_no_secret_reaches_a_response_an_event_a_metric_or_the_log(
    sim: Any, make_server: Any
) -> None:
    """A camera URL with a password, users with passwords, tokens, the signing key: grep
    everything the server lets a user (even an admin) see, and its log."""
    secret = "S3cr3t-Cam-Pass"
    url = sim.rtsp_url("live2").replace("rtsp://", f"rtsp://admin:{secret}@")
    server: Server = make_server(
        [{"id": "withpw", "name": "讯问室5", "url": url}], users=[("operator", "operator", [])]
    ).start()
    server.wait_recording("withpw")
    created = http.post(
        f"{server.url}/api/v1/auth/tokens", json={"name": "grep", "password": "test-Pass-word-0451"}
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    seen: list[str] = []
    for path in ("/api/v1/cameras", "/api/v1/cameras/withpw", "/api/v1/alarms",
                 "/api/v1/health", "/metrics", "/openapi.json", "/api/v1/users",
                 "/api/v1/users/admin", "/api/v1/auth/me", "/api/v1/auth/tokens",
                 "/api/v1/audit?limit=1000", "/api/v1/live/sessions",
                 "/api/v1/exports/public-key"):  # fmt: skip
        seen.append(http.get(f"{server.url}{path}").text)
    with http.stream("GET", f"{server.url}/api/v1/events", timeout=10) as stream:
        for line in stream.iter_lines():  # every camera's state, then its recording flag
            seen.append(line)
            if line.startswith("event: recording"):
                break
    server.stop()
    seen.append(server.log.read_text(errors="replace"))
    key = (server.workdir / "data" / "keys" / "export-signing-key.pem").read_text()
    key_body = "".join(key.splitlines()[1:-1])
    everything = "\n".join(seen)
    for needle in (secret, token, ADMIN_TOKEN_SECRET, "test-Pass-word-0451", "$argon2id$",
                   key_body):  # fmt: skip
        assert needle not in everything, needle[:12]
    assert "withpw" in everything  # the grep did see the camera


ADMIN_TOKEN_SECRET = token_for("admin")


def test_a_rewritten_catalog_is_named_against_its_signed_checkpoint(
    sim: Any, make_server: Any
) -> None:
    """A forger who rewrites a segment row and recomputes every later row hash keeps the chain
    consistent — but not the head signed into the audit trail at shutdown."""
    import sqlite3

    from recorder import catalog
    from recorder.models import Segment

    server: Server = make_server(
        [{"id": "chained", "name": "讯问室4", "url": sim.rtsp_url("m4")}],
        storage={"segment_seconds": 2},
    ).start()
    server.wait_recording("chained")
    time.sleep(7)
    server.stop()  # shutdown signs each camera's chain head

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.cli", "check", "--config", str(server.config)],
            capture_output=True, text=True, timeout=120, cwd=server.workdir,
        )  # fmt: skip

    assert check().returncode == 0, check().stdout
    with sqlite3.connect(server.workdir / "catalog.db") as db:
        rows = db.execute(
            "SELECT id, camera_id, start_us, end_us, size_bytes, sha256, prev_row_hash "
            "FROM segments WHERE camera_id = 'chained' ORDER BY start_us"
        ).fetchall()
        assert len(rows) >= 3
        prev = rows[0][6]
        for index, (seg_id, camera, start, end, size, sha, _prev) in enumerate(rows):
            if index == 1:
                end -= 500_000  # hide half a second of the second segment
            forged = Segment(
                camera_id=camera, start_us=start, end_us=end, size_bytes=size, sha256=sha
            )
            digest = catalog.row_hash(forged, prev)
            db.execute(
                "UPDATE segments SET end_us = ?, prev_row_hash = ?, row_hash = ? WHERE id = ?",
                (end, prev, digest, seg_id),
            )
            prev = digest
    result = check()
    assert result.returncode == 1
    assert "differs from the catalog checkpoint" in result.stdout, result.stdout
