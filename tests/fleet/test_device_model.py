"""The OCPP 2.0.1 device model over the station's settings: one value behind a 1.6 key and its
2.x variable, validation, reports, paging, persistence, and every output checked against the
OCA 2.0.1 JSON schemas shipped in the `ocpp` package. Requests and answers go through the 2.x
codec (`codecs/ocpp201_device_model`), as on the wire."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from voltlab.fleet.codecs import ocpp201_device_model as codec
from voltlab.fleet.machine.configuration_messages import ReportPage, VariablesAnswer
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.device_model import DeviceModel, DeviceModelError, pages
from voltlab.fleet.model.device_model_types import ReportItem
from voltlab.fleet.model.station import Fault, Station
from voltlab.fleet.model.station_state import station_snapshot

T0 = 1_800_000_000.0
GENERATED_AT = "2027-01-15T08:00:00.000Z"


def _schema_dir() -> Path:
    spec = importlib.util.find_spec("ocpp")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "v201" / "schemas"


def validate(schema_name: str, payload: dict[str, Any]) -> None:
    schema = json.loads((_schema_dir() / f"{schema_name}.json").read_text())
    jsonschema.Draft6Validator(schema).validate(payload)


def ac22() -> tuple[Station, DeviceModel]:
    station = Station("CP-1", CATALOG["ac-22kw-2c"], seed=1)
    return station, DeviceModel(station)


def get_variables(model: DeviceModel, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GetVariables as on the wire: decoded, read at T0, encoded."""
    request = codec.decode_get_variables({"getVariableData": requests})
    results = model.get_variables(request.items, T0)
    answer = codec.encode_get_variables_answer(VariablesAnswer(tuple(results)))
    return list(answer["getVariableResult"])


