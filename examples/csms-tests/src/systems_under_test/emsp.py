"""The eMSP side of the OCPI 2.2.1 credentials handshake: the versions and version-details
endpoints a CPO calls back with Token B (standard library HTTP server, in a thread)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def token_header(token: str) -> str:
    """OCPI 2.2.1 sends credentials tokens Base64 encoded."""
    return "Token " + base64.b64encode(token.encode()).decode()


def ocpi_headers(token: str) -> dict[str, str]:
    """What every OCPI 2.2.1 request carries: the token, and ids to trace it by."""
    return {
        "Authorization": token_header(token),
        "X-Request-ID": str(uuid.uuid4()),
        "X-Correlation-ID": str(uuid.uuid4()),
    }


class Emsp:
    """`with Emsp() as emsp:` serves `emsp.versions_url`; `emsp.token_b` is the token the CPO
    must use; `emsp.calls` lists (method, path, authorized) of what the CPO asked."""

    def __init__(self) -> None:
        self.token_b = secrets.token_urlsafe(24)
        self.calls: list[tuple[str, str, bool]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}/ocpi"
        self.versions_url = f"{self.base}/versions"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Emsp:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def credentials(self, party_id: str = "EMS", country_code: str = "NL") -> dict[str, Any]:
        """The body the eMSP POSTs to the CPO's credentials endpoint with Token A."""
        return {
            "token": self.token_b,
            "url": self.versions_url,
            "roles": [
                {
                    "role": "EMSP",
                    "party_id": party_id,
                    "country_code": country_code,
                    "business_details": {"name": "Example eMSP"},
                }
            ],
        }

    def _answer(self, path: str) -> Any:
        if path == "/ocpi/versions":
            return [{"version": "2.2.1", "url": f"{self.base}/2.2.1"}]
        if path == "/ocpi/2.2.1":
            endpoint = {
                "identifier": "credentials",
                "role": "RECEIVER",
                "url": f"{self.base}/2.2.1/credentials",
            }
            return {"version": "2.2.1", "endpoints": [endpoint]}
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        emsp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                authorized = self.headers.get("Authorization") == token_header(emsp.token_b)
                emsp.calls.append(("GET", self.path, authorized))
                data = emsp._answer(self.path) if authorized else None
                status = 200 if data is not None else (401 if not authorized else 404)
                body = {
                    "data": data,
                    "status_code": 1000 if data is not None else 2001,
                    "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                }
                encoded = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                # OCPI 2.2.1: an answer repeats the request's ids.
                for name in ("X-Request-ID", "X-Correlation-ID"):
                    if self.headers.get(name):
                        self.send_header(name, self.headers[name])
                self.end_headers()
                self.wfile.write(encoded)

            def log_message(self, *_: Any) -> None:
                pass

        return Handler
