"""The work behind each provisioning and destroy step. Every method is idempotent: ids are
derived from the CPO and the generated network, rows are inserted only when missing.

Station credentials: each charger of a virtual CPO authenticates to the built-in CSMS with
OCPP security profile 1 and a password of its own. The charger row keeps the plaintext (its
``security``, what the station sends; the API never shows it) and the CSMS's table keeps only
its hash; both are written in the one transaction that creates the charger, so a retried step
neither duplicates nor loses them. Chargers of CPOs created before station authentication
have no credential: `issue_missing_credentials` gives them one when the server starts, before
the CSMS accepts any connection, and restarts those already running so they use it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from voltlab.clock import monotonic
from voltlab.cpo.generator import Network, sanitize_identity_prefix
from voltlab.cpo.networks import CpoNetworks
from voltlab.csms.events import StationView
from voltlab.csms.station_auth import hash_station_password, new_station_password
from voltlab.fleet.hosting.runtime_api import Fleet, spec_from_row
from voltlab.ocpi.service import OcpiService
from voltlab.store.csms_models import (
    add_station_credential,
    delete_station_credentials,
    identities_with_credentials,
)
from voltlab.store.db import Database
from voltlab.store.models import Charger, Cpo, Frame, Location


class StationDirectory(Protocol):
    """What the provisioner reads from the built-in CSMS: the stations connected for a CPO."""

    def stations(self, cpo_id: str) -> Iterable[StationView]: ...


# The OCPP version a template's chargers speak to the built-in CSMS: modern DC hubs run 2.0.1,
# the rest 1.6 — so a virtual CPO exercises both sides of the CSMS.
CPO_OCPP_VERSIONS = {"highway-dc-hub": "ocpp2.0.1"}
DEFAULT_CPO_OCPP_VERSION = "ocpp1.6"


def ocpp_version_for(template: str) -> str:
    return CPO_OCPP_VERSIONS.get(template, DEFAULT_CPO_OCPP_VERSION)


def derived_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]
    return f"{prefix}-{digest}"


def _issue_credential(session: Session, cpo_id: str, charger: Charger) -> None:
    """A fresh profile-1 password: plaintext on the station's side, its hash for the CSMS."""
    password = new_station_password()
    charger.security = {"profile": 1, "password": password}
    add_station_credential(session, cpo_id, charger.identity, hash_station_password(password))