def set_variables(model: DeviceModel, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    request = codec.decode_set_variables({"setVariableData": requests})
    answer = codec.encode_set_variables_answer(
        VariablesAnswer(tuple(model.set_variables(request.items)))
    )
    return list(answer["setVariableResult"])


def get_one(model: DeviceModel, component: dict[str, Any], variable: str, **kw: Any) -> dict:
    request: dict[str, Any] = {"component": component, "variable": {"name": variable}}
    if "instance" in kw:
        request["variable"]["instance"] = kw.pop("instance")
    request.update(kw)
    return get_variables(model, [request])[0]


def set_one(model: DeviceModel, component: str, variable: str, value: str, **kw: Any) -> dict:
    request: dict[str, Any] = {
        "component": {"name": component},
        "variable": {"name": variable},
        "attributeValue": value,
    }
    if "instance" in kw:
        request["variable"]["instance"] = kw.pop("instance")
    request.update(kw)
    return set_variables(model, [request])[0]


def report(
    model: DeviceModel,
    base: str = "FullInventory",
    *,
    component_variables: list[dict[str, Any]] | None = None,
    component_criteria: list[str] | None = None,
) -> list[dict[str, Any]]:
    """A report's items as ReportDataType: GetReport's filters decoded by the codec."""
    request = codec.decode_get_report(
        {
            "requestId": 1,
            "componentVariable": component_variables or [],
            "componentCriteria": component_criteria or [],
        }
    )
    items = model.report(base, request.filters, request.criteria, now=T0)
    return [dict(codec.report_data(item)) for item in items]


def notify_reports(request_id: int, items: list[ReportItem], per_page: int) -> list[dict]:
    """The NotifyReport payloads of a report, as the machine pages it."""
    chunks = pages(items, per_page)
    return [
        codec.encode_report_page(
            ReportPage(request_id, T0, seq_no, tuple(chunk), seq_no < len(chunks) - 1)
        )[1]
        for seq_no, chunk in enumerate(chunks)
    ]


# -- schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", sorted(CATALOG))
def test_every_report_validates_against_notify_report_schema(slug: str) -> None:
    station = Station("CP-S", CATALOG[slug], seed=2)
    station.plug(1, T0)
    station.set_fault(len(station.connectors), Fault("GroundFault"), T0)
    station.auth_cache.learn("TAG1", IdTagInfo("Accepted"))
    model = DeviceModel(station)
    for base in ("FullInventory", "ConfigurationInventory", "SummaryInventory"):
        items = model.report(base, now=T0)
        assert items
        for payload in notify_reports(7, items, per_page=20):
            validate("NotifyReportRequest", payload)


def test_get_and_set_results_validate_against_response_schemas() -> None:
    _, model = ac22()
    get_requests = [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
        {
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "MessageTimeout", "instance": "Default"},
        },
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}},
        {"component": {"name": "Nope"}, "variable": {"name": "X"}},
        {"component": {"name": "TxCtrlr"}, "variable": {"name": "Nope"}},
        {
            "component": {"name": "ChargingStation"},
            "variable": {"name": "Power"},
            "attributeType": "MaxSet",
        },
        {"component": {"name": "EVSE", "evse": {"id": 2}}, "variable": {"name": "Power"}},
        {
            "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
            "variable": {"name": "ConnectorType"},
        },
        {"component": {"name": "ClockCtrlr"}, "variable": {"name": "DateTime"}},
    ]
    validate("GetVariablesRequest", {"getVariableData": get_requests})
    results = get_variables(model, get_requests)
    validate("GetVariablesResponse", {"getVariableResult": results})
    assert [r["attributeStatus"] for r in results] == [
        "Accepted",
        "Accepted",
        "Rejected",
        "UnknownComponent",
        "UnknownVariable",
        "NotSupportedAttributeType",
        "Accepted",
        "Accepted",
        "Accepted",
    ]
    assert results[-1]["attributeValue"] == "2027-01-15T08:00:00.000Z"

    set_requests = [
        {
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "HeartbeatInterval"},
            "attributeValue": "60",
        },
        {
            "component": {"name": "SecurityCtrlr"},
            "variable": {"name": "BasicAuthPassword"},
            "attributeValue": "0123456789abcdef0123",
        },
        {
            "component": {"name": "ChargingStation"},
            "variable": {"name": "Model"},
            "attributeValue": "X",
        },
        {
            "component": {"name": "TxCtrlr"},
            "variable": {"name": "TxStartPoint"},
            "attributeValue": "Sometime",
        },
        {"component": {"name": "Nope"}, "variable": {"name": "X"}, "attributeValue": "1"},
        {"component": {"name": "AuthCtrlr"}, "variable": {"name": "X"}, "attributeValue": "1"},
        {
            "component": {"name": "AuthCtrlr"},
            "variable": {"name": "Enabled"},
            "attributeValue": "true",
            "attributeType": "Target",
        },
    ]
    validate("SetVariablesRequest", {"setVariableData": set_requests})
    results = set_variables(model, set_requests)
    validate("SetVariablesResponse", {"setVariableResult": results})
    assert [r["attributeStatus"] for r in results] == [
        "Accepted",
        "RebootRequired",
        "Rejected",
        "Rejected",
        "UnknownComponent",
        "UnknownVariable",
        "NotSupportedAttributeType",
    ]


def test_component_and_variable_are_echoed_as_sent() -> None:
    _, model = ac22()
    component = {"name": "ocppcommctrlr"}
    result = get_one(model, component, "heartbeatinterval")
    assert result["attributeStatus"] == "Accepted"
    assert result["component"] == component
    assert result["variable"] == {"name": "heartbeatinterval"}
    assert result["attributeType"] == "Actual"


def test_attribute_value_is_capped_at_reporting_value_size() -> None:
    station = Station("X" * 3000, CATALOG["ac-7kw-1c"])
    result = get_one(DeviceModel(station), {"name": "SecurityCtrlr"}, "Identity")
    assert len(result["attributeValue"]) == 2500
    item = report(
        DeviceModel(station), component_variables=[{"component": {"name": "SecurityCtrlr"}}]
    )
    validate(
        "NotifyReportRequest",
        {"requestId": 1, "generatedAt": GENERATED_AT, "seqNo": 0, "reportData": item},
    )


# -- one setting, two protocols -------------------------------------------------------------


