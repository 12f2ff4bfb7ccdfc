"""OcpiService: the OCPI layer's public face for the rest of voltlab.

One service serves every virtual CPO over one set of URLs (`/ocpi/2.2.1/...`,
`/ocpi/2.1.1/...`); the credentials token in each request says which CPO is meant. The gateway
provisions CPOs through `register_cpo`/`publish`, the runtime reports what chargers do through
`evse_status_changed`/`session_changed`/`cdr_created`, and those become pushes to the eMSP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter
from sqlalchemy.orm import Session

from voltlab.clock import wall_now
from voltlab.ocpi import authorizations, outbox, repo
from voltlab.ocpi import traffic as traffic_repo
from voltlab.ocpi.authorization import TokenAuthorization, authorize
from voltlab.ocpi.authorizations import GivenAuthorization
from voltlab.ocpi.chargingprofiles_module import (
    ChargingProfileHandler,
    add_chargingprofiles_routes,
)
from voltlab.ocpi.commands_module import CommandHandler, add_commands_routes
from voltlab.ocpi.core import OcpiCore, check_version
from voltlab.ocpi.credentials_module import add_configuration_routes
from voltlab.ocpi.credentials_tokens import TOKEN_A_PREFIX, hash_token, mint_token
from voltlab.ocpi.envelope import SUPPORTED_VERSIONS, format_datetime, parse_datetime
from voltlab.ocpi.peer import CpoLink
from voltlab.ocpi.presenter import present_one
from voltlab.ocpi.push import PushJob, PushQueue, PushRequest
from voltlab.ocpi.sender_modules import add_sender_routes
from voltlab.ocpi.shapes_211 import command_result_to_211, session_patch_to_211
from voltlab.ocpi.tokens_module import add_tokens_routes
from voltlab.store.db import Database
from voltlab.store.ocpi_models import OcpiCredentials
from voltlab.store.presence import Presence

__all__ = ["ChargingProfileHandler", "CommandHandler", "OcpiService", "TokenAuthorization"]

log = logging.getLogger(__name__)


def _segment(value: str) -> str:
    return "/" + quote(value, safe="")


def _normalise(
    link: CpoLink | None, kind: str, object_id: str, body: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    """A stored copy of `body`: id checked, owner party filled in (2.2.1 objects carry it),
    last_updated normalised to UTC `Z`. Returns (body, last_updated datetime)."""
    if kind not in repo.OBJECT_KINDS:
        raise ValueError(f"kind must be one of {repo.OBJECT_KINDS}, not {kind!r}")
    stored = dict(body)
    if stored.setdefault("id", object_id) != object_id:
        raise ValueError(f"body id {stored['id']!r} differs from object id {object_id!r}")
    if "last_updated" not in stored:
        raise ValueError(f"{kind} {object_id!r} has no last_updated")
    last_updated = parse_datetime(stored["last_updated"])
    stored["last_updated"] = format_datetime(last_updated)
    if link is not None:
        stored.setdefault("country_code", link.country_code)
        stored.setdefault("party_id", link.party_id)
    if kind == "location":
        stored.setdefault("publish", True)  # required in 2.2.1; a virtual CPO has no secrets
    return stored, last_updated


class OcpiService:
    def __init__(
        self,
        database: Database,
        public_url: str,
        *,
        http: httpx.AsyncClient | None = None,
        push_max_attempts: int = 5,
        push_retry_base_delay: float = 0.5,
        push_retry_max_delay: float = 8.0,
        refuse_private_peers: bool | None = None,
        presence: Presence | None = None,
    ) -> None:
        """`refuse_private_peers` None reads VOLTLAB_OCPI_REFUSE_PRIVATE_PEERS. `presence` is
        the process's presence in the installation (one is made when not given)."""
        self._core = OcpiCore(database, public_url, http, refuse_private_peers=refuse_private_peers)
        self.metrics = self._core.metrics  # requests and pushes, for GET /metrics
        self.presence = presence or Presence(database)
        self._push = PushQueue(
            self._core,
            self.presence,
            max_attempts=push_max_attempts,
            retry_base_delay=push_retry_base_delay,
            retry_max_delay=push_retry_max_delay,
        )
        self._command_handler: CommandHandler | None = None
        self._charging_profile_handler: ChargingProfileHandler | None = None
        # Serialises read-modify-write of one location (two EVSEs changing at once).
        self._locks: dict[str, asyncio.Lock] = {}

    # --- wiring ---------------------------------------------------------------------------

    def router(self) -> APIRouter:
        router = APIRouter()
        for version in SUPPORTED_VERSIONS:
            add_configuration_routes(router, self._core, version)
            add_sender_routes(router, self._core, version)
            add_tokens_routes(router, self._core, version)
            add_commands_routes(router, self._core, version, lambda: self._command_handler)
        add_chargingprofiles_routes(router, self._core, lambda: self._charging_profile_handler)
        return router

    def set_command_handler(self, handler: CommandHandler) -> None:
        self._command_handler = handler

    def set_charging_profile_handler(self, handler: ChargingProfileHandler) -> None:
        self._charging_profile_handler = handler

    def versions_url(self, ocpi_version: str) -> str:
        return self._core.versions_url(ocpi_version)

    def use_clock(self, now: Callable[[], datetime]) -> None:
        """Read every OCPI timestamp (response envelopes included) from `now`: the fleet's
        clock, whose simulated time the chargers stamp their sessions and statuses with."""
        self._core.now = now

    def now(self) -> datetime:
        return self._core.now()

    def start_pushes(self) -> None:
        """Deliver the outbox's pending rows (a previous run's, other processes' too) without
        waiting for a new push to wake the dispatcher."""
        self._push.wake()

    async def prune_outbox(self, finished_before: datetime) -> int:
        """Delete outbox rows that ended before `finished_before`; returns how many."""
        return await self._core.db(outbox.prune, finished_before)

    async def drain(self, timeout: float | None = None) -> int:
        """Wait for pending pushes; see `PushQueue.drain`."""
        return await self._push.drain(timeout)

    async def aclose(self) -> None:
        """Shutdown: drop pending pushes, close the HTTP client we created."""
        await self._push.cancel_all()
        await self._core.aclose()

    # --- provisioning (sync, inside the caller's transaction) ------------------------------

    def register_cpo(
        self,
        session: Session,
        *,
        cpo_id: str,
        country_code: str,
        party_id: str,
        ocpi_version: str,
        business_name: str,
    ) -> str:
        """Create (or reset) the CPO's OCPI credentials; returns the plaintext Token A."""
        check_version(ocpi_version)
        if len(country_code) != 2 or len(party_id) != 3:
            raise ValueError("country_code must be 2 characters and party_id 3")
        token_a = mint_token(TOKEN_A_PREFIX)
        row = repo.get_credentials(session, cpo_id)
        if row is None:
            row = OcpiCredentials(cpo_id=cpo_id)
            session.add(row)
        else:
            repo.unregister(session, cpo_id)
        row.country_code = country_code.upper()
        row.party_id = party_id.upper()
        row.version = ocpi_version
        row.business_name = business_name[:100]
        row.token_a_hash = hash_token(token_a)
        row.revoked = False
        row.updated_at = wall_now()
        return token_a

    def reissue_token_a(self, session: Session, cpo_id: str) -> str:
        """A fresh Token A for a CPO whose eMSP is not registered (e.g. after it unregistered);
        the previous Token A stops working."""
        row = repo.get_credentials(session, cpo_id)
        if row is None:
            raise KeyError(cpo_id)
        token_a = mint_token(TOKEN_A_PREFIX)
        row.token_a_hash = hash_token(token_a)
        row.updated_at = wall_now()
        return token_a

    def revoke_cpo(self, session: Session, cpo_id: str) -> None:
        row = repo.get_credentials(session, cpo_id)
        if row is None:
            return
        row.revoked = True
        row.token_b = None  # no more calls to the eMSP on this CPO's behalf
        row.updated_at = wall_now()

    def purge_cpo(self, session: Session, cpo_id: str) -> None:
        """Delete the CPO's OCPI objects, received tokens and unsent pushes (credentials row
        stays, revoked)."""
        self.revoke_cpo(session, cpo_id)
        repo.delete_cpo_data(session, cpo_id)
        outbox.delete_cpo_rows(session, cpo_id)

    def publish(
        self, session: Session, cpo_id: str, kind: str, object_id: str, body: dict[str, Any]
    ) -> None:
        stored, last_updated = _normalise(repo.get_link(session, cpo_id), kind, object_id, body)
        repo.upsert_object(session, cpo_id, kind, object_id, stored, last_updated)

    # --- reads ----------------------------------------------------------------------------

    def get_object(self, cpo_id: str, kind: str, object_id: str) -> dict[str, Any] | None:
        return self._core.db_sync(repo.get_object, cpo_id, kind, object_id)

    def list_objects(self, cpo_id: str, kind: str, limit: int = 100_000) -> list[dict[str, Any]]:
        """Every stored object of a kind, oldest first (reports)."""
        _total, items = self._core.db_sync(
            repo.list_objects, cpo_id, kind, date_from=None, date_to=None, offset=0, limit=limit
        )
        return items

    def find_token(self, cpo_id: str, uid: str, token_type: str = "RFID") -> dict[str, Any] | None:
        """A token the eMSP pushed to this CPO, if any."""
        return self._core.db_sync(repo.find_received_token, cpo_id, uid, token_type)

    def peer_state(self, cpo_id: str) -> dict[str, Any]:
        link = self._core.db_sync(repo.get_link, cpo_id)
        if link is None:
            return {
                "registered": False,
                "awaiting_registration": False,
                "revoked": False,
                "version": None,
                "peer_version": None,
                "peer_versions_url": None,
                "peer_party": None,
                "peer_roles": [],
                "endpoints": [],
                "registered_at": None,
            }
        return link.state()

    def traffic(self, cpo_id: str) -> dict[str, Any]:
        return self._core.db_sync(traffic_repo.traffic_summary, cpo_id)

    def push_log(self, cpo_id: str, limit: int = 50) -> list[dict[str, Any]]:
        return self._core.db_sync(traffic_repo.recent_pushes, cpo_id, limit)

    # --- runtime events -> store + push ---------------------------------------------------

    async def evse_status_changed(
        self, cpo_id: str, location_id: str, evse_uid: str, status: str, at: str
    ) -> None:
        at_text = format_datetime(parse_datetime(at))
        lock = self._locks.setdefault(f"{cpo_id}|{location_id}", asyncio.Lock())
        async with lock:
            pushed = await self._core.db(
                self._apply_evse_status, cpo_id, location_id, evse_uid, status, at_text
            )
        if not pushed:
            log.warning("EVSE %s/%s of CPO %s is not published", location_id, evse_uid, cpo_id)
            return
        self._push.wake()

    def _apply_evse_status(
        self, session: Session, cpo_id: str, location_id: str, evse_uid: str, status: str, at: str
    ) -> bool:
        link = repo.get_link(session, cpo_id)
        row = repo.get_object_for_update(session, cpo_id, "location", location_id)
        if link is None or row is None:
            return False
        body = dict(row.body)
        evses = [dict(evse) for evse in body.get("evses") or []]
        evse = next((e for e in evses if e.get("uid") == evse_uid), None)
        if evse is None:
            return False
        evse["status"] = status
        evse["last_updated"] = at
        body["evses"] = evses
        # A late event must not move the location's last_updated backwards (paging by date).
        when = parse_datetime(at)
        if when >= parse_datetime(body.get("last_updated") or at):
            body["last_updated"] = at
            row.last_updated = when
        row.body = body
        presented = present_one(session, cpo_id, link.version, "location", body)
        owner = _segment(link.country_code) + _segment(link.party_id) + _segment(location_id)
        # In the transaction that stored the change: the push is as durable as the change.
        self._push.enqueue(
            session,
            PushJob(
                cpo_id=cpo_id,
                module="locations",
                object_key=f"location:{location_id}",
                request=PushRequest(
                    "PATCH", owner + _segment(evse_uid), {"status": status, "last_updated": at}
                ),
                fallback=PushRequest("PUT", owner, presented),
            ),
        )
        return True

    async def session_changed(
        self,
        cpo_id: str,
        session_body: dict[str, Any],
        patch: dict[str, Any] | None = None,
        *,
        also: Callable[[Session], None] | None = None,
    ) -> None:
        """Store a Session and add its push (PUT, or `patch` as a PATCH with the PUT as its
        fallback) to the outbox in one transaction; `also` joins that transaction (the
        roaming bridge's bookkeeping of what the eMSP holds)."""
        session_id = str(session_body.get("id", ""))
        if not session_id:
            raise ValueError("session body has no id")
        pushed = await self._core.db(self._store_session, cpo_id, session_body, patch, also)
        if not pushed:
            log.warning("session %s of unknown CPO %s stored, not pushed", session_id, cpo_id)
            return
        self._push.wake()

    def _store_session(
        self,
        session: Session,
        cpo_id: str,
        session_body: dict[str, Any],
        patch: dict[str, Any] | None,
        also: Callable[[Session], None] | None,
    ) -> bool:
        link, presented = self._store(session, cpo_id, "session", session_body)
        if also is not None:
            also(session)
        if link is None:
            return False
        session_id = str(session_body["id"])
        path = _segment(link.country_code) + _segment(link.party_id) + _segment(session_id)
        full = PushRequest("PUT", path, presented)
        request = full
        if patch is not None:
            patch_body = dict(patch)
            patch_body.setdefault("last_updated", presented.get("last_updated"))
            if link.version == "2.1.1":
                # 2.1.1 has no "PATCH adds periods" rule: a field sent replaces the field, so
                # charging_periods go whole (2.2.1 PATCHes carry only the new ones).
                if "charging_periods" in patch_body:
                    patch_body["charging_periods"] = session_body.get("charging_periods") or []
                patch_body = session_patch_to_211(patch_body)
            request = PushRequest("PATCH", path, patch_body)
        self._push.enqueue(
            session,
            PushJob(
                cpo_id=cpo_id,
                module="sessions",
                object_key=f"session:{session_id}",
                request=request,
                fallback=full if patch is not None else None,
            ),
        )
        return True

    async def cdr_created(
        self,
        cpo_id: str,
        cdr_body: dict[str, Any],
        *,
        also: Callable[[Session], None] | None = None,
    ) -> None:
        cdr_id = str(cdr_body.get("id", ""))
        if not cdr_id:
            raise ValueError("CDR body has no id")
        pushed = await self._core.db(self._store_cdr, cpo_id, cdr_body, also)
        if not pushed:
            log.warning("CDR %s of unknown CPO %s stored, not pushed", cdr_id, cpo_id)
            return
        self._push.wake()

    def _store_cdr(
        self,
        session: Session,
        cpo_id: str,
        cdr_body: dict[str, Any],
        also: Callable[[Session], None] | None,
    ) -> bool:
        link, presented = self._store(session, cpo_id, "cdr", cdr_body)
        if also is not None:
            also(session)
        if link is None:
            return False
        self._push.enqueue(
            session,
            PushJob(
                cpo_id=cpo_id,
                module="cdrs",
                object_key=f"cdr:{cdr_body['id']}",
                request=PushRequest("POST", "", presented),
            ),
        )
        return True

    @staticmethod
    def _store(
        session: Session, cpo_id: str, kind: str, body: dict[str, Any]
    ) -> tuple[CpoLink | None, dict[str, Any]]:
        link = repo.get_link(session, cpo_id)
        object_id = str(body["id"])
        stored, last_updated = _normalise(link, kind, object_id, body)
        repo.upsert_object(session, cpo_id, kind, object_id, stored, last_updated)
        if link is None:
            return None, stored
        return link, present_one(session, cpo_id, link.version, kind, stored)

    async def send_command_result(
        self, cpo_id: str, response_url: str, result: str, message: str | None = None
    ) -> None:
        def write(session: Session) -> None:
            link = repo.get_link(session, cpo_id)
            if link is not None and link.version == "2.1.1":
                body: dict[str, Any] = {"result": command_result_to_211(result)}
            else:
                body = {"result": result}
                if message:
                    body["message"] = [{"language": "en", "text": message[:512]}]
            self._push.enqueue(
                session,
                PushJob(
                    cpo_id=cpo_id,
                    module="commands",
                    object_key=f"command:{response_url}",
                    request=PushRequest("POST", "", body),
                    absolute_url=response_url,
                ),
            )

        await self._core.db(write)
        self._push.wake()

    async def send_result(
        self, cpo_id: str, response_url: str, body: dict[str, Any], module: str = "chargingprofiles"
    ) -> None:
        """POST an asynchronous result object (e.g. a ChargingProfileResult) to the eMSP's
        response_url with Token B, through the outbox like every push."""
        job = PushJob(
            cpo_id=cpo_id,
            module=module,
            object_key=f"result:{response_url}",
            request=PushRequest("POST", "", dict(body)),
            absolute_url=response_url,
        )
        await self._core.db(self._push.enqueue, job)
        self._push.wake()

    async def remember_authorization(self, cpo_id: str, given: GivenAuthorization) -> None:
        """Keep how the eMSP authorized a token uid (the last value given wins)."""
        await self._core.db(authorizations.save, cpo_id, given, self._core.now())

    def given_authorization(self, cpo_id: str, uid: str) -> GivenAuthorization | None:
        return self._core.db_sync(authorizations.load, cpo_id, uid)

    async def forget_authorization(self, cpo_id: str, uid: str) -> None:
        await self._core.db(authorizations.forget, cpo_id, uid)

    async def authorize_token(
        self,
        cpo_id: str,
        uid: str,
        token_type: str = "RFID",
        location_id: str | None = None,
        evse_uids: list[str] | None = None,
    ) -> TokenAuthorization:
        return await authorize(self._core, cpo_id, uid, token_type, location_id, evse_uids)