class Provisioner:
    def __init__(
        self,
        database: Database,
        ocpi: OcpiService,
        fleet: Fleet,
        networks: CpoNetworks,
        stations: StationDirectory,
        csms_url: str,
    ) -> None:
        """`csms_url` is the built-in CSMS's ws://host:port/csms: chargers connect to
        {csms_url}/{cpo_id}/{identity}."""
        self.database = database
        self.ocpi = ocpi
        self.fleet = fleet
        self.networks = networks
        self.stations = stations
        self.base_csms_url = csms_url

    # -- helpers ------------------------------------------------------------------------------

    def _cpo(self, cpo_id: str) -> Cpo:
        return self.networks.cpo(cpo_id)

    def network(self, cpo: Cpo) -> Network:
        return self.networks.network(cpo)

    def csms_url(self, cpo_id: str) -> str:
        return f"{self.base_csms_url.rstrip('/')}/{cpo_id}"

    # -- provisioning -------------------------------------------------------------------------

    async def generate_network(self, cpo_id: str) -> dict[str, Any]:
        """Publish the OCPI locations and tariffs (stored; pushed only after registration)."""
        return await asyncio.to_thread(self._publish, cpo_id)

    def _publish(self, cpo_id: str) -> dict[str, Any]:
        cpo = self._cpo(cpo_id)
        network = self.network(cpo)
        with self.database.session() as session:
            for tariff in network.tariffs:
                self.ocpi.publish(session, cpo_id, "tariff", tariff["id"], tariff)
            for generated in network.locations:
                location = generated.location
                self.ocpi.publish(session, cpo_id, "location", location["id"], location)
        return {"locations": len(network.locations), "tariffs": len(network.tariffs)}

    async def create_locations(self, cpo_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._create_locations, cpo_id)

    def _create_locations(self, cpo_id: str) -> dict[str, Any]:
        cpo = self._cpo(cpo_id)
        network = self.network(cpo)
        created = 0
        with self.database.session() as session:
            for generated in network.locations:
                location_id = derived_id("loc", cpo_id, generated.location["id"])
                if session.get(Location, location_id) is not None:
                    continue
                models = [c.model_slug for c in generated.chargers]
                session.add(
                    Location(
                        id=location_id,
                        org_id=cpo.org_id,
                        name=generated.location.get("name") or generated.location["id"],
                        csms_url=self.csms_url(cpo_id),
                        ocpp_version=ocpp_version_for(cpo.template),
                        model=max(set(models), key=models.count) if models else "ac-22kw-2c",
                        identity_prefix=sanitize_identity_prefix(cpo.name_prefix),
                        security=None,
                        cpo_id=cpo_id,
                    )
                )
                created += 1
        return {"created": created, "locations": len(network.locations)}

    async def create_chargers(self, cpo_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._create_chargers, cpo_id)

    def _create_chargers(self, cpo_id: str) -> dict[str, Any]:
        cpo = self._cpo(cpo_id)
        network = self.network(cpo)
        created = total = 0
        with self.database.session() as session:
            credentialed = identities_with_credentials(session, cpo_id)
            for generated in network.locations:
                location_id = derived_id("loc", cpo_id, generated.location["id"])
                for charger in generated.chargers:
                    total += 1
                    charger_id = derived_id("dep", cpo_id, charger.identity)
                    row = session.get(Charger, charger_id)
                    if row is not None:
                        if row.identity not in credentialed:  # created before station auth
                            _issue_credential(session, cpo_id, row)
                        continue
                    row = Charger(
                        id=charger_id,
                        org_id=cpo.org_id,
                        location_id=location_id,
                        identity=charger.identity,
                        csms_url=self.csms_url(cpo_id),
                        ocpp_version=ocpp_version_for(cpo.template),
                        model=charger.model_slug,
                        desired_running=False,
                    )
                    _issue_credential(session, cpo_id, row)
                    session.add(row)
                    created += 1
        return {"created": created, "chargers": total}

    async def issue_missing_credentials(self) -> dict[str, Any]:
        """Give every virtual-CPO charger without a CSMS credential one (CPOs created before
        station authentication); restart those the fleet runs so they connect with it."""
        issued = await asyncio.to_thread(self._issue_missing_credentials)
        restarted = 0
        fleet = self.fleet
        for charger_id in issued:
            if fleet.live_state(charger_id) is None:
                continue  # not running here: it starts with its new security when started
            # The runner holds the security it was started with: stop it, write its state,
            # and start it again from the row, which now carries the password.
            await fleet.stop_charger(charger_id)
            await fleet.flush()
            await fleet.remove_charger(charger_id)
            row = await asyncio.to_thread(self._charger_row, charger_id)
            if row is not None:
                await fleet.start_charger(spec_from_row(row))
                restarted += 1
        return {"issued": len(issued), "restarted": restarted}

    def _issue_missing_credentials(self) -> list[str]:
        issued: list[str] = []
        with self.database.session() as session:
            rows = session.execute(
                select(Charger, Location.cpo_id)
                .join(Location, Location.id == Charger.location_id)
                .where(Location.cpo_id.is_not(None))
            ).all()
            credentialed: dict[str, set[str]] = {}
            for charger, cpo_id in rows:
                if cpo_id is None:  # excluded by the query; narrows the type
                    continue
                known = credentialed.get(cpo_id)
                if known is None:
                    known = credentialed[cpo_id] = identities_with_credentials(session, cpo_id)
                if charger.identity not in known:
                    _issue_credential(session, cpo_id, charger)
                    issued.append(charger.id)
        return issued

    def _charger_row(self, charger_id: str) -> Charger | None:
        with self.database.session() as session:
            row = session.get(Charger, charger_id)
            if row is not None:
                session.expunge(row)
            return row

    def _chargers(self, cpo_id: str) -> list[Charger]:
        with self.database.session() as session:
            location_ids = select(Location.id).where(Location.cpo_id == cpo_id)
            rows = session.scalars(
                select(Charger).where(Charger.location_id.in_(location_ids))
            ).all()
            for row in rows:
                session.expunge(row)
            return list(rows)

    async def start_chargers(self, cpo_id: str) -> dict[str, Any]:
        chargers = await asyncio.to_thread(self._mark_running, cpo_id)
        for charger in chargers:
            await self.fleet.start_charger(spec_from_row(charger))
        return {"started": len(chargers)}

    def _mark_running(self, cpo_id: str) -> list[Charger]:
        with self.database.session() as session:
            location_ids = select(Location.id).where(Location.cpo_id == cpo_id)
            rows = session.scalars(
                select(Charger).where(Charger.location_id.in_(location_ids))
            ).all()
            for row in rows:
                row.desired_running = True
            session.flush()
            for row in rows:
                session.expunge(row)
            return list(rows)

    async def wait_until_booted(self, cpo_id: str, timeout: float) -> dict[str, Any]:
        """Every charger connected to the built-in CSMS and accepted by it."""
        identities = {c.identity for c in await asyncio.to_thread(self._chargers, cpo_id)}
        deadline = monotonic() + timeout
        while True:
            registered = {
                station.identity for station in self.stations.stations(cpo_id) if station.registered
            }
            missing = identities - registered
            if not missing:
                return {"booted": len(identities)}
            if monotonic() > deadline:
                sample = ", ".join(sorted(missing)[:5])
                raise TimeoutError(
                    f"{len(missing)} chargers not booted after {timeout:g} s: {sample}"
                )
            await asyncio.sleep(0.2)

    # -- destroy ------------------------------------------------------------------------------

    async def remove_chargers(self, cpo_id: str) -> dict[str, Any]:
        chargers = await asyncio.to_thread(self._chargers, cpo_id)
        for charger in chargers:
            await self.fleet.remove_charger(charger.id)
        await asyncio.to_thread(self._delete_rows, cpo_id, [c.id for c in chargers])
        return {"removed": len(chargers)}

    def _delete_rows(self, cpo_id: str, charger_ids: list[str]) -> None:
        with self.database.session() as session:
            if charger_ids:
                session.execute(delete(Frame).where(Frame.charger_id.in_(charger_ids)))
                session.execute(delete(Charger).where(Charger.id.in_(charger_ids)))
            session.execute(delete(Location).where(Location.cpo_id == cpo_id))
            delete_station_credentials(session, cpo_id)
        self.networks.forget_models(cpo_id)

    async def revoke_tokens(self, cpo_id: str) -> dict[str, Any]:
        def revoke() -> None:
            with self.database.session() as session:
                self.ocpi.revoke_cpo(session, cpo_id)

        await asyncio.to_thread(revoke)
        return {"revoked": True}
