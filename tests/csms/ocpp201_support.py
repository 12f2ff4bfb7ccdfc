"""Helpers for the OCPP 2.x CSMS tests: connecting a raw 2.x station, and builders for the
payloads a 2.0.1 station sends (StatusNotification, meter values, TransactionEvent)."""

from __future__ import annotations

from typing import Any

from csms_support import RawStation, RecordingListener

V201 = "ocpp2.0.1"
V21 = "ocpp2.1"
T0 = "2025-03-01T12:00:00.000Z"
BOOT = {
    "reason": "PowerUp",
    "chargingStation": {"model": "Raw 2", "vendorName": "Voltlab", "firmwareVersion": "1.0"},
}


async def connect(live, identity: str, version: str = V201) -> RawStation:
    station = await RawStation.connect(live, identity, (version,))
    assert station.websocket.subprotocol == version
    return station


async def booted(live, identity: str, version: str = V201) -> RawStation:
    station = await connect(live, identity, version)
    assert (await station.result("BootNotification", BOOT))["status"] == "Accepted"
    return station


def at(minute: int) -> str:
    return f"2025-03-01T12:{minute:02d}:00.000Z"


def status(evse_id: int, connector_status: str, minute: int = 0) -> dict[str, Any]:
    return {
        "timestamp": at(minute),
        "connectorStatus": connector_status,
        "evseId": evse_id,
        "connectorId": 1,
    }


def meter(minute: int, wh: float, context: str = "Sample.Periodic", **extra: Any) -> dict:
    """One 2.x meterValue: the energy register (default measurand and unit) plus extras."""
    sampled: list[dict[str, Any]] = [{"value": wh, "context": context}]
    if "kw" in extra:
        sampled.append(
            {
                "value": extra["kw"],
                "context": context,
                "measurand": "Power.Active.Import",
                "unitOfMeasure": {"unit": "kW"},
            }
        )
    if "soc" in extra:
        sampled.append(
            {
                "value": extra["soc"],
                "context": context,
                "measurand": "SoC",
                "location": "EV",
                "unitOfMeasure": {"unit": "Percent"},
            }
        )
    return {"timestamp": at(minute), "sampledValue": sampled}


def rfid(value: str, token_type: str = "ISO14443") -> dict[str, str]:
    return {"idToken": value, "type": token_type}


def event(
    kind: str,
    tx_id: str,
    seq_no: int,
    trigger: str,
    minute: int,
    *,
    evse_id: int | None = None,
    charging_state: str | None = None,
    token: dict[str, str] | None = None,
    meter_values: list[dict] | None = None,
    stopped_reason: str | None = None,
    offline: bool | None = None,
    remote_start_id: int | None = None,
) -> dict[str, Any]:
    info: dict[str, Any] = {"transactionId": tx_id}
    if charging_state is not None:
        info["chargingState"] = charging_state
    if stopped_reason is not None:
        info["stoppedReason"] = stopped_reason
    if remote_start_id is not None:
        info["remoteStartId"] = remote_start_id
    payload: dict[str, Any] = {
        "eventType": kind,
        "timestamp": at(minute),
        "triggerReason": trigger,
        "seqNo": seq_no,
        "transactionInfo": info,
    }
    if evse_id is not None:
        payload["evse"] = {"id": evse_id, "connectorId": 1}
    if token is not None:
        payload["idToken"] = token
    if meter_values is not None:
        payload["meterValue"] = meter_values
    if offline is not None:
        payload["offline"] = offline
    return payload


def statuses(listener: RecordingListener, identity: str, connector_id: int = 1) -> list[str]:
    return [
        h.data["status"]
        for h in listener.of("connector_status", identity)
        if h.data["connector_id"] == connector_id
    ]


def tx_kinds(listener: RecordingListener, identity: str) -> list[str]:
    return [
        h.kind
        for h in listener.heard
        if h.identity == identity and h.kind.startswith(("transaction", "meter"))
    ]
