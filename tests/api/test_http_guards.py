"""Abuse at the HTTP edge: oversized bodies, malformed JSON, ids past 64 bits, LIKE wildcards,
and the headers that keep the pages from being framed or fed foreign scripts."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from servers import AUTH, Server, http

BIG = 2**63


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    running = Server(tmp_path_factory.mktemp("guards"), []).start()
    yield running
    running.stop()


def test_a_body_past_the_limit_is_refused_before_it_is_read(server: Server) -> None:
    big = b'{"number": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    declared = http.post(
        f"{server.url}/api/v1/cases", content=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413 and declared.json()["field"] == "body"

    def chunks() -> Any:  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"x" * 65536

    streamed = httpx.post(
        f"{server.url}/api/v1/cases",
        content=chunks(),
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=30,
    )
    assert streamed.status_code == 413 and streamed.json()["field"] == "body"


def test_framework_refusals_use_the_project_error_shape(server: Server) -> None:
    bad_json = http.post(
        f"{server.url}/api/v1/cases", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 422 and "error" in bad_json.json()
    assert "detail" not in bad_json.json()
    unknown = http.get(f"{server.url}/api/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.json() == {"error": "Not Found"}
    wrong_method = http.delete(f"{server.url}/api/v1/cameras")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/segments/{BIG}/file",
        f"/api/v1/tags/{BIG}",
        f"/api/v1/sessions/{BIG}",
        f"/api/v1/holds/{BIG}/release",
        f"/api/v1/alarms/{BIG}/ack",
        f"/api/v1/cases?offset={BIG}",
    ],
)
def test_ids_past_64_bits_are_refused_not_a_500(server: Server, path: str) -> None:
    method = "POST" if path.endswith(("release", "ack")) else "GET"
    body = {"reason": "test"} if path.endswith("release") else None
    response = http.request(method, f"{server.url}{path}", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"]


def test_like_wildcards_in_a_search_match_themselves(server: Server) -> None:
    created = http.post(
        f"{server.url}/api/v1/cases",
        json={"number": "A6103020000002026120001", "title": "张某盗窃案"},
    )
    assert created.status_code == 201, created.text
    assert server.get("/api/v1/cases", q="盗窃")["count"] == 1
    for wildcard in ("%", "_", "盗%案"):
        assert server.get("/api/v1/cases", q=wildcard)["count"] == 0, wildcard


def test_pages_and_answers_carry_the_security_headers(server: Server) -> None:
    for path in ("/wall/login.html", "/api/v1/health"):
        headers = httpx.get(f"{server.url}{path}").headers
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/cases?date=0.5", "date"),
        ("/api/v1/cases?date=1700000000", "date"),
        ("/api/v1/recordings?camera=x&start=0001-01-01T00:00:00%2B14:00&end=2026-01-01T00:00:00Z",
         "start"),
        ("/api/v1/recordings?camera=x&start=2026-01-01T00:00:00Z&end=9999-12-31T23:59:59Z", "end"),
        ("/api/v1/audit?start=yesterday", "start"),
    ],
)  # fmt: skip
def test_times_are_iso_text_within_bounds(server: Server, path: str, field: str) -> None:
    response = http.get(f"{server.url}{path}")
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_what_the_server_creates_is_not_for_other_users(server: Server) -> None:
    assert (server.workdir / "recordings").stat().st_mode & 0o777 == 0o750
    for path in (server.workdir / "data").rglob("*"):
        assert path.stat().st_mode & 0o007 == 0, path


def test_a_foreign_host_name_is_refused(server: Server) -> None:
    """DNS rebinding: a page of evil.example whose name now points here gets nothing."""
    rebound = httpx.get(f"{server.url}/api/v1/health", headers={"Host": "evil.example"})
    assert rebound.status_code == 400 and rebound.json()["field"] == "Host"
    for name in ("127.0.0.1", "localhost"):
        ok = httpx.get(f"{server.url}/api/v1/health", headers={"Host": f"{name}:{server.port}"})
        assert ok.status_code == 200, name


def test_options_and_405_name_every_method_of_the_path(server: Server) -> None:
    for path, allowed in (
        ("/api/v1/cases", "GET, OPTIONS, POST"),
        ("/api/v1/cases/A6103020000002026120007", "GET, OPTIONS, PATCH"),
        ("/api/v1/live/sessions/abc", "DELETE, OPTIONS"),  # PATCH only explains 405
        ("/wall/index.html", "GET, HEAD, OPTIONS"),
    ):
        options = httpx.options(f"{server.url}{path}")
        assert options.status_code == 204 and options.headers["allow"] == allowed, path
    wrong = http.delete(f"{server.url}/api/v1/cases/A6103020000002026120007")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, OPTIONS, PATCH"
    trickle = http.patch(f"{server.url}/api/v1/live/sessions/abc", content=b"a=candidate")
    assert trickle.status_code == 405 and trickle.headers["allow"] == "DELETE, OPTIONS"
    assert "trickle" in trickle.json()["error"]
    assert httpx.options(f"{server.url}/api/v1/nothing").status_code == 404


PLAYER_ORIGIN = "http://player.example:9000"


def test_cross_origin_calls_only_from_the_configured_origins(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    running = Server(
        tmp_path_factory.mktemp("cors"), [], server={"cors_origins": [PLAYER_ORIGIN]}
    ).start()
    try:
        whep = f"{running.url}/api/v1/live/cam/whep"
        asked = {"Access-Control-Request-Headers": "authorization,content-type"}
        preflight = httpx.options(
            whep,
            headers={"Origin": PLAYER_ORIGIN, "Access-Control-Request-Method": "POST", **asked},
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == PLAYER_ORIGIN
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "authorization" in preflight.headers["access-control-allow-headers"]
        assert "access-control-allow-credentials" not in preflight.headers  # never cookies
        trickle = httpx.options(
            f"{running.url}/api/v1/live/sessions/abc",
            headers={"Origin": PLAYER_ORIGIN, "Access-Control-Request-Method": "PATCH"},
        )  # let through, so that the player reads the 405 that explains
        assert (
            trickle.status_code == 204
            and "PATCH" in trickle.headers["access-control-allow-methods"]
        )
        stranger = httpx.options(
            whep, headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert stranger.status_code == 403 and stranger.json()["field"] == "Origin"
        odd_header = httpx.options(
            whep,
            headers={"Origin": PLAYER_ORIGIN, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "x-forwarded-user"},
        )  # fmt: skip
        assert odd_header.status_code == 403 and odd_header.json()["field"] == "headers"
        wrong_method = httpx.options(
            whep, headers={"Origin": PLAYER_ORIGIN, "Access-Control-Request-Method": "PUT"}
        )
        assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "OPTIONS, POST"
        listed = http.get(f"{running.url}/api/v1/cameras", headers={"Origin": PLAYER_ORIGIN})
        assert listed.headers["access-control-allow-origin"] == PLAYER_ORIGIN
        assert "Location" in listed.headers["access-control-expose-headers"]
        assert "ETag" in listed.headers["access-control-expose-headers"]
        other = http.get(f"{running.url}/api/v1/cameras", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    finally:
        running.stop()


def test_the_description_carries_camera_id_and_case_number_patterns(server: Server) -> None:
    spec = http.get(f"{server.url}/openapi.json").json()

    def path_pattern(path: str, method: str, name: str) -> str:
        parameters = spec["paths"][path][method]["parameters"]
        return str(next(p for p in parameters if p["name"] == name)["schema"]["pattern"])

    camera = path_pattern("/api/v1/cameras/{camera_id}", "get", "camera_id")
    number = path_pattern("/api/v1/cases/{number}", "get", "number")
    assert path_pattern("/api/v1/cases/{number}/exports", "post", "number") == number
    assert spec["components"]["schemas"]["CaseCreate"]["properties"]["number"]["pattern"] == number
    assert re.fullmatch(camera, "qj-int-1") and not re.fullmatch(camera, "QJ int")
    assert re.fullmatch(number, "A6103020000002026120007")
    assert not re.fullmatch(number, "A61030200000020261200")
    bad = http.get(f"{server.url}/api/v1/cameras/Not%20An%20Id")
    assert bad.status_code == 422 and bad.json()["field"] == "camera_id"
