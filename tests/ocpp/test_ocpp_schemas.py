from __future__ import annotations

import os
from typing import Any

import fastjsonschema
import pytest

from voltlab.ocpp.errors import OcppError
from voltlab.ocpp.schemas import SchemaSet, compile_validator, schema_directory, schema_set
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201, SUPPORTED_VERSIONS

NOW = "2024-05-01T12:00:00Z"
BOOT_201 = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_every_bundled_schema_compiles(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))  # fresh: nothing cached yet
    files = [name for name in os.listdir(schema_directory(version)) if name.endswith(".json")]
    assert schemas.compile_all() == len(files)
    assert len(files) > 70


def test_action_lists() -> None:
    v16, v201, v21 = (schema_set(version) for version in SUPPORTED_VERSIONS)
    assert {"BootNotification", "StartTransaction", "RemoteStartTransaction"} <= v16.actions
    assert "BootNotificationResponse" not in v16.actions
    assert {"BootNotification", "TransactionEvent", "RequestStartTransaction"} <= v201.actions
    assert "StartTransaction" not in v201.actions
    assert {"BootNotification", "AFRRSignal", "BatterySwap"} <= v21.actions
    assert v21.send_actions == frozenset({"NotifyPeriodicEventStream"})
    assert v16.send_actions == frozenset()
    assert "NotifyPeriodicEventStream" not in v21.actions


def test_schema_set_is_cached_per_version() -> None:
    assert schema_set(OCPP16) is schema_set(OCPP16)
    assert schema_set(OCPP16) is not schema_set(OCPP201)


def test_valid_payloads_pass() -> None:
    schema_set(OCPP16).validate_request(
        "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}
    )
    schema_set(OCPP16).validate_response(
        "BootNotification", {"status": "Accepted", "currentTime": NOW, "interval": 300}
    )
    schema_set(OCPP201).validate_request("BootNotification", BOOT_201)
    schema_set(OCPP21).validate_request("BootNotification", BOOT_201)
    schema_set(OCPP21).validate_send(
        "NotifyPeriodicEventStream",
        {"id": 1, "pending": 0, "basetime": NOW, "data": [{"t": 0, "v": "1"}]},
    )


def _profile(limit: float) -> dict[str, Any]:
    return {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
        },
    }


def test_multiple_of_tolerates_binary_fractions() -> None:
    # 16.1 is not exactly representable in binary; the schema's multipleOf 0.1 must pass it.
    payload = {"idTag": "A", "chargingProfile": _profile(16.1)}
    schema_set(OCPP16).validate_request("RemoteStartTransaction", payload)


def _error(version: str, action: str, payload: Any, *, response: bool = False) -> OcppError:
    schemas = schema_set(version)
    validate = schemas.validate_response if response else schemas.validate_request
    with pytest.raises(OcppError) as info:
        validate(action, payload)
    return info.value


@pytest.mark.parametrize("payload", [[], "x", None, 3])
def test_payload_not_an_object_is_a_type_violation(payload: Any) -> None:
    error = _error(OCPP201, "Heartbeat", payload)
    assert error.code == "TypeConstraintViolation"
    assert "payload" in error.description


def test_wrong_field_type() -> None:
    error = _error(
        OCPP16,
        "StatusNotification",
        {"connectorId": "1", "errorCode": "NoError", "status": "Available"},
    )
    assert error.code == "TypeConstraintViolation"
    assert "connectorId" in error.description


def test_missing_required_uses_version_spelling() -> None:
    error = _error(OCPP16, "BootNotification", {"chargePointVendor": "V"})
    assert error.code == "OccurenceConstraintViolation"
    assert "chargePointModel" in error.description
    error = _error(
        OCPP201, "BootNotification", {"reason": "PowerUp", "chargingStation": {"model": "M"}}
    )
    assert error.code == "OccurrenceConstraintViolation"
    assert "chargingStation.vendorName" in error.description
    assert "model" not in error.description.replace("chargingStation", "")


def test_too_few_items_is_an_occurrence_violation() -> None:
    error = _error(OCPP16, "MeterValues", {"connectorId": 1, "meterValue": []})
    assert error.code == "OccurenceConstraintViolation"
    assert "meterValue" in error.description


