"""The virtual CPO's business side of the built-in CSMS: id tags are authorized against the
eMSP's tokens, OCPP status changes become OCPI EVSE status pushes, transactions become OCPI
Sessions (PUT, then PATCH per meter sample) and, at the end, a priced CDR.

Rules from the OCPI 2.2.1 sessions and CDRs modules this follows:
- a PATCH's charging_periods are ADDED to the eMSP's Session, so each PATCH carries only the
  periods the eMSP does not have yet (a PUT, which replaces, carries all of them);
- the authorization_reference the eMSP gave (START_SESSION, RESERVE_NOW or real-time
  authorization, the last one given) is carried by the Session and the CDR;
- every last_updated comes from the one clock (`OcpiService.now`, the fleet's clock), the
  clock the chargers stamp their sessions with, so date_from pulls see every change.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime
from typing import Any, Protocol

from voltlab.cpo.network_index import EvseRef, NetworkIndex
from voltlab.cpo.networks import CpoNetworks
from voltlab.cpo.pricing import price_session
from voltlab.csms.events import CsmsTransaction, IdTagStatus, MeterSample
from voltlab.ocpi.authorizations import GivenAuthorization
from voltlab.ocpi.envelope import format_datetime
from voltlab.ocpi.service import OcpiService
from voltlab.store.db import Database
from voltlab.store.models import Cpo
from voltlab.store.times import as_utc

log = logging.getLogger(__name__)

OCPI_EVSE_STATUS = {
    "Available": "AVAILABLE",
    "Preparing": "CHARGING",
    "Charging": "CHARGING",
    "SuspendedEV": "CHARGING",
    "SuspendedEVSE": "CHARGING",
    "Finishing": "CHARGING",
    "Reserved": "RESERVED",
    "Unavailable": "INOPERATIVE",
    "Faulted": "OUTOFORDER",
}
OCPP_AUTH_STATUS = {
    "ALLOWED": "Accepted",
    "BLOCKED": "Blocked",
    "EXPIRED": "Expired",
    "NO_CREDIT": "Invalid",
    "NOT_ALLOWED": "Invalid",
}


def ocpi_time(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp(moment: datetime) -> str:
    """A last_updated: milliseconds kept, so a change made in the second an eMSP last pulled
    (its date_from, the envelope timestamp) is not stamped before it."""
    return format_datetime(as_utc(moment))


def session_id_for(cpo_id: str, identity: str, transaction_id: int) -> str:
    return "S" + hashlib.sha256(f"{cpo_id}|{identity}|{transaction_id}".encode()).hexdigest()[:23]


class Unplugger(Protocol):
    """The virtual driver's part in a finished session (`voltlab.cpo.driver.VirtualDriver`)."""

    def later_unplug(self, cpo_id: str, identity: str, connector_id: int) -> None: ...