def test_value_set_through_16_key_is_seen_through_the_variable() -> None:
    station, model = ac22()
    assert station.config.set_by_csms("HeartbeatInterval", "42") == "Accepted"
    assert station.config.set_by_csms("ConnectionTimeOut", "90") == "Accepted"
    assert station.config.set_by_csms("AuthorizeRemoteTxRequests", "true") == "Accepted"
    assert get_one(model, {"name": "OCPPCommCtrlr"}, "HeartbeatInterval")["attributeValue"] == "42"
    assert get_one(model, {"name": "TxCtrlr"}, "EVConnectionTimeOut")["attributeValue"] == "90"
    remote = get_one(model, {"name": "AuthCtrlr"}, "AuthorizeRemoteStart")
    assert remote["attributeValue"] == "true"
    attempts = get_one(
        model, {"name": "OCPPCommCtrlr"}, "MessageAttempts", instance="TransactionEvent"
    )
    assert attempts["attributeValue"] == station.config.get("TransactionMessageAttempts")


def test_value_set_through_the_variable_is_seen_through_16_key() -> None:
    station, model = ac22()
    assert set_one(model, "SampledDataCtrlr", "TxUpdatedInterval", "15")["attributeStatus"] == (
        "Accepted"
    )
    result = set_one(model, "SampledDataCtrlr", "TxUpdatedMeasurands", "Voltage, soc")
    assert result["attributeStatus"] == "Accepted"
    assert set_one(model, "AuthCacheCtrlr", "Enabled", "FALSE")["attributeStatus"] == "Accepted"
    result = set_one(
        model, "OCPPCommCtrlr", "MessageAttemptInterval", "5", instance="TransactionEvent"
    )
    assert result["attributeStatus"] == "Accepted"
    assert station.config.get("MeterValueSampleInterval") == "15"
    assert station.config.get("MeterValuesSampledData") == "Voltage,SoC"
    assert station.config.get("AuthorizationCacheEnabled") == "false"
    assert station.config.get("TransactionMessageRetryInterval") == "5"
    entries, _ = station.config.entries(["MeterValuesSampledData"])
    assert entries[0].value == "Voltage,SoC"


def test_write_only_password_lands_in_the_authorization_key_and_never_comes_back() -> None:
    station, model = ac22()
    password = "0123456789abcdef0123"
    result = set_one(model, "SecurityCtrlr", "BasicAuthPassword", password)
    assert result["attributeStatus"] == "RebootRequired"
    assert station.config.get("AuthorizationKey") == password
    got = get_one(model, {"name": "SecurityCtrlr"}, "BasicAuthPassword")
    assert got["attributeStatus"] == "Rejected"
    assert "attributeValue" not in got
    (item,) = report(
        model,
        component_variables=[
            {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}
        ],
    )
    assert "value" not in item["variableAttribute"][0]
    assert model.get_dotted("SecurityCtrlr.BasicAuthPassword") is None
    short = set_one(model, "SecurityCtrlr", "BasicAuthPassword", "short")
    assert short["attributeStatus"] == "Rejected"
    assert station.config.get("AuthorizationKey") == password


def test_reboot_required_follows_the_16_key() -> None:
    station, model = ac22()
    result = set_one(model, "OCPPCommCtrlr", "WebSocketPingInterval", "30")
    assert result["attributeStatus"] == "RebootRequired"
    assert station.config.get("WebSocketPingInterval") == "30"


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("component", "variable", "value"),
    [
        ("ChargingStation", "Model", "Other"),
        ("ChargingStation", "AvailabilityState", "Unavailable"),
        ("SecurityCtrlr", "SecurityProfile", "2"),
        ("ReservationCtrlr", "NonEvseSpecific", "false"),
        ("LocalAuthListCtrlr", "Entries", "5"),
        ("ClockCtrlr", "DateTime", GENERATED_AT),
    ],
)
def test_read_only_variables_are_rejected(component: str, variable: str, value: str) -> None:
    station, model = ac22()
    before = station.config.snapshot()
    result = set_one(model, component, variable, value)
    assert result["attributeStatus"] == "Rejected"
    assert result["attributeStatusInfo"]["reasonCode"] == "ReadOnly"
    assert station.config.snapshot() == before


