"""OCPI 2.2.1 -> 2.1.1 object shapes.

Objects are stored once, in their 2.2.1 shape; a 2.1.1 CPO converts on the way out (GET
responses and pushes). Only fields 2.1.1 defines are kept, enum values 2.1.1 lacks are mapped
to their nearest 2.1.1 value or dropped. Already-2.1.1 fields pass through, so a body that was
written in 2.1.1 shape survives the conversion.
"""

from __future__ import annotations

from typing import Any

LOCATION_KEYS = (
    "id",
    "type",
    "name",
    "address",
    "city",
    "postal_code",
    "country",
    "coordinates",
    "related_locations",
    "evses",
    "directions",
    "operator",
    "suboperator",
    "owner",
    "facilities",
    "time_zone",
    "opening_times",
    "charging_when_closed",
    "images",
    "energy_mix",
    "last_updated",
)
EVSE_KEYS = (
    "uid",
    "evse_id",
    "status",
    "status_schedule",
    "capabilities",
    "connectors",
    "floor_level",
    "coordinates",
    "physical_reference",
    "directions",
    "parking_restrictions",
    "images",
    "last_updated",
)
CONNECTOR_KEYS = (
    "id",
    "standard",
    "format",
    "power_type",
    "voltage",
    "amperage",
    "tariff_id",
    "terms_and_conditions",
    "last_updated",
)
TARIFF_KEYS = (
    "id",
    "currency",
    "tariff_alt_text",
    "tariff_alt_url",
    "elements",
    "energy_mix",
    "last_updated",
)
RESTRICTION_KEYS = (
    "start_time",
    "end_time",
    "start_date",
    "end_date",
    "min_kwh",
    "max_kwh",
    "min_power",
    "max_power",
    "min_duration",
    "max_duration",
    "day_of_week",
)
CAPABILITIES = frozenset(
    {
        "CHARGING_PROFILE_CAPABLE",
        "CREDIT_CARD_PAYABLE",
        "REMOTE_START_STOP_CAPABLE",
        "RESERVABLE",
        "RFID_READER",
        "UNLOCK_CAPABLE",
    }
)
FACILITIES = frozenset(
    {
        "HOTEL",
        "RESTAURANT",
        "CAFE",
        "MALL",
        "SUPERMARKET",
        "SPORT",
        "RECREATION_AREA",
        "NATURE",
        "MUSEUM",
        "BUS_STOP",
        "TAXI_STAND",
        "TRAIN_STATION",
        "AIRPORT",
        "CARPOOL_PARKING",
        "FUEL_STATION",
        "WIFI",
    }
)
CDR_DIMENSIONS = frozenset({"ENERGY", "FLAT", "MAX_CURRENT", "MIN_CURRENT", "PARKING_TIME", "TIME"})
# 2.2.1 ParkingType -> 2.1.1 LocationType
LOCATION_TYPES = {
    "ON_STREET": "ON_STREET",
    "PARKING_GARAGE": "PARKING_GARAGE",
    "UNDERGROUND_GARAGE": "UNDERGROUND_GARAGE",
    "PARKING_LOT": "PARKING_LOT",
}
COMMAND_RESULTS = frozenset({"ACCEPTED", "REJECTED", "TIMEOUT", "NOT_SUPPORTED", "UNKNOWN_SESSION"})


def _pick(source: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: source[key] for key in keys if key in source}


def connector_to_211(connector: dict[str, Any]) -> dict[str, Any]:
    out = _pick(connector, CONNECTOR_KEYS)
    out.setdefault("voltage", connector.get("max_voltage", 0))
    out.setdefault("amperage", connector.get("max_amperage", 0))
    tariff_ids = connector.get("tariff_ids")
    if "tariff_id" not in out and isinstance(tariff_ids, list) and tariff_ids:
        out["tariff_id"] = tariff_ids[0]  # 2.1.1 has room for one tariff per connector
    if out.get("power_type") in ("AC_2_PHASE", "AC_2_PHASE_SPLIT"):
        out["power_type"] = "AC_1_PHASE"  # 2.1.1 knows no two-phase supply
    return out


