"""Configuration as station-machine flows, driven event by event with explicit `now` values:
1.6 ChangeConfiguration / GetConfiguration, and the 2.x device model (GetVariables,
SetVariables, GetBaseReport / GetReport with their NotifyReport pages, one after the other).
A HeartbeatInterval change re-arms the heartbeat before the answer; values and reports are
read at the event's `now`. Plus the codecs against the OCA schemas."""

from __future__ import annotations

import math
from typing import Any

import pytest

from fleet.machine_support import register
from voltlab.fleet.codecs import ocpp16_configuration as codec16
from voltlab.fleet.codecs import ocpp201_device_model as codec2x
from voltlab.fleet.machine.configuration_messages import (
    ChangeConfiguration,
    ChangeConfigurationAnswer,
    ConfigurationAnswer,
    GetBaseReport,
    GetConfiguration,
    GetReport,
    GetVariables,
    ReportAnswer,
    ReportPage,
    SetVariables,
    VariablesAnswer,
)
from voltlab.fleet.machine.effects import Answer, CancelTimer, Effect, Persist, SendCall, SetTimer
from voltlab.fleet.machine.events import CallAnswered, CallFailed, CsmsRequest
from voltlab.fleet.machine.flows.configuration import REPORT_PAGE
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.session_messages import Received
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.config import ConfigurationEntry
from voltlab.fleet.model.device_model_types import (
    ComponentRef,
    Refusal,
    ReportFilter,
    VariableGet,
    VariableRef,
    VariableResult,
    VariableSet,
)
from voltlab.fleet.model.station import Fault, Station
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

T0 = 1_800_000_000.0
HEARTBEAT = "heartbeat"
COMM = ComponentRef("OCPPCommCtrlr")
CLOCK = ComponentRef("ClockCtrlr")


def machine(*, registered: bool = True) -> StationMachine:
    m = StationMachine(
        Station("CP-CFG", CATALOG["ac-22kw-2c"], seed=1),
        MachineSettings(reports_reservation_ends=False),
    )
    if registered:
        register(m, T0)  # HeartbeatInterval a day: 86 400 s
    return m


def request(m: StationMachine, message: Any, now: float) -> list[Effect]:
    return m.handle(CsmsRequest(message), now)


# -- 1.6 ---------------------------------------------------------------------------------------


def test_change_configuration_heartbeat_interval_rearms_before_the_answer() -> None:
    m = machine()
    assert request(m, ChangeConfiguration("HeartbeatInterval", "10"), T0 + 40) == [
        Persist(),
        SetTimer(HEARTBEAT, T0 + 50),
        Answer(ChangeConfigurationAnswer("Accepted")),
    ]
    assert m.station.config.get_int("HeartbeatInterval") == 10
    # 0 stops the heartbeat; any other key changes no timer.
    assert request(m, ChangeConfiguration("HeartbeatInterval", "0"), T0 + 41) == [
        Persist(),
        CancelTimer(HEARTBEAT),
        Answer(ChangeConfigurationAnswer("Accepted")),
    ]
    assert request(m, ChangeConfiguration("MeterValueSampleInterval", "15"), T0 + 42) == [
        Persist(),
        Answer(ChangeConfigurationAnswer("Accepted")),
    ]


def test_change_configuration_refusals_store_nothing() -> None:
    m = machine()
    before = m.station.config.snapshot()
    for key, value, status in [
        ("HeartbeatInterval", "soon", "Rejected"),
        ("NumberOfConnectors", "4", "Rejected"),
        ("Unheard", "1", "NotSupported"),
    ]:
        answer = request(m, ChangeConfiguration(key, value), T0)
        assert answer == [Answer(ChangeConfigurationAnswer(status))], key  # type: ignore[arg-type]
    assert m.station.config.snapshot() == before
    # RebootRequired is stored (and persisted) like Accepted.
    assert request(m, ChangeConfiguration("WebSocketPingInterval", "20"), T0) == [
        Persist(),
        Answer(ChangeConfigurationAnswer("RebootRequired")),
    ]
    assert m.station.config.get("WebSocketPingInterval") == "20"


def test_a_heartbeat_interval_before_registration_arms_nothing() -> None:
    m = machine(registered=False)
    assert request(m, ChangeConfiguration("HeartbeatInterval", "10"), T0) == [
        Persist(),
        Answer(ChangeConfigurationAnswer("Accepted")),
    ]


def test_get_configuration_some_keys_and_all() -> None:
    m = machine()
    keys = ("HeartbeatInterval", "Bogus", "AuthorizationKey")
    assert request(m, GetConfiguration(keys), T0) == [
        Answer(
            ConfigurationAnswer(
                (
                    ConfigurationEntry("HeartbeatInterval", False, "86400"),
                    ConfigurationEntry("AuthorizationKey", False, None),  # write-only
                ),
                ("Bogus",),
            )
        )
    ]
    [answer] = request(m, GetConfiguration(None), T0)
    assert isinstance(answer, Answer) and isinstance(answer.message, ConfigurationAnswer)
    everything = {entry.key: entry for entry in answer.message.entries}
    assert everything["NumberOfConnectors"] == ConfigurationEntry("NumberOfConnectors", True, "2")
    assert answer.message.unknown == ()


