"""TriggerMessage as a station-machine flow, driven event by event with explicit `now`
values: the answer first (Accepted, Rejected for an unknown connector or EVSE, NotImplemented
for a message the version's codec has no word for), then exactly what was asked for. On 1.6
(TriggerMessage and ExtendedTriggerMessage) and 2.x. Plus the trigger codecs against the OCA
schemas."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.machine_support import answer_statuses, register, statuses
from voltlab.fleet.codecs import ocpp16_maintenance as maintenance16
from voltlab.fleet.codecs import ocpp16_triggers as codec16
from voltlab.fleet.codecs import ocpp201_sessions as sessions2x
from voltlab.fleet.codecs import ocpp201_triggers as codec2x
from voltlab.fleet.codecs import shared_triggers
from voltlab.fleet.machine.certificate_messages import (
    SignCertificateAnswer,
    SignCertificateRequest,
)
from voltlab.fleet.machine.effects import (
    Answer,
    AwaitStoredMeter,
    Effect,
    Persist,
    SendCall,
    SetTimer,
)
from voltlab.fleet.machine.events import (
    CallAnswered,
    CsmsRequest,
    GatewayCommand,
    Resumed,
    TimerFired,
)
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.maintenance_messages import (
    FirmwareStatusReport,
    GetLog,
    LogStatusReport,
    UpdateFirmware,
    UpdateFirmwareAnswer,
)
from voltlab.fleet.machine.messages import BootRequest, HeartbeatRequest
from voltlab.fleet.machine.session_messages import (
    MeterValuesAnswer,
    MeterValuesReport,
    PlugIn,
    Received,
    StartTransaction,
    TransactionRef,
    TransactionStarted,
    TransactionStartedAnswer,
    TransactionTriggered,
)
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.machine.trigger_messages import (
    TriggerAnswer,
    TriggerRequest,
    TriggerStatus,
    TriggerTarget,
)
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

T0 = 1_800_000_000.0
LAB = "http://127.0.0.1:8080"
ACCEPTED = Answer(TriggerAnswer("Accepted"))


def machine_16() -> StationMachine:
    station = Station("CP-TRG", CATALOG["ac-22kw-2c"], seed=1)
    m = StationMachine(station, MachineSettings(reports_reservation_ends=False))
    register(m, T0)
    return m


def machine_2x() -> StationMachine:
    settings = MachineSettings(
        reports_reservation_ends=True,
        station_names_transactions=True,
        default_transaction_measurands=("Energy.Active.Import.Register",),
        profile_rules=OCPP201,
        unlock_keeps_authorized_transaction=True,
        folds_statuses_2x=True,
    )
    m = StationMachine(
        Station("CS-TRG", CATALOG["ac-22kw-2c"], seed=1),
        settings,
        new_transaction_id=lambda: "tx-1",
    )
    register(m, T0)
    return m


def trigger(
    m: StationMachine, target: TriggerTarget | None, connector_id: int | None, now: float
) -> list[Effect]:
    return m.handle(CsmsRequest(TriggerRequest(target, connector_id)), now)


def refused(status: TriggerStatus) -> list[Effect]:
    return [Answer(TriggerAnswer(status))]


def charging(m: StationMachine, now: float, transaction_id: int | None) -> None:
    """Plug connector 1 in and start a transaction (1.6: the CSMS names it)."""
    answer_statuses(m, m.handle(GatewayCommand(PlugIn(1)), now), now)
    [call] = m.handle(GatewayCommand(StartTransaction(1, "TAG")), now)
    assert isinstance(call, SendCall) and isinstance(call.message, TransactionStarted)
    started = TransactionStartedAnswer(transaction_id, IdTagInfo("Accepted"))
    answer_statuses(m, m.handle(CallAnswered(call.call_id or 0, started), now), now)
    assert m.station.connectors[1].transaction is not None


# -- OCPP 1.6 ----------------------------------------------------------------------------------


def test_16_status_notification_of_a_connector_the_station_and_all() -> None:
    m = machine_16()
    now = T0 + 10
    others, reports = answer_statuses(m, trigger(m, "StatusNotification", 2, now), now)
    assert others == [ACCEPTED, Persist()]
    assert statuses(reports) == [(2, "Available")]
    # Connector 0 is the Charge Point itself: only a StatusNotification can be about it.
    others, reports = answer_statuses(m, trigger(m, "StatusNotification", 0, now), now)
    assert others == [ACCEPTED, Persist()] and statuses(reports) == [(0, "Available")]
    others, reports = answer_statuses(m, trigger(m, "StatusNotification", None, now), now)
    assert statuses(reports) == [(0, "Available"), (1, "Available"), (2, "Available")]
    assert all(report.sent_at == now for report in reports)
    assert m.flows.waiting == 0


def test_16_unknown_connectors_are_rejected_before_anything_is_sent() -> None:
    m = machine_16()
    assert trigger(m, "MeterValues", 0, T0) == refused("Rejected")
    assert trigger(m, "MeterValues", 3, T0) == refused("Rejected")
    assert trigger(m, "StatusNotification", 3, T0) == refused("Rejected")
    assert trigger(m, None, None, T0) == refused("NotImplemented")
    assert trigger(m, None, 3, T0) == refused("NotImplemented")  # the word decides first
    assert m.flows.waiting == 0


def test_16_meter_values_sampled_now_outside_and_inside_a_transaction() -> None:
    m = machine_16()
    [answer, call] = trigger(m, "MeterValues", 2, T0 + 5)
    assert answer == ACCEPTED
    assert isinstance(call, SendCall) and isinstance(call.message, MeterValuesReport)
    report = call.message
    assert (report.connector_id, report.tx, report.trigger) == (2, None, "Trigger")
    assert (report.value.timestamp, report.value.context) == (T0 + 5, "Trigger")
    assert m.handle(CallAnswered(call.call_id or 0, MeterValuesAnswer()), T0 + 5) == []
    # Inside a transaction the sample waits for the stored meter, then names the transaction.
    charging(m, T0 + 10, transaction_id=77)
    [answer, wait] = trigger(m, "MeterValues", 1, T0 + 70)
    assert answer == ACCEPTED and isinstance(wait, AwaitStoredMeter)
    [call] = m.handle(Resumed(wait.call_id), T0 + 70)
    assert isinstance(call, SendCall) and isinstance(call.message, MeterValuesReport)
    assert call.message.tx is not None and call.message.tx.transaction_id == 77
    assert call.message.value.context == "Trigger"
    assert m.handle(CallAnswered(call.call_id or 0, MeterValuesAnswer()), T0 + 70) == []


def test_16_every_connector_is_sampled_one_after_the_other() -> None:
    m = machine_16()
    [answer, first] = trigger(m, "MeterValues", None, T0)
    assert answer == ACCEPTED and isinstance(first, SendCall)
    [second] = m.handle(CallAnswered(first.call_id or 0, MeterValuesAnswer()), T0)
    assert isinstance(second, SendCall) and isinstance(second.message, MeterValuesReport)
    assert second.message.connector_id == 2
    assert m.handle(CallAnswered(second.call_id or 0, MeterValuesAnswer()), T0) == []


def test_16_registration_messages_go_through_registration() -> None:
    m = machine_16()
    assert trigger(m, "Heartbeat", None, T0 + 1) == [ACCEPTED, SendCall(HeartbeatRequest())]
    [answer, boot] = trigger(m, "BootNotification", 1, T0 + 2)  # the connector is ignored
    assert answer == ACCEPTED and isinstance(boot, SendCall)
    assert isinstance(boot.message, BootRequest) and boot.message.reason == "Triggered"


def test_16_maintenance_statuses_as_they_stand() -> None:
    m = machine_16()
    assert trigger(m, "FirmwareStatus", None, T0) == [
        ACCEPTED,
        SendCall(FirmwareStatusReport("Idle", None, False)),
    ]
    assert trigger(m, "DiagnosticsStatus", None, T0) == [
        ACCEPTED,
        SendCall(LogStatusReport("diagnostics", "Idle", None, "")),
    ]
    # A GetLog upload (ExtendedTriggerMessage's LogStatusNotification) is running.
    request = GetLog("log", f"{LAB}/upload", 42, None, None, 0, 30.0)
    m.handle(CsmsRequest(request), T0 + 1)
    assert trigger(m, "LogStatus", None, T0 + 2) == [
        ACCEPTED,
        SendCall(LogStatusReport("log", "Uploading", 42, "")),
    ]
    # DiagnosticsStatusNotification is about GetDiagnostics uploads only.
    assert trigger(m, "DiagnosticsStatus", None, T0 + 2) == [
        ACCEPTED,
        SendCall(LogStatusReport("diagnostics", "Idle", None, "")),
    ]


def test_16_sign_certificate_sends_a_csr_after_the_answer() -> None:
    asked: list[tuple[str, str]] = []

    def make_csr(identity: str, organization: str) -> tuple[str, str]:
        asked.append((identity, organization))
        return "CSR-PEM", "KEY-PEM"

    station = Station("CP-TRG", CATALOG["ac-22kw-2c"], seed=1)
    m = StationMachine(station, MachineSettings(reports_reservation_ends=False), make_csr=make_csr)
    register(m, T0)
    [answer, persist, call] = trigger(m, "SignCertificate", None, T0)
    assert (answer, persist) == (ACCEPTED, Persist())  # the new key is stored first
    assert isinstance(call, SendCall)
    assert call.message == SignCertificateRequest("CSR-PEM", "ChargingStationCertificate")
    assert asked == [("CP-TRG", "Voltlab")]
    assert m.handle(CallAnswered(call.call_id or 0, SignCertificateAnswer("Accepted")), T0) == []
    assert m.flows.waiting == 0


# -- OCPP 2.x ----------------------------------------------------------------------------------


def test_2x_transaction_event_for_each_running_transaction() -> None:
    m = machine_2x()
    assert trigger(m, "TransactionEvent", None, T0) == [ACCEPTED]  # none running
    charging(m, T0 + 10, transaction_id=None)
    tx = m.station.connectors[1].transaction
    assert tx is not None and tx.transaction_id == "tx-1"
    seq_no = tx.seq_no
    [answer, call] = trigger(m, "TransactionEvent", None, T0 + 20)
    assert answer == ACCEPTED
    assert call == SendCall(
        TransactionTriggered(TransactionRef(tx.local_id, 1, "tx-1", seq_no), T0 + 20),
        call.call_id if isinstance(call, SendCall) else None,
    )
    assert tx.seq_no == seq_no + 1  # the event took its seqNo
    assert m.handle(CallAnswered(call.call_id or 0, Received()), T0 + 20) == []
    # The EVSE without a transaction triggers nothing.
    assert trigger(m, "TransactionEvent", 2, T0 + 21) == [ACCEPTED]


def test_2x_status_notification_per_evse_and_no_station_status() -> None:
    m = machine_2x()
    others, reports = answer_statuses(m, trigger(m, "StatusNotification", None, T0 + 1), T0 + 1)
    assert others == [ACCEPTED, Persist()]
    assert statuses(reports) == [(1, "Available"), (2, "Available")]
    # 2.x has no status of the station as a whole: EVSE 0 is not one to report on.
    assert trigger(m, "StatusNotification", 0, T0 + 2) == refused("Rejected")
    assert trigger(m, "Heartbeat", 3, T0 + 2) == refused("Rejected")


def test_2x_firmware_status_of_the_running_update() -> None:
    m = machine_2x()
    update = UpdateFirmware(f"{LAB}/fw/ac22-fw-1.5.0.bin", T0 + 60, 0, 30.0, request_id=7)
    assert m.handle(CsmsRequest(update), T0) == [
        SetTimer("firmware:1", T0 + 60),
        Answer(UpdateFirmwareAnswer("Accepted")),
    ]
    downloading = m.handle(TimerFired("firmware:1"), T0 + 60)
    assert downloading[0] == SendCall(FirmwareStatusReport("Downloading", 7, False))
    # Triggered while the update runs, the report names its request (2.0.1 L01: requestId is
    # mandatory unless triggered while no update is ongoing).
    assert trigger(m, "FirmwareStatus", 1, T0 + 61) == [
        ACCEPTED,
        SendCall(FirmwareStatusReport("Downloading", 7, False)),
    ]


# -- codecs ------------------------------------------------------------------------------------


def test_16_codecs_per_schema() -> None:
    schemas = SchemaSet(OCPP16, schema_directory(OCPP16))
    cases: list[tuple[str, dict[str, Any], TriggerRequest]] = [
        (
            "TriggerMessage",
            {"requestedMessage": "StatusNotification", "connectorId": 0},
            TriggerRequest("StatusNotification", 0),
        ),
        (
            "TriggerMessage",
            {"requestedMessage": "DiagnosticsStatusNotification"},
            TriggerRequest("DiagnosticsStatus", None),
        ),
        (
            "ExtendedTriggerMessage",
            {"requestedMessage": "SignChargePointCertificate"},
            TriggerRequest("SignCertificate", None),
        ),
        (
            "ExtendedTriggerMessage",
            {"requestedMessage": "LogStatusNotification", "connectorId": 2},
            TriggerRequest("LogStatus", 2),
        ),
    ]
    for action, payload, expected in cases:
        schemas.validate_request(action, payload)
        decode = (
            codec16.decode_trigger_message
            if action == "TriggerMessage"
            else codec16.decode_extended_trigger_message
        )
        assert decode(payload) == expected
    for status in ("Accepted", "Rejected", "NotImplemented"):
        answer = shared_triggers.encode_trigger_answer(TriggerAnswer(status))  # type: ignore[arg-type]
        schemas.validate_response("TriggerMessage", answer)
        schemas.validate_response("ExtendedTriggerMessage", answer)
    # A signed update's verification has no 1.6 FirmwareStatusNotification word: Idle.
    verified = FirmwareStatusReport("SignatureVerified", None, False)
    action, body = maintenance16.encode_call(verified)
    schemas.validate_request(action, body)
    assert (action, body) == ("FirmwareStatusNotification", {"status": "Idle"})
    # Each 1.6 message has its own words: no LogStatusNotification in TriggerMessage.
    assert codec16.decode_trigger_message({"requestedMessage": "LogStatusNotification"}) == (
        TriggerRequest(None, None)
    )


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_codecs_per_schema(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))
    payload = {"requestedMessage": "TransactionEvent", "evse": {"id": 2, "connectorId": 1}}
    schemas.validate_request("TriggerMessage", payload)
    assert codec2x.decode_trigger_message(payload) == TriggerRequest("TransactionEvent", 2)
    v2g = {"requestedMessage": "SignV2GCertificate"}  # Plug & Charge: the station's V2G CSR
    schemas.validate_request("TriggerMessage", v2g)
    assert codec2x.decode_trigger_message(v2g) == TriggerRequest("SignV2GCertificate", None)
    unsupported = {"requestedMessage": "SignCombinedCertificate"}
    schemas.validate_request("TriggerMessage", unsupported)
    assert codec2x.decode_trigger_message(unsupported) == TriggerRequest(None, None)
    answer = shared_triggers.encode_trigger_answer(TriggerAnswer("NotImplemented"))
    schemas.validate_response("TriggerMessage", answer)
    ref = TransactionRef(1, 1, "tx-1", 4)
    action, event = sessions2x.encode_session_call(TransactionTriggered(ref, T0))
    schemas.validate_request(action, event)
    assert (event["eventType"], event["triggerReason"], event["seqNo"]) == ("Updated", "Trigger", 4)
    assert event["transactionInfo"] == {"transactionId": "tx-1"} and "meterValue" not in event
    assert sessions2x.decode_session_answer(TransactionTriggered(ref, T0), {}) == Received()
