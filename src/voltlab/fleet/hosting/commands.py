"""The 23 gateway commands, executed against one hosted station. Each checks its preconditions
before touching the station, so a failed command leaves it as it was."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from voltlab.fleet.driver.link import NotConnected
from voltlab.fleet.driver.runner import StationRunner
from voltlab.fleet.hosting.command_limits import (
    INT32_MAX,
    MAX_DURATION_SECONDS,
    MAX_STATION_POWER_KW,
    MAX_TARGET_ENERGY_KWH,
    bounded_int,
    bounded_number,
    connector_rating_kw,
)
from voltlab.fleet.hosting.contract_input import DEFAULT_PNC_EV, contract_from, outcome_view
from voltlab.fleet.hosting.v2x_commands import discharge, grid_condition
from voltlab.fleet.machine.charging_limit_messages import (
    ClearExternalLimit,
    ExternalLimitAnswer,
    SetExternalLimit,
)
from voltlab.fleet.machine.messages import (
    ClearCache,
    ClearCacheAnswer,
    ClearLocalList,
    ClearLocalListAnswer,
    SendLocalList,
    SendLocalListAnswer,
)
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.config import ConfigError
from voltlab.fleet.model.ev import EV_PROFILES, PROFILES_BY_NAME, ElectricVehicle
from voltlab.fleet.model.station import Fault, StationError, Transaction
from voltlab.ocpp.errors import CallErrorReceived, CallTimeout, ConnectionLost, OcppError
from voltlab.ocpp.versions import OCPP16
from voltlab.ocpp.vocabulary.connector_status import FAULT_TYPES
from voltlab.ocpp.vocabulary.stop_reasons import STOP_REASONS

EMERGENCY_FAULTS = frozenset({"GroundFault", "OverCurrent", "OverVoltage"})

Result = dict[str, Any]
CommandFn = Callable[[StationRunner, dict[str, Any]], Awaitable[Result]]


def _connector(runner: StationRunner, payload: dict[str, Any], *, allow_zero: bool = False) -> int:
    connector_id = int(payload.get("connector_id", 0))
    if allow_zero and connector_id == 0:
        return 0
    runner.station.connector(connector_id)  # raises unknown_connector
    return connector_id


def _id_tag(runner: StationRunner, id_tag: str) -> str:
    limit = 20 if runner.version == "ocpp1.6" else 36
    if not 1 <= len(id_tag) <= limit:
        raise StationError(
            "invalid_id_tag", f"id tags are 1 to {limit} characters on {runner.version}"
        )
    return id_tag


def _reason(payload: dict[str, Any], default: str) -> str:
    reason = payload.get("reason") or default
    if reason not in STOP_REASONS:
        raise StationError(
            "invalid_reason", f"reason must be one of {', '.join(sorted(STOP_REASONS))}"
        )
    return reason


def _tx_result(tx: Transaction, runner: StationRunner) -> Result:
    conn = runner.station.connectors[tx.connector_id]
    meter_start = round(tx.meter_start_wh, 1)
    body: Result = {
        "connector_id": tx.connector_id,
        "transaction_id": tx.transaction_id,
        "id_tag": tx.id_tag,
        "meter_start_wh": meter_start,
    }
    if tx.stopped_at is not None:
        body["meter_stop_wh"] = round(tx.meter_stop_wh or 0.0, 1)
        body["energy_wh"] = round((tx.meter_stop_wh or 0.0) - tx.meter_start_wh, 1)
        body["stop_reason"] = tx.stop_reason
    else:
        body["status"] = runner.station.connector_status(tx.connector_id).status
        body["power_w"] = round(conn.power_w, 1)
    return body


async def proxy_message(runner: StationRunner, payload: dict[str, Any]) -> Result:
    action = payload["action"]
    try:
        response = await runner.link.call_raw(action, payload.get("payload") or {})
    except NotConnected as exc:
        raise StationError("not_connected", str(exc)) from exc
    except CallErrorReceived as exc:
        error = {"code": exc.code, "description": exc.description, "details": exc.details}
        return {"action": action, "call_error": error}
    except OcppError as exc:
        raise StationError("invalid_payload", f"{action}: {exc.description}") from exc
    except (CallTimeout, ConnectionLost) as exc:
        raise StationError("csms_error", f"{action}: {exc}") from exc
    return {"action": action, "response": response}


async def configuration(runner: StationRunner, payload: dict[str, Any]) -> Result:
    key, value = payload["key"], str(payload["value"])
    device_model = runner.machine.device_model if runner.version != OCPP16 else None
    if device_model is not None and "." in key:
        # 2.x: Component.Variable names, one setting with the 1.6 key where they map.
        try:
            device_model.set_dotted(key, value)
        except ValueError as exc:
            raise StationError("invalid_value", str(exc)) from exc
        if key.endswith(".HeartbeatInterval"):
            runner.registration.configuration_changed("HeartbeatInterval")
        runner.writes.changed()
        return {"key": key, "value": device_model.get_dotted(key)}
    try:
        runner.station.config.set_local(key, value)
    except ConfigError as exc:
        raise StationError("invalid_value", str(exc)) from exc
    runner.registration.configuration_changed(key)
    runner.writes.changed()
    return {"key": key, "value": runner.station.config.get(key)}


async def cache_reset(runner: StationRunner, payload: dict[str, Any]) -> Result:
    answer = await runner.driver.run_command(ClearCache())
    assert isinstance(answer, ClearCacheAnswer)
    return {"cleared_entries": answer.cleared_entries}


async def local_auth_list(runner: StationRunner, payload: dict[str, Any]) -> Result:
    entries = []
    for entry in payload.get("entries") or []:
        _id_tag(runner, entry["id_tag"])
        status = entry.get("status")
        info = (
            None
            if status is None
            else IdTagInfo(status, entry.get("expiry_date"), entry.get("parent_id_tag"))
        )
        entries.append((entry["id_tag"], info))
    list_version = bounded_int(payload["list_version"], "list_version", 0, INT32_MAX)
    answer = await runner.driver.run_command(
        SendLocalList(list_version, payload["update_type"], tuple(entries))
    )
    assert isinstance(answer, SendLocalListAnswer)
    if answer.status != "Accepted":
        raise StationError(
            answer.status,
            f"the station answered {answer.status} (current list version {answer.version})",
        )
    return {"list_version": answer.version, "entries": answer.size}


async def clear_local_auth_list(runner: StationRunner, payload: dict[str, Any]) -> Result:
    answer = await runner.driver.run_command(ClearLocalList())
    assert isinstance(answer, ClearLocalListAnswer)
    return {"removed_entries": answer.removed_entries, "list_version": 0}


async def inject_fault(runner: StationRunner, payload: dict[str, Any]) -> Result:
    connector_id = _connector(runner, payload, allow_zero=True)
    fault_type = payload["fault_type"]
    if fault_type not in FAULT_TYPES:
        raise StationError(
            "invalid_fault_type", f"fault_type must be one of {', '.join(FAULT_TYPES)}"
        )
    fault = Fault(fault_type, payload.get("vendor_error_code"), payload.get("info"))
    runner.station.set_fault(connector_id, fault, runner.now())
    await runner.publish_status()
    grid = await grid_condition(runner, connector_id, fault_type)
    stopped = []
    if fault.blocks_charging:
        reason = "EmergencyStop" if fault_type in EMERGENCY_FAULTS else "Other"
        affected = runner.station.connectors if connector_id == 0 else [connector_id]
        for cid in affected:
            if runner.station.connectors[cid].transaction is not None:
                tx = await runner.stop_transaction(cid, reason)
                stopped.append(_tx_result(tx, runner))
    body: Result = {
        "connector_id": connector_id,
        "status": runner.station.connector_status(connector_id).status,
        "stopped_transactions": stopped,
    }
    return body if grid is None else body | grid


async def clear_fault(runner: StationRunner, payload: dict[str, Any]) -> Result:
    connector_id = _connector(runner, payload, allow_zero=True)
    cleared = runner.station.clear_fault(connector_id, runner.now())
    await runner.publish_status()
    grid = await grid_condition(runner, connector_id, cleared.fault_type)
    body: Result = {
        "connector_id": connector_id,
        "status": runner.station.connector_status(connector_id).status,
    }
    return body if grid is None else body | grid


async def plug_connector(runner: StationRunner, payload: dict[str, Any]) -> Result:
    connector_id = _connector(runner, payload)
    ev = None
    departure = payload.get("departure_seconds")
    if departure is not None:
        departure = bounded_int(departure, "departure_seconds", 1, MAX_DURATION_SECONDS)
    contract = contract_from(payload.get("contract"), runner.version)
    name = payload.get("ev_profile") or (DEFAULT_PNC_EV if contract else None)
    if (
        name
        or payload.get("soc_percent") is not None
        or departure
        or payload.get("min_soc_percent") is not None
    ):
        if name is not None and name not in PROFILES_BY_NAME:
            raise StationError(
                "unknown_ev_profile", f"ev_profile must be one of {', '.join(PROFILES_BY_NAME)}"
            )
        profile = PROFILES_BY_NAME[name] if name else runner.station.rng().choice(EV_PROFILES)
        if contract is not None and not profile.iso15118:
            raise StationError("invalid_contract", "a contract needs an iso15118-* EV profile")
        soc = payload.get("soc_percent")
        leaves = None if departure is None else runner.now() + departure
        reserve = payload.get("min_soc_percent")
        if reserve is not None and not profile.bidirectional:
            raise StationError(
                "ev_not_bidirectional",
                f"min_soc_percent is the reserve of a V2X EV; {profile.name} cannot discharge",
            )
        reserve = None if reserve is None else bounded_number(reserve, "min_soc_percent", 100)
        ev = ElectricVehicle(
            profile, 30.0 if soc is None else float(soc), leaves, contract, min_soc_percent=reserve
        )
    await runner.plug(connector_id, ev)
    conn = runner.station.connectors[connector_id]
    shown = None if conn.ev is None else conn.ev.snapshot()
    if shown is not None and conn.ev is not None and conn.ev.contract is not None:
        shown["contract"] = {"emaid": conn.ev.contract.emaid}  # not the whole chain again
    result: Result = {
        "connector_id": connector_id,
        "status": runner.station.connector_status(connector_id).status,
        "ev": shown,
    }
    if contract is not None:
        pnc = runner.machine.context.pnc_outcomes.get(connector_id)
        result["plug_and_charge"] = outcome_view(pnc)
        tx = conn.transaction
        result["transaction_id"] = None if tx is None else tx.transaction_id
    return result


async def unplug_connector(runner: StationRunner, payload: dict[str, Any]) -> Result:
    connector_id = _connector(runner, payload)
    tx = await runner.unplug(connector_id)
    return {
        "connector_id": connector_id,
        "status": runner.station.connector_status(connector_id).status,
        "stopped_transaction": None if tx is None else _tx_result(tx, runner),
    }


async def unlock_connector(runner: StationRunner, payload: dict[str, Any]) -> Result:
    connector_id = _connector(runner, payload)
    status = await runner.unlock(connector_id)
    if status != "Unlocked":
        raise StationError("unlock_failed", f"connector {connector_id}: {status}")
    return {"connector_id": connector_id, "unlock_status": status}


async def start_transaction(runner: StationRunner, payload: dict[str, Any]) -> Result:
    connector_id = _connector(runner, payload)
    id_tag = _id_tag(runner, payload["id_tag"])
    tx = await runner.start_transaction(connector_id, id_tag)
    return _tx_result(tx, runner)


async def stop_transaction(runner: StationRunner, payload: dict[str, Any]) -> Result:
    connector_id = _connector(runner, payload)
    reason = _reason(payload, "Local")
    id_tag = payload.get("id_tag")
    if id_tag is not None:
        _id_tag(runner, id_tag)
    if runner.station.connectors[connector_id].transaction is None:
        raise StationError("no_transaction", f"no transaction on connector {connector_id}")
    tx = await runner.stop_transaction(connector_id, reason, id_tag)
    return _tx_result(tx, runner)


async def start_session(runner: StationRunner, payload: dict[str, Any]) -> Result:
    connector_id = _connector(runner, payload)
    id_tag = _id_tag(runner, payload["id_tag"])
    # Checked before anything changes on the station.
    duration = payload.get("duration_seconds")
    if duration is not None:
        duration = bounded_int(duration, "duration_seconds", 1, MAX_DURATION_SECONDS)
    energy_kwh = payload.get("target_energy_kwh")
    if energy_kwh is not None:
        energy_kwh = bounded_number(energy_kwh, "target_energy_kwh", MAX_TARGET_ENERGY_KWH)
    if not runner.link.online and not runner.may_start_offline(id_tag):
        runner.require_online()
    station = runner.station
    station.check_can_start(connector_id, id_tag, None)
    plugged_here = not station.connectors[connector_id].plugged
    if plugged_here:
        await runner.plug(connector_id)
    try:
        decision = await runner.authorize(id_tag)
    except StationError:
        if plugged_here:
            await runner.end_session(connector_id, "Local")
        raise
    if not decision.accepted:
        if plugged_here:
            await runner.end_session(connector_id, "Local")
        raise StationError(
            "not_authorized", f"{id_tag} answered {decision.info.status} by {decision.source}"
        )
    tx = await runner.start_transaction(
        connector_id,
        id_tag,
        parent_id_tag=decision.info.parent_id_tag,
        duration_limit_s=float(duration) if duration else None,
        energy_limit_wh=float(energy_kwh) * 1000.0 if energy_kwh else None,
    )
    body = _tx_result(tx, runner)
    body["authorized_by"] = decision.source
    return body


async def stop_session(runner: StationRunner, payload: dict[str, Any]) -> Result:
    connector_id = _connector(runner, payload)
    reason = _reason(payload, "Local")
    conn = runner.station.connectors[connector_id]
    if conn.transaction is None and not conn.plugged:
        raise StationError("no_session", f"connector {connector_id} has no session")
    tx = await runner.end_session(connector_id, reason)
    return {
        "connector_id": connector_id,
        "status": runner.station.connector_status(connector_id).status,
        "stopped_transaction": None if tx is None else _tx_result(tx, runner),
    }


async def authorize_id_tag(runner: StationRunner, payload: dict[str, Any]) -> Result:
    if payload.get("connector_id") is not None:
        _connector(runner, payload)
    id_tag = _id_tag(runner, payload["id_tag"])
    decision = await runner.authorize(id_tag)
    return {
        "id_tag": id_tag,
        "status": decision.info.status,
        "source": decision.source,
        "id_tag_info": decision.info.to_json(),
    }


async def _ev_demand(runner: StationRunner, payload: dict[str, Any], **changes: Any) -> Result:
    connector_id = _connector(runner, payload)
    runner.station.set_ev_demand(connector_id, runner.now(), **changes)
    runner.ev_power_changed(connector_id)
    await runner.publish_status()
    conn = runner.station.connectors[connector_id]
    return {
        "connector_id": connector_id,
        "status": runner.station.connector_status(connector_id).status,
        "power_w": round(conn.power_w, 1),
        "soc_percent": None if conn.ev is None else round(conn.ev.soc_percent, 1),
    }


def _watts(runner: StationRunner, payload: dict[str, Any]) -> float | None:
    """The EV's power cap, at most the connector's rating (the charger's physics)."""
    power_kw = payload.get("power_kw")
    if power_kw is None:
        return None
    connector_id = _connector(runner, payload)
    rating = connector_rating_kw(runner.station.model, connector_id) or 0.0
    return bounded_number(power_kw, "power_kw", rating) * 1000.0


async def ev_requests_energy(runner: StationRunner, payload: dict[str, Any]) -> Result:
    return await _ev_demand(runner, payload, wants_energy=True, power_cap_w=_watts(runner, payload))


async def ev_stops_energy(runner: StationRunner, payload: dict[str, Any]) -> Result:
    return await _ev_demand(runner, payload, wants_energy=False)


async def power_update(runner: StationRunner, payload: dict[str, Any]) -> Result:
    soc = payload.get("soc_percent")
    return await _ev_demand(
        runner,
        payload,
        power_cap_w=_watts(runner, payload),
        soc_percent=None if soc is None else float(soc),
    )


async def partition(runner: StationRunner, payload: dict[str, Any]) -> Result:
    """The station loses its network for `duration_seconds` (simulated) and keeps running: the
    socket drops without a closing handshake, transaction messages queue offline, and the link
    connects again when the partition ends."""
    seconds = bounded_number(payload.get("duration_seconds"), "duration_seconds", 86_400)
    await runner.link.partition(seconds)
    return {"partitioned_seconds": seconds}


async def restart_link(runner: StationRunner, payload: dict[str, Any]) -> Result:
    """Kill the connection (no closing handshake) and connect again at once."""
    await runner.link.partition(0.0)
    return {"restarted": True}


async def set_charging_limit(runner: StationRunner, payload: dict[str, Any]) -> Result:
    """A limit from outside the CSMS (an EMS): the power follows at once; a 2.x station
    reports it (NotifyChargingLimit)."""
    connector_id = _connector(runner, payload, allow_zero=True)
    limit_kw = payload.get("limit_kw")
    if limit_kw != 0:
        limit_kw = bounded_number(limit_kw, "limit_kw", MAX_STATION_POWER_KW)
    grid_critical = payload.get("is_grid_critical")
    command = SetExternalLimit(
        connector_id, float(limit_kw or 0) * 1000.0, payload.get("source") or "EMS", grid_critical
    )
    return _limit_result(await runner.driver.run_command(command))


async def clear_charging_limit(runner: StationRunner, payload: dict[str, Any]) -> Result:
    connector_id = _connector(runner, payload, allow_zero=True)
    return _limit_result(await runner.driver.run_command(ClearExternalLimit(connector_id)))


def _limit_result(answer: object) -> Result:
    assert isinstance(answer, ExternalLimitAnswer)
    return {
        "connector_id": answer.connector_id,
        "limit_w": answer.limit_w,
        "source": answer.source,
        "notified_csms": answer.notified,
    }


COMMANDS: dict[str, CommandFn] = {
    "proxy_message": proxy_message,
    "configuration": configuration,
    "cache_reset": cache_reset,
    "local_auth_list": local_auth_list,
    "clear_local_auth_list": clear_local_auth_list,
    "inject_fault": inject_fault,
    "clear_fault": clear_fault,
    "plug_connector": plug_connector,
    "unplug_connector": unplug_connector,
    "unlock_connector": unlock_connector,
    "start_transaction": start_transaction,
    "stop_transaction": stop_transaction,
    "start_session": start_session,
    "stop_session": stop_session,
    "authorize_id_tag": authorize_id_tag,
    "ev_requests_energy": ev_requests_energy,
    "ev_stops_energy": ev_stops_energy,
    "power_update": power_update,
    "partition": partition,
    "restart_link": restart_link,
    "set_charging_limit": set_charging_limit,
    "clear_charging_limit": clear_charging_limit,
    "discharge": discharge,
}
