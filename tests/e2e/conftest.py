"""Browser fixtures: a live server thread on the test database and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


@pytest.fixture
def live_site(committed: Any, settings: Any) -> Iterator[str]:
    """Serve the app from a thread; yields the port. Data it writes is committed (and cleaned up)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    thread = LiveServerThread("localhost", StaticFilesHandler, connections_override=None, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    settings.PUBLIC_PORT = str(thread.port)
    settings.CSRF_TRUSTED_ORIGINS = [f"http://localhost:{thread.port}", f"http://*.localhost:{thread.port}"]
    try:
        yield str(thread.port)
    finally:
        thread.terminate()


@pytest.fixture
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        message = "Debian's chromium package is not installed (.ci/run installs it)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
