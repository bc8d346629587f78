"""A real Chromium (Debian's, driven by Playwright) against Django's live server.

``make test`` installs Chromium with apt when it is missing; Playwright cannot download its
own browsers here, so the system one is used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connections

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The network is closed: without these, Chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def launched_chromium() -> Iterator:
    """Debian's Chromium under Playwright's sync API, closed on the way out."""
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail(f"No Chromium at {CHROMIUM}: run `make test`, which installs it, or set CHROMIUM.")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            # ORM work done while Playwright's loop runs gets connections of its own context;
            # close them here, or PostgreSQL refuses to drop the test database.
            connections.close_all()
            chromium.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def browser(live_server) -> Iterator:
    """One Chromium for a test that opens several pages (languages, viewports)."""
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser, live_server):
    """A Chinese-speaking page at 1280×900 that records every request leaving the server."""
    from tests.browser.screens import track_foreign_requests

    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(15000)
    track_foreign_requests(page, live_server)
    return page
