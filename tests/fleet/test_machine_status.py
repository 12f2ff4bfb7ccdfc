"""Status reporting as a station-machine flow, event by event: what 1.6 and 2.x report, one
report at a time, nothing offline, and a failed report reported again; plus the codecs of
StatusNotification and the 2.x charging-state event against the OCA schemas."""

from __future__ import annotations

import pytest

from fleet.machine_support import register
from voltlab.fleet.codecs import ocpp16_sessions as codec16
from voltlab.fleet.codecs import ocpp201_sessions as codec2x
from voltlab.fleet.machine.effects import Answer, Persist, SendCall
from voltlab.fleet.machine.events import (
    CallAbandoned,
    CallAnswered,
    CallFailed,
    Disconnected,
    GatewayCommand,
)
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.session_messages import (
    ChargingStateChanged,
    PlugIn,
    Received,
    ReportStatuses,
    SessionResult,
    StatusReport,
    TransactionRef,
)
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.records import Fault
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

T0 = 1_800_000_000.0


def machine(*, folds: bool) -> StationMachine:
    station = Station("CP-ST", CATALOG["ac-22kw-2c"], seed=5)
    m = StationMachine(
        station, MachineSettings(reports_reservation_ends=folds, folds_statuses_2x=folds)
    )
    register(m, T0, report_all=False)
    return m


DONE = Answer(SessionResult(None))  # a command's end


def report(m: StationMachine, at: float = T0, **command: object) -> list[object]:
    return list(m.handle(GatewayCommand(ReportStatuses(**command)), at))  # type: ignore[arg-type]


def answer_all(m: StationMachine, effects: list[object], at: float = T0) -> list[StatusReport]:
    """Answer every StatusNotification in turn; what was sent, in order."""
    sent: list[StatusReport] = []
    while effects and isinstance(effects[-1], SendCall):
        call = effects[-1]
        assert isinstance(call.message, StatusReport)
        sent.append(call.message)
        effects = list(m.handle(CallAnswered(call.call_id or 0, Received()), at))
    return sent


def test_16_reports_every_connector_and_the_station_one_at_a_time() -> None:
    m = machine(folds=False)
    effects = report(m)
    assert effects[0] == Persist() and len(effects) == 2  # one call at a time
    # A second report while the first waits starts nothing: the running one picks it up.
    assert report(m) == [Persist(), DONE]
    sent = answer_all(m, effects)
    assert [(s.connector_id, s.status) for s in sent] == [
        (0, "Available"),
        (1, "Available"),
        (2, "Available"),
    ]
    assert report(m) == [Persist(), DONE]  # nothing changed since
    m.station.set_fault(2, Fault("GroundFault", "E-12", "leak"), T0 + 5)
    sent = answer_all(m, report(m, T0 + 5), T0 + 5)
    assert [(s.connector_id, s.status, s.error_code, s.vendor_error_code) for s in sent] == [
        (2, "Faulted", "GroundFault", "E-12")
    ]
    assert sent[0].sent_at == T0 + 5


def test_offline_nothing_is_reported_and_a_failed_report_is_reported_again() -> None:
    m = machine(folds=False)
    m.handle(Disconnected(), T0)
    assert report(m) == [Persist(), DONE]
    register(m, T0 + 1, report_all=False)
    effects = report(m, T0 + 1)
    call = effects[-1]
    assert isinstance(call, SendCall)
    failed = m.handle(CallFailed(call.call_id or 0, "connection_lost"), T0 + 1)
    assert failed == [DONE]
    # Forgotten: the next report starts from the station again.
    sent = answer_all(m, report(m, T0 + 2), T0 + 2)
    assert [s.connector_id for s in sent] == [0, 1, 2]


