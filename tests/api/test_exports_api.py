"""Exports over HTTP against a real server recording a real RTSP camera: the queue, progress,
download, public key, bad input, and an export interrupted by kill -9 that is built again; and
the export service's package expiry and its behaviour without a usable signing key."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import Server, auth_for, http, iso

CASE = "A6103020000002026110007"
ROOT = Path(__file__).resolve().parents[2]


def post(server: Server, path: str, body: Any = None) -> httpx.Response:
    return http.post(f"{server.url}{path}", json=body, timeout=30)


def get(server: Server, path: str) -> httpx.Response:
    return http.get(f"{server.url}{path}", timeout=30)


def exports_dir(server: Server) -> Path:
    return server.workdir / "data" / "exports"


@pytest.fixture
def server(sim: Any, make_server: Any) -> Server:
    started: Server = make_server(
        [{"id": "cam-e", "name": "讯问室8", "area": "interrogation", "url": sim.rtsp_url("m8")}],
        storage={"segment_seconds": 3},
        access={"four_eyes": False},  # approval has its own test below
    ).start()
    created = post(started, "/api/v1/cases", {"number": CASE, "title": "张某盗窃案"})
    assert created.status_code == 201, created.text
    return started


def record(server: Server, seconds: float) -> float:
    """Wait until the camera records, then ``seconds`` more; the time recording began."""
    began = server.wait_recording("cam-e")
    time.sleep(seconds)
    return began


def export(server: Server, body: Any = None) -> dict[str, Any]:
    response = post(server, f"/api/v1/cases/{CASE}/exports", body)
    assert response.status_code == 202, response.text
    data: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/api/v1/exports/{data['id']}"
    assert data["status"] in {"queued", "running"} and data["download_url"] is None
    return data


def wait_done(server: Server, export_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data: dict[str, Any] = server.get(f"/api/v1/exports/{export_id}")
        if data["status"] in {"done", "failed"}:
            assert data["status"] == "done", data["error"]
            return data
        time.sleep(0.2)
    raise AssertionError(f"export {export_id} not done: {data}")


def many_ranges(began: float, count: int, seconds: float = 8.0) -> list[dict[str, Any]]:
    """Distinct ranges over the same footage: a build that takes a while."""
    return [
        {"camera": "cam-e", "start": iso(began + 1 + i * 0.01), "end": iso(began + 1 + seconds)}
        for i in range(count)
    ]


def verify(package: Path, key: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "verify", str(package), "--key", str(key)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def download(server: Server, data: dict[str, Any], target: Path) -> Path:
    response = get(server, data["download_url"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert response.headers["x-content-sha256"] == data["sha256"]
    assert hashlib.sha256(response.content).hexdigest() == data["sha256"]
    assert len(response.content) == data["size"]
    target.write_bytes(response.content)
    return target


def public_key(server: Server, target: Path) -> Path:
    response = get(server, "/api/v1/exports/public-key")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-key-fingerprint"].startswith("sha256:")
    target.write_text(response.text)
    return target


@pytest.mark.media
def test_tag_export_is_built_downloaded_and_verified(server: Server, tmp_path: Path) -> None:
    began = record(server, 12)
    tag = post(
        server,
        f"/api/v1/cases/{CASE}/tags",
        {"camera_ids": ["cam-e"], "kind": "interrogation", "start": iso(began + 3)}
        | {"end": iso(began + 9)},
    )
    assert tag.status_code == 201, tag.text
    created = export(server, {"tags": [tag.json()["id"]]})
    done = wait_done(server, created["id"])
    assert done["progress"] == 1.0 and done["created_by"] == "admin"  # the signed-in user
    assert done["case_number"] == CASE and done["finished_at"] >= done["started_at"]
    assert done["file_name"] == f"case-{CASE}-{created['id']}.zip"
    package = download(server, done, tmp_path / "package.zip")
    part = http.get(f"{server.url}{done['download_url']}", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == package.read_bytes()[:100]

    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    (entry,) = manifest["files"]
    assert entry["covered"]["seconds"] == 6.0 and entry["audio"].startswith("aac")
    assert manifest["ranges"][0]["sources"] == [
        {"tag": tag.json()["id"], "kind": "interrogation", "session": False}
    ]
    # the catalog checkpoint signed when the package was built covers its source rows
    checkpoint = manifest["catalog_checkpoint"]
    head_id, head_hash = checkpoint["heads"]["cam-e"]
    assert all(s["row_hash"] for s in entry["source_segments"]) and checkpoint["audit_entry"] > 0
    audit = server.get("/api/v1/audit", action="catalog_checkpoint")["data"]
    assert audit[0]["id"] == checkpoint["audit_entry"]
    assert audit[0]["details"]["heads"]["cam-e"] == [head_id, head_hash]
    key = public_key(server, tmp_path / "server.pem")
    result = verify(package, key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert manifest["signer"]["fingerprint"] in result.stdout

    listed = server.get(f"/api/v1/cases/{CASE}/exports")
    assert [e["id"] for e in listed["data"]] == [created["id"]]


@pytest.mark.media
def test_bad_export_requests_get_the_field_and_produce_nothing(server: Server) -> None:
    began = record(server, 1)
    hour_ago = began - 3600
    tag = post(
        server,
        f"/api/v1/cases/{CASE}/tags",
        {"camera_ids": ["cam-e"], "kind": "inquiry", "start": iso(hour_ago)}
        | {"end": iso(hour_ago + 60)},
    )
    assert tag.status_code == 201, tag.text
    tag_id = tag.json()["id"]
    other = "B6103020000002026110001"
    cases: list[tuple[str, Any, int, str, str]] = [
        ("A123", None, 400, "number", "not a case number"),
        (other, None, 404, "number", f"no case {other}"),
        (CASE, {"tags": [999]}, 404, "tags", "no tag 999"),
        (CASE, {"sessions": [tag_id]}, 404, "sessions", "not an interrogation session"),
        (CASE, {"sessions": [999]}, 404, "sessions", "no session 999"),
        (CASE, {"cameras": ["nope"]}, 404, "cameras", "unknown camera"),
        (CASE, {"tags": [tag_id]}, 422, "tags", "no footage in case"),
        (CASE, {"tags": ["x"]}, 422, "tags.0", "tags.0"),
        (CASE, {"extra": 1}, 422, "extra", "extra"),
        (CASE, {"by": "x"}, 422, "by", "by"),  # who exports is the signed-in user
    ]
    ranges: list[tuple[dict[str, Any], int, str, str]] = [
        ({"camera": "nope", "start": iso(began), "end": iso(began + 5)}, 404, ".camera", "nope"),
        ({"camera": "cam-e", "start": iso(began), "end": iso(began - 5)}, 400, ".end", "after"),
        (
            {"camera": "cam-e", "start": "2026-01-01T00:00:00", "end": iso(began)},
            400,
            ".start",
            "time zone",
        ),
        (
            {"camera": "cam-e", "start": iso(hour_ago), "end": iso(hour_ago + 10)},
            422,
            "",
            "no footage in ranges[0]",
        ),
        ({"camera": "cam-e", "start": "soon", "end": iso(began)}, 422, ".start", "start"),
    ]
    for body_range, status, suffix, text in ranges:
        cases.append((CASE, {"ranges": [body_range]}, status, f"ranges.0{suffix}", text))
    for number, body, status, field, text in cases:
        response = post(server, f"/api/v1/cases/{number}/exports", body)
        assert response.status_code == status, (number, body, response.text)
        error = response.json()
        assert error["field"].replace("[", ".").replace("]", "") == field, (body, error)
        assert text in error["error"], (body, error)
    assert get(server, "/api/v1/cases/A123/exports").status_code == 400
    assert get(server, f"/api/v1/cases/{other}/exports").status_code == 404
    assert server.get(f"/api/v1/cases/{CASE}/exports")["count"] == 0
    assert get(server, "/api/v1/exports/nope").status_code == 404
    assert get(server, "/api/v1/exports/nope/download").status_code == 404
    assert not list(exports_dir(server).rglob("*.zip"))


@pytest.mark.media
def test_exports_run_one_after_another(server: Server, tmp_path: Path) -> None:
    began = record(server, 12)
    big = export(server, {"ranges": many_ranges(began, 25)})
    small = [export(server, {"ranges": many_ranges(began, 2)}) for _ in range(2)]
    waiting = server.get(f"/api/v1/exports/{small[1]['id']}")
    assert waiting["status"] == "queued" and waiting["queue_position"] >= 2
    unfinished = get(server, f"/api/v1/exports/{small[1]['id']}/download")
    assert unfinished.status_code == 409 and "queued" in unfinished.json()["error"]
    finished = [wait_done(server, e["id"]) for e in (big, *small)]
    for earlier, later in itertools.pairwise(finished):
        assert later["started_at"] >= earlier["finished_at"], (earlier, later)
    package = download(server, finished[0], tmp_path / "big.zip")
    with zipfile.ZipFile(package) as archive:
        assert len(json.loads(archive.read("manifest.json"))["files"]) == 25
    assert verify(package, public_key(server, tmp_path / "k.pem")).returncode == 0


@pytest.mark.media
def test_export_killed_mid_build_is_built_again_from_scratch(
    server: Server, tmp_path: Path
) -> None:
    began = record(server, 12)
    created = export(server, {"ranges": many_ranges(began, 60)})
    deadline = time.monotonic() + 60
    work = exports_dir(server) / ".work"
    while time.monotonic() < deadline:
        status = server.get(f"/api/v1/exports/{created['id']}")
        if status["status"] == "running" and status["progress"] > 0.05:
            break
        time.sleep(0.1)
    assert status["status"] == "running", status
    server.kill()
    leftovers = [p for p in work.rglob("*") if p.is_file()]
    assert leftovers, "the build left nothing behind to clean up"
    assert not list(exports_dir(server).glob("*.zip"))

    server.start()
    after = server.get(f"/api/v1/exports/{created['id']}")
    assert after["status"] in {"queued", "running"} and after["progress"] < status["progress"]
    done = wait_done(server, created["id"])
    assert done["started_at"] > status["started_at"]
    assert not any(p.exists() for p in leftovers)
    assert [p.name for p in exports_dir(server).glob("*.zip")] == [done["file_name"]]
    assert not [p for p in work.rglob("*") if p.is_file()]
    package = download(server, done, tmp_path / "rebuilt.zip")
    result = verify(package, public_key(server, tmp_path / "k.pem"))
    assert result.returncode == 0, result.stdout
    with zipfile.ZipFile(io.BytesIO(package.read_bytes())) as archive:
        assert len(json.loads(archive.read("manifest.json"))["files"]) == 60


@pytest.mark.media
def test_whole_case_export_includes_an_open_session_up_to_now(
    server: Server, tmp_path: Path
) -> None:
    record(server, 2)
    opened = post(server, f"/api/v1/cases/{CASE}/sessions", {"camera_ids": ["cam-e"]})
    assert opened.status_code == 201, opened.text
    time.sleep(6)
    created = export(server)  # empty body: the whole case
    done = wait_done(server, created["id"])
    assert done["created_by"] == "admin"
    package = download(server, done, tmp_path / "case.zip")
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    (entry,) = manifest["ranges"]
    assert entry["sources"][0]["session"] is True
    assert entry["requested"]["end"] <= done["created_at"]
    assert entry["requested"]["seconds"] >= 5.5
    assert entry["gaps"] == [], entry  # the open segment was finished for the export
    assert entry["coverage_percent"] == 100.0
    assert verify(package, public_key(server, tmp_path / "k.pem")).returncode == 0
    closed = post(server, f"/api/v1/sessions/{opened.json()['id']}/close")
    assert closed.status_code == 200, closed.text


# -- the service without media -------------------------------------------------------------------


class FakeClock:
    def __init__(self, now_us: int) -> None:
        self.now_us = now_us

    def wall_us(self) -> int:
        return self.now_us

    def monotonic(self) -> float:
        return time.monotonic()


def service_for(tmp_path: Path, **export: Any) -> tuple[Any, Any, FakeClock]:
    from configs.schema import Settings
    from evidence.export_service import ExportService
    from recorder.db import make_engine, migrate, session_factory

    settings = Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'catalog.db'}"},
            "storage": {"path": str(tmp_path / "recordings")},
            "export": {
                "path": str(tmp_path / "exports"),
                "signing_key": str(tmp_path / "keys" / "k.pem"),
                **export,
            },
        }
    )
    engine = make_engine(settings.database.url)
    migrate(engine)
    clock = FakeClock(1_800_000_000 * 1_000_000)
    return ExportService(settings, session_factory(engine), clock), settings, clock


def test_packages_expire_after_keep_days_and_interrupted_exports_are_requeued(
    tmp_path: Path,
) -> None:
    from recorder.models import Case, Export

    service, _settings, clock = service_for(tmp_path, keep_days=2)
    package = tmp_path / "exports" / "old.zip"
    package.parent.mkdir(parents=True)
    package.write_bytes(b"zip")
    leftover = tmp_path / "exports" / ".work" / "x-1" / "video" / "a.mp4"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"partial")
    day = 86_400 * 1_000_000
    with service._sessions.begin() as session:
        session.add(Case(number=CASE, type="criminal", title="t", created_us=0, updated_us=0))
        session.flush()
        for export_id, status, finished in [
            ("old", "done", clock.now_us - 3 * day),
            ("new", "done", clock.now_us - day),
            ("cut", "running", None),
        ]:
            session.add(
                Export(
                    id=export_id,
                    case_number=CASE,
                    request='{"items": []}',
                    status=status,
                    progress=0.5,
                    path=str(package) if export_id == "old" else None,
                    created_us=0,
                    started_us=0,
                    finished_us=finished,
                )
            )
    service._requeue_interrupted()  # what start() does before the worker runs
    assert not leftover.exists()
    cut = service.get("cut")
    assert cut.status == "queued" and cut.progress == 0.0 and cut.started_us is None
    assert service.expire() == 1
    old = service.get("old")
    assert not package.exists() and old.path is None and "deleted after 2 days" in old.error
    assert service.expire() == 0
    from evidence.export_service import describe

    assert describe(old)["download_url"] is None


def test_unusable_signing_key_disables_exports_but_not_the_server(tmp_path: Path) -> None:
    from evidence.export_request import Selection
    from evidence.export_service import ExportsUnavailable

    key = tmp_path / "keys" / "k.pem"
    key.parent.mkdir()
    key.write_text("not a key")
    key.chmod(0o600)  # private, but not a key
    service, _settings, _clock = service_for(tmp_path)
    service.start()
    try:
        with pytest.raises(ExportsUnavailable, match="not an unencrypted PEM private key"):
            service.public_key  # noqa: B018
        with pytest.raises(ExportsUnavailable):
            service.create(CASE, Selection(), "x")
    finally:
        service.stop()
    assert key.read_text() == "not a key"  # never overwritten


@pytest.mark.media
def test_interrogation_exports_and_hold_releases_need_a_second_user(
    sim: Any, make_server: Any
) -> None:
    """Four-eyes (on by default): the export waits ``pending_approval``, its requester cannot
    approve it, a second inspector can (or refuses with a reason); likewise a hold release."""
    server: Server = make_server(
        [{"id": "cam-e", "name": "讯问室8", "area": "interrogation", "url": sim.rtsp_url("m8")}],
        storage={"segment_seconds": 3},
        users=[("second", "inspector", [])],
    ).start()
    assert post(server, "/api/v1/cases", {"number": CASE, "title": "张某盗窃案"}).is_success
    began = record(server, 5)
    tag = post(
        server, f"/api/v1/cases/{CASE}/tags",
        {"camera_ids": ["cam-e"], "kind": "interrogation", "start": iso(began + 1),
         "end": iso(began + 4)},
    )  # fmt: skip
    assert tag.status_code == 201, tag.text
    second = auth_for("second")
    requested = post(server, f"/api/v1/cases/{CASE}/exports", {"tags": [tag.json()["id"]]})
    assert requested.status_code == 202 and requested.json()["status"] == "pending_approval"
    export_id = requested.json()["id"]
    waiting = http.get(f"{server.url}/api/v1/approvals", headers=second).json()
    assert [e["id"] for e in waiting["exports"]] == [export_id] and not waiting["exports"][0][
        "mine"
    ]
    own = post(server, f"/api/v1/exports/{export_id}/approve")
    assert own.status_code == 403 and own.json()["field"] == "export_id"
    approved = http.post(f"{server.url}/api/v1/exports/{export_id}/approve", headers=second)
    assert approved.status_code == 200 and approved.json()["decided_by"] == "second"
    done = wait_done(server, export_id)
    assert done["created_by"] == "admin" and done["decided_by"] == "second"
    again = http.post(f"{server.url}/api/v1/exports/{export_id}/approve", headers=second)
    assert again.status_code == 409
    refused_id = post(server, f"/api/v1/cases/{CASE}/exports", {}).json()["id"]
    refused = http.post(
        f"{server.url}/api/v1/exports/{refused_id}/refuse", json={"reason": "范围过大"},
        headers=second,
    )  # fmt: skip
    assert refused.json()["status"] == "refused" and "范围过大" in refused.json()["error"]
    # a hold release likewise
    holds = server.get(f"/api/v1/cases/{CASE}/holds")["data"]
    hold_id = holds[0]["id"]
    asked = post(server, f"/api/v1/holds/{hold_id}/release", {"reason": "结案, 已移交"})
    assert asked.status_code == 202 and asked.json()["release_requested_by"] == "admin"
    assert asked.json()["released_at"] is None
    assert post(server, f"/api/v1/holds/{hold_id}/approve-release").status_code == 403
    released = http.post(f"{server.url}/api/v1/holds/{hold_id}/approve-release", headers=second)
    assert released.status_code == 200 and released.json()["released_by"] == "second"
    audit = [e["action"] for e in server.get("/api/v1/audit", limit="200")["data"]]
    for action in ("export_request", "export_approve", "export_refuse",
                   "hold_release_request", "hold_release_approve"):  # fmt: skip
        assert action in audit, action
