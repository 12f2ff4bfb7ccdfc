"""Sans-I/O parts of the CSMS's OCPP 2.x side: 2.x meter values, connector status folding,
idToken types and idTokenInfo, and the CSMS's 2.x requests against the 2.0.1 and 2.1
schemas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from voltlab.csms.events import IdTagStatus
from voltlab.csms.metering import parse_meter_value
from voltlab.csms.ocpp201 import CHARGING_STATION_ACTIONS_21, CHARGING_STATION_ACTIONS_201
from voltlab.csms.ocpp201_payloads import (
    change_availability_payload,
    id_token_info,
    id_token_type_for,
    request_start_payload,
    reserve_now_payload,
    reset_payload,
    trigger_message_payload,
    unlock_connector_payload,
)
from voltlab.csms.ocpp201_state import Ocpp2Station
from voltlab.ocpp.errors import OcppError
from voltlab.ocpp.schemas import schema_set
from voltlab.ocpp.vocabulary.connector_status import connector_status_16

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


def mv(*sampled: dict) -> dict:
    return {"timestamp": "2025-03-01T12:00:00Z", "sampledValue": list(sampled)}


# -- metering --------------------------------------------------------------------------------


def test_2x_sampled_values_units_and_multipliers():
    sample = parse_meter_value(
        mv(
            {"value": 12.5, "unitOfMeasure": {"unit": "kWh"}},  # default measurand: energy
            {"value": 7.2, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "kW"}},
            {"value": 55, "measurand": "SoC", "location": "EV"},  # no unit: the base unit
            {"value": 16, "measurand": "Current.Import", "unitOfMeasure": {"multiplier": 0}},
            {"value": 2.3, "measurand": "Voltage", "unitOfMeasure": {"multiplier": 2}},
        ),
        T0,
        ocpp2=True,
    )
    assert sample is not None
    assert (sample.energy_wh, sample.power_w, sample.soc_percent) == (12500.0, 7200.0, 55.0)
    assert sample.current_a == 16.0 and sample.voltage_v == pytest.approx(230.0)
    assert sample.context == "Sample.Periodic" and sample.timestamp == T0
    milli = parse_meter_value(
        mv({"value": 1500, "unitOfMeasure": {"multiplier": -3}}), T0, ocpp2=True
    )
    assert milli is not None and milli.energy_wh == pytest.approx(1.5)


def test_2x_signed_values_count_and_junk_is_skipped():
    signed = {
        "signedMeterData": "AAAA",
        "signingMethod": "ECDSA",
        "encodingMethod": "OCMF",
        "publicKey": "KEY",
    }
    sample = parse_meter_value(
        mv(
            {"value": 4200, "signedMeterValue": signed, "context": "Transaction.Begin"},
            {"value": 1, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "Wh"}},
            {"value": 21, "measurand": "Energy.Active.Export.Register"},
            {"value": 5, "measurand": "SoC", "unitOfMeasure": {"multiplier": 400}},  # overflow
        ),
        T0,
        ocpp2=True,
    )
    assert sample is not None
    assert sample.energy_wh == 4200.0 and sample.context == "Transaction.Begin"
    assert sample.power_w is None and sample.soc_percent is None


# -- connector status folding ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("evse_status", "charging_state", "has_tx", "finishing", "expected"),
    [
        ("Available", None, False, False, ("Available", "NoError")),
        ("Reserved", None, False, False, ("Reserved", "NoError")),
        ("Unavailable", None, False, False, ("Unavailable", "NoError")),
        ("Faulted", None, False, False, ("Faulted", "OtherError")),
        ("Occupied", None, False, False, ("Preparing", "NoError")),
        ("Occupied", None, False, True, ("Finishing", "NoError")),
        ("Occupied", None, True, False, ("Preparing", "NoError")),
        ("Occupied", "EVConnected", True, False, ("Preparing", "NoError")),
        ("Occupied", "Idle", True, False, ("Preparing", "NoError")),
        ("Occupied", "Charging", True, False, ("Charging", "NoError")),
        ("Occupied", "SuspendedEV", True, False, ("SuspendedEV", "NoError")),
        ("Occupied", "SuspendedEVSE", True, True, ("SuspendedEVSE", "NoError")),
    ],
)
def test_connector_status_16(evse_status, charging_state, has_tx, finishing, expected):
    assert connector_status_16(evse_status, charging_state, has_tx, finishing) == expected


def test_evse_status_aggregates_its_connectors_and_clears_finishing():
    station = Ocpp2Station()
    assert station.evse_status(1) is None
    station.set_connector_status(1, 1, "Faulted")
    station.set_connector_status(1, 2, "Available")
    assert station.evse_status(1) == "Available"  # one working connector keeps it usable
    station.set_connector_status(1, 2, "Unavailable")
    assert station.evse_status(1) == "Faulted"
    station.set_connector_status(1, 1, "Occupied")
    station.finishing.add(1)
    assert station.evse_status(1) == "Occupied" and station.evse_status(2) is None
    station.set_connector_status(1, 1, "Available")
    assert 1 not in station.finishing


# -- id tokens -------------------------------------------------------------------------------


def test_id_token_types_and_info():
    assert id_token_type_for("04A2B3C4") == "ISO14443"
    assert id_token_type_for("04a2b3c4d5e6f7") == "ISO14443"
    assert id_token_type_for("04A2B3C4D5E6F7A8B9C0") == "ISO14443"
    assert id_token_type_for("04A2B3C4D") == "Central"
    assert id_token_type_for("NL-TNM-C00122045-K") == "Central"
    assert id_token_info(None, "ocpp2.0.1") == {"status": "Unknown"}
    expiry = datetime(2030, 1, 1, tzinfo=UTC)
    assert id_token_info(IdTagStatus("Expired", expiry, "G"), "ocpp2.0.1") == {
        "status": "Expired",
        "cacheExpiryDateTime": "2030-01-01T00:00:00.000Z",
        "groupIdToken": {"idToken": "G", "type": "Central"},
    }
    long_group = IdTagStatus("Accepted", None, "G" * 100)
    assert id_token_info(long_group, "ocpp2.0.1") == {"status": "Accepted"}
    assert id_token_info(long_group, "ocpp2.1")["groupIdToken"]["idToken"] == "G" * 100


# -- CSMS requests against both schema sets --------------------------------------------------


@pytest.mark.parametrize("version", ["ocpp2.0.1", "ocpp2.1"])
def test_csms_requests_are_schema_valid(version):
    schemas = schema_set(version)
    expiry = datetime(2030, 1, 1, tzinfo=UTC)
    requests = [
        ("RequestStartTransaction", request_start_payload("04A2B3C4", 1, 7, None, None)),
        ("RequestStartTransaction", request_start_payload("APP", None, 8, None, "eMAID")),
        ("ReserveNow", reserve_now_payload(0, expiry, "04A2B3C4", 3, "FLEET", None)),
        ("ReserveNow", reserve_now_payload(2, expiry, "APP", 4, None, "Central")),
        ("UnlockConnector", unlock_connector_payload(2)),
        ("Reset", reset_payload(True)),
        ("Reset", reset_payload(False)),
        ("ChangeAvailability", change_availability_payload(0, False)),
        ("ChangeAvailability", change_availability_payload(3, True)),
        ("TriggerMessage", trigger_message_payload("StatusNotification", 1)),
        ("TriggerMessage", trigger_message_payload("MeterValues", 2)),
        ("TriggerMessage", trigger_message_payload("DiagnosticsStatusNotification", None)),
    ]
    for action, payload in requests:
        schemas.validate_request(action, payload)
    with pytest.raises(OcppError):  # a 1.6-only trigger has no 2.x counterpart
        schemas.validate_request("TriggerMessage", trigger_message_payload("Diagnostics", None))


@pytest.mark.parametrize(
    ("version", "actions"),
    [("ocpp2.0.1", CHARGING_STATION_ACTIONS_201), ("ocpp2.1", CHARGING_STATION_ACTIONS_21)],
)
def test_served_actions_exist_in_their_version(version, actions):
    schemas = schema_set(version)
    assert actions <= schemas.actions
    # CSMS-side actions are not among them.
    assert not actions & {"RequestStartTransaction", "Reset", "GetVariables", "SetVariables"}
    assert actions >= CHARGING_STATION_ACTIONS_201
