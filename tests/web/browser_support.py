"""What the browser tests run on (a plain module: `conftest` names clash across folders): the
Debian Chromium to drive, the recorder of every host a page contacts, the screenshot folder,
and the strict ocpp-rpc CSMS hosted on an event loop of its own thread."""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from peers.ocpp_rpc_peer import OcppRpcPeer

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request, WebSocket

    from e2e.serve_support import ServeProcess

# Debian's `chromium` package (installed by `.ci/system`): Playwright drives it through
# `executable_path`, so no browser build is ever downloaded (`playwright install` is never run).
CHROMIUM = Path("/usr/bin/chromium")

REPO_ROOT = Path(__file__).resolve().parents[2]
# The folder the README names; CI keeps it as an artifact (.gitignore leaves it out of git).
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"

# One window size for every test, so screenshots of two runs compare.
VIEWPORT = {"width": 1280, "height": 800}

# URLs that never reach a network: the page's own document, inline data, blobs.
_LOCAL_SCHEMES = frozenset({"data", "blob", "about", "javascript"})

T = TypeVar("T")


def install_chromium() -> None:
    """On first use, as the other test peers are installed: Debian's chromium through
    `.ci/system chromium` (apt-get; root only), once for all xdist workers (a file lock)."""
    if CHROMIUM.exists() or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    lock_path = Path(tempfile.gettempdir()) / "voltlab-chromium-install.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not CHROMIUM.exists():
            script = Path(__file__).resolve().parents[2] / ".ci" / "system"
            subprocess.run(["bash", str(script), "chromium"], check=False, timeout=900)


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None. They fail with this reason rather than
    skip: an acceptance test that skips where the browser is missing can never fail."""
    install_chromium()
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} is missing: the browser tests drive Debian's `chromium` package. "
            "Install it with `bash .ci/system` (as root; apt-get install chromium)."
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return (
            "Playwright's Python package is missing: `python3 -m pip install -e '.[test]'` "
            "(never `playwright install`: the tests use Debian's chromium)."
        )
    return None


def screenshot_name(test_name: str, name: str) -> str:
    """`<test>--<name>.png`, with everything but letters, digits, `.`, `_` and `-` replaced,
    so parametrised test ids make valid, distinct file names."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{test_name}--{name}").strip("_")
    return f"{safe}.png"


@dataclass
class HostRecorder:
    """Records the host of every request and WebSocket a page opens. The dashboard must load
    nothing from outside the server it is served by (issue 13: usable offline, no CDN), so
    `check()` fails on any `host:port` other than `allowed`."""

    allowed: str
    seen: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("request", self._on_request)
        page.on("websocket", self._on_websocket)

    def _on_request(self, request: Request) -> None:
        self.seen.append(request.url)

    def _on_websocket(self, websocket: WebSocket) -> None:
        self.seen.append(websocket.url)

    def outside(self) -> list[str]:
        """Every recorded URL whose `host:port` is not the server's, in request order."""
        found = []
        for url in self.seen:
            parts = urlsplit(url)
            if parts.scheme in _LOCAL_SCHEMES:
                continue
            if parts.netloc != self.allowed:
                found.append(url)
        return found

    def outside_hosts(self) -> set[str]:
        return {urlsplit(url).netloc for url in self.outside()}

    def check(self) -> None:
        found = self.outside()
        assert found == [], (
            f"the page requested {len(found)} URL(s) outside the server {self.allowed} "
            f"(hosts {sorted(self.outside_hosts())}): {found[:20]}"
        )


@dataclass
class WebServer:
    """A running `voltlab serve` for a browser test: its base URL and two keys of one org."""

    url: str
    admin_key: str
    viewer_key: str
    process: ServeProcess

    @property
    def host(self) -> str:
        """`host:port` as a browser's request URL carries it."""
        return urlsplit(self.url).netloc


class ThreadedCsms:
    """The strict ocpp-rpc CSMS (tests/peers/ocpp_rpc_peer.py) on an event loop in a thread of
    its own. Browser tests are synchronous (Playwright's sync API refuses to run inside a
    running asyncio loop), and the peer must go on reading its child's output while a test
    waits in the browser. `peer` is the OcppRpcPeer; its plain methods and lists (`calls`,
    `frames`, `events`, `strict_failures`) can be read from the test, and its coroutines run
    with `run`, e.g. `csms.run(csms.peer.wait_for_call("CP-1", "StartTransaction"))`."""

    def __init__(self, protocols: tuple[str, ...] = ("ocpp1.6", "ocpp2.0.1", "ocpp2.1")) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="ocpp-rpc-peer-loop", daemon=True
        )
        self.peer = OcppRpcPeer(protocols=protocols, strict=True)

    @property
    def url(self) -> str:
        """`ws://127.0.0.1:PORT/ocpp`: a location's `csms_url`."""
        return self.peer.url

    def start(self) -> None:
        self._thread.start()
        self.run(self.peer.start(), timeout=60.0)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run one of the peer's coroutines on its loop and wait for its result (bounded)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        try:
            self.run(self.peer.stop(), timeout=30.0)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10.0)
            if not self._thread.is_alive():
                self._loop.close()