@pytest.mark.parametrize(
    ("component", "variable", "value", "reason"),
    [
        ("OCPPCommCtrlr", "HeartbeatInterval", "often", "InvalidValue"),
        ("OCPPCommCtrlr", "HeartbeatInterval", "-5", "ValueTooLow"),
        ("OCPPCommCtrlr", "OfflineThreshold", "1.5", "InvalidValue"),
        ("AuthCtrlr", "LocalPreAuthorize", "yes", "InvalidValue"),
        ("AuthCacheCtrlr", "LifeTime", "0", "ValueTooLow"),
        ("SampledDataCtrlr", "TxEndedMeasurands", "Temperature", "InvalidValue"),
        ("ClockCtrlr", "TimeSource", "Sundial", "InvalidValue"),
        ("OCPPCommCtrlr", "NetworkConfigurationPriority", "2", "InvalidValue"),
    ],
)
def test_bad_values_are_rejected_and_not_stored(
    component: str, variable: str, value: str, reason: str
) -> None:
    station, model = ac22()
    before = station.config.snapshot()
    result = set_one(model, component, variable, value)
    assert result["attributeStatus"] == "Rejected"
    assert result["attributeStatusInfo"]["reasonCode"] == reason
    assert station.config.snapshot() == before


def test_tx_start_point_is_a_member_list() -> None:
    station, model = ac22()
    assert model.tx_start_points() == {"PowerPathClosed"}
    assert model.tx_stop_points() == {"EVConnected", "Authorized"}
    for bad in ("Sometime", "EVConnected,Sometime", "", " , ", "Authorized,authorized"):
        result = set_one(model, "TxCtrlr", "TxStartPoint", bad)
        assert result["attributeStatus"] == "Rejected", bad
    assert model.tx_start_points() == {"PowerPathClosed"}
    result = set_one(model, "TxCtrlr", "TxStartPoint", "evconnected, Authorized")
    assert result["attributeStatus"] == "Accepted"
    assert model.tx_start_points() == {"EVConnected", "Authorized"}
    value = get_one(model, {"name": "TxCtrlr"}, "TxStartPoint")["attributeValue"]
    assert value == "EVConnected,Authorized"
    assert set_one(model, "TxCtrlr", "TxStopPoint", "EnergyTransfer")["attributeStatus"] == (
        "Accepted"
    )
    assert model.tx_stop_points() == {"EnergyTransfer"}


def test_held_value_written_unchecked_through_16_falls_back_to_the_default() -> None:
    station, model = ac22()
    set_one(model, "TxCtrlr", "TxStartPoint", "Authorized")
    # Now a custom key: 1.6 ChangeConfiguration accepts anything for it.
    assert station.config.set_by_csms("TxCtrlr.TxStartPoint", "garbage") == "Accepted"
    assert model.tx_start_points() == {"PowerPathClosed"}


# -- addressing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "component",
    [
        {"name": "NoSuchCtrlr"},
        {"name": "EVSE"},
        {"name": "EVSE", "evse": {"id": 3}},
        {"name": "EVSE", "evse": {"id": 1, "connectorId": 1}},
        {"name": "Connector", "evse": {"id": 1}},
        {"name": "Connector", "evse": {"id": 1, "connectorId": 2}},
        {"name": "OCPPCommCtrlr", "evse": {"id": 1}},
        {"name": "OCPPCommCtrlr", "instance": "Other"},
    ],
)
def test_unknown_components(component: dict[str, Any]) -> None:
    _, model = ac22()
    result = get_one(model, component, "AvailabilityState")
    assert result["attributeStatus"] == "UnknownComponent"
    assert set_one(model, "NoSuchCtrlr", "Enabled", "true")["attributeStatus"] == (
        "UnknownComponent"
    )