def evse_to_211(evse: dict[str, Any]) -> dict[str, Any]:
    out = _pick(evse, EVSE_KEYS)
    if isinstance(out.get("capabilities"), list):
        out["capabilities"] = [cap for cap in out["capabilities"] if cap in CAPABILITIES]
    out["connectors"] = [connector_to_211(c) for c in evse.get("connectors") or []]
    return out


def location_to_211(location: dict[str, Any]) -> dict[str, Any]:
    out = _pick(location, LOCATION_KEYS)
    if "type" not in out:
        parking_type = location.get("parking_type")
        out["type"] = LOCATION_TYPES.get(parking_type, "OTHER") if parking_type else "UNKNOWN"
    if isinstance(out.get("facilities"), list):
        out["facilities"] = [item for item in out["facilities"] if item in FACILITIES]
    out["evses"] = [evse_to_211(evse) for evse in location.get("evses") or []]
    return out


def location_subset(
    location: dict[str, Any], evse_uid: str | None, connector_id: str | None
) -> dict[str, Any]:
    """A 2.2.1 location reduced to one EVSE and connector (2.1.1 sessions and CDRs embed that)."""
    out = dict(location)
    evses = []
    for evse in location.get("evses") or []:
        if evse_uid is not None and evse.get("uid") != evse_uid:
            continue
        evse_copy = dict(evse)
        evse_copy["connectors"] = [
            connector
            for connector in evse.get("connectors") or []
            if connector_id is None or connector.get("id") == connector_id
        ]
        evses.append(evse_copy)
    out["evses"] = evses
    return out


def tariff_to_211(tariff: dict[str, Any]) -> dict[str, Any]:
    out = _pick(tariff, TARIFF_KEYS)
    elements = []
    for element in tariff.get("elements") or []:
        converted: dict[str, Any] = {
            "price_components": [
                {key: pc[key] for key in ("type", "price", "step_size") if key in pc}
                for pc in element.get("price_components") or []
            ]
        }
        if isinstance(element.get("restrictions"), dict):
            converted["restrictions"] = _pick(element["restrictions"], RESTRICTION_KEYS)
        elements.append(converted)
    out["elements"] = elements
    return out


def _cost(value: Any) -> Any:
    """2.2.1 Price {excl_vat, incl_vat} -> 2.1.1 number (excluding VAT)."""
    if isinstance(value, dict):
        return value.get("excl_vat")
    return value


def _charging_periods(periods: Any) -> list[dict[str, Any]]:
    out = []
    for period in periods or []:
        dimensions = [
            {"type": dim.get("type"), "volume": dim.get("volume")}
            for dim in period.get("dimensions") or []
            if dim.get("type") in CDR_DIMENSIONS
        ]
        if dimensions:
            out.append({"start_date_time": period.get("start_date_time"), "dimensions": dimensions})
    return out


def _auth_id(body: dict[str, Any]) -> Any:
    if "auth_id" in body:
        return body["auth_id"]
    token = body.get("cdr_token") or {}
    return token.get("contract_id") or token.get("uid")


def _auth_method(value: Any) -> Any:
    return "AUTH_REQUEST" if value == "COMMAND" else value  # 2.1.1 has no COMMAND


