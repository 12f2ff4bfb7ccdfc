"""The client side of the Gateway API for the CLI: one `httpx.Client` per command, answers
turned into data or into a `CliFailure` that carries the command's exit status.

Exit statuses (docs/cli.md): the outcome decides, so a script can tell "the server said no"
from "there is no server" from "it ran and failed"."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_SERVER = "http://127.0.0.1:8000"
CONNECT_SECONDS = 5.0
READ_SECONDS = 60.0


class ExitCode(enum.IntEnum):
    OK = 0
    # A command ran and ended failed / timed_out; a CPO ended FAILED.
    FAILED = 1
    # Click's own status for bad command-line usage (a missing option, a bad --event).
    USAGE = 2
    # The server refused the request: HTTP 4xx (bad field, unknown id, wrong key or role).
    REFUSED = 3
    # No answer: connection refused, unknown host, a timeout, a stream cut.
    UNREACHABLE = 4
    # HTTP 5xx (503 engine not ready or over capacity) or an answer that is not the API's.
    SERVER_ERROR = 5
    # --wait gave up before the outcome was known (--timeout).
    WAIT_TIMEOUT = 6
    # Ctrl-C while waiting for an outcome (the shell's convention: 128 + SIGINT).
    INTERRUPTED = 130


class CliFailure(Exception):
    """Ends the command with `code` after printing `message` (stderr)."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def segment(value: str) -> str:
    """An id as one path segment: whatever the user typed stays inside it."""
    return quote(value, safe="")


def _field_path(loc: list[Any]) -> str:
    # FastAPI's loc starts with where the value came from: body, query, path.
    return ".".join(str(part) for part in loc)


def _option_for(loc: list[Any], options: Mapping[str, str]) -> str | None:
    """The option that set the field at `loc`, or the nearest enclosing one
    (`event.connector_id` came from `--event`)."""
    for end in range(len(loc), 0, -1):
        option = options.get(_field_path(loc[:end]))
        if option is not None:
            return option
    return None


def describe_refusal(response: httpx.Response, options: Mapping[str, str] | None = None) -> str:
    """The server's error detail, one line per problem, each naming its field (`body.party_id`)
    and, when the field came from an option of this command, the option (`--party-id`)."""
    try:
        detail: Any = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    head = f"the server refused the request (HTTP {response.status_code})"
    if isinstance(detail, list):
        lines = [head + ":"]
        for problem in detail:
            if not isinstance(problem, dict):
                lines.append(f"  {problem}")
                continue
            loc = problem.get("loc") or []
            path = _field_path(loc)
            inside = loc[1:] if loc[:1] == ["body"] else loc
            option = _option_for(inside, options or {})
            hint = f" ({option})" if option else ""
            lines.append(f"  {path}{hint}: {problem.get('msg', problem)}")
        return "\n".join(lines)
    if isinstance(detail, str):
        return f"{head}: {detail}"
    return f"{head}: {response.text[:500]}"


@dataclass
class Gateway:
    """A voltlab server as the CLI sees it: base URL and API key."""

    server: str
    key: str
    # field path in the body (e.g. "overrides.locations") -> the option that set it
    options: dict[str, str] = field(default_factory=dict)
    _client: httpx.Client | None = None

    def __enter__(self) -> Gateway:
        self._client = httpx.Client(
            base_url=self.server.rstrip("/"),
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS),
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            raise RuntimeError("use Gateway as a context manager")
        return self._client

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """The answer, whatever its status; a transport error is a `CliFailure`."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            return self.client.request(method, path, json=json, params=clean or None)
        except httpx.TransportError as error:
            raise unreachable(self.server, error) from None

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """The answer's JSON body (None for 204); 4xx and 5xx are `CliFailure`s."""
        response = self.send(method, path, json=json, params=params)
        check(response, self.options)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CliFailure(
                ExitCode.SERVER_ERROR,
                f"{method} {path}: the answer is not JSON (is {self.server} a voltlab server?)",
            ) from None

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)


def check(response: httpx.Response, options: Mapping[str, str] | None = None) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 401:
        raise CliFailure(
            ExitCode.REFUSED,
            describe_refusal(response) + "\n(check --key / VOLTLAB_KEY: an API key of "
            "this server, see `voltlab keys create`)",
        )
    if status < 500:
        raise CliFailure(ExitCode.REFUSED, describe_refusal(response, options))
    raise CliFailure(ExitCode.SERVER_ERROR, describe_refusal(response))


def unreachable(server: str, error: httpx.TransportError) -> CliFailure:
    if isinstance(error, httpx.ConnectError):
        reason = str(error) or "connection refused"
        if "refused" in reason.lower():
            reason = "connection refused"
        why = f"{reason} (is `voltlab serve` running there? set --server or VOLTLAB_URL)"
    elif isinstance(error, httpx.TimeoutException):
        why = "no answer in time"
    else:
        why = str(error) or type(error).__name__
    return CliFailure(ExitCode.UNREACHABLE, f"cannot reach the voltlab server at {server}: {why}")
