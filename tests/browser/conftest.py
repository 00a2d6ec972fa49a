"""Browser tests: Playwright (sync API) drives Debian's chromium against pytest-django's live server.

Playwright cannot download its own browsers here, so it launches /usr/bin/chromium (installed by scripts/test).
Every test module sets `pytestmark = pytest.mark.browser`; deselect them with `-m "not browser"`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator

import pytest
from django.db import connections

CHROMIUM = os.environ.get("HAOCHAPING_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def _live_database(django_db_serialized_rollback, live_server):
    """Browser tests talk to the live server, so their data must be committed (transactional_db).

    The flush after such a test also wipes the rows the data migrations created (the default tag sets);
    serialized rollback restores them before each test.
    """


@pytest.fixture
def browser(_live_database, monkeypatch):
    """A chromium for one test, started after the database is set up and stopped before it is flushed.

    While Playwright's sync API is alive the main thread has a "running" asyncio loop, and Django then keeps
    its connections in a per-context slot instead of the thread's: the test database restore and the flush
    would not see the test connection. So the browser lives inside the database fixture, not across tests.
    """
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found: run scripts/test (installs it) or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    # For the same reason Django's async-safety check would refuse the ORM calls the test makes between page
    # actions; nothing runs concurrently in this thread, so they are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()
        connections.close_all()  # the connections the test body opened while the loop was marked running


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable]:
    """Open a page in a fresh browser context (own cookies); keyword arguments go to browser.new_context."""
    contexts = []

    def open_page(**options):
        options.setdefault("locale", "zh-CN")
        options.setdefault("base_url", live_server.url)
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def phone_page(new_page):
    return new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