def test_unknown_variables_and_instances() -> None:
    _, model = ac22()
    assert get_one(model, {"name": "TxCtrlr"}, "NoSuch")["attributeStatus"] == "UnknownVariable"
    wrong_instance = get_one(model, {"name": "OCPPCommCtrlr"}, "MessageTimeout", instance="X")
    assert wrong_instance["attributeStatus"] == "UnknownVariable"
    # One instance only: found without naming it. Several: the name alone is not enough.
    assert get_one(model, {"name": "OCPPCommCtrlr"}, "MessageTimeout")["attributeValue"] == "30"
    ambiguous = get_one(model, {"name": "DeviceDataCtrlr"}, "ItemsPerMessage")
    assert ambiguous["attributeStatus"] == "UnknownVariable"


# -- live values ----------------------------------------------------------------------------


def test_availability_and_problem_follow_the_station() -> None:
    station, model = ac22()

    def state(component: dict[str, Any]) -> str:
        return get_one(model, component, "AvailabilityState")["attributeValue"]

    evse1 = {"name": "EVSE", "evse": {"id": 1}}
    connector2 = {"name": "Connector", "evse": {"id": 2, "connectorId": 1}}
    assert state(evse1) == "Available"
    station.plug(1, T0)
    assert state(evse1) == "Occupied"
    station.set_fault(2, Fault("GroundFault"), T0)
    assert state(connector2) == "Faulted"
    assert get_one(model, connector2, "Problem")["attributeValue"] == "true"
    station.change_availability(0, False, T0)
    assert state({"name": "ChargingStation"}) == "Unavailable"


def test_entries_storage_and_power_are_live() -> None:
    station, model = ac22()
    entries = get_one(model, {"name": "LocalAuthListCtrlr"}, "Entries")
    assert entries["attributeValue"] == "0"
    station.local_list.update(
        1, "Full", [("A", IdTagInfo("Accepted")), ("B", IdTagInfo("Blocked"))]
    )
    assert get_one(model, {"name": "LocalAuthListCtrlr"}, "Entries")["attributeValue"] == "2"
    storage = get_one(model, {"name": "LocalAuthListCtrlr"}, "Storage")["attributeValue"]
    assert int(storage) > 0
    station.plug(1, T0)
    tx = station.begin_transaction(1, "A", T0)
    station.confirm(tx, T0)
    power = get_one(model, {"name": "EVSE", "evse": {"id": 1}}, "Power")["attributeValue"]
    assert float(power) == pytest.approx(station.connectors[1].power_w, abs=0.1)
    assert float(power) > 0


def test_catalog_facts() -> None:
    station = Station("CP-DC", CATALOG["dc-50kw-ccs-chademo"])
    model = DeviceModel(station)
    assert model.get_dotted("Connector[1].ConnectorType") == "cCCS2"
    assert model.get_dotted("Connector[2:1].ConnectorType") == "cG105"
    assert model.get_dotted("ChargingStation.Model") == "RapidCube 50"
    assert model.get_dotted("ChargingStation.VendorName") == "Voltlab"
    assert model.get_dotted("EVSE[2].SupplyPhases") == "0"
    assert model.get_dotted("ClockCtrlr.DateTime", now=T0) == "2027-01-15T08:00:00.000Z"
    (power,) = report(
        model,
        component_variables=[
            {"component": {"name": "EVSE", "evse": {"id": 2}}, "variable": {"name": "Power"}}
        ],
    )
    assert power["variableCharacteristics"]["maxLimit"] == 50_000
    assert power["variableCharacteristics"]["unit"] == "W"
    ac = DeviceModel(Station("CP-AC", CATALOG["ac-22kw-2c"]))
    assert ac.get_dotted("Connector[1].ConnectorType") == "cType2"
    assert ac.get_dotted("ChargingStation.SupplyPhases") == "3"


# -- reports --------------------------------------------------------------------------------