# -- 2.x device model ------------------------------------------------------------------------


def test_get_variables_reads_at_the_events_now() -> None:
    m = machine()
    clock = VariableGet(CLOCK, VariableRef("DateTime"))
    heartbeat = VariableGet(COMM, VariableRef("heartbeatinterval"))  # names are not cased
    target = VariableGet(COMM, VariableRef("HeartbeatInterval"), attribute_type="Target")
    [answer] = request(m, GetVariables((clock, heartbeat, target)), T0)
    assert answer == Answer(
        VariablesAnswer(
            (
                VariableResult(
                    CLOCK, VariableRef("DateTime"), "Actual", "Accepted", format_timestamp(T0)
                ),
                VariableResult(
                    COMM, VariableRef("heartbeatinterval"), "Actual", "Accepted", "86400"
                ),
                VariableResult(
                    COMM,
                    VariableRef("HeartbeatInterval"),
                    "Target",
                    "NotSupportedAttributeType",
                    None,
                    Refusal("UnsupportedParam", "only Actual"),
                ),
            )
        )
    )
    [later] = request(m, GetVariables((clock,)), T0 + 3600)
    assert isinstance(later, Answer) and isinstance(later.message, VariablesAnswer)
    assert later.message.results[0].value == format_timestamp(T0 + 3600)


def test_set_variables_persists_and_rearms_the_heartbeat_once() -> None:
    m = machine()
    twice = (
        VariableSet(ComponentRef("ocppcommctrlr"), VariableRef("HeartbeatInterval"), "20"),
        VariableSet(COMM, VariableRef("HeartbeatInterval"), "30"),
        VariableSet(ComponentRef("ChargingStation"), VariableRef("Model"), "X"),
    )
    effects = request(m, SetVariables(twice), T0 + 5)
    assert effects[:2] == [Persist(), SetTimer(HEARTBEAT, T0 + 35)]
    [answer] = effects[2:]
    assert isinstance(answer, Answer) and isinstance(answer.message, VariablesAnswer)
    assert [r.status for r in answer.message.results] == ["Accepted", "Accepted", "Rejected"]
    assert answer.message.results[2].refusal == Refusal(
        "ReadOnly", "ChargingStation.Model is read-only"
    )
    assert m.station.config.get_int("HeartbeatInterval") == 30
    # A variable another setting stands behind changes no timer.
    interval = VariableSet(ComponentRef("SampledDataCtrlr"), VariableRef("TxUpdatedInterval"), "15")
    assert request(m, SetVariables((interval,)), T0 + 6)[:-1] == [Persist()]
    assert m.station.config.get_int("MeterValueSampleInterval") == 15


def test_base_report_answered_then_paged_one_after_the_other() -> None:
    m = machine()
    effects = request(m, GetBaseReport(5, "FullInventory"), T0 + 5)
    inventory = m.device_model.report("FullInventory", now=T0 + 5)
    count = math.ceil(len(inventory) / REPORT_PAGE)
    assert count >= 4
    assert effects[0] == Answer(ReportAnswer("Accepted"))
    [call] = effects[1:]
    pages: list[ReportPage] = []
    for seq_no in range(count):
        assert isinstance(call, SendCall) and isinstance(call.message, ReportPage)
        page = call.message
        pages.append(page)
        assert (page.request_id, page.seq_no, page.generated_at) == (5, seq_no, T0 + 5)
        assert page.more_follow == (seq_no < count - 1)
        after = m.handle(CallAnswered(call.call_id or 0, Received()), T0 + 6 + seq_no)
        if seq_no < count - 1:
            [call] = after
        else:
            assert after == []
    assert [item for page in pages for item in page.items] == inventory
    assert all(len(page.items) == REPORT_PAGE for page in pages[:-1])
    assert m.flows.waiting == 0


def test_a_page_the_csms_did_not_get_ends_the_report() -> None:
    m = machine()
    [_, call] = request(m, GetBaseReport(6, "FullInventory"), T0)
    assert isinstance(call, SendCall)
    assert m.handle(CallFailed(call.call_id or 0, "timeout", "no answer"), T0 + 30) == []
    assert m.flows.waiting == 0


