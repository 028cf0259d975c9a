"""One user's day end to end, in Chromium over HTTPS (a throwaway CA the browser trusts, as a
branch's own CA would be): an inspector signs in on the sign-in page and watches the room live
over WHEP; the station opens and closes an interrogation session; the inspector exports it from
the review page, which waits for a second user (four-eyes); a second inspector approves it from
their approvals panel; the first downloads the package, which verifies offline; the auditor's
page lists every step in order, by the right user, and verifies the trail."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import CONTEXT, launch, tile_stats, wait_for
from playwright.sync_api import Browser, Page, sync_playwright
from servers import ADMIN_PASSWORD, Server, auth_for
from tls import home_trusting, make_ca_and_certificate

pytestmark = [pytest.mark.media, pytest.mark.timeout(240)]

CASE = "A6103020000002026120007"
ROOM = "讯问室3"
CAMERA = "int-3"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def server(sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("flow")
    ca, cert, key = make_ca_and_certificate(workdir)
    camera = {"id": CAMERA, "name": f"{ROOM} 全景", "area": "interrogation", "room": ROOM,
              "url": sim.rtsp_url("live2")}  # fmt: skip
    running = Server(
        workdir,
        [camera],
        users=[("li", "inspector", []), ("wang", "inspector", []), ("auditor", "auditor", [])],
        storage={"segment_seconds": 4},
        server={"tls": {"cert": str(cert), "key": str(key)}},
        relay={"ice_host_addresses": ["127.0.0.1"]},
    )
    running.tls_ca = ca
    running.start()
    running.wait_recording(CAMERA)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chromium(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Chromium trusting the server's CA, as every browser of the branch would."""
    assert server.tls_ca is not None
    home = home_trusting(tmp_path_factory.mktemp("browser"), server.tls_ca)
    with sync_playwright() as playwright:
        browser = launch(playwright, home=home)
        yield browser
        browser.close()