def test_full_inventory_lists_every_evse_and_connector() -> None:
    _, model = ac22()
    items = report(model, "FullInventory")
    physical = {
        (
            item["component"]["name"],
            item["component"]["evse"]["id"],
            item["component"]["evse"].get("connectorId"),
        )
        for item in items
        if "evse" in item["component"]
    }
    assert physical == {
        ("EVSE", 1, None),
        ("EVSE", 2, None),
        ("Connector", 1, 1),
        ("Connector", 2, 1),
    }
    names = {item["component"]["name"] for item in items}
    assert {
        "OCPPCommCtrlr",
        "TxCtrlr",
        "AuthCtrlr",
        "AuthCacheCtrlr",
        "LocalAuthListCtrlr",
        "SampledDataCtrlr",
        "AlignedDataCtrlr",
        "SmartChargingCtrlr",
        "ReservationCtrlr",
        "SecurityCtrlr",
        "DeviceDataCtrlr",
        "ClockCtrlr",
        "ChargingStation",
    } <= names
    monitorable = set()
    for item in items:
        characteristics = item["variableCharacteristics"]
        if characteristics["supportsMonitoring"]:
            monitorable.add((item["component"]["name"], item["variable"]["name"]))
        if characteristics["dataType"] in ("OptionList", "MemberList", "SequenceList"):
            assert characteristics["valuesList"]
    # A monitor watches what the station may change and report: not a constant, not a
    # write-only secret, not the clock.
    assert {("EVSE", "Power"), ("Connector", "AvailabilityState"), ("EVSE", "Problem")} <= (
        monitorable
    )
    assert ("ClockCtrlr", "DateTime") not in monitorable
    assert ("SecurityCtrlr", "BasicAuthPassword") not in monitorable
    assert ("ChargingStation", "VendorName") not in monitorable


def test_configuration_and_summary_inventories() -> None:
    _, model = ac22()
    configuration = report(model, "ConfigurationInventory")
    mutabilities = {item["variableAttribute"][0]["mutability"] for item in configuration}
    assert mutabilities == {"ReadWrite", "WriteOnly"}
    summary = report(model, "SummaryInventory")
    assert {item["variable"]["name"] for item in summary} == {
        "AvailabilityState",
        "Available",
        "Problem",
    }
    with pytest.raises(ValueError):
        model.report("EverythingInventory", now=T0)


def test_get_report_filters() -> None:
    station, model = ac22()
    whole = report(model, component_variables=[{"component": {"name": "EVSE"}}])
    assert {item["component"]["evse"]["id"] for item in whole} == {1, 2}
    one = report(model, component_variables=[{"component": {"name": "evse", "evse": {"id": 2}}}])
    assert {item["component"]["evse"]["id"] for item in one} == {2}
    instance = report(
        model,
        component_variables=[
            {
                "component": {"name": "DeviceDataCtrlr"},
                "variable": {"name": "ItemsPerMessage", "instance": "GetReport"},
            }
        ],
    )
    assert [item["variable"] for item in instance] == [
        {"name": "ItemsPerMessage", "instance": "GetReport"}
    ]
    assert report(model, component_criteria=["Problem"]) == []
    station.set_fault(1, Fault("OverVoltage"), T0)
    problem = report(model, component_criteria=["Problem"])
    assert {(item["component"]["name"], item["component"]["evse"]["id"]) for item in problem} == {
        ("EVSE", 1),
        ("Connector", 1),
    }
    enabled = report(model, component_criteria=["Enabled"])
    enabled_names = {item["component"]["name"] for item in enabled}
    assert "SmartChargingCtrlr" in enabled_names  # charging profiles are simulated
    # TxCtrlr has no Enabled variable, so it never meets the criterion.
    assert "TxCtrlr" not in enabled_names
    assert {"AuthCtrlr", "AuthCacheCtrlr", "ReservationCtrlr"} <= enabled_names


def test_paging() -> None:
    _, model = ac22()
    items = model.report(now=T0)
    chunks = pages(items, 25)
    assert [len(chunk) for chunk in chunks[:-1]] == [25] * (len(chunks) - 1)
    assert 0 < len(chunks[-1]) <= 25
    assert sum(len(chunk) for chunk in chunks) == len(items)
    assert pages(items, len(items)) == [items]
    assert pages([], 10) == []
    with pytest.raises(ValueError):
        pages(items, 0)
    messages = notify_reports(3, items, per_page=25)
    assert [m["seqNo"] for m in messages] == list(range(len(chunks)))
    assert [m.get("tbc", False) for m in messages] == [True] * (len(chunks) - 1) + [False]
    assert {m["generatedAt"] for m in messages} == {GENERATED_AT}
    assert notify_reports(3, [], per_page=25) == []


