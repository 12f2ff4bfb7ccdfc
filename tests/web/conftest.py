"""Fixtures of the browser tests (tests/web): `voltlab serve` as a process with an admin and a
viewer key of one org, the strict ocpp-rpc CSMS for its chargers, Debian's headless Chromium
driven by Playwright's sync API, pages that fail their test if they contact any host but the
server, and full-page screenshots under artifacts/screenshots/.

Browser tests are plain (synchronous) test functions: Playwright's sync API refuses to run
inside an asyncio loop. They run one at a time, with the end-to-end tests (tests/conftest.py
puts them in the `e2e` xdist group).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from e2e.serve_support import API_KEY, ServeProcess, free_port
from voltlab.store import repo
from voltlab.store.db import Database
from web.browser_support import (
    CHROMIUM,
    SCREENSHOTS,
    VIEWPORT,
    HostRecorder,
    ThreadedCsms,
    WebServer,
    chromium_missing,
    screenshot_name,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright


# The Playwright driver and the browser live for one test module, not the session: while
# Playwright's sync API is started it marks its event loop as running in this thread, so an
# asyncio test that ran after it on the same xdist worker (the e2e group's, or any other) would
# fail with "cannot be called from a running event loop". A module's tests are all synchronous
# and run together; a launch costs about a second per module.
@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    reason = chromium_missing()
    if reason is not None:
        pytest.fail(reason, pytrace=False)
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium, one per test module (see `playwright_driver`). Every
    request to a host other than 127.0.0.1 goes to a proxy port that refuses connections, so a
    page that tries the outside world reaches nothing (and the host recorder reports it)."""
    with socket.socket() as dead_end:
        # Bound and never listening: a connection to it is refused at once.
        dead_end.bind(("127.0.0.1", 0))
        port = dead_end.getsockname()[1]
        chromium = playwright_driver.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            proxy={"server": f"http://127.0.0.1:{port}", "bypass": "127.0.0.1"},
        )
        yield chromium
        chromium.close()


@pytest.fixture
def voltlab_server(tmp_path: Path) -> Iterator[WebServer]:
    """`voltlab serve` on a free loopback port with a temporary SQLite database (time scale
    100, as the e2e tests' servers). `admin_key` is the server's VOLTLAB_API_KEY (org
    `default`, role admin); `viewer_key` is a viewer of the same org. At teardown the server
    must stop cleanly on SIGTERM (ServeProcess.stop)."""
    database = Database(f"sqlite:///{tmp_path / 'voltlab.db'}")
    database.migrate()
    try:
        with database.session() as session:
            org = repo.get_or_create_org(session, repo.DEFAULT_ORG)
            viewer_key = repo.add_api_key(session, org.id, "viewer")
    finally:
        database.dispose()
    process = ServeProcess(tmp_path, free_port())
    process.start()
    try:
        # ServeProcess waits with asyncio; run that on a thread of its own so this synchronous
        # fixture leaves the test thread's event loop state alone.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, process.wait_healthy()).result()
    except BaseException:
        process.kill()
        raise
    yield WebServer(url=process.base, admin_key=API_KEY, viewer_key=viewer_key, process=process)
    process.stop()


@pytest.fixture
def csms() -> Iterator[ThreadedCsms]:
    """The strict ocpp-rpc CSMS (OCPP 1.6, 2.0.1, 2.1) for the server's chargers: a location's
    `csms_url` is `csms.url`. Every frame voltlab's stations sent it must have passed its
    schema validation."""
    peer = ThreadedCsms()
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()
    failures = peer.peer.strict_failures
    assert failures == [], f"the strict CSMS rejected frames of voltlab's stations: {failures}"


@pytest.fixture
def host_recorder(voltlab_server: WebServer) -> HostRecorder:
    """The record of every URL the test's pages requested; `page` and `open_page` fill it and
    check it at teardown."""
    return HostRecorder(allowed=voltlab_server.host)


@pytest.fixture
def open_page(
    browser: Browser, voltlab_server: WebServer, host_recorder: HostRecorder
) -> Iterator[Callable[[], Page]]:
    """`open_page()` gives a page in a new browser context (its own cookies and
    sessionStorage: a second user, e.g. the viewer), `base_url` the server. At teardown the
    test fails if any page requested a host other than the server's, or threw an uncaught
    JavaScript error."""
    contexts: list[BrowserContext] = []
    page_errors: list[str] = []

    def open_one() -> Page:
        context = browser.new_context(viewport=VIEWPORT, base_url=voltlab_server.url)
        contexts.append(context)
        page = context.new_page()
        host_recorder.attach(page)
        page.on("pageerror", lambda error: page_errors.append(f"{page.url}: {error}"))
        return page

    yield open_one
    for context in contexts:
        context.close()
    host_recorder.check()
    assert page_errors == [], f"uncaught JavaScript errors: {page_errors}"


@pytest.fixture
def page(open_page: Callable[[], Page]) -> Page:
    """A page on the server (`page.goto("/")`), checked at teardown as `open_page` says."""
    return open_page()


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """`screenshot("fleet")` saves a full-page PNG of `page` (or of `page=other`) as
    artifacts/screenshots/<test>--fleet.png and returns its path."""

    def take(name: str, *, page: Page = page) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / screenshot_name(request.node.name, name)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