def signed_in(
    chromium: Browser, server: Server, name: str, errors: list[str], lands_on: str = ""
) -> Page:
    """A new browser of ``name``, signed in on the sign-in page (no certificate warning: a
    certificate error fails ``goto``), on the start page of their roles."""
    page = chromium.new_context(**CONTEXT, viewport={"width": 1600, "height": 1000}).new_page()
    page.on("pageerror", lambda error: errors.append(f"{name}: {error}"))
    page.set_default_timeout(15_000)
    page.goto(f"{server.url}/wall/")
    page.wait_for_url("**/wall/login.html?next=*")
    page.fill("#login-name", name)
    page.fill("#login-password", ADMIN_PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{server.url}/wall/{lands_on}")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    return page


def interrogation(server: Server) -> int:
    """The station's case system opens a case and a session in the room, then closes it."""
    with httpx.Client(
        base_url=server.url, verify=server.verify, headers=auth_for("li"), timeout=30
    ) as api:
        created = api.post("/api/v1/cases", json={"number": CASE, "title": "赵某盗窃案"})
        assert created.status_code == 201, created.text
        opened = api.post(f"/api/v1/cases/{CASE}/sessions", json={"room": ROOM})
        assert opened.status_code == 201, opened.text
        time.sleep(6)
        session_id = int(opened.json()["id"])
        closed = api.post(f"/api/v1/sessions/{session_id}/close")
        assert closed.status_code == 200, closed.text
        return session_id


def open_review(page: Page, server: Server, query: str = "") -> None:
    page.goto(f"{server.url}/wall/review.html{query}")
    page.wait_for_function("document.body.dataset.ready === 'true'")


def audit_rows(page: Page) -> list[tuple[str, str, str]]:
    """(user, action, object) of the audit page's rows, oldest first."""
    rows: list[list[str]] = page.eval_on_selector_all(
        "#audit-rows tr",
        "rows => rows.map(r => [...r.children].slice(1, 4).map(c => c.textContent.trim()))",
    )
    return [(user, action, what) for user, action, what in reversed(rows)]


def test_sign_in_watch_export_with_approval_and_audit(
    chromium: Browser, server: Server, tmp_path: Path
) -> None:
    errors: list[str] = []
    # 1. the inspector signs in and watches the room live, over HTTPS
    inspector = signed_in(chromium, server, "li", errors)
    inspector.goto(f"{server.url}/wall/?cameras={CAMERA}&layout=1x1")
    inspector.wait_for_function("document.body.dataset.ready === 'true'")
    wait_for(
        lambda: any(entry.get("framesDecoded", 0) > 25 for entry in tile_stats(inspector)),
        timeout=20,
        what="decoded live frames over HTTPS",
        last=lambda: tile_stats(inspector),
    )
    # 2. an interrogation is recorded
    session_id = interrogation(server)
    # 3. the inspector exports it: four-eyes holds it for a second user
    open_review(inspector, server, f"?case={CASE}")
    inspector.click(f"#case-sessions [data-session-id='{session_id}'] .export-btn")
    mine = inspector.locator("#case-exports li[data-status='pending_approval']")
    mine.wait_for()
    export_id = mine.get_attribute("data-export-id")
    assert export_id
    own = inspector.locator(f"#approvals li[data-export-id='{export_id}']")
    own.wait_for()  # listed for the author too, who may not decide it
    assert own.locator("button.approve").count() == 0
    # 4. a second inspector approves it from the approvals panel
    approver = signed_in(chromium, server, "wang", errors)
    open_review(approver, server)
    waiting = approver.locator(f"#approvals li[data-export-id='{export_id}']")
    waiting.locator("button.open-case").click()  # the approver looks at the case first
    approver.locator(f"#case-sessions [data-session-id='{session_id}']").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    approver.screenshot(path=str(ARTIFACTS / "approvals.png"))
    waiting.locator("button.approve").click()
    waiting.wait_for(state="detached")
    # 5. the inspector's page follows the export to the end and downloads it
    link = inspector.locator(f"#case-exports li[data-export-id='{export_id}'] a.download")
    link.wait_for(timeout=60_000)
    entry = inspector.locator(f"#case-exports li[data-export-id='{export_id}']")
    assert entry.get_attribute("data-status") == "done"
    assert "wang" in entry.inner_text()  # who approved it
    inspector.screenshot(path=str(ARTIFACTS / "evidence.png"))
    with inspector.expect_download() as download:
        link.click()
    package = tmp_path / download.value.suggested_filename
    download.value.save_as(package)
    key = tmp_path / "casewatch.pub"
    key.write_text(inspector.evaluate("fetch('/api/v1/exports/public-key').then(r => r.text())"))
    verified = subprocess.run(
        [sys.executable, "-m", "api.cli", "verify", str(package), "--key", str(key)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # 6. the auditor sees each step, by whom, in order, and a trail that verifies
    auditor = signed_in(chromium, server, "auditor", errors, lands_on="audit.html")
    steps = [
        ("li", "sign_in"),
        ("li", "live_view_start"),
        ("li", "case_create"),
        ("li", "session_open"),
        ("li", "session_close"),
        ("li", "export_request"),
        ("wang", "sign_in"),
        ("wang", "export_approve"),
        ("li", "export_download"),
        ("auditor", "sign_in"),
    ]
    assert [(u, a) for u, a, _ in audit_rows(auditor) if a == "access_denied"] == []
    rows = [(user, action) for user, action, _ in audit_rows(auditor)]
    found = iter(rows)
    missing = [step for step in steps if step not in found]  # in this order
    assert not missing, (missing, rows)
    exported = [what for user, action, what in audit_rows(auditor) if action.startswith("export")]
    assert all(export_id in what for what in exported), exported
    auditor.click("#audit-verify")
    wait_for(
        lambda: auditor.get_attribute("#audit-verdict", "data-intact") == "true",
        timeout=15,
        what="an intact verdict",
    )
    assert errors == [], errors