def session_to_211(session: dict[str, Any], location: dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(session.get("location"), dict):
        embedded = session["location"]
    elif location is not None:
        embedded = location_to_211(
            location_subset(location, session.get("evse_uid"), session.get("connector_id"))
        )
    else:
        embedded = {"id": session.get("location_id")}
    out: dict[str, Any] = {
        "id": session.get("id"),
        "start_datetime": session.get("start_datetime", session.get("start_date_time")),
        "kwh": session.get("kwh"),
        "auth_id": _auth_id(session),
        "auth_method": _auth_method(session.get("auth_method")),
        "location": embedded,
        "currency": session.get("currency"),
        "status": "PENDING" if session.get("status") == "RESERVATION" else session.get("status"),
        "last_updated": session.get("last_updated"),
    }
    end = session.get("end_datetime", session.get("end_date_time"))
    if end is not None:
        out["end_datetime"] = end
    if session.get("meter_id") is not None:
        out["meter_id"] = session["meter_id"]
    if session.get("charging_periods") is not None:
        out["charging_periods"] = _charging_periods(session["charging_periods"])
    if session.get("total_cost") is not None:
        out["total_cost"] = _cost(session["total_cost"])
    return out


def session_patch_to_211(patch: dict[str, Any]) -> dict[str, Any]:
    renames = {"start_date_time": "start_datetime", "end_date_time": "end_datetime"}
    out: dict[str, Any] = {}
    for key, value in patch.items():
        if key in ("kwh", "currency", "meter_id", "last_updated", "start_datetime", "end_datetime"):
            out[key] = value
        elif key in renames:
            out[renames[key]] = value
        elif key == "status":
            out[key] = "PENDING" if value == "RESERVATION" else value
        elif key == "total_cost":
            out[key] = _cost(value)
        elif key == "charging_periods":
            out[key] = _charging_periods(value)
        elif key == "auth_method":
            out[key] = _auth_method(value)
        elif key == "cdr_token":
            out["auth_id"] = _auth_id({"cdr_token": value})
    return out


def _location_from_cdr_location(cdr_location: dict[str, Any], last_updated: Any) -> dict[str, Any]:
    connector = {
        "id": cdr_location.get("connector_id"),
        "standard": cdr_location.get("connector_standard"),
        "format": cdr_location.get("connector_format"),
        "power_type": cdr_location.get("connector_power_type"),
        "last_updated": last_updated,
    }
    evse = {
        "uid": cdr_location.get("evse_uid"),
        "evse_id": cdr_location.get("evse_id"),
        "status": "UNKNOWN",
        "connectors": [connector],
        "last_updated": last_updated,
    }
    location: dict[str, Any] = {
        key: cdr_location[key]
        for key in ("id", "name", "address", "city", "postal_code", "country", "coordinates")
        if key in cdr_location
    }
    location.update({"evses": [evse], "last_updated": last_updated})
    return location_to_211(location)


def cdr_to_211(cdr: dict[str, Any], location: dict[str, Any] | None) -> dict[str, Any]:
    cdr_location = cdr.get("cdr_location") or {}
    if isinstance(cdr.get("location"), dict):
        embedded = cdr["location"]
    elif location is not None:
        embedded = location_to_211(
            location_subset(
                location, cdr_location.get("evse_uid"), cdr_location.get("connector_id")
            )
        )
    else:
        embedded = _location_from_cdr_location(cdr_location, cdr.get("last_updated"))
    out: dict[str, Any] = {
        "id": cdr.get("id"),
        "start_date_time": cdr.get("start_date_time"),
        "stop_date_time": cdr.get("stop_date_time", cdr.get("end_date_time")),
        "auth_id": _auth_id(cdr),
        "auth_method": _auth_method(cdr.get("auth_method")),
        "location": embedded,
        "currency": cdr.get("currency"),
        "charging_periods": _charging_periods(cdr.get("charging_periods")),
        "total_cost": _cost(cdr.get("total_cost")),
        "total_energy": cdr.get("total_energy"),
        "total_time": cdr.get("total_time"),
        "last_updated": cdr.get("last_updated"),
    }
    for key in ("meter_id", "total_parking_time", "remark"):
        if cdr.get(key) is not None:
            out[key] = cdr[key]
    if cdr.get("tariffs"):
        out["tariffs"] = [tariff_to_211(tariff) for tariff in cdr["tariffs"]]
    return out


def command_result_to_211(result: str) -> str:
    """2.2.1 CommandResultType -> 2.1.1 CommandResponseType (async result posted back)."""
    return result if result in COMMAND_RESULTS else "REJECTED"
