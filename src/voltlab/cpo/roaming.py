"""The virtual CPO's business side of the built-in CSMS: id tags are authorized against the
eMSP's tokens, OCPP status changes become OCPI EVSE status pushes, transactions become OCPI
Sessions (PUT, then PATCH per meter sample) and, at the end, a priced CDR."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from voltlab.cpo.network_index import EvseRef, NetworkIndex
from voltlab.cpo.pricing import price_session
from voltlab.csms.events import CsmsTransaction, IdTagStatus, MeterSample
from voltlab.store.models import Cpo
from voltlab.store.times import as_utc

if TYPE_CHECKING:
    from voltlab.cpo.service import CpoServices

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


def session_id_for(cpo_id: str, identity: str, transaction_id: int) -> str:
    return "S" + hashlib.sha256(f"{cpo_id}|{identity}|{transaction_id}".encode()).hexdigest()[:23]


class RoamingBridge:
    """Implements `voltlab.csms.events.CsmsListener` for every virtual CPO."""

    def __init__(self, services: CpoServices) -> None:
        self.svc = services
        self._indexes: dict[str, NetworkIndex] = {}
        self._cpos: dict[str, Cpo] = {}
        # id tags an eMSP started a session for (START_SESSION): token object per (cpo, uid)
        self.command_tokens: dict[tuple[str, str], dict[str, Any]] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    # -- lookup -------------------------------------------------------------------------------

    def cpo(self, cpo_id: str) -> Cpo | None:
        cached = self._cpos.get(cpo_id)
        if cached is not None:
            return cached
        with self.svc.database.session() as session:
            cpo = session.get(Cpo, cpo_id)
            if cpo is not None:
                session.expunge(cpo)
                self._cpos[cpo_id] = cpo
            return cpo

    def index(self, cpo_id: str) -> NetworkIndex | None:
        index = self._indexes.get(cpo_id)
        if index is None:
            cpo = self.cpo(cpo_id)
            if cpo is None or self.svc.provisioner is None:
                return None
            index = NetworkIndex(self.svc.provisioner.network(cpo))
            self._indexes[cpo_id] = index
        return index

    def evse(self, cpo_id: str, identity: str, connector_id: int) -> EvseRef | None:
        index = self.index(cpo_id)
        return None if index is None else index.evse(identity, connector_id)

    def _lock(self, cpo_id: str, transaction_id: int) -> asyncio.Lock:
        return self._locks.setdefault((cpo_id, transaction_id), asyncio.Lock())

    # -- CsmsListener -------------------------------------------------------------------------

    async def authorize(self, cpo_id: str, identity: str, id_tag: str) -> IdTagStatus:
        if (cpo_id, id_tag) in self.command_tokens:
            return IdTagStatus.accept()
        index = self.index(cpo_id)
        location_id = None
        evse_uids = None
        if index is not None:
            refs = [ref for (ident, _), ref in index.by_station.items() if ident == identity]
            if refs:
                location_id = refs[0].location_id
                evse_uids = [ref.evse_uid for ref in refs]
        verdict = await self.svc.ocpi.authorize_token(
            cpo_id, id_tag, "RFID", location_id=location_id, evse_uids=evse_uids
        )
        return IdTagStatus(OCPP_AUTH_STATUS.get(verdict.allowed, "Invalid"))

    async def station_registered(self, cpo_id: str, identity: str, boot: dict[str, Any]) -> None:
        return None

    async def station_disconnected(self, cpo_id: str, identity: str) -> None:
        index = self.index(cpo_id)
        if index is None:
            return
        now = ocpi_time(datetime.now(UTC))
        for (ident, _connector), ref in index.by_station.items():
            if ident == identity:
                await self.svc.ocpi.evse_status_changed(
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
        await self.svc.ocpi.evse_status_changed(
            cpo_id, ref.location_id, ref.evse_uid, ocpi_status, ocpi_time(timestamp)
        )

    async def transaction_started(self, cpo_id: str, tx: CsmsTransaction) -> None:
        async with self._lock(cpo_id, tx.transaction_id):
            body = self._session_body(cpo_id, tx, status="ACTIVE")
            if body is not None:
                await self.svc.ocpi.session_changed(cpo_id, body)

    async def meter_values(
        self, cpo_id: str, tx: CsmsTransaction, samples: list[MeterSample]
    ) -> None:
        async with self._lock(cpo_id, tx.transaction_id):
            body = self._session_body(cpo_id, tx, status="ACTIVE")
            if body is None:
                return
            patch = {
                "kwh": body["kwh"],
                "charging_periods": body["charging_periods"],
                "last_updated": body["last_updated"],
            }
            if "total_cost" in body:
                patch["total_cost"] = body["total_cost"]
            await self.svc.ocpi.session_changed(cpo_id, body, patch)

    async def transaction_stopped(self, cpo_id: str, tx: CsmsTransaction) -> None:
        async with self._lock(cpo_id, tx.transaction_id):
            body = self._session_body(cpo_id, tx, status="COMPLETED")
            if body is None:
                return
            await self.svc.ocpi.session_changed(cpo_id, body)
            cdr = self._cdr_body(cpo_id, tx, body)
            if cdr is not None:
                await self.svc.ocpi.cdr_created(cpo_id, cdr)
        self.command_tokens.pop((cpo_id, tx.id_tag), None)
        self._locks.pop((cpo_id, tx.transaction_id), None)
        # The driver unplugs and leaves, so the EVSE is free for the next session.
        if self.svc.commander is not None and tx.connector_id:
            self.svc.commander.later_unplug(cpo_id, tx.identity, tx.connector_id)

    # -- OCPI objects -------------------------------------------------------------------------

    def _cdr_token(self, cpo: Cpo, id_tag: str) -> tuple[dict[str, Any], str]:
        token = self.command_tokens.get((cpo.id, id_tag))
        auth_method = "COMMAND"
        if token is None:
            token = (
                self.svc.ocpi.find_token(cpo.id, id_tag)
                if hasattr(self.svc.ocpi, "find_token")
                else None
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
        return periods

    def _price(
        self,
        cpo_id: str,
        ref: EvseRef,
        tx: CsmsTransaction,
        periods: list[dict[str, Any]],
        end: datetime,
    ) -> tuple[dict[str, Any] | None, Any]:
        tariff = (
            self.svc.ocpi.get_object(cpo_id, "tariff", ref.tariff_id) if ref.tariff_id else None
        )
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
        cdr_token, auth_method = self._cdr_token(cpo, tx.id_tag)
        periods = self._periods(tx, ref.tariff_id)
        end = tx.stopped_at or (tx.samples[-1].timestamp if tx.samples else tx.started_at)
        tariff, price = self._price(cpo_id, ref, tx, periods, end)
        body: dict[str, Any] = {
            "country_code": cpo.country_code,
            "party_id": cpo.party_id,
            "id": session_id_for(cpo_id, tx.identity, tx.transaction_id),
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
            "last_updated": ocpi_time(end if status == "COMPLETED" else datetime.now(UTC)),
        }
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
        tariff = (
            self.svc.ocpi.get_object(cpo_id, "tariff", ref.tariff_id) if ref.tariff_id else None
        )
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
            "last_updated": ocpi_time(tx.stopped_at),
        }
        if tariff is not None:
            cdr["tariffs"] = [tariff]
        if location.get("postal_code") is None:
            cdr["cdr_location"].pop("postal_code")
        if cdr["cdr_location"]["name"] is None:
            cdr["cdr_location"].pop("name")
        return cdr