def test_get_report_filters_and_empty_results() -> None:
    m = machine()
    tx_ctrlr = GetReport(7, (ReportFilter(ComponentRef("TxCtrlr")),), ())
    [answer, call] = request(m, tx_ctrlr, T0)
    assert answer == Answer(ReportAnswer("Accepted"))
    assert isinstance(call, SendCall) and isinstance(call.message, ReportPage)
    assert {item.component.name for item in call.message.items} == {"TxCtrlr"}
    assert not call.message.more_follow
    # Nothing has a problem: nothing to report, and no NotifyReport follows.
    problems = GetReport(8, (), ("Problem",))
    assert request(m, problems, T0) == [Answer(ReportAnswer("EmptyResultSet"))]
    m.station.set_fault(2, Fault("GroundFault"), T0)
    [_, call] = request(m, problems, T0 + 1)
    assert isinstance(call, SendCall) and isinstance(call.message, ReportPage)
    assert {(i.component.name, i.component.evse_id) for i in call.message.items} == {
        ("EVSE", 2),
        ("Connector", 2),
    }
    assert request(m, GetBaseReport(9, "Everything"), T0) == [Answer(ReportAnswer("NotSupported"))]


# -- codecs ------------------------------------------------------------------------------------


def test_16_codec_per_schema() -> None:
    schemas = SchemaSet(OCPP16, schema_directory(OCPP16))
    change = {"key": "HeartbeatInterval", "value": "10"}
    schemas.validate_request("ChangeConfiguration", change)
    assert codec16.decode_change_configuration(change) == ChangeConfiguration(
        "HeartbeatInterval", "10"
    )
    for status in ("Accepted", "Rejected", "RebootRequired", "NotSupported"):
        body = codec16.encode_change_configuration_answer(ChangeConfigurationAnswer(status))  # type: ignore[arg-type]
        schemas.validate_response("ChangeConfiguration", body)
    for payload, keys in [({}, None), ({"key": ["A", "B"]}, ("A", "B"))]:
        schemas.validate_request("GetConfiguration", payload)
        assert codec16.decode_get_configuration(payload) == GetConfiguration(keys)
    answer = ConfigurationAnswer(
        (
            ConfigurationEntry("HeartbeatInterval", False, "60"),
            ConfigurationEntry("AuthorizationKey", False, None),
        ),
        ("Bogus",),
    )
    body = dict(codec16.encode_configuration_answer(answer))
    schemas.validate_response("GetConfiguration", body)
    assert body == {
        "configurationKey": [
            {"key": "HeartbeatInterval", "readonly": False, "value": "60"},
            {"key": "AuthorizationKey", "readonly": False},
        ],
        "unknownKey": ["Bogus"],
    }
    everything = ConfigurationAnswer((), ())
    assert codec16.encode_configuration_answer(everything) == {"configurationKey": []}


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_codec_per_schema(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))
    connector = {"name": "Connector", "evse": {"id": 2, "connectorId": 1}}
    get = {"getVariableData": [{"component": connector, "variable": {"name": "ConnectorType"}}]}
    schemas.validate_request("GetVariables", get)
    decoded = codec2x.decode_get_variables(get)
    assert decoded == GetVariables(
        (VariableGet(ComponentRef("Connector", 2, 1), VariableRef("ConnectorType")),)
    )
    m = machine()
    [answer] = request(m, decoded, T0)
    assert isinstance(answer, Answer) and isinstance(answer.message, VariablesAnswer)
    body = codec2x.encode_get_variables_answer(answer.message)
    schemas.validate_response("GetVariables", body)
    assert body["getVariableResult"][0]["component"] == connector  # echoed as sent
    assert body["getVariableResult"][0]["attributeValue"] == "cType2"
    long_info = VariableResult(
        COMM, VariableRef("X"), "Actual", "Rejected", None, Refusal("R", "i" * 600)
    )
    refused = codec2x.encode_set_variables_answer(VariablesAnswer((long_info,)))
    schemas.validate_response("SetVariables", refused)
    report = {
        "requestId": 3,
        "componentVariable": [
            {
                "component": {"name": "DeviceDataCtrlr"},
                "variable": {"name": "ItemsPerMessage", "instance": "GetReport"},
            }
        ],
        "componentCriteria": ["Available"],
    }
    schemas.validate_request("GetReport", report)
    assert codec2x.decode_get_report(report) == GetReport(
        3,
        (
            ReportFilter(
                ComponentRef("DeviceDataCtrlr"), VariableRef("ItemsPerMessage", "GetReport")
            ),
        ),
        ("Available",),
    )
    base = {"requestId": 4, "reportBase": "SummaryInventory"}
    schemas.validate_request("GetBaseReport", base)
    assert codec2x.decode_get_base_report(base) == GetBaseReport(4, "SummaryInventory")
    for status in ("Accepted", "EmptyResultSet", "NotSupported"):
        answer_body = codec2x.encode_report_answer(ReportAnswer(status))  # type: ignore[arg-type]
        schemas.validate_response("GetBaseReport", answer_body)
        schemas.validate_response("GetReport", answer_body)
    items = tuple(m.device_model.report("SummaryInventory", now=T0))
    for more_follow in (True, False):
        action, page = codec2x.encode_report_page(ReportPage(4, T0, 1, items, more_follow))
        schemas.validate_request(action, page)
        assert ("tbc" in page) == more_follow and page["generatedAt"] == format_timestamp(T0)
