"""Pushes to the eMSP: background tasks with bounded retries, ordered per object.

Ordering: jobs for the same object (one location, one session, one CDR, one command response
URL) are chained, each waits for its predecessor, so a PATCH never overtakes its PUT. When the
predecessor failed, or the eMSP answers a PATCH with a client error (it lacks the object), the
job sends its full-object fallback (a PUT) instead, which is what the transport chapter asks a
client to do after a failed PATCH.

Jobs live in memory: a crash loses the pushes in flight, and a shutdown gives them a bounded
grace, then logs the rest as ``dropped``. The eMSP can always catch up by pulling (OCPI
requires pull for exactly this reason).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from voltlab.ocpi import repo
from voltlab.ocpi import traffic as traffic_repo
from voltlab.ocpi.core import OcpiCore, exchange_evidence, ocpi_status_of
from voltlab.ocpi.credentials_tokens import authorization_header
from voltlab.ocpi.findings import OcpiObservation
from voltlab.ocpi.peer import CpoLink
from voltlab.ocpi.peer_address import UNREACHABLE, PeerAddressRefused, PeerUnreachable
from voltlab.ocpi.web import routing_headers
from voltlab.tasks import BackgroundTasks

log = logging.getLogger(__name__)

DROPPED = "the server shut down before the push was delivered"


@dataclass(frozen=True)
class PushRequest:
    method: str
    path: str  # appended to the eMSP's module endpoint URL ("" for the endpoint itself)
    body: dict[str, Any]


@dataclass(frozen=True)
class PushJob:
    cpo_id: str
    module: str  # eMSP endpoint identifier, also the traffic counter's module
    object_key: str  # ordering key within the CPO
    request: PushRequest
    # Full-object PUT to send instead of a PATCH whose object the eMSP may not have.
    fallback: PushRequest | None = None
    # Command results go to the response_url the eMSP gave, not to a module endpoint.
    absolute_url: str | None = None
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class AttemptResult:
    http_status: int | None = None
    ocpi_status: int | None = None
    error: str | None = None
    refused: bool = False  # the address policy forbids the URL: retrying cannot help
    # What was sent and what came (evidence when the push fails for good).
    sent: dict[str, str] = field(default_factory=dict)
    response: httpx.Response | None = None

    @property
    def ok(self) -> bool:
        return (
            self.http_status is not None
            and 200 <= self.http_status < 300
            and (self.ocpi_status is None or 1000 <= self.ocpi_status < 2000)
        )

    @property
    def retryable(self) -> bool:
        if self.refused:
            return False
        if self.http_status is None:  # transport error or timeout
            return True
        if self.http_status >= 500 or self.http_status in (408, 429):
            return True
        return 200 <= self.http_status < 300 and (self.ocpi_status or 0) >= 3000


class PushQueue:
    def __init__(
        self,
        core: OcpiCore,
        *,
        max_attempts: int = 5,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 8.0,
    ) -> None:
        self._core = core
        self._max_attempts = max(1, max_attempts)
        self._base_delay = retry_base_delay
        self._max_delay = retry_max_delay
        self._tails: dict[str, asyncio.Task[str]] = {}
        self._tasks = BackgroundTasks("OCPI pushes")

    def submit(self, job: PushJob) -> None:
        """Schedule a push and return at once."""
        key = f"{job.cpo_id}|{job.object_key}"
        previous = self._tails.get(key)
        task = self._tasks.spawn(self._run(job, previous))
        self._tails[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))

    def _forget(self, key: str, task: asyncio.Task[str]) -> None:
        if self._tails.get(key) is task:
            del self._tails[key]

    async def drain(self, timeout: float | None = None) -> int:
        """Wait until every push ended (retries included). With a `timeout` (seconds), cancel
        the pushes still pending then (each logs itself ``dropped``); returns how many."""
        return await self._tasks.drain(timeout)

    async def cancel_all(self) -> int:
        return await self._tasks.cancel()

    async def _run(self, job: PushJob, previous: asyncio.Task[str] | None) -> str:
        previous_failed = False
        if previous is not None:
            # asyncio.wait, not await: a cancelled predecessor must not cancel this job.
            await asyncio.wait([previous])
            previous_failed = previous.cancelled() or previous.result() == "failed"
        try:
            return await self._deliver(job, previous_failed)
        except Exception:  # never let a background task die with an unretrieved exception
            log.exception("OCPI push %s %s failed unexpectedly", job.module, job.object_key)
            return "failed"

    async def _deliver(self, job: PushJob, previous_failed: bool) -> str:
        link = await self._core.db(repo.get_link, job.cpo_id)
        request = job.request
        if previous_failed and job.fallback is not None:
            request = job.fallback
        base_url = job.absolute_url
        if base_url is None and link is not None:
            base_url = link.endpoint(job.module)
        url = (base_url.rstrip("/") + request.path) if base_url and request.path else base_url
        if link is None or not link.can_push or url is None:
            reason = "not registered" if link is None or not link.can_push else "no endpoint"
            await self._log_skip(job, request, url or "", reason)
            # Nothing was sent, so a later PATCH must fall back to the full object.
            return "failed" if reason == "not registered" else "skipped"
        push_id = await self._core.db(
            traffic_repo.start_push, job.cpo_id, job.module, request.method, url, job.object_key
        )
        try:
            attempts, result = await self._attempts(link, job, request, url)
        except asyncio.CancelledError:
            # Shutdown dropped it: the log says so instead of showing it pending for ever.
            await self._core.db(
                traffic_repo.finish_push,
                push_id,
                outcome="dropped",
                attempts=0,
                http_status=None,
                ocpi_status=None,
                error=DROPPED,
            )
            raise
        if (
            not result.ok
            and request is job.request
            and job.fallback is not None
            and not result.retryable
        ):
            # The eMSP refused the PATCH (likely it lacks the object): send the whole object.
            request = job.fallback
            url = base_url.rstrip("/") + request.path if base_url else url
            more, result = await self._attempts(link, job, request, url)
            attempts += more
        outcome = "succeeded" if result.ok else "failed"
        if not result.ok:
            await self._judge_failure(link, job, request, url, attempts, result)
        await self._core.db(
            traffic_repo.finish_push,
            push_id,
            outcome=outcome,
            attempts=attempts,
            http_status=result.http_status,
            ocpi_status=result.ocpi_status,
            error=result.error,
        )
        return outcome

    async def _attempts(
        self, link: CpoLink, job: PushJob, request: PushRequest, url: str
    ) -> tuple[int, AttemptResult]:
        result = AttemptResult(error="not attempted")
        for attempt in range(1, self._max_attempts + 1):
            result = await self._attempt(link, job, request, url)
            await self._core.count(
                job.cpo_id,
                "out",
                job.module,
                result.http_status,
                result.ocpi_status,
                method=request.method,
                url=url,
            )
            if result.ok or not result.retryable:
                return attempt, result
            if attempt < self._max_attempts:
                await asyncio.sleep(min(self._base_delay * 2 ** (attempt - 1), self._max_delay))
        return self._max_attempts, result

    async def _attempt(
        self, link: CpoLink, job: PushJob, request: PushRequest, url: str
    ) -> AttemptResult:
        assert link.token_b is not None  # can_push guarantees it
        headers = {
            "Authorization": authorization_header(link.token_b, base64_encoded=link.token_b_base64),
            "X-Request-ID": str(uuid.uuid4()),
            "X-Correlation-ID": job.correlation_id,
        }
        if link.version == "2.2.1":
            headers.update(routing_headers(link))
        policy = self._core.peer_policy
        try:
            await policy.check_url(url)
            # Never follow a redirect: it could lead anywhere, past the address policy too.
            response = await self._core.http.request(
                request.method, url, json=request.body, headers=headers, follow_redirects=False
            )
            policy.check_connected(response)
        except PeerAddressRefused as exc:
            return AttemptResult(error=f"refused: {exc.reason}", refused=True, sent=headers)
        except (httpx.HTTPError, PeerUnreachable):
            # The same text whatever failed: the push log is no port scanner (item 8).
            return AttemptResult(error=UNREACHABLE, sent=headers)
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        await self._core.judge_answer(
            job.cpo_id, link.version, headers, request.body, response, payload
        )
        result = AttemptResult(
            http_status=response.status_code,
            ocpi_status=ocpi_status_of(payload),
            sent=headers,
            response=response,
        )
        if not result.ok:
            message = payload.get("status_message") if isinstance(payload, dict) else None
            result.error = message or response.text[:500] or f"HTTP {response.status_code}"
        return result

    async def _judge_failure(
        self,
        link: CpoLink,
        job: PushJob,
        request: PushRequest,
        url: str,
        attempts: int,
        result: AttemptResult,
    ) -> None:
        """A push that failed for good is a finding about the eMSP, except a refused PATCH
        (it may lack the object; its full-object fallback is judged) and a URL our own address
        policy refused."""
        if result.refused or (request.method == "PATCH" and result.http_status is not None):
            return
        tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        if job.module == "commands" and job.absolute_url is not None:
            rule = "ocpi-command-result-failed"
        elif result.http_status is None:
            rule = "ocpi-push-unreachable"
        else:
            rule = "ocpi-push-rejected"
        if result.http_status is None:
            detail = (
                f"expected the eMSP to answer {request.method} {url} ({job.module}); no answer "
                f"came {tries} ({result.error})"
            )
        else:
            detail = (
                f"expected HTTP 2xx and status_code 1000 for the valid {job.module} object "
                f"({request.method} {url}); came HTTP {result.http_status}, status_code "
                f"{result.ocpi_status} ({result.error}) {tries}"
            )
        evidence = exchange_evidence(
            result.sent,
            request.body,
            result.response,
            method=request.method,
            url=url,
            error=result.error if result.response is None else None,
        )
        await self._core.record_findings(
            job.cpo_id, link.version, [OcpiObservation(rule, detail)], [evidence]
        )

    async def _log_skip(self, job: PushJob, request: PushRequest, url: str, reason: str) -> None:
        push_id = await self._core.db(
            traffic_repo.start_push, job.cpo_id, job.module, request.method, url, job.object_key
        )
        await self._core.db(
            traffic_repo.finish_push,
            push_id,
            outcome="skipped",
            attempts=0,
            http_status=None,
            ocpi_status=None,
            error=reason,
        )