class RoamingBridge:
    """Implements `voltlab.csms.events.CsmsListener` for every virtual CPO."""

    def __init__(
        self, database: Database, ocpi: OcpiService, networks: CpoNetworks, driver: Unplugger
    ) -> None:
        self.database = database
        self.ocpi = ocpi
        self.networks = networks
        self.driver = driver
        self._indexes: dict[str, NetworkIndex] = {}
        self._cpos: dict[str, Cpo] = {}
        # Per session id, the authorization it started with (a second session of the same
        # token, or its stop, must not change it); read back from the stored Session after a
        # restart.
        self._bound: dict[str, GivenAuthorization | None] = {}
        # Per session id, how many charging periods the eMSP holds: a PATCH sends the rest.
        # Unknown (e.g. after a restart) means a PUT with all of them.
        self._periods_sent: dict[str, int] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    # -- lookup -------------------------------------------------------------------------------

    def cpo(self, cpo_id: str) -> Cpo | None:
        cached = self._cpos.get(cpo_id)
        if cached is not None:
            return cached
        with self.database.session() as session:
            cpo = session.get(Cpo, cpo_id)
            if cpo is not None:
                session.expunge(cpo)
                self._cpos[cpo_id] = cpo
            return cpo

    def index(self, cpo_id: str) -> NetworkIndex | None:
        index = self._indexes.get(cpo_id)
        if index is None:
            cpo = self.cpo(cpo_id)
            if cpo is None:
                return None
            index = NetworkIndex(self.networks.network(cpo))
            self._indexes[cpo_id] = index
        return index

    def evse(self, cpo_id: str, identity: str, connector_id: int) -> EvseRef | None:
        index = self.index(cpo_id)
        return None if index is None else index.evse(identity, connector_id)

    def _lock(self, cpo_id: str, transaction_id: int) -> asyncio.Lock:
        return self._locks.setdefault((cpo_id, transaction_id), asyncio.Lock())

    def now(self) -> datetime:
        """The one clock every OCPI timestamp comes from."""
        return as_utc(self.ocpi.now())

    # -- how the eMSP authorized a token --------------------------------------------------------

    async def remember(self, cpo_id: str, given: GivenAuthorization) -> None:
        """Keep what the eMSP gave for a token uid (stored, so a restart keeps it)."""
        await self.ocpi.remember_authorization(cpo_id, given)

    async def forget(self, cpo_id: str, uid: str) -> None:
        await self.ocpi.forget_authorization(cpo_id, uid)

    def given(self, cpo_id: str, uid: str) -> GivenAuthorization | None:
        # Read from the database every time, never cached here: the eMSP's START_SESSION may
        # have reached another process, and the session may start on this one (issue 14).
        # Asked at an authorization or a session's first push, not per frame.
        return self.ocpi.given_authorization(cpo_id, uid)

    def _given_for_session(
        self, cpo_id: str, session_id: str, uid: str
    ) -> GivenAuthorization | None:
        if session_id in self._bound:
            return self._bound[session_id]
        stored = self.ocpi.get_object(cpo_id, "session", session_id)
        if stored is not None:  # pushed before a restart: it says what it started with
            given: GivenAuthorization | None = GivenAuthorization(
                uid,
                str(stored.get("auth_method") or "AUTH_REQUEST"),
                stored.get("cdr_token"),
                stored.get("authorization_reference"),
            )
        else:
            given = self.given(cpo_id, uid)
        self._bound[session_id] = given
        return given

    # -- CsmsListener -------------------------------------------------------------------------

    async def authorize(self, cpo_id: str, identity: str, id_tag: str) -> IdTagStatus:
        given = self.given(cpo_id, id_tag)
        if given is not None and given.auth_method == "COMMAND":
            return IdTagStatus.accept()  # the eMSP itself asked for this session
        index = self.index(cpo_id)
        location_id = None
        evse_uids = None
        if index is not None:
            refs = [ref for (ident, _), ref in index.by_station.items() if ident == identity]
            if refs:
                location_id = refs[0].location_id
                evse_uids = [ref.evse_uid for ref in refs]
        verdict = await self.ocpi.authorize_token(
            cpo_id, id_tag, "RFID", location_id=location_id, evse_uids=evse_uids
        )
        if verdict.source == "realtime" and verdict.allowed == "ALLOWED":
            await self.remember(
                cpo_id,
                GivenAuthorization(
                    id_tag, "AUTH_REQUEST", verdict.token, verdict.authorization_reference
                ),
            )
        return IdTagStatus(OCPP_AUTH_STATUS.get(verdict.allowed, "Invalid"))

    async def station_registered(self, cpo_id: str, identity: str, boot: dict[str, Any]) -> None:
        return None

    async def station_disconnected(self, cpo_id: str, identity: str) -> None:
        index = self.index(cpo_id)
        if index is None:
            return
        now = stamp(self.now())
        for (ident, _connector), ref in index.by_station.items():
            if ident == identity:
                await self.ocpi.evse_status_changed(
                    cpo_id, ref.location_id, ref.evse_uid, "UNKNOWN", now
                )

    async def connector_status(
        self,
        cpo_id: str,
        identity: str,
        connector_id: int,
        status: str,
        error_code: str,
        timestamp: datetime,
    ) -> None:
        if connector_id == 0:
            return
        ref = self.evse(cpo_id, identity, connector_id)
        if ref is None:
            return
        ocpi_status = OCPI_EVSE_STATUS.get(status, "UNKNOWN")
        # Stamped when the EVSE changes here (the station's own timestamp may be late, e.g.
        # replayed from its offline queue): a date_from pull then never misses the change.
        await self.ocpi.evse_status_changed(
            cpo_id, ref.location_id, ref.evse_uid, ocpi_status, stamp(self.now())
        )

    async def transaction_started(self, cpo_id: str, tx: CsmsTransaction) -> None:
        async with self._lock(cpo_id, tx.transaction_id):
            body = self._session_body(cpo_id, tx, status="ACTIVE")
            if body is not None:
                await self._push_session(cpo_id, body, ())

    async def meter_values(
        self, cpo_id: str, tx: CsmsTransaction, samples: list[MeterSample]
    ) -> None:
        async with self._lock(cpo_id, tx.transaction_id):
            body = self._session_body(cpo_id, tx, status="ACTIVE")
            if body is not None:
                await self._push_session(cpo_id, body, ("kwh", "total_cost", "last_updated"))

    async def transaction_stopped(self, cpo_id: str, tx: CsmsTransaction) -> None:
        async with self._lock(cpo_id, tx.transaction_id):
            body = self._session_body(cpo_id, tx, status="COMPLETED")
            if body is None:
                return
            await self._push_session(
                cpo_id,
                body,
                ("kwh", "total_cost", "status", "end_date_time", "last_updated"),
            )
            self._periods_sent.pop(body["id"], None)
            self._bound.pop(body["id"], None)
            cdr = self._cdr_body(cpo_id, tx, body)
            if cdr is not None:
                await self.ocpi.cdr_created(cpo_id, cdr)
            await self.forget(cpo_id, tx.id_tag)
        self._locks.pop((cpo_id, tx.transaction_id), None)
        # The driver unplugs and leaves, so the EVSE is free for the next session.
        if tx.connector_id:
            self.driver.later_unplug(cpo_id, tx.identity, tx.connector_id)

    async def _push_session(
        self, cpo_id: str, body: dict[str, Any], patch_fields: tuple[str, ...]
    ) -> None:
        """PUT the Session the first time (and whenever we do not know what the eMSP holds),
        else PATCH `patch_fields` plus only the charging periods it does not have yet."""
        periods = body["charging_periods"]
        sent = self._periods_sent.get(body["id"])
        patch: dict[str, Any] | None = None
        if patch_fields and sent is not None and sent <= len(periods):
            patch = {field: body[field] for field in patch_fields if field in body}
            if len(periods) > sent:
                patch["charging_periods"] = periods[sent:]
        self._periods_sent[body["id"]] = len(periods)
        await self.ocpi.session_changed(cpo_id, body, patch)

    # -- OCPI objects -------------------------------------------------------------------------

    def _cdr_token(
        self, cpo: Cpo, id_tag: str, given: GivenAuthorization | None
    ) -> tuple[dict[str, Any], str]:
        token = given.token if given is not None else None
        auth_method = given.auth_method if given is not None else "COMMAND"
        if token is None:
            token = (
                self.ocpi.find_token(cpo.id, id_tag) if hasattr(self.ocpi, "find_token") else None
            )
            auth_method = (
                "WHITELIST" if token and token.get("whitelist") == "ALWAYS" else "AUTH_REQUEST"
            )
        if token is None:
            token = {
                "uid": id_tag,
                "type": "RFID",
                "contract_id": id_tag,
                "country_code": cpo.country_code,
                "party_id": cpo.party_id,
            }
        cdr_token = {
            "country_code": token.get("country_code", cpo.country_code),
            "party_id": token.get("party_id", cpo.party_id),
            "uid": token["uid"],
            "type": token.get("type", "RFID"),
            # 2.1.1 Tokens name it auth_id (mod_tokens.md 3.2); sessions/CDRs refer to it
            "contract_id": token.get("contract_id") or token.get("auth_id") or token["uid"],
        }
        return cdr_token, auth_method

    def _periods(self, tx: CsmsTransaction, tariff_id: str | None) -> list[dict[str, Any]]:
        periods: list[dict[str, Any]] = []
        previous_time = tx.started_at
        previous_wh = tx.meter_start_wh
        for sample in tx.samples:
            if sample.energy_wh is None or sample.timestamp <= previous_time:
                continue
            hours = (sample.timestamp - previous_time).total_seconds() / 3600.0
            dimensions = [
                {
                    "type": "ENERGY",
                    "volume": round(max(0.0, sample.energy_wh - previous_wh) / 1000.0, 4),
                },
                {"type": "TIME", "volume": round(hours, 4)},
            ]
            if sample.power_w is not None:
                dimensions.append(
                    {"type": "MAX_POWER", "volume": round(sample.power_w / 1000.0, 3)}
                )
            period: dict[str, Any] = {
                "start_date_time": ocpi_time(previous_time),
                "dimensions": dimensions,
            }
            if tariff_id:
                period["tariff_id"] = tariff_id
            periods.append(period)
            previous_time, previous_wh = sample.timestamp, sample.energy_wh
        stopped_at, meter_stop = tx.stopped_at, tx.meter_stop_wh
        if stopped_at is not None and meter_stop is not None and stopped_at > previous_time:
            # From the last sample to the stop: the periods then add up to the session's energy.
            hours = (stopped_at - previous_time).total_seconds() / 3600.0
            closing: dict[str, Any] = {
                "start_date_time": ocpi_time(previous_time),
                "dimensions": [
                    {
                        "type": "ENERGY",
                        "volume": round(max(0.0, meter_stop - previous_wh) / 1000.0, 4),
                    },
                    {"type": "TIME", "volume": round(hours, 4)},
                ],
            }
            if tariff_id:
                closing["tariff_id"] = tariff_id
            periods.append(closing)
        return periods

    def _price(
        self,
        cpo_id: str,
        ref: EvseRef,
        tx: CsmsTransaction,
        periods: list[dict[str, Any]],
        end: datetime,
    ) -> tuple[dict[str, Any] | None, Any]:
        tariff = self.ocpi.get_object(cpo_id, "tariff", ref.tariff_id) if ref.tariff_id else None
        if tariff is None:
            return None, None
        max_power = max((s.power_w or 0.0 for s in tx.samples), default=0.0) / 1000.0
        price = price_session(
            tariff,
            start=tx.started_at,
            end=end,
            charging_periods=periods,
            energy_kwh=tx.energy_wh / 1000.0,
            max_power_kw=max_power or None,
            time_zone=ref.location.get("time_zone"),
        )
        return tariff, price

    def _session_body(
        self, cpo_id: str, tx: CsmsTransaction, *, status: str
    ) -> dict[str, Any] | None:
        cpo = self.cpo(cpo_id)
        ref = self.evse(cpo_id, tx.identity, tx.connector_id)
        if cpo is None or ref is None:
            log.warning("no EVSE for %s connector %s of %s", tx.identity, tx.connector_id, cpo_id)
            return None
        session_id = session_id_for(cpo_id, tx.identity, tx.transaction_id)
        given = self._given_for_session(cpo_id, session_id, tx.id_tag)
        cdr_token, auth_method = self._cdr_token(cpo, tx.id_tag, given)
        periods = self._periods(tx, ref.tariff_id)
        end = tx.stopped_at or (tx.samples[-1].timestamp if tx.samples else tx.started_at)
        tariff, price = self._price(cpo_id, ref, tx, periods, end)
        body: dict[str, Any] = {
            "country_code": cpo.country_code,
            "party_id": cpo.party_id,
            "id": session_id,
            "start_date_time": ocpi_time(tx.started_at),
            "kwh": round(tx.energy_wh / 1000.0, 4),
            "cdr_token": cdr_token,
            "auth_method": auth_method,
            "location_id": ref.location_id,
            "evse_uid": ref.evse_uid,
            "connector_id": str(ref.connector.get("id", "1")),
            "currency": (tariff or {}).get("currency", "EUR"),
            "charging_periods": periods,
            "status": status,
            # Never before the newest moment the body reports on (one clock, but a station of
            # another process may run a little ahead).
            "last_updated": stamp(max(self.now(), as_utc(end))),
        }
        if given is not None and given.authorization_reference:
            body["authorization_reference"] = given.authorization_reference
        if tx.stopped_at is not None:
            body["end_date_time"] = ocpi_time(tx.stopped_at)
        if price is not None:
            body["total_cost"] = {"excl_vat": price.excl_vat, "incl_vat": price.incl_vat}
        return body

    def _cdr_body(
        self, cpo_id: str, tx: CsmsTransaction, session: dict[str, Any]
    ) -> dict[str, Any] | None:
        ref = self.evse(cpo_id, tx.identity, tx.connector_id)
        if ref is None or tx.stopped_at is None:
            return None
        # The completed session was priced with the same tariff, periods and end: reuse it.
        tariff = self.ocpi.get_object(cpo_id, "tariff", ref.tariff_id) if ref.tariff_id else None
        location = ref.location
        hours = max(0.0, (tx.stopped_at - tx.started_at).total_seconds() / 3600.0)
        cdr: dict[str, Any] = {
            "country_code": session["country_code"],
            "party_id": session["party_id"],
            "id": "C" + session["id"][1:],
            "start_date_time": session["start_date_time"],
            "end_date_time": ocpi_time(tx.stopped_at),
            "session_id": session["id"],
            "cdr_token": session["cdr_token"],
            "auth_method": session["auth_method"],
            "cdr_location": {
                "id": location["id"],
                "name": location.get("name"),
                "address": location["address"],
                "city": location["city"],
                "postal_code": location.get("postal_code"),
                "country": location["country"],
                "coordinates": location["coordinates"],
                "evse_uid": ref.evse_uid,
                "evse_id": ref.evse_id or ref.evse_uid,
                "connector_id": str(ref.connector.get("id", "1")),
                "connector_standard": ref.connector.get("standard", "IEC_62196_T2"),
                "connector_format": ref.connector.get("format", "SOCKET"),
                "connector_power_type": ref.connector.get("power_type", "AC_3_PHASE"),
            },
            "currency": session["currency"],
            "charging_periods": session["charging_periods"]
            or [
                {
                    "start_date_time": session["start_date_time"],
                    "dimensions": [{"type": "ENERGY", "volume": session["kwh"]}],
                }
            ],
            "total_cost": session.get("total_cost", {"excl_vat": 0.0}),
            "total_energy": session["kwh"],
            "total_time": round(hours, 4),
            "last_updated": stamp(max(self.now(), as_utc(tx.stopped_at))),
        }
        if session.get("authorization_reference"):
            cdr["authorization_reference"] = session["authorization_reference"]
        if tariff is not None:
            cdr["tariffs"] = [tariff]
        if location.get("postal_code") is None:
            cdr["cdr_location"].pop("postal_code")
        if cdr["cdr_location"]["name"] is None:
            cdr["cdr_location"].pop("name")
        return cdr
