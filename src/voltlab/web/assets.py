"""Serve the dashboard's static files: `GET /` answers `index.html`, the assets live under
`/static/<digest>/`.

The digest is a hash of every file under `static/`, computed once when the app is built, so an
asset's URL changes whenever any asset does: the assets can then be cached for a year as
immutable, and `index.html` (always revalidated) names the current digest. ES modules import
each other by relative paths, which stay inside the digest's folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static"
# The placeholder index.html writes where the asset base URL goes.
BASE_PLACEHOLDER = "{{STATIC}}"

IMMUTABLE = "public, max-age=31536000, immutable"
# index.html: always asked again (ETag-less, it is small), so a new release shows at once.
REVALIDATE = "no-cache"
# Everything the page loads comes from this server: the browser refuses any other host.
# Alpine.js evaluates its directives with `new Function` ('unsafe-eval'); uPlot and Alpine set
# inline styles on elements ('unsafe-inline' for styles only). Pico's icons are data: SVGs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def static_digest(root: Path) -> str:
    """12 hex digits of a sha256 over every file's relative path and bytes, in path order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


class ImmutableStaticFiles(StaticFiles):
    """StaticFiles whose answers may be cached for good: their URL names the content's digest."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200 or response.status_code == 304:
            response.headers["Cache-Control"] = IMMUTABLE
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def mount_dashboard(app: FastAPI, root: Path = STATIC_DIR) -> str:
    """Add `GET /` and the asset mount to `app`; returns the asset base URL
    (`/static/<digest>`)."""
    base = f"{STATIC_PREFIX}/{static_digest(root)}"
    index = (root / "index.html").read_text(encoding="utf-8").replace(BASE_PLACEHOLDER, base)

    @app.get("/", include_in_schema=False)
    async def dashboard() -> HTMLResponse:
        return HTMLResponse(
            index,
            headers={
                "Cache-Control": REVALIDATE,
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    # Mounted before the route below, which answers only what the mount does not match.
    app.mount(base, ImmutableStaticFiles(directory=root), name="dashboard-static")

    @app.get(STATIC_PREFIX + "/{stale}/{path:path}", include_in_schema=False)
    async def stale_asset(stale: str, path: str) -> Response:
        # A page loaded before a restart asks for the assets of an older digest: send it to
        # the current file rather than a 404 (not cached, since the target moves).
        return RedirectResponse(f"{base}/{path}", status_code=307)

    return base
