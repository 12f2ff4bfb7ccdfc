"""Remote start and stop, Reset and UnlockConnector as station-machine flows, driven event by
event with explicit `now` values: what is answered, what follows the answer, and the 1.6 and
2.x codecs of these requests against the OCA schemas."""

from __future__ import annotations

import pytest

from fleet.machine_support import answer_statuses, register, statuses
from voltlab.fleet.codecs import ocpp16_control as codec16
from voltlab.fleet.codecs import ocpp16_sessions as codec16_sessions
from voltlab.fleet.codecs import ocpp201_control as codec2x
from voltlab.fleet.machine.control_messages import (
    RemoteStartAnswer,
    RemoteStartRequest,
    RemoteStopAnswer,
    RemoteStopRequest,
    ResetAnswer,
    ResetRequest,
    UnlockAnswer,
    UnlockRequest,
)
from voltlab.fleet.machine.effects import (
    Answer,
    CancelTimer,
    Persist,
    Reconnect,
    ResetStation,
    SendCall,
    SetTimer,
)
from voltlab.fleet.machine.events import (
    CallAnswered,
    CsmsRequest,
    GatewayCommand,
    TimerFired,
)
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.maintenance_messages import SecurityEventReport
from voltlab.fleet.machine.session_messages import (
    PlugIn,
    StartTransaction,
    TransactionEnded,
    TransactionEndedAnswer,
    TransactionStarted,
    TransactionStartedAnswer,
)
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.records import Fault
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

T0 = 1_800_000_000.0
OK = IdTagInfo("Accepted")


def machine(*, keeps_authorized: bool = False) -> StationMachine:
    station = Station("CP-CTL", CATALOG["ac-22kw-2c"], seed=3)
    settings = MachineSettings(
        reports_reservation_ends=False, unlock_keeps_authorized_transaction=keeps_authorized
    )
    m = StationMachine(station, settings)
    station.config.set_local("AuthorizeRemoteTxRequests", "false")
    station.config.set_local("ConnectionTimeOut", "90")
    register(m, T0)
    return m


def charging(m: StationMachine, connector_id: int = 1, tx_id: int = 77) -> None:
    """Plug in and start a transaction the CSMS accepts (statuses answered on the way)."""
    answer_statuses(m, m.handle(GatewayCommand(PlugIn(connector_id)), T0), T0)
    [call] = m.handle(GatewayCommand(StartTransaction(connector_id, "TAG")), T0)
    assert isinstance(call, SendCall) and isinstance(call.message, TransactionStarted)
    answered = m.handle(CallAnswered(call.call_id or 0, TransactionStartedAnswer(tx_id, OK)), T0)
    answer_statuses(m, answered, T0)
    assert m.station.connectors[connector_id].transaction is not None


def test_remote_start_without_a_cable_waits_for_it_then_times_out() -> None:
    m = machine()
    effects = m.handle(CsmsRequest(RemoteStartRequest(None, "REMOTE", None, None)), T0)
    # Connector 1 is chosen, the answer goes first, then Preparing is reported; the cable
    # timer runs once the CSMS has the status.
    others, reports = answer_statuses(m, effects, T0)
    assert others == [
        Answer(RemoteStartAnswer("Accepted")),
        Persist(),
        SetTimer("cable:1", T0 + 90),
    ]
    assert statuses(reports) == [(1, "Preparing")]
    # A second remote start does not take the connector that waits.
    again = m.handle(CsmsRequest(RemoteStartRequest(1, "OTHER", None, None)), T0 + 1)
    assert again == [Answer(RemoteStartAnswer("Rejected"))]
    others, reports = answer_statuses(m, m.handle(TimerFired("cable:1"), T0 + 90), T0 + 90)
    assert others == [Persist()] and statuses(reports) == [(1, "Available")]


def test_remote_start_then_the_cable_starts_the_transaction() -> None:
    m = machine()
    effects = m.handle(CsmsRequest(RemoteStartRequest(2, "REMOTE", None, None)), T0)
    answer_statuses(m, effects, T0)
    # Preparing was reported with the remote start: the cable changes no status.
    [cancel, persist, call] = m.handle(GatewayCommand(PlugIn(2)), T0 + 20)
    assert (cancel, persist) == (CancelTimer("cable:2"), Persist())
    assert isinstance(call, SendCall) and isinstance(call.message, TransactionStarted)
    assert (call.message.tx.connector_id, call.message.id_tag) == (2, "REMOTE")