def test_2x_folds_reports_per_evse_and_tells_the_charging_state() -> None:
    m = machine(folds=True)
    sent = answer_all(m, report(m))
    assert [(s.connector_id, s.status) for s in sent] == [(1, "Available"), (2, "Available")]
    # Preparing and Available fold alike only when nothing is plugged: a cable is Occupied.
    m.station.plug(1, T0 + 1)
    sent = answer_all(m, report(m, T0 + 1), T0 + 1)
    assert [(s.connector_id, s.status) for s in sent] == [(1, "Occupied")]
    # A transaction announced (seqNo 1 next) starts EVConnected; charging is a change.
    tx = m.station.begin_transaction(1, "TAG", T0 + 2)
    tx.transaction_id, tx.seq_no = "tx-1", 1
    m.station.confirm(tx, T0 + 2)
    effects = report(m, T0 + 3)
    call = effects[-1]
    assert isinstance(call, SendCall)
    assert call.message == ChargingStateChanged(
        TransactionRef(tx.local_id, 1, "tx-1", 1), "Charging", "ChargingStateChanged", T0 + 3
    )
    assert tx.seq_no == 2
    assert m.handle(CallAnswered(call.call_id or 0, Received()), T0 + 3) == [DONE]


def test_trigger_reports_the_asked_connectors_whatever_was_reported() -> None:
    m = machine(folds=True)
    answer_all(m, report(m))
    sent = answer_all(m, report(m, T0 + 9, again=True, connector_ids=(2,)), T0 + 9)
    assert [(s.connector_id, s.status) for s in sent] == [(2, "Available")]


def test_16_codec_per_schema() -> None:
    schemas = SchemaSet(OCPP16, schema_directory(OCPP16))
    action, payload = codec16.encode_session_call(
        StatusReport(2, "Faulted", "GroundFault", "x" * 60, "E-12", T0)
    )
    assert action == "StatusNotification"
    assert payload["errorCode"] == "GroundFailure" and len(payload["info"]) == 50
    assert payload["vendorErrorCode"] == "E-12" and payload["vendorId"]
    schemas.validate_request(action, payload)


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_codec_per_schema(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))
    action, payload = codec2x.encode_session_call(StatusReport(1, "Occupied", None, None, None, T0))
    assert payload == {
        "timestamp": "2027-01-15T08:00:00.000Z",
        "connectorStatus": "Occupied",
        "evseId": 1,
        "connectorId": 1,
    }
    schemas.validate_request(action, payload)
    ref = TransactionRef(1, 1, "tx-1", 4)
    event = ChargingStateChanged(ref, "SuspendedEV", "ChargingStateChanged", T0)
    action, payload = codec2x.encode_session_call(event)
    assert (action, payload["seqNo"], payload["transactionInfo"]) == (
        "TransactionEvent",
        4,
        {"transactionId": "tx-1", "chargingState": "SuspendedEV"},
    )
    schemas.validate_request(action, payload)


def test_an_abandoned_report_lets_the_next_one_go() -> None:
    """The driver's task sending a status report is cancelled (the connection closed under
    it): the flow is closed, so the next report is sent instead of waiting for a dead one."""
    m = machine(folds=False)
    first = report(m)
    assert isinstance(first[-1], SendCall) and m.flows.waiting == 1
    assert m.handle(CallAbandoned(first[-1].call_id or 0), T0) == []
    assert m.flows.waiting == 0
    again = report(m)
    assert isinstance(again[-1], SendCall) and isinstance(again[-1].message, StatusReport)
    assert len(answer_all(m, again)) == 3  # the station and both connectors


def test_a_status_superseded_while_reports_are_on_the_wire_is_not_sent() -> None:
    """Every status is reported again after registration; a cable plugged in while the first
    report waits for its answer makes connector 1's Available stale: it is not sent, and
    Preparing is (no Available after the cable went in)."""
    m = machine(folds=False)
    first = report(m, again=True)
    assert isinstance(first[-1], SendCall) and first[-1].message.connector_id == 0
    plugged = m.handle(GatewayCommand(PlugIn(1)), T0 + 1)
    assert not any(isinstance(e, SendCall) for e in plugged)  # the running report picks it up
    rest = list(m.handle(CallAnswered(first[-1].call_id or 0, Received()), T0 + 1))
    sent = [(r.connector_id, r.status) for r in answer_all(m, rest, T0 + 1)]
    assert sent == [(2, "Available"), (1, "Preparing")]
