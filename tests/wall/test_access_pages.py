"""Sign-in and the pages by role, in Chromium: the sign-in page, the watermark, what a role is
not offered, a scoped operator's wall, the audit page's verification, the users page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser import CONTEXT, wait_for
from playwright.sync_api import Browser, Page
from servers import ADMIN_PASSWORD, Server

pytestmark = pytest.mark.media


@pytest.fixture(scope="module")
def server(sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    here = {"id": "near", "name": "讯问室1", "area": "interrogation", "url": sim.rtsp_url("live1"),
            "record": False}  # fmt: skip
    far = {"id": "far", "name": "讯问室2", "area": "interrogation", "url": sim.rtsp_url("live2"),
           "record": False}  # fmt: skip
    running = Server(
        tmp_path_factory.mktemp("pages"),
        [here],
        more_sites=[{"id": "other", "name": "其他派出所", "cameras": [far]}],
        users=[
            ("zhang", "operator", ["test"]),
            ("auditor", "auditor", []),
        ],
        relay={"ice_host_addresses": ["127.0.0.1"]},
    ).start()
    yield running
    running.stop()


def sign_in_page(chromium: Browser, server: Server, name: str, password: str) -> Page:
    """Open the wall, get sent to the sign-in page, type the credentials."""
    page = chromium.new_context(**CONTEXT, viewport={"width": 1600, "height": 900}).new_page()
    page.goto(f"{server.url}/wall/")
    page.wait_for_url("**/wall/login.html?next=*")
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-submit")
    return page


def test_a_wrong_password_is_told_and_a_right_one_opens_the_wall(
    chromium: Browser, server: Server
) -> None:
    page = sign_in_page(chromium, server, "zhang", "not-the-password-1")
    wait_for(lambda: page.is_visible("#login-error"), timeout=10, what="the error")
    assert "用户名或密码错误" in page.inner_text("#login-error")  # Chinese by default
    page.fill("#login-password", ADMIN_PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{server.url}/wall/")
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=10_000)
    # the scoped operator's wall: their station's camera only
    wait_for(lambda: page.locator("#tree [data-camera-id]").count() > 0, timeout=10)
    cameras = page.eval_on_selector_all(
        "#tree [data-camera-id]", "els => els.map(e => e.dataset.cameraId)"
    )
    assert set(cameras) == {"near"}, cameras
    # the watermark names the viewer; what an operator may not do is not offered
    wait_for(lambda: "zhang" in (page.text_content("#watermark") or ""), timeout=10)
    assert not page.is_visible("a[href='review.html']")  # no footage for an operator
    assert not page.is_visible("a[href='audit.html']") and not page.is_visible(
        "a[href='admin.html']"
    )
    assert page.is_visible("#layout-save")  # operators edit the wall
    page.click("#sign-out")
    page.wait_for_url("**/wall/login.html")
    page.goto(f"{server.url}/wall/")
    page.wait_for_url("**/wall/login.html?next=*")  # the session ended on the server


def test_the_audit_page_lists_and_verifies_the_trail(chromium: Browser, server: Server) -> None:
    page = sign_in_page(chromium, server, "auditor", ADMIN_PASSWORD)
    page.wait_for_url(f"{server.url}/wall/audit.html")  # an auditor's start page
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=10_000)
    actions = page.eval_on_selector_all(
        "#audit-rows tr", "rows => rows.map(r => r.children[2].textContent)"
    )
    assert "sign_in" in actions, actions
    page.click("#audit-verify")
    wait_for(
        lambda: page.get_attribute("#audit-verdict", "data-intact") == "true",
        timeout=15,
        what="an intact verdict",
    )
    assert "审计记录完整" in page.inner_text("#audit-verdict")


def test_the_users_page_adds_a_user_and_shows_a_new_token_once(
    chromium: Browser, server: Server
) -> None:
    page = sign_in_page(chromium, server, "admin", ADMIN_PASSWORD)
    page.wait_for_url(f"{server.url}/wall/")
    page.goto(f"{server.url}/wall/admin.html")
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=10_000)
    form = page.locator("#user-add")
    form.locator("input[name=name]").fill("wang.wu")
    form.locator("input[name=display_name]").fill("王五")
    form.locator("input[value=inspector]").check()
    form.locator("input[name=password]").fill("Inspector-pass-77")
    form.locator("input[name=again]").fill("Inspector-pass-77")
    form.locator("button[type=submit]").click()
    wait_for(lambda: page.locator("#user-rows tr[data-user='wang.wu']").count() == 1, timeout=10)
    tokens = page.locator("#token-add")
    tokens.locator("input[name=name]").fill("大屏 1")
    tokens.locator("input[name=password]").fill(ADMIN_PASSWORD)
    tokens.locator("button[type=submit]").click()
    wait_for(lambda: page.is_visible("#token-once"), timeout=10, what="the new token")
    assert "cw_" in page.inner_text("#token-once")
    assert server.get("/api/v1/users/wang.wu")["roles"] == ["inspector"]