def test_remote_start_refuses_a_profile_that_is_not_a_tx_profile_and_an_unreadable_one() -> None:
    schemas = SchemaSet(OCPP16, schema_directory(OCPP16))
    profile = {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
        },
    }
    payload = {"idTag": "R", "chargingProfile": profile}
    schemas.validate_request("RemoteStartTransaction", payload)
    m = machine()
    refused = m.handle(CsmsRequest(codec16.decode_remote_start(payload)), T0)
    assert refused == [Answer(RemoteStartAnswer("Rejected"))]
    unreadable = {"idTag": "R", "chargingProfile": {**profile, "chargingProfileKind": "Sometimes"}}
    request = codec16.decode_remote_start(unreadable)
    assert request.profile is None and request.profile_unreadable
    assert m.handle(CsmsRequest(request), T0) == [Answer(RemoteStartAnswer("Rejected"))]
    assert m.flows.waiting == 0 and m.station.connector_status(1).status == "Available"


def test_remote_stop_answers_then_stops_and_an_unknown_id_is_rejected() -> None:
    m = machine()
    charging(m)
    assert m.handle(CsmsRequest(RemoteStopRequest(12345)), T0 + 5) == [
        Answer(RemoteStopAnswer("Rejected"))
    ]
    [answer, cancel_sample, cancel_limit, call] = m.handle(
        CsmsRequest(RemoteStopRequest(77)), T0 + 60
    )
    assert answer == Answer(RemoteStopAnswer("Accepted"))
    assert (cancel_sample, cancel_limit) == (CancelTimer("sample:1"), CancelTimer("limit:1"))
    assert isinstance(call, SendCall) and isinstance(call.message, TransactionEnded)
    assert (call.message.reason, call.message.stopped_at) == ("Remote", T0 + 60)


def test_unlock_finishes_the_transaction_before_it_answers() -> None:
    m = machine()
    charging(m)
    [cancel_sample, cancel_limit, call] = m.handle(CsmsRequest(UnlockRequest(1)), T0 + 30)
    assert (cancel_sample, cancel_limit) == (CancelTimer("sample:1"), CancelTimer("limit:1"))
    assert isinstance(call, SendCall) and isinstance(call.message, TransactionEnded)
    assert call.message.reason == "UnlockCommand"
    done = m.handle(CallAnswered(call.call_id or 0, TransactionEndedAnswer(None)), T0 + 30)
    # Finishing is on the wire before the answer says Unlocked.
    others, reports = answer_statuses(m, done, T0 + 30)
    assert statuses(reports) == [(1, "Finishing")]
    assert others == [Persist(), Persist(), Answer(UnlockAnswer("Unlocked"))]
    assert not m.station.connectors[1].locked


def test_unlock_refusals_unknown_connector_lock_failure_and_2x_authorized_transaction() -> None:
    m = machine()
    assert m.handle(CsmsRequest(UnlockRequest(9)), T0) == [Answer(UnlockAnswer("UnknownConnector"))]
    assert m.handle(CsmsRequest(UnlockRequest(None)), T0) == [
        Answer(UnlockAnswer("UnknownConnector"))
    ]
    m.station.set_fault(2, Fault("ConnectorLockFailure"), T0)
    assert m.handle(CsmsRequest(UnlockRequest(2)), T0) == [Answer(UnlockAnswer("UnlockFailed"))]
    m2x = machine(keeps_authorized=True)
    charging(m2x)
    assert m2x.handle(CsmsRequest(UnlockRequest(1)), T0 + 1) == [
        Answer(UnlockAnswer("OngoingAuthorizedTransaction"))
    ]
    assert m2x.station.connectors[1].transaction is not None


def test_reset_answers_then_stops_every_transaction_and_reconnects() -> None:
    m = machine()
    charging(m, 1, 71)
    charging(m, 2, 72)
    effects = m.handle(CsmsRequest(ResetRequest(hard=False)), T0 + 100)
    assert effects[:2] == [
        Answer(ResetAnswer("Accepted")),
        SendCall(SecurityEventReport("ResetOrReboot", T0 + 100, "SoftReset requested")),
    ]
    call = effects[-1]
    assert isinstance(call, SendCall) and isinstance(call.message, TransactionEnded)
    assert call.message.reason == "SoftReset"
    effects = m.handle(CallAnswered(call.call_id or 0, TransactionEndedAnswer(None)), T0 + 100)
    effects, first = answer_statuses(m, effects, T0 + 100)
    call = effects[-1]
    assert isinstance(call, SendCall) and isinstance(call.message, TransactionEnded)
    effects = m.handle(CallAnswered(call.call_id or 0, TransactionEndedAnswer(None)), T0 + 100)
    effects, second = answer_statuses(m, effects, T0 + 100)
    # Each stop's Finishing is reported before the next stop and before the reconnect.
    assert statuses(first) == [(1, "Finishing")] and statuses(second) == [(2, "Finishing")]
    assert effects[-2:] == [Persist(), Reconnect("RemoteReset")]
    assert m.station.transactions() == [] and m.station.registration is None