@pytest.mark.parametrize(
    ("version", "action", "payload", "field"),
    [
        (OCPP16, "Reset", {"type": "Bogus"}, "type"),
        (
            OCPP16,
            "BootNotification",
            {"chargePointVendor": "V" * 21, "chargePointModel": "M"},
            "chargePointVendor",
        ),
        (
            OCPP16,
            "BootNotification",
            {"chargePointVendor": "V", "chargePointModel": "M", "colour": "red"},
            "colour",
        ),
        (OCPP201, "BootNotification", {**BOOT_201, "reason": "Bogus"}, "reason"),
        (
            OCPP201,
            "BootNotification",
            {**BOOT_201, "chargingStation": {"model": "M", "vendorName": "V", "x": 1}},
            "chargingStation.x",
        ),
        (
            OCPP16,
            "StartTransaction",
            {"connectorId": 1, "idTag": "A", "meterStart": 0, "timestamp": "yesterday"},
            "timestamp",
        ),
        (
            OCPP16,
            "RemoteStartTransaction",
            {"idTag": "A", "chargingProfile": _profile(16.05)},
            "chargingSchedulePeriod[0].limit",
        ),
    ],
)
def test_value_constraints_are_property_violations(
    version: str, action: str, payload: dict[str, Any], field: str
) -> None:
    error = _error(version, action, payload)
    assert error.code == "PropertyConstraintViolation"
    assert field in error.description
    assert action in error.description


def test_response_validation() -> None:
    error = _error(OCPP16, "Heartbeat", {}, response=True)
    assert error.code == "OccurenceConstraintViolation"
    assert "currentTime" in error.description
    assert "response" in error.description


def test_unknown_action_is_not_implemented() -> None:
    assert _error(OCPP16, "TransactionEvent", {}).code == "NotImplemented"
    assert _error(OCPP201, "StartTransaction", {}, response=True).code == "NotImplemented"


def test_custom_data_may_carry_extra_properties_as_the_schema_allows() -> None:
    # CustomDataType has no additionalProperties:false; validate exactly as written.
    payload = {"customData": {"vendorId": "acme", "anything": [1, 2]}}
    schema_set(OCPP201).validate_request("Heartbeat", payload)


def test_validation_does_not_fill_in_defaults() -> None:
    item = {"component": {"name": "EVSE"}, "variable": {"name": "Power"}}
    payload = {"getVariableData": [item]}
    schema_set(OCPP201).validate_request("GetVariables", payload)
    assert "attributeType" not in item  # the schema has "default": "Actual"


def _enum_schema(draft: str) -> dict[str, Any]:
    return {
        "$schema": f"http://json-schema.org/{draft}/schema#",
        "type": "object",
        "properties": {
            "unit": {"type": "string", "enum": ["Wh", "kWh", 'it\'s "quoted"', "a\nb"]},
            "any": {"enum": ["On", "Off"]},  # no type: the enum alone must refuse non-strings
            "mixed": {"enum": ["x", 1, None, True]},
            "items": {"type": "array", "items": {"enum": ["L1", "L2"]}},
        },
        "additionalProperties": False,
    }


def _outcome(validator: Any, payload: Any) -> Any:
    try:
        validator(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        return (exc.message, exc.name, exc.rule, exc.value)
    return "valid"


@pytest.mark.parametrize("draft", ["draft-04", "draft-06", "draft-07"])
def test_string_enums_checked_by_set_lookup_decide_as_fastjsonschema_does(draft: str) -> None:
    schema = _enum_schema(draft)
    ours, stock = compile_validator(schema), fastjsonschema.compile(schema, use_default=False)
    payloads: list[Any] = [
        {"unit": unit} for unit in ("Wh", "kWh", 'it\'s "quoted"', "a\nb", "wh", "", "Wh ")
    ]
    payloads += [{"any": value} for value in ("On", "off", 1, None, True, [], {}, ["On"])]
    payloads += [{"mixed": value} for value in ("x", 1, 1.0, None, True, False, "1", [])]
    payloads += [{"items": ["L1", "L2"]}, {"items": ["L1", "L3"]}, {"items": [1]}]
    outcomes = [_outcome(ours, payload) for payload in payloads]
    assert outcomes == [_outcome(stock, payload) for payload in payloads]
    # Members only: 4 units, "On", "x" 1 1.0 None True (1.0 equals 1 in JSON), one array.
    assert outcomes.count("valid") == 11
    assert {outcome[2] for outcome in outcomes if outcome != "valid"} == {"enum"}


def test_a_measurand_outside_the_enum_is_a_property_violation() -> None:
    sample = {"value": "1", "measurand": "Energy.Active.Import.Registers"}
    payload = {"connectorId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": [sample]}]}
    with pytest.raises(OcppError) as info:
        schema_set(OCPP16).validate_request("MeterValues", payload)
    assert info.value.code == "PropertyConstraintViolation"
    assert "meterValue[0].sampledValue[0].measurand must be one of" in info.value.description
