"""The browser-test fixtures themselves, against what the server serves today: Chromium loads
a server page, screenshots are PNG files, the two keys are an admin and a viewer of one org
whose chargers reach the strict CSMS, and the host recorder fails on any host but the
server's (here FastAPI's Swagger UI at /docs, which loads its assets from a CDN)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route

from web.browser_support import SCREENSHOTS, VIEWPORT, HostRecorder, ThreadedCsms, WebServer

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    # The IHDR chunk comes first: width and height, big-endian, at bytes 16..24.
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chromium_loads_a_server_page_and_screenshots_it(
    page: Page,
    voltlab_server: WebServer,
    host_recorder: HostRecorder,
    screenshot: Callable[..., Path],
) -> None:
    response = page.goto("/health")
    assert response is not None and response.status == 200
    assert response.json()["status"] == "ok"
    assert host_recorder.seen == [f"{voltlab_server.url}/health"]

    path = screenshot("health")
    assert path.parent == SCREENSHOTS
    assert path.name == "test_chromium_loads_a_server_page_and_screenshots_it--health.png"
    width, height = png_size(path)
    assert width == VIEWPORT["width"] and height >= 1


def test_keys_are_an_admin_and_a_viewer_of_one_org(
    page: Page, voltlab_server: WebServer, csms: ThreadedCsms
) -> None:
    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    created = page.request.post(
        "/ocpp/locations",
        headers=auth(voltlab_server.admin_key),
        data={
            "name": "smoke",
            "csms_url": csms.url,
            "ocpp_version": "ocpp1.6",
            "chargers": 1,
            "model": "ac-22kw-2c",
            "identity_prefix": "CP-WEB-",
            "auto_start": True,
        },
    )
    assert created.status == 201, created.text()
    location = created.json()
    identity = location["chargers"][0]["identity"]
    # The charger reached the strict CSMS and booted (its teardown checks every frame).
    boot = csms.run(csms.peer.wait_for_call(identity, "BootNotification"))
    assert boot["chargePointModel"]

    # The viewer reads the admin's location (same org) and may not write.
    listed = page.request.get("/ocpp/locations", headers=auth(voltlab_server.viewer_key))
    assert listed.status == 200, listed.text()
    assert location["location_id"] in listed.text()
    refused = page.request.post(
        "/ocpp/locations",
        headers=auth(voltlab_server.viewer_key),
        data={"name": "viewer", "csms_url": csms.url, "ocpp_version": "ocpp1.6"},
    )
    assert refused.status == 403, refused.text()
    assert page.request.get("/ocpp/locations").status == 401


def _guarded_page(browser: Browser, server: WebServer) -> tuple[Page, HostRecorder]:
    """A page with a recorder of its own: these tests make it see outside hosts on purpose,
    which the `page` fixture would (rightly) fail at teardown."""
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    page = context.new_page()
    recorder = HostRecorder(allowed=server.host)
    recorder.attach(page)
    return page, recorder


def test_host_recorder_fails_on_an_outside_host(
    browser: Browser, voltlab_server: WebServer
) -> None:
    page, recorder = _guarded_page(browser, voltlab_server)
    html = '<!doctype html><title>x</title><script src="http://example.invalid/x.js"></script>'
    page.route(
        f"{voltlab_server.url}/smoke-outside.html",
        lambda route: route.fulfill(status=200, content_type="text/html", body=html),
    )
    aborted: list[str] = []

    def abort(route: Route) -> None:
        # Nothing leaves the machine: the request is recorded, then refused here.
        aborted.append(route.request.url)
        route.abort()

    page.route("http://example.invalid/**", abort)
    try:
        page.goto("/smoke-outside.html")
        page.wait_for_load_state("load")
    finally:
        page.context.close()

    assert aborted == ["http://example.invalid/x.js"]
    assert recorder.seen == [f"{voltlab_server.url}/smoke-outside.html", *aborted]
    assert recorder.outside() == ["http://example.invalid/x.js"]
    with pytest.raises(AssertionError, match=r"example\.invalid"):
        recorder.check()


def test_host_recorder_passes_a_server_only_page(
    browser: Browser, voltlab_server: WebServer
) -> None:
    page, recorder = _guarded_page(browser, voltlab_server)
    try:
        assert page.goto("/health") is not None
        assert page.goto("/openapi.json") is not None
    finally:
        page.context.close()
    assert recorder.seen == [f"{voltlab_server.url}/health", f"{voltlab_server.url}/openapi.json"]
    recorder.check()


class _LoadedAssets(HTMLParser):
    """The absolute URLs of the scripts and style sheets an HTML page loads: the page's load
    event waits for each of them (a favicon it may or may not fetch, so it is left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            url = values.get("src")
        elif tag == "link" and (values.get("rel") or "").lower() == "stylesheet":
            url = values.get("href")
        else:
            return
        if url and urlsplit(url).scheme in ("http", "https"):
            self.urls.append(url)


def test_host_recorder_catches_the_docs_page_assets(
    browser: Browser, voltlab_server: WebServer
) -> None:
    """FastAPI's /docs takes Swagger UI's script and CSS from a CDN: each is recorded (and
    refused: the browser's proxy reaches nothing). Should /docs ever serve its assets itself,
    the recorder finds nothing outside and the test still holds."""
    page, recorder = _guarded_page(browser, voltlab_server)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    try:
        response = page.goto("/docs")
        assert response is not None and response.status == 200
        parser = _LoadedAssets()
        parser.feed(response.text())
        page.wait_for_load_state("load")
    finally:
        page.context.close()
    outside = {url for url in parser.urls if urlsplit(url).netloc != voltlab_server.host}
    assert set(recorder.outside()) >= outside, (recorder.seen, outside)
    # Nothing left the machine: each of them failed at the dead-end proxy.
    assert set(failed) >= outside, (failed, outside)
    if outside:
        with pytest.raises(AssertionError, match="outside the server"):
            recorder.check()
    else:
        recorder.check()
