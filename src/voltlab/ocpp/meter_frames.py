"""Meter samples read back from the OCPP frames a station sent: 1.6 MeterValues and
StopTransaction's transactionData, 2.x TransactionEvent's meterValue. The frame log is where a
session's samples are kept (the dashboard's live `meter` events and its meter series both read
them from there), so what the chart shows is what the CSMS was told."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
SOC = "SoC"
CALL = 2
CALLRESULT = 3


@dataclass(frozen=True)
class MeterSample:
    connector_id: int | None
    transaction_id: str | None
    ts: str  # the sample's timestamp as the station wrote it
    power_w: float | None
    energy_wh: float | None
    soc: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "connector_id": self.connector_id,
            "transaction_id": self.transaction_id,
            "ts": self.ts,
            "power_w": self.power_w,
            "energy_wh": self.energy_wh,
            "soc": self.soc,
        }


def parse_frame(text: str) -> Any:
    """The frame as JSON, or the text itself when a peer sent something that is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def frame_parts(frame: Any) -> tuple[int, str, str | None, Any] | None:
    """(message type, message id, action or None, payload) of a parsed OCPP-J frame; None if
    it is not one."""
    if not isinstance(frame, list) or len(frame) < 3 or not isinstance(frame[1], str):
        return None
    kind = frame[0]
    if kind == CALL and len(frame) >= 4 and isinstance(frame[2], str):
        return CALL, frame[1], frame[2], frame[3]
    if isinstance(kind, int):
        return kind, frame[1], None, frame[2]
    return None


def samples_of_call(action: str, payload: Any) -> list[MeterSample]:
    """The samples a station's CALL carries (none for other actions)."""
    if not isinstance(payload, dict):
        return []
    if action == "MeterValues":
        return _samples(
            payload.get("meterValue"), payload.get("connectorId"), payload.get("transactionId")
        )
    if action == "StopTransaction":
        return _samples(payload.get("transactionData"), None, payload.get("transactionId"))
    if action == "TransactionEvent":
        info = payload.get("transactionInfo")
        tx_id = info.get("transactionId") if isinstance(info, dict) else None
        evse = payload.get("evse")
        # The dashboard numbers a 2.x station's connectors by EVSE (each EVSE has one
        # connector, connectorId 1): the EVSE id is the connector the page shows.
        connector = evse.get("id") if isinstance(evse, dict) else None
        return _samples(payload.get("meterValue"), connector, tx_id)
    return []


def _samples(values: Any, connector: Any, tx_id: Any) -> list[MeterSample]:
    if not isinstance(values, list):
        return []
    connector_id = connector if isinstance(connector, int) else None
    transaction = None if tx_id is None else str(tx_id)
    out = []
    for value in values:
        if not isinstance(value, dict) or not isinstance(value.get("sampledValue"), list):
            continue
        readings = _readings(value["sampledValue"])
        if not readings:
            continue
        out.append(
            MeterSample(
                connector_id,
                transaction,
                str(value.get("timestamp", "")),
                readings.get(POWER),
                readings.get(ENERGY),
                readings.get(SOC),
            )
        )
    return out


def _readings(sampled: list[Any]) -> dict[str, float]:
    """Measurand -> value in W, Wh or %. A total (no phase) wins; without one, power is the
    sum of its phases (energy registers per phase are not summed: they may overlap)."""
    totals: dict[str, float] = {}
    phased: dict[str, float] = {}
    for item in sampled:
        if not isinstance(item, dict):
            continue
        measurand = item.get("measurand", ENERGY)
        if measurand not in (ENERGY, POWER, SOC):
            continue
        number = _number(item)
        if number is None:
            continue
        if item.get("phase"):
            if measurand == POWER:
                phased[measurand] = phased.get(measurand, 0.0) + number
        else:
            totals[measurand] = number
    return phased | totals


def _number(item: dict[str, Any]) -> float | None:
    raw: Any = item.get("value")
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    unit_of_measure = item.get("unitOfMeasure")  # 2.x: {"unit", "multiplier"}
    if isinstance(unit_of_measure, dict):
        unit = unit_of_measure.get("unit")
        multiplier = unit_of_measure.get("multiplier", 0)
        if isinstance(multiplier, int) and multiplier:
            number *= 10.0**multiplier
    else:
        unit = item.get("unit")
    if unit in ("kW", "kWh"):
        number *= 1000.0
    return round(number, 3)


class TransactionStarts:
    """The meter register at each transaction's start, as the station told the CSMS: 1.6
    StartTransaction's `meterStart` (its transaction id comes in the CSMS's answer), 2.x the
    energy reading of TransactionEvent Started. Fed the frames of one station in order, both
    directions. A session's energy is a sample's register minus this."""

    def __init__(self) -> None:
        self.meter_start_wh: dict[str, float] = {}
        self._asked: dict[str, float] = {}  # StartTransaction CALL id -> meterStart

    def feed(self, direction: str, frame: Any) -> None:
        parts = frame_parts(frame)
        if parts is None:
            return
        kind, message_id, action, payload = parts
        if not isinstance(payload, dict):
            return
        if direction == "out" and kind == CALL:
            if action == "StartTransaction":
                start = payload.get("meterStart")
                if isinstance(start, int | float) and not isinstance(start, bool):
                    self._asked[message_id] = float(start)
            elif action == "TransactionEvent" and payload.get("eventType") == "Started":
                for sample in samples_of_call(action, payload):
                    if sample.transaction_id is not None and sample.energy_wh is not None:
                        self.meter_start_wh.setdefault(sample.transaction_id, sample.energy_wh)
        elif direction == "in" and kind == CALLRESULT and message_id in self._asked:
            start = self._asked.pop(message_id)
            tx_id = payload.get("transactionId")
            if tx_id is not None:
                self.meter_start_wh[str(tx_id)] = start

    def wants(self, direction: str, text: str) -> bool:
        """Whether a frame's text may matter (a cheap test before parsing it)."""
        if direction == "out":
            return "StartTransaction" in text or '"Started"' in text
        return bool(self._asked) and "transactionId" in text
