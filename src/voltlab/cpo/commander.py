"""OCPI commands received by a virtual CPO, carried out on its chargers: the CommandResponse
comes at once; the CommandResult is POSTed to the eMSP's response_url once the charger answered.

The virtual driver's actions around a remote start (plugging the cable in, unplugging after the
session) go through the ordinary gateway command path, so they show up in /ocpp/commands."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Awaitable, Coroutine
from typing import Any

from voltlab.cpo.driver import VirtualDriver
from voltlab.cpo.roaming import RoamingBridge
from voltlab.csms.server import BuiltinCsms
from voltlab.ocpi.authorizations import GivenAuthorization
from voltlab.ocpi.service import OcpiService
from voltlab.tasks import BackgroundTasks

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 30  # seconds the eMSP is told to wait for the CommandResult


class CommandBridge:
    """The cpo layer's `voltlab.ocpi.service.CommandHandler`."""

    def __init__(
        self,
        ocpi: OcpiService,
        csms: BuiltinCsms,
        roaming: RoamingBridge,
        driver: VirtualDriver,
    ) -> None:
        self.ocpi = ocpi
        self.csms = csms
        self.roaming = roaming
        self.driver = driver
        self._background = BackgroundTasks("OCPI commands")

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._background.spawn(coro)

    async def drain(self, timeout: float | None = None) -> int:
        """Wait for the work started in the background; see `BackgroundTasks.drain`."""
        return await self._background.drain(timeout)

    # -- the OCPI CommandHandler ---------------------------------------------------------------

    async def __call__(
        self, cpo_id: str, command: str, body: dict[str, Any]
    ) -> tuple[str, int, str | None]:
        handler = {
            "START_SESSION": self._start_session,
            "STOP_SESSION": self._stop_session,
            "RESERVE_NOW": self._reserve_now,
            "CANCEL_RESERVATION": self._cancel_reservation,
            "UNLOCK_CONNECTOR": self._unlock_connector,
        }.get(command)
        if handler is None:
            return "NOT_SUPPORTED", COMMAND_TIMEOUT, f"{command} is not supported"
        return await handler(cpo_id, body)

    def _station(
        self, cpo_id: str, location_id: str | None, evse_uid: str | None
    ) -> tuple[str, int] | None:
        index = self.roaming.index(cpo_id)
        if index is None or location_id is None:
            return None
        if evse_uid:
            return index.station(location_id, evse_uid)
        # No EVSE named: the first one of the location that is free.
        for _uid, (identity, connector_id) in sorted(index.evses_of(location_id)):
            if self._connector_status(cpo_id, identity, connector_id) == "Available":
                return identity, connector_id
        return None

    def _connector_status(self, cpo_id: str, identity: str, connector_id: int) -> str | None:
        for station in self.csms.stations(cpo_id):
            if station.identity == identity:
                for view in station.connectors:
                    if view.connector_id == connector_id:
                        return view.status
        return None

    def _online(self, cpo_id: str, identity: str) -> bool:
        return any(
            s.identity == identity and s.connected and s.registered
            for s in self.csms.stations(cpo_id)
        )

    async def _start_session(
        self, cpo_id: str, body: dict[str, Any]
    ) -> tuple[str, int, str | None]:
        station = self._station(cpo_id, body.get("location_id"), body.get("evse_uid"))
        if station is None:
            return "REJECTED", COMMAND_TIMEOUT, "unknown location/EVSE or no free EVSE"
        identity, connector_id = station
        if not self._online(cpo_id, identity):
            return "REJECTED", COMMAND_TIMEOUT, "the charger is offline"
        token = body["token"]
        await self.roaming.remember(cpo_id, command_authorization(body))
        self._spawn(
            self._run_start(cpo_id, body["response_url"], identity, connector_id, token["uid"])
        )
        return "ACCEPTED", COMMAND_TIMEOUT, None

    async def _run_start(
        self, cpo_id: str, response_url: str, identity: str, connector_id: int, uid: str
    ) -> None:
        result, message = "FAILED", None
        try:
            plug = await self.driver.station_command(
                cpo_id, identity, "plug_connector", {"connector_id": connector_id}
            )
            if (
                plug is not None
                and plug.status != "succeeded"
                and (plug.error or {}).get("code") != "already_plugged"
            ):
                message = f"the EV could not plug in: {(plug.error or {}).get('message')}"
            else:
                status = await self.csms.remote_start(cpo_id, identity, connector_id, uid)
                result = "ACCEPTED" if status == "Accepted" else "REJECTED"
                message = (
                    None if result == "ACCEPTED" else f"RemoteStartTransaction answered {status}"
                )
        except Exception as exc:  # noqa: BLE001 - reported to the eMSP as FAILED
            message = f"{type(exc).__name__}: {exc}"
        if result != "ACCEPTED":
            # No session will carry it: a later session of this token must not either.
            await self.roaming.forget(cpo_id, uid)
        await self.ocpi.send_command_result(cpo_id, response_url, result, message)

    async def _stop_session(self, cpo_id: str, body: dict[str, Any]) -> tuple[str, int, str | None]:
        session = self.ocpi.get_object(cpo_id, "session", body.get("session_id", ""))
        if session is None or session.get("status") != "ACTIVE":
            return "UNKNOWN_SESSION", COMMAND_TIMEOUT, "no active session with that id"
        index = self.roaming.index(cpo_id)
        station = index.station(session["location_id"], session["evse_uid"]) if index else None
        if station is None:
            return "UNKNOWN_SESSION", COMMAND_TIMEOUT, "the session's EVSE is gone"
        identity, connector_id = station
        transaction = self.csms.find_transaction_by_connector(cpo_id, identity, connector_id)
        if transaction is None:
            return "UNKNOWN_SESSION", COMMAND_TIMEOUT, "the charger has no transaction for it"
        self._spawn(
            self._call_and_report(
                cpo_id,
                body["response_url"],
                self.csms.remote_stop(cpo_id, identity, transaction.transaction_id),
            )
        )
        return "ACCEPTED", COMMAND_TIMEOUT, None

    async def _reserve_now(self, cpo_id: str, body: dict[str, Any]) -> tuple[str, int, str | None]:
        station = self._station(cpo_id, body.get("location_id"), body.get("evse_uid"))
        if station is None:
            return "REJECTED", COMMAND_TIMEOUT, "unknown location/EVSE"
        identity, connector_id = station
        token = body["token"]
        await self.roaming.remember(cpo_id, command_authorization(body))
        expiry = body["expiry_date"]
        self._spawn(
            self._call_and_report(
                cpo_id,
                body["response_url"],
                self.csms.reserve_now(
                    cpo_id,
                    identity,
                    connector_id,
                    id_tag=token["uid"],
                    expiry=expiry,
                    reservation_id=reservation_number(body["reservation_id"]),
                ),
            )
        )
        return "ACCEPTED", COMMAND_TIMEOUT, None

    async def _cancel_reservation(
        self, cpo_id: str, body: dict[str, Any]
    ) -> tuple[str, int, str | None]:
        number = reservation_number(body["reservation_id"])
        identity = None
        for station in self.csms.stations(cpo_id):
            if station.connected:
                identity = identity or station.identity
        if identity is None:
            return "REJECTED", COMMAND_TIMEOUT, "no charger online"
        self._spawn(self._cancel_everywhere(cpo_id, body["response_url"], number))
        return "ACCEPTED", COMMAND_TIMEOUT, None

    async def _cancel_everywhere(self, cpo_id: str, response_url: str, number: int) -> None:
        result = "UNKNOWN_RESERVATION"
        for station in self.csms.stations(cpo_id):
            if not station.connected:
                continue
            try:
                if (
                    await self.csms.cancel_reservation(cpo_id, station.identity, number)
                    == "Accepted"
                ):
                    result = "ACCEPTED"
                    break
            except Exception:  # noqa: BLE001 - try the next charger
                continue
        await self.ocpi.send_command_result(cpo_id, response_url, result, None)

    async def _unlock_connector(
        self, cpo_id: str, body: dict[str, Any]
    ) -> tuple[str, int, str | None]:
        station = self._station(cpo_id, body.get("location_id"), body.get("evse_uid"))
        if station is None:
            return "REJECTED", COMMAND_TIMEOUT, "unknown location/EVSE"
        identity, connector_id = station
        self._spawn(
            self._call_and_report(
                cpo_id,
                body["response_url"],
                self.csms.unlock_connector(cpo_id, identity, connector_id),
                accepted=("Unlocked",),
            )
        )
        return "ACCEPTED", COMMAND_TIMEOUT, None

    async def _call_and_report(
        self,
        cpo_id: str,
        response_url: str,
        call: Awaitable[str],
        accepted: tuple[str, ...] = ("Accepted",),
    ) -> None:
        try:
            status = await call
            result = (
                "ACCEPTED"
                if status in accepted
                else ("EVSE_OCCUPIED" if status == "Occupied" else "REJECTED")
            )
            message = None if result == "ACCEPTED" else f"the charger answered {status}"
        except Exception as exc:  # noqa: BLE001 - reported to the eMSP
            result, message = "FAILED", f"{type(exc).__name__}: {exc}"
        await self.ocpi.send_command_result(cpo_id, response_url, result, message)


def command_authorization(body: dict[str, Any]) -> GivenAuthorization:
    """START_SESSION and RESERVE_NOW: the eMSP's Token and the authorization_reference the
    Session and CDR SHALL carry."""
    token = body["token"]
    reference = body.get("authorization_reference")
    return GivenAuthorization(
        str(token["uid"]), "COMMAND", dict(token), str(reference) if reference else None
    )


def reservation_number(reservation_id: str | int) -> int:
    """OCPI reservation ids are strings; OCPP wants an integer."""
    text = str(reservation_id)
    return (
        int(text) if text.isdigit() and len(text) < 10 else zlib.crc32(text.encode()) & 0x7FFFFFFF
    )
