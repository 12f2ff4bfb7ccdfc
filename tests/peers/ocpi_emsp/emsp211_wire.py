"""The 2.1.1 eMSP peer's (emsp_211.py) output: JSON lines on stdout, and the ASGI wrapper that
records every request its py_ocpi app receives with the answer it gave."""

from __future__ import annotations

import json
import sys
from datetime import datetime

from starlette.routing import Match


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(o):
    if isinstance(o, (bytes, bytearray)):
        return o.decode("utf-8", errors="replace")
    if isinstance(o, datetime):
        return o.isoformat()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def plain(data):
    """py_ocpi model dicts hold str/float subclasses and enums: make plain JSON."""
    return json.loads(json.dumps(data, default=_json_default))


def parse_body(raw: bytes):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def header_dict(pairs) -> dict:
    out: dict[str, str] = {}
    for name, value in pairs:
        name = name.decode("latin-1").lower() if isinstance(name, bytes) else name.lower()
        value = value.decode("latin-1") if isinstance(value, bytes) else value
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


class Recorder:
    """ASGI wrapper: records every request and py_ocpi's answer (see emsp.py's Recorder).

    py_ocpi declares collection routes with a trailing slash (``/cdrs/``): a request without
    it is routed as if it had one (the event keeps the original path). The CDR ``Location``
    header py_ocpi writes (https, enum reprs) is rewritten to our real URL.
    """

    def __init__(self, app, fix_header, annotate) -> None:
        self.app = app
        self.fix_header = fix_header  # (name, value) -> (name, value) for response headers
        self.annotate = annotate  # (method, path, headers, body) -> extra event fields
        self.seq = 0

    def _route_path(self, scope) -> str:
        path = scope["path"]
        if path.endswith("/"):
            return path
        if any(r.matches(dict(scope))[0] == Match.FULL for r in self.app.router.routes):
            return path
        probe = dict(scope, path=path + "/")
        if any(r.matches(probe)[0] == Match.FULL for r in self.app.router.routes):
            return path + "/"
        return path

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        original_path = scope["path"]
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw_body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw_body, "more_body": False}
            return await receive()

        route_path = self._route_path(scope)
        if route_path != original_path:
            scope = dict(scope, path=route_path, raw_path=route_path.encode())
        status = {"code": None, "headers": []}
        out_chunks = []

        async def capture(message):
            if message["type"] == "http.response.start":
                headers = [self.fix_header(n, v) for n, v in message.get("headers", [])]
                message = dict(message, headers=headers)
                status["code"], status["headers"] = message["status"], headers
            elif message["type"] == "http.response.body":
                out_chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self._emit(scope, original_path, raw_body, status, b"".join(out_chunks))
            await send(message)

        await self.app(scope, replay, capture)

    def _emit(self, scope, path, raw_body, status, raw_response) -> None:
        self.seq += 1
        headers = header_dict(scope.get("headers", []))
        response = parse_body(raw_response)
        body = parse_body(raw_body)
        emit(
            {
                "event": "received",
                "seq": self.seq,
                "method": scope["method"],
                "path": path,
                "query": scope.get("query_string", b"").decode("latin-1"),
                "headers": headers,
                "body": body,
                "status": status["code"],
                "response_headers": header_dict(status["headers"]),
                "response": response,
                "ocpi_status": response.get("status_code") if isinstance(response, dict) else None,
                "validation_errors": (
                    response.get("detail")
                    if status["code"] == 422 and isinstance(response, dict)
                    else None
                ),
                **self.annotate(scope["method"], path, headers, body),
            }
        )
