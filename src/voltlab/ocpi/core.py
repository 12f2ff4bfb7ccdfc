"""Shared plumbing of the OCPI layer: database access off the event loop, URLs, the outgoing
HTTP client and traffic counting. One instance per OcpiService; modules receive it."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import anyio.to_thread
import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltlab.clock import wall_now
from voltlab.live import LiveEvent, stamp
from voltlab.ocpi import traffic as traffic_repo
from voltlab.ocpi.envelope import SUPPORTED_VERSIONS
from voltlab.ocpi.findings import (
    HttpEvidence,
    OcpiObservation,
    evidence_body,
    evidence_headers,
    ocpi_rule,
)
from voltlab.ocpi.judging import PagingMemory, check_answer
from voltlab.ocpi.metrics import OcpiMetrics
from voltlab.ocpi.peer_address import PeerAddressPolicy, env_refuses_private_peers
from voltlab.store.db import Database
from voltlab.store.findings_repo import insert_findings
from voltlab.store.models import Cpo

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# Per request: the whole exchange must fit in 8 s so 5 push attempts plus backoff stay < 60 s.
DEFAULT_TIMEOUT = httpx.Timeout(8.0, connect=3.0)


class OcpiCore:
    def __init__(
        self,
        database: Database,
        public_url: str,
        http: httpx.AsyncClient | None,
        *,
        refuse_private_peers: bool | None = None,
    ) -> None:
        self.database = database
        self.public_url = public_url.rstrip("/")
        self._http = http
        self._owns_http = http is None
        # Where eMSP-given URLs may lead (VOLTLAB_OCPI_REFUSE_PRIVATE_PEERS unless told).
        self.peer_policy = PeerAddressPolicy(
            env_refuses_private_peers() if refuse_private_peers is None else refuse_private_peers
        )
        # The clock every OCPI timestamp is read from: the fleet's (simulated) clock once the
        # virtual CPO stack wires it in (OcpiService.use_clock), the wall clock until then.
        self.now: Callable[[], datetime] = wall_now
        # What the paging rules remember of the Links given (ocpi/judging.py).
        self.paging = PagingMemory()
        self.metrics = OcpiMetrics()

    # --- database -------------------------------------------------------------------------

    def db_sync(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        with self.database.session() as session:
            return fn(session, *args, **kwargs)

    async def db(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        # SQLAlchemy sessions are blocking; keep them off the event loop (PostgreSQL latency).
        return await anyio.to_thread.run_sync(lambda: self.db_sync(fn, *args, **kwargs))

    async def count(
        self,
        cpo_id: str,
        direction: str,
        module: str,
        http_status: int | None,
        ocpi_status: int | None,
        *,
        method: str = "",
        url: str = "",
    ) -> None:
        """Count a request, and log it when `method` names it (the traffic view). Our own
        requests (out) are counted in the metrics here too; the eMSPs' (in) by
        `run_endpoint`, which sees the unauthenticated ones as well."""
        if direction == "out":
            self.metrics.request(direction, module, method, http_status)
        await self.db(
            traffic_repo.count_request,
            cpo_id,
            direction,
            module,
            http_status,
            ocpi_status,
            method,
            url,
        )

    async def record_findings(
        self,
        cpo_id: str,
        version: str,
        observations: Sequence[OcpiObservation],
        evidence: Sequence[HttpEvidence],
    ) -> None:
        """Store findings about this CPO's eMSP (rules in ocpi/findings.py) at once, in the
        `findings` table the OCPP findings use: written before the exchange's caller goes on,
        so a restart (or a crash) loses none. Only violations cost a write."""
        if not observations:
            return
        at = self.now()
        shown = [item.as_json() for item in evidence]
        rows = []
        for observation in observations:
            rule = ocpi_rule(observation.rule)
            rows.append(
                {
                    "id": f"fnd-{secrets.token_hex(8)}",
                    "charger_id": None,
                    "location_id": None,
                    "cpo_id": cpo_id,
                    "rule": rule.slug,
                    "severity": rule.severity,
                    "title": rule.title,
                    "detail": observation.detail,
                    "spec_ref": rule.spec_ref(version),
                    "at": at,
                    "evidence": shown,
                }
            )
            log.info("CPO %s: finding %s: %s", cpo_id, rule.slug, observation.detail)
        try:
            await self.db(insert_findings, rows)
        except Exception:  # a finding must never break the exchange it is about
            log.exception("findings of CPO %s not written", cpo_id)
            return
        await self._announce_findings(cpo_id, rows)

    async def _announce_findings(self, cpo_id: str, rows: list[dict[str, Any]]) -> None:
        """New findings to the live channel's `findings` listeners of the CPO's org."""
        live = self.database.live
        if not live.wants("findings"):
            return
        org_id = await self.db(_org_of, cpo_id)
        if org_id is None or not live.wants_org(org_id, "findings"):
            return
        for row in rows:
            body = {**row, "at": stamp(row["at"])}
            live.publish(LiveEvent(org_id, "findings", "finding", body))

    async def judge_answer(
        self,
        cpo_id: str,
        version: str,
        sent: dict[str, str],
        sent_body: Any,
        response: httpx.Response,
        payload: Any,
    ) -> None:
        """The eMSP's answer to one of our requests (envelope, status codes, echoed ids)."""
        observations = check_answer(version, sent, response.status_code, payload, response.headers)
        if observations:
            evidence = exchange_evidence(sent, sent_body, response)
            await self.record_findings(cpo_id, version, observations, [evidence])

    # --- URLs -----------------------------------------------------------------------------

    def versions_url(self, version: str) -> str:
        check_version(version)
        return f"{self.public_url}/ocpi/{version}/versions"

    def details_url(self, version: str) -> str:
        check_version(version)
        return f"{self.public_url}/ocpi/{version}/details"

    def module_url(self, version: str, module: str) -> str:
        check_version(version)
        return f"{self.public_url}/ocpi/{version}/{module}"

    # --- outgoing HTTP --------------------------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        return self._http

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None


def exchange_evidence(
    sent: dict[str, str],
    sent_body: Any,
    response: httpx.Response | None,
    *,
    method: str | None = None,
    url: str | None = None,
    error: str | None = None,
) -> HttpEvidence:
    """One of our requests to the eMSP and its answer (None: no answer came) as evidence."""
    if response is not None:
        method = response.request.method
        url = str(response.request.url)
    return HttpEvidence(
        direction="out",
        method=method or "",
        url=url or "",
        status=response.status_code if response is not None else None,
        request_headers=evidence_headers(sent.items()),
        request_body=evidence_body(json.dumps(sent_body)) if sent_body is not None else None,
        response_headers=evidence_headers(response.headers.items()) if response else {},
        body=evidence_body(response.content) if response is not None else None,
        error=error,
    )


def check_version(version: str) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported OCPI version {version!r}; use one of {SUPPORTED_VERSIONS}")


def ocpi_status_of(payload: Any) -> int | None:
    """The `status_code` of an OCPI envelope, if the payload is one."""
    if isinstance(payload, dict) and isinstance(payload.get("status_code"), int):
        return int(payload["status_code"])
    return None


def _org_of(session: Session, cpo_id: str) -> str | None:
    return session.scalar(select(Cpo.org_id).where(Cpo.id == cpo_id))
