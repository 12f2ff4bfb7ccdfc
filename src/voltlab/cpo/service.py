"""Virtual CPOs: create (Token A before the 202, the rest as a durable workflow), read, status,
report, destroy, and the TTL reaper."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dbos import DBOS, SetWorkflowID
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voltlab.cpo import steps as cpo_steps
from voltlab.cpo import workflows
from voltlab.cpo.generator import OverrideError, check_overrides, is_supported_country
from voltlab.cpo.networks import CpoNetworks
from voltlab.cpo.templates import TEMPLATES
from voltlab.ocpi.service import OcpiService
from voltlab.store.db import Database
from voltlab.store.models import Cpo, CpoStep

log = logging.getLogger(__name__)

LIVE_STATUSES = ("PENDING", "PROVISIONING", "READY", "FAILED")
DEFAULT_TTL_SECONDS = 3600
MAX_CPOS_PER_ORG = int(os.environ.get("VOLTLAB_MAX_CPOS_PER_ORG", "10"))
# The smallest ttl_seconds POST /ocpi/cpos accepts. A TTL counts real seconds, so the e2e test
# of TTL expiry lowers it rather than wait a real minute.
MIN_TTL_SECONDS = int(os.environ.get("VOLTLAB_MIN_CPO_TTL_SECONDS", "60"))
REAPER_INTERVAL = 1.0  # real seconds between TTL checks
REAPER = "ttl-reaper"  # the singleton's name (one runner per installation)


class CpoLimitReached(Exception):
    pass


class CpoInputError(ValueError):
    """A request value the templates reject; `loc` names the field."""

    def __init__(self, loc: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


@dataclass(frozen=True)
class CpoRequest:
    template: str
    country_code: str
    party_id: str
    name_prefix: str
    role: str = "CPO"
    ocpi_version: str = "2.2.1"
    seed: int | None = None
    ttl_seconds: int | None = DEFAULT_TTL_SECONDS
    overrides: dict[str, int | None] = field(default_factory=dict)


class CpoService:
    """Create, destroy and expire virtual CPOs. `now` is the wall clock the CPO rows and the
    TTL are read on (a TTL counts real seconds, not the fleet's simulated time)."""

    def __init__(
        self,
        database: Database,
        ocpi: OcpiService,
        networks: CpoNetworks,
        now: Callable[[], datetime],
        lead: Callable[[str], bool] | None = None,
    ) -> None:
        """`lead(name)` says whether this process runs the installation's singleton `name`
        now (`store.presence.Presence.lead`); None: always (one process)."""
        self.database = database
        self._lead = lead
        self.ocpi = ocpi
        self.networks = networks
        self.now = now
        self._reaper: asyncio.Task[None] | None = None

    def start_reaper(self) -> None:
        self._reaper = asyncio.create_task(self._reap_forever(), name="cpo-ttl-reaper")

    async def stop_reaper(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None

    def fingerprint(self, cpo: Cpo) -> str:
        """sha256 of the CPO's generated Locations and Tariffs."""
        return self.networks.fingerprint(cpo)

    # -- create -------------------------------------------------------------------------------

    def validate(self, request: CpoRequest) -> None:
        template = TEMPLATES.get(request.template)
        if template is None:
            raise CpoInputError(
                ("body", "template"),
                f"unknown template {request.template!r}; see GET /ocpi/cpos/templates",
            )
        if not is_supported_country(request.country_code):
            raise CpoInputError(
                ("body", "country_code"),
                f"country_code {request.country_code!r} is not an officially assigned "
                "ISO 3166-1 alpha-2 code",
            )
        try:
            check_overrides(template, request.overrides)
        except OverrideError as exc:
            raise CpoInputError(("body", "overrides", exc.field), str(exc)) from exc

    async def create(self, org_id: str, request: CpoRequest) -> dict[str, Any]:
        self.validate(request)
        body = await asyncio.to_thread(self._insert, org_id, request)
        with SetWorkflowID(body["workflow_run_id"]):
            await DBOS.start_workflow_async(workflows.provision_cpo, body["cpo_id"])
        return body

    def _insert(self, org_id: str, request: CpoRequest) -> dict[str, Any]:
        template = TEMPLATES[request.template]
        now = self.now().replace(microsecond=0)
        cpo_id = "cpo-" + secrets.token_hex(5)
        with self.database.session() as session:
            live = session.scalar(
                select(func.count())
                .select_from(Cpo)
                .where(Cpo.org_id == org_id, Cpo.status.in_(LIVE_STATUSES))
            )
            if (live or 0) >= MAX_CPOS_PER_ORG:
                raise CpoLimitReached(
                    f"the org has {live} live CPOs, the limit is {MAX_CPOS_PER_ORG}; "
                    "delete one or wait for its TTL"
                )
            party_id = self._free_party(session, org_id, request.country_code, request.party_id)
            seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
            expires = now + timedelta(seconds=request.ttl_seconds) if request.ttl_seconds else None
            cpo = Cpo(
                id=cpo_id,
                org_id=org_id,
                template=template.slug,
                template_version=template.template_version,
                country_code=request.country_code,
                party_id=party_id,
                requested_party_id=request.party_id,
                role="CPO",
                name_prefix=request.name_prefix,
                ocpi_version=request.ocpi_version,
                seed=seed,
                overrides={k: v for k, v in request.overrides.items() if v is not None},
                ttl_seconds=request.ttl_seconds,
                expires_at=expires,
                status="PENDING",
                workflow_run_id=workflows.provision_workflow_id(cpo_id),
                created_at=now,
            )
            session.add(cpo)
            session.flush()
            cpo_steps.create_steps(session, cpo_id, workflows.PROVISION_STEPS)
            token_a = self.ocpi.register_cpo(
                session,
                cpo_id=cpo_id,
                country_code=request.country_code,
                party_id=party_id,
                ocpi_version=request.ocpi_version,
                business_name=f"{request.name_prefix} {template.title}"[:100],
            )
            return self._created_body(cpo, token_a)

    @staticmethod
    def _free_party(session: Session, org_id: str, country: str, wanted: str) -> str:
        taken = set(
            session.scalars(
                select(Cpo.party_id).where(
                    Cpo.org_id == org_id,
                    Cpo.country_code == country,
                    Cpo.status.in_(LIVE_STATUSES),
                )
            ).all()
        )
        if wanted not in taken:
            return wanted
        # Mangle the last character: ABC -> AB0, AB1, ... ABZ, then the last two.
        alphabet = string.digits + string.ascii_uppercase
        for last in alphabet:
            candidate = wanted[:2] + last
            if candidate not in taken:
                return candidate
        for a in alphabet:
            for b in alphabet:
                candidate = wanted[0] + a + b
                if candidate not in taken:
                    return candidate
        raise CpoLimitReached(f"no free party id left near {wanted}")

    def _created_body(self, cpo: Cpo, token_a: str) -> dict[str, Any]:
        versions_url = self.ocpi.versions_url(cpo.ocpi_version)
        credentials_url = versions_url.rsplit("/", 1)[0] + "/credentials"
        header = _token_header(token_a, cpo.ocpi_version)
        snippet = (
            f"curl -X POST {credentials_url} -H 'Authorization: {header}' "
            '-H \'Content-Type: application/json\' -d \'{"token": "<YOUR_TOKEN_B>", '
            '"url": "<YOUR_VERSIONS_URL>", "roles": [{"role": "EMSP", '
            '"party_id": "<PID>", "country_code": "<CC>", '
            '"business_details": {"name": "<YOUR NAME>"}}]}\''
        )
        return {
            "cpo_id": cpo.id,
            "party": {"country_code": cpo.country_code, "party_id": cpo.party_id, "role": "CPO"},
            "name_prefix": cpo.name_prefix,
            "template": cpo.template,
            "template_version": cpo.template_version,
            "token_a": token_a,
            "ocpi_peer_url": versions_url,
            "status_url": f"/ocpi/cpos/{cpo.id}/status",
            "destroy_url": f"/ocpi/cpos/{cpo.id}",
            "roam_helper": {
                "credentials_payload": {"token": token_a, "url": versions_url},
                "curl_snippet": snippet,
            },
            "workflow_run_id": cpo.workflow_run_id,
            "status": cpo.status,
            "expires_at": _rfc3339(cpo.expires_at),
        }

    # -- destroy and TTL ----------------------------------------------------------------------

    async def destroy(self, cpo_id: str) -> None:
        await asyncio.to_thread(cpo_steps.set_status, self.database, cpo_id, "DESTROYING")
        provision_id = workflows.provision_workflow_id(cpo_id)
        try:
            await DBOS.cancel_workflow_async(provision_id)
        except Exception:  # noqa: BLE001 - already finished or never started
            log.debug("provisioning of %s not cancelled", cpo_id, exc_info=True)
        await asyncio.to_thread(self._add_destroy_steps, cpo_id)
        with SetWorkflowID(workflows.destroy_workflow_id(cpo_id)):
            await DBOS.start_workflow_async(workflows.destroy_cpo, cpo_id)

    def _add_destroy_steps(self, cpo_id: str) -> None:
        with self.database.session() as session:
            existing = set(session.scalars(select(CpoStep.name).where(CpoStep.cpo_id == cpo_id)))
            missing = tuple(n for n in workflows.DESTROY_STEPS if n not in existing)
            cpo_steps.create_steps(session, cpo_id, missing, offset=len(existing))

    def _expired(self) -> list[str]:
        now = self.now()
        with self.database.session() as session:
            rows = session.scalars(
                select(Cpo.id).where(Cpo.status.in_(LIVE_STATUSES), Cpo.expires_at.is_not(None))
            ).all()
            expired = []
            for cpo_id in rows:
                cpo = session.get(Cpo, cpo_id)
                if cpo is not None and cpo.expires_at is not None and _aware(cpo.expires_at) <= now:
                    expired.append(cpo_id)
            return expired

    async def _reap_forever(self) -> None:
        """Every process runs this loop; only the one leading "ttl-reaper" reaps, so a CPO is
        destroyed once per installation, and when the leader dies the next asks and leads."""
        while True:
            await asyncio.sleep(REAPER_INTERVAL)
            if self._lead is not None and not await asyncio.to_thread(self._lead, REAPER):
                continue
            try:
                for cpo_id in await asyncio.to_thread(self._expired):
                    log.warning("CPO %s reached its TTL; destroying it", cpo_id)
                    await self.destroy(cpo_id)
            except Exception:  # noqa: BLE001 - the reaper must keep running
                log.exception("TTL reaper pass failed")


def _token_header(token: str, version: str) -> str:
    if version == "2.1.1":
        return f"Token {token}"
    return "Token " + base64.b64encode(token.encode()).decode()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return _aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
