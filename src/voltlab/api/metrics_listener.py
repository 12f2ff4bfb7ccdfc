"""The opt-in metrics listener (`voltlab serve --metrics-listen HOST:PORT`,
VOLTLAB_METRICS_LISTEN): `GET /metrics` without a key, on an address of its own that an
operator exposes only to the scraper (a loopback or a private interface), while the API's
`/metrics` keeps requiring an admin key.

A second, small uvicorn server in the same process and event loop, serving one route from
the app's registry (`AppMetrics`), so a scrape reads the stations on the loop that runs them.
It leaves the process's signals to the main server, and the app's lifespan starts and stops
it. Its requests are access-logged as the API's are (uvicorn has one access logger per
process: turning it off for this server would turn it off for both)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voltlab.api.metrics import AppMetrics
from voltlab.api.routes.metrics import metrics_response

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 10.0  # seconds the listener may take to listen
STOP_TIMEOUT = 5.0


def parse_listen(address: str) -> tuple[str, int]:
    """`HOST:PORT` (`[v6 address]:PORT` for IPv6) -> (host, port); ValueError says why not."""
    host, colon, port_text = address.strip().rpartition(":")
    if not colon or not host:
        raise ValueError(f"expected HOST:PORT, e.g. 127.0.0.1:9100, not {address!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"the port of {address!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"the port of {address!r} is not between 1 and 65535")
    return host, port


class _SideServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The main server owns SIGINT and SIGTERM; its shutdown stops this one (the lifespan).
        yield


class MetricsListener:
    def __init__(self, metrics: AppMetrics, host: str, port: int) -> None:
        self.host = host
        self.port = port

        async def get_metrics(request: Request) -> Response:
            return await metrics_response(metrics, request.headers.get("accept"))

        app = Starlette(routes=[Route("/metrics", get_metrics, methods=["GET"])])
        config = uvicorn.Config(
            app,
            log_config=None,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = _SideServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen, or raise OSError (the address is taken or not this host's)."""
        sock = _bound_socket(self.host, self.port)
        self._task = asyncio.create_task(self._server.serve([sock]), name="metrics-listener")
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not self._server.started:
                if self._task.done():
                    self._task.result()  # its failure, if it failed
                    raise OSError(f"the metrics listener on {self.host}:{self.port} stopped")
                await asyncio.sleep(0.01)
        log.info("metrics without a key on http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        task = self._task
        if task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(task, STOP_TIMEOUT)
        except TimeoutError:
            log.warning("the metrics listener did not stop within %g s", STOP_TIMEOUT)
        except Exception:
            log.exception("the metrics listener failed")
        self._task = None


def _bound_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise OSError(f"the metrics listener cannot listen on {host}:{port}: {error}") from error
    return sock