# -- persistence ----------------------------------------------------------------------------


def test_2x_only_values_survive_the_station_snapshot() -> None:
    station, model = ac22()
    set_one(model, "TxCtrlr", "TxStartPoint", "EVConnected")
    set_one(model, "TxCtrlr", "TxBeforeAcceptedEnabled", "true")
    set_one(model, "OCPPCommCtrlr", "HeartbeatInterval", "77")
    set_one(model, "SecurityCtrlr", "OrganizationName", "ACME Charging")
    snapshot = json.loads(json.dumps(station_snapshot(station)))
    restored = Station("CP-1", CATALOG["ac-22kw-2c"], config=snapshot["config"])
    again = DeviceModel(restored)
    assert again.tx_start_points() == {"EVConnected"}
    assert again.get_dotted("TxCtrlr.TxBeforeAcceptedEnabled") == "true"
    assert again.get_dotted("OCPPCommCtrlr.HeartbeatInterval") == "77"
    assert restored.config.get("HeartbeatInterval") == "77"
    assert again.get_dotted("SecurityCtrlr.OrganizationName") == "ACME Charging"
    # Untouched 2.x-only settings are not written out: they stay defaults.
    assert "TxCtrlr.TxStopPoint" not in snapshot["config"]


# -- Component.Variable names ---------------------------------------------------------------


def test_dotted_names_for_the_configuration_command() -> None:
    station, model = ac22()
    assert model.set_dotted("OCPPCommCtrlr.HeartbeatInterval", "120") == "120"
    assert station.config.get("HeartbeatInterval") == "120"
    assert model.get_dotted("ocppcommctrlr.heartbeatinterval") == "120"
    assert model.set_dotted("TxCtrlr.TxStopPoint", "EVConnected") == "EVConnected"
    assert model.tx_stop_points() == {"EVConnected"}
    assert model.set_dotted("OCPPCommCtrlr.MessageTimeout[Default]", "45") == "45"
    assert model.get_dotted("OCPPCommCtrlr.MessageTimeout") == "45"
    # The operator may change what the CSMS may not (like StationConfig.set_local).
    assert model.set_dotted("SecurityCtrlr.SecurityProfile", "1") == "1"
    assert station.config.get("SecurityProfile") == "1"
    assert model.get_dotted("EVSE[1].AvailabilityState") == "Available"
    assert model.config_key("OCPPCommCtrlr.HeartbeatInterval") == "HeartbeatInterval"
    assert model.config_key("TxCtrlr.TxStartPoint") == "TxCtrlr.TxStartPoint"
    assert model.config_key("ChargingStation.Model") is None


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("HeartbeatInterval", "10", "not a Component.Variable name"),
        ("NoSuchCtrlr.Enabled", "true", "unknown component"),
        ("TxCtrlr.NoSuch", "1", "is unknown"),
        ("DeviceDataCtrlr.ItemsPerMessage", "5", "ambiguous"),
        ("EVSE.AvailabilityState", "Available", "needs an existing EVSE id"),
        ("EVSE[9].AvailabilityState", "Available", "needs an existing EVSE id"),
        ("TxCtrlr[1].TxStartPoint", "Authorized", "whole station"),
        ("ChargingStation.Model", "X", "derived from the station"),
        ("OCPPCommCtrlr.HeartbeatInterval", "soon", "takes an integer"),
        ("TxCtrlr.TxStartPoint", "Whenever", "not in"),
    ],
)
def test_dotted_errors_are_clear(name: str, value: str, fragment: str) -> None:
    _, model = ac22()
    with pytest.raises(ValueError, match=fragment) as caught:
        model.set_dotted(name, value)
    assert isinstance(caught.value, DeviceModelError)


def test_date_time_needs_the_clock() -> None:
    _, model = ac22()
    with pytest.raises(DeviceModelError):
        model.get_dotted("ClockCtrlr.DateTime")


def test_pages_is_also_a_method() -> None:
    _, model = ac22()
    items = model.report(now=T0)
    assert model.pages(items, 30) == pages(items, 30)
