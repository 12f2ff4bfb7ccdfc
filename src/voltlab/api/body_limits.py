"""Limits every JSON request body must meet before any route parses it: a size, a nesting depth,
and text that is valid Unicode without NUL characters.

An ASGI middleware, so the Gateway API and the OCPI routes share one reader and nothing below it
can blow a recursion limit (`json.loads` and pydantic's serializer both recurse) or store a
string that cannot be encoded back to UTF-8 (a lone surrogate such as "\\ud800" is legal JSON
escape syntax but not Unicode text). OCPI paths answer in the OCPI envelope (2001)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voltlab.ocpi.envelope import OcpiStatus, envelope

MAX_BODY_BYTES = 1024 * 1024
# OCPP and OCPI objects nest a handful of levels; 64 leaves room for any real payload while
# staying far below Python's recursion limit (~1000) and pydantic's serializer limit (255).
MAX_JSON_DEPTH = 64
# Where the path to a too-deep value is looked for, and above which size a body is checked
# on a worker thread instead of the event loop that also drives the virtual chargers.
PATH_SCAN_BYTES = 16 * 1024
THREAD_CHECK_BYTES = 64 * 1024
# OCPI's own endpoints (`/ocpi/2.2.1/...`); `/ocpi/cpos` is the Gateway API's.
OCPI_PROTOCOL_PATH = re.compile(r"^/ocpi/\d+(?:\.\d+)+(?:/|$)")
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Strings are matched whole so brackets inside them do not count.
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_STRING_RE = re.compile(_STRING, re.DOTALL)
_DEPTH_TOKENS = re.compile(_STRING + rb"|[\[\]{}]", re.DOTALL)
_PATH_TOKENS = re.compile(_STRING + rb"|[\[\]{},:]", re.DOTALL)

Loc = list[str | int]


@dataclass(frozen=True)
class BodyProblem:
    """Why a body is refused: HTTP status, an error type, where, and a sentence."""

    status: int
    kind: str
    loc: Loc
    message: str


def _printable(text: str) -> str:
    """A key or value as text that can always be encoded (lone surrogates escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


_BRACKETS_ONLY = bytes(range(256)).translate(None, b"[]{}")
_OPENERS = re.compile(rb"[\[{]+")


def _deeper_than(body: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit`, at C speed: strings are
    blanked, everything but brackets dropped, then innermost pairs removed level by level."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRING_RE.sub(b"", body).translate(None, _BRACKETS_ONLY)
    for _ in range(limit):
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(shorter) == len(brackets):
            # What is left does not pair up (not JSON); a parser would still descend into a
            # long run of openers before noticing.
            runs = _OPENERS.findall(brackets)
            return max(map(len, runs), default=0) > limit
        brackets = shorter
    return bool(brackets)


def _too_deep_at(body: bytes, limit: int) -> int | None:
    """Offset of the first bracket that opens level `limit + 1`, or None. No recursion."""
    depth = 0
    for match in _DEPTH_TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return match.start()
        elif token in (b"]", b"}"):
            depth -= 1
    return None


def _path_before(body: bytes, end: int) -> Loc:
    """The keys and indexes leading to offset `end` (only run on a body already found too deep,
    so the cost of tracking the path is paid for refused bodies only)."""
    stack: list[list[Any]] = []  # [kind, key_or_index, expecting_key]
    for match in _PATH_TOKENS.finditer(body, 0, end):
        token = match.group()
        if token == b"{":
            stack.append(["object", None, True])
        elif token == b"[":
            stack.append(["array", 0, False])
        elif token in (b"}", b"]"):
            if stack:
                stack.pop()
        elif token == b",":
            if stack and stack[-1][0] == "array":
                stack[-1][1] += 1
            elif stack:
                stack[-1][2] = True
        elif token == b":":
            if stack:
                stack[-1][2] = False
        elif stack and stack[-1][0] == "object" and stack[-1][2]:
            try:
                stack[-1][1] = _printable(json.loads(token))
            except ValueError:
                stack[-1][1] = "?"
    return [frame[1] for frame in stack if frame[1] is not None]


def _bad_character(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        return f"contains a lone UTF-16 surrogate (\\u{code:04x}), which is not Unicode text"
    return None


def _find_bad_text(document: Any) -> tuple[Loc, str] | None:
    """The first string (key or value) with a NUL or a lone surrogate, depth-first, iterative.
    Paths are kept as parent links and spelled out only for the string found."""
    links: list[tuple[int, str | int]] = []  # (parent link, key or index)

    def path_of(link: int) -> Loc:
        path: Loc = []
        while link >= 0:
            link, key = links[link]
            path.append(key)
        return path[::-1]

    pending: list[tuple[Any, int]] = [(document, -1)]
    while pending:
        value, link = pending.pop()
        if isinstance(value, str):
            problem = _bad_character(value)
            if problem is not None:
                return path_of(link), f"string {problem}"
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _bad_character(key)
                if problem is not None:
                    return [*path_of(link), _printable(key)], f"field name {problem}"
                links.append((link, key))
                pending.append((item, len(links) - 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str) and _bad_character(item) is None:
                    continue  # the common case, without a link
                links.append((link, index))
                pending.append((item, len(links) - 1))
    return None


# A NUL or a lone surrogate can only reach a string as an escape ("\\u0000", "\\ud800") or, for
# surrogates, as raw bytes (`json.loads` decodes bytes with "surrogatepass"). Bodies without
# these (nearly all) skip the walk. A NUL byte anywhere means UTF-16/32 text: walk it too.
_SUSPECT_TEXT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|\xed[\xa0-\xbf]|\x00")


def _too_deep(body: bytes) -> BodyProblem:
    # The path is looked for in the first bytes only: a token-by-token scan is slow in Python,
    # and a body that hides its deep part behind a megabyte of shallow data gets loc ["body"].
    window = body[:PATH_SCAN_BYTES]
    offset = _too_deep_at(window, MAX_JSON_DEPTH)
    path = [] if offset is None else _path_before(window, offset)
    return BodyProblem(
        422, "json_too_deep", ["body", *path], f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    )


def _not_text(body: bytes) -> BodyProblem | None:
    """Bytes that are no text in the encoding JSON's reader detects (UTF-8, or UTF-16/32):
    a 422 naming the body, as for any other malformed JSON (FastAPI would answer 400)."""
    try:
        body.decode(json.detect_encoding(body), "surrogatepass")
    except UnicodeDecodeError as exc:
        message = f"body is not {exc.encoding} text (invalid byte at position {exc.start})"
        return BodyProblem(422, "json_invalid", ["body"], message)
    return None


def check_json_body(body: bytes) -> BodyProblem | None:
    """Text first, then depth (before anything recursive parses it), then the text of every
    string."""
    problem = _not_text(body)
    if problem is not None:
        return problem
    if _deeper_than(body, MAX_JSON_DEPTH):
        return _too_deep(body)
    if not _SUSPECT_TEXT.search(body):
        return None
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None  # not JSON: the route reports it in its own words
    found = _find_bad_text(document)
    if found is None:
        return None
    path, message = found
    return BodyProblem(422, "string_invalid_text", ["body", *path], message)


def _declared_length(headers: Sequence[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large() -> BodyProblem:
    return BodyProblem(
        413,
        "body_too_large",
        ["body"],
        f"request body larger than {MAX_BODY_BYTES} bytes",
    )


def _render(path: str, problem: BodyProblem) -> tuple[int, bytes]:
    if OCPI_PROTOCOL_PATH.match(path):
        # A transport-level refusal (the object never reached the OCPI layer): HTTP 413 / 400.
        status = 413 if problem.status == 413 else 400
        where = ".".join(str(part) for part in problem.loc[1:])
        message = f"{problem.message} at {where}" if where else problem.message
        body = envelope(None, OcpiStatus.INVALID_PARAMETERS, message)
        return status, json.dumps(body).encode()
    if problem.status == 413:
        return 413, json.dumps({"detail": problem.message}).encode()
    detail = [{"type": problem.kind, "loc": problem.loc, "msg": problem.message}]
    return problem.status, json.dumps({"detail": detail}).encode()


class BodyLimitMiddleware:
    """Reads the whole body (refusing it once it passes the size limit), checks it, and hands
    the same bytes on to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        declared = _declared_length(headers)
        if declared is not None and declared > MAX_BODY_BYTES:
            await _refuse(scope, send, _too_large())
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await _refuse(scope, send, _too_large())
                return
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        # Every body this app accepts is JSON (OCPI reads it whatever the content type says).
        problem = None
        if len(body) > THREAD_CHECK_BYTES:
            problem = await anyio.to_thread.run_sync(check_json_body, body)
        elif body:
            problem = check_json_body(body)
        if problem is not None:
            await _refuse(scope, send, problem)
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # then wait for the disconnect, as the server would send it

    return replay


async def _refuse(scope: Scope, send: Send, problem: BodyProblem) -> None:
    status, payload = _render(scope.get("path", ""), problem)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