def test_2x_reset_on_idle_is_scheduled_and_the_last_stop_resets() -> None:
    m = machine()
    charging(m)
    assert m.handle(CsmsRequest(ResetRequest(True, on_idle=True)), T0) == [
        Answer(ResetAnswer("Scheduled"))
    ]
    [answer, *_, call] = m.handle(CsmsRequest(RemoteStopRequest(77)), T0 + 10)
    assert answer == Answer(RemoteStopAnswer("Accepted")) and isinstance(call, SendCall)
    effects = m.handle(CallAnswered(call.call_id or 0, TransactionEndedAnswer(None)), T0 + 10)
    effects, _ = answer_statuses(m, effects, T0 + 10)
    assert effects[-1] == ResetStation(hard=True)
    assert m.handle(CsmsRequest(ResetRequest(True, connector_id=5)), T0) == [
        Answer(ResetAnswer("Rejected"))
    ]


def test_16_codecs_per_schema() -> None:
    schemas = SchemaSet(OCPP16, schema_directory(OCPP16))
    for payload, hard in (({"type": "Hard"}, True), ({"type": "Soft"}, False)):
        schemas.validate_request("Reset", payload)
        assert codec16.decode_reset(payload) == ResetRequest(hard)
    schemas.validate_response("Reset", codec16.encode_control_answer(ResetAnswer("Accepted")))
    schemas.validate_request("UnlockConnector", {"connectorId": 1})
    assert codec16.decode_unlock({"connectorId": 1}) == UnlockRequest(1)
    body = codec16.encode_control_answer(UnlockAnswer("UnknownConnector"))
    assert body == {"status": "NotSupported"}
    schemas.validate_response("UnlockConnector", body)
    stop = {"transactionId": 5}
    schemas.validate_request("RemoteStopTransaction", stop)
    body = codec16.encode_control_answer(RemoteStopAnswer("Accepted"))
    schemas.validate_response("RemoteStopTransaction", body)


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_codecs_per_schema(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))
    payload = {"type": "OnIdle", "evseId": 2}
    schemas.validate_request("Reset", payload)
    assert codec2x.decode_reset(payload) == ResetRequest(True, True, 2)
    for status in ("Accepted", "Rejected", "Scheduled"):
        body = codec2x.encode_control_answer(ResetAnswer(status))  # type: ignore[arg-type]
        schemas.validate_response("Reset", body)
    schemas.validate_request("UnlockConnector", {"evseId": 1, "connectorId": 2})
    assert codec2x.decode_unlock({"evseId": 1, "connectorId": 2}) == UnlockRequest(None)
    body = codec2x.encode_control_answer(UnlockAnswer("OngoingAuthorizedTransaction"))
    schemas.validate_response("UnlockConnector", body)
    start = {"idToken": {"idToken": "T", "type": "ISO14443"}, "remoteStartId": 4, "evseId": 1}
    schemas.validate_request("RequestStartTransaction", start)
    assert codec2x.decode_request_start(start) == RemoteStartRequest(1, "T", 4, None, False)
    body = codec2x.encode_control_answer(RemoteStartAnswer("Accepted", "tx-9"))
    assert body == {"status": "Accepted", "transactionId": "tx-9"}
    schemas.validate_response("RequestStartTransaction", body)


def test_a_queued_start_delivered_gives_the_transaction_the_csms_id() -> None:
    m = machine()
    m.station.config.set_local("AuthorizationCacheEnabled", "true")
    m.handle(GatewayCommand(PlugIn(1)), T0)
    [call] = m.handle(GatewayCommand(StartTransaction(1, "TAG")), T0)
    assert isinstance(call, SendCall) and isinstance(call.message, TransactionStarted)
    # Queued offline: the codec's provisional id.
    payload = codec16_sessions.encode_session_call(call.message)[1]
    provisional = codec16_sessions.provisional_transaction_id(payload)
    queued = codec16_sessions.queued_session_answer(call.message, payload)
    m.handle(CallAnswered(call.call_id or 0, queued), T0)
    tx = m.station.connectors[1].transaction
    assert tx is not None and tx.transaction_id == provisional < 0
    answer = {"transactionId": 4242, "idTagInfo": {"status": "Blocked"}}
    delivered = codec16_sessions.queued_delivered("StartTransaction", payload, answer)
    assert delivered is not None
    assert m.handle(delivered, T0 + 60) == [Persist(), Persist()]  # the id, the cache
    assert tx.transaction_id == 4242
    assert m.station.auth_cache.lookup("TAG") == IdTagInfo("Blocked")
    assert codec16_sessions.queued_delivered("MeterValues", payload, answer) is None
