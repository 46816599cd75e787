"""Browser tests: the app served on a real port, driven by Playwright with Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.config import TestConfig

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Screenshots kept for a reviewer (git-ignored); KAMIKARTE_E2E_ARTIFACTS puts them elsewhere.
ARTIFACTS = Path(os.environ.get("KAMIKARTE_E2E_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts/e2e"))


class LiveServer:
    """The app in a thread on 127.0.0.1:<free port>; stop() makes the server unreachable."""

    def __init__(self, app) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def live_app(sqlite_template, tmp_path):
    """The app on its own SQLite copy (browser tests run on the embedded default)."""
    path = tmp_path / "e2e.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(replace(TestConfig(), DATABASE_URL=f"sqlite:///{path}"))
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def live_server(live_app) -> Iterator[LiveServer]:
    server = LiveServer(live_app)
    yield server
    try:
        server.stop()
    except OSError:
        pass


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="session")
def playwright_driver():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (scripts/setup.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_driver):
    b = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def profile_context(playwright_driver, tmp_path):
    """A browser with a real (non-incognito) profile, as a tablet's browser is: needed for install checks."""
    ctx = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, locale="ja-JP",
        timezone_id="Asia/Tokyo", service_workers="allow", viewport={"width": 1280, "height": 800})
    yield ctx
    ctx.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", service_workers="allow",
                              viewport={"width": 1280, "height": 800})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    p = context.new_page()
    p.set_default_timeout(10_000)
    yield p


def screenshot(page, name: str) -> None:
    """Keep a screenshot for people to look at (not compared)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
