"""The browser of the page tests: the system Chromium, one per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser import launch
from playwright.sync_api import Browser, sync_playwright


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()
