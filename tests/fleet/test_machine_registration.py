"""Registration and heartbeat as a machine flow, driven event by event with explicit `now`
values (no loop, no socket, no sleep): BootNotification until accepted (Pending/Rejected:
again after the CSMS's interval), nothing else before, the heartbeat timer and its interval,
TriggerMessage, resets and lost connections. Plus the 1.6 and 2.x codecs against the OCA
schemas."""

from __future__ import annotations

from typing import Any

import pytest

from voltlab.fleet.codecs import ocpp16_registration as codec16
from voltlab.fleet.codecs import ocpp201_registration as codec2x
from voltlab.fleet.codecs import shared_registration as shared
from voltlab.fleet.machine.effects import (
    Answer,
    CancelTimer,
    Effect,
    Fail,
    Observe,
    Persist,
    Registered,
    SendCall,
    SetTimer,
)
from voltlab.fleet.machine.events import (
    CallAnswered,
    CallFailed,
    ConfigurationChanged,
    Connected,
    CsmsRequest,
    Disconnected,
    GatewayCommand,
    QueueDelivered,
    Rebooting,
    TimerFired,
)
from voltlab.fleet.machine.flows.registration import DEFAULT_RETRY_INTERVAL
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.messages import (
    AuthorizeIdTag,
    BootAnswer,
    BootRequest,
    HeartbeatAnswer,
    HeartbeatRequest,
)
from voltlab.fleet.machine.session_messages import (
    Received,
    StatusReport,
    TransactionEnded,
    TransactionEndedAnswer,
)
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.machine.trigger_messages import TriggerAnswer, TriggerRequest, TriggerTarget
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.records import StationError
from voltlab.fleet.model.station import Station
from voltlab.fleet.model.station_state import restore_station
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

T0 = 1_800_000_000.0
BOOT_TIMER, HEARTBEAT_TIMER = "boot", "heartbeat"


def machine() -> StationMachine:
    station = Station("CP-REG", CATALOG["ac-22kw-2c"], seed=1)
    return StationMachine(station, MachineSettings(reports_reservation_ends=False))


def boot(reason: str = "PowerUp") -> BootRequest:
    """What the station says of itself: the catalog model's words and its identity."""
    return BootRequest(
        vendor="Voltlab",
        model="StreetPost 22 Duo",
        serial_number="CP-REG",
        firmware_version="2.1.0",
        meter_type="Voltlab AC meter",
        reason=reason,
    )


def trigger(m: StationMachine, target: TriggerTarget, now: float) -> list[Effect]:
    """TriggerMessage: answered Accepted first, what it asks for after the answer."""
    answer, *rest = m.handle(CsmsRequest(TriggerRequest(target, None)), now)
    assert answer == Answer(TriggerAnswer("Accepted"))
    return rest


def accepted(m: StationMachine, now: float = T0, interval: int = 60) -> None:
    """Connect and be accepted (the boot is call 1)."""
    assert m.handle(Connected(), now) == [SendCall(boot(), 1)]
    assert m.handle(CallAnswered(1, BootAnswer("Accepted", interval, None)), now)[-1] == (
        Registered()
    )


def test_pending_retry_accepted_heartbeat_interval_change_and_trigger() -> None:
    m = machine()
    assert m.handle(Connected(), T0) == [SendCall(boot(), 1)]
    assert not m.online and m.registration.status is None
    # Pending: only BootNotification may go out, again after the CSMS's 5 s.
    pending = m.handle(CallAnswered(1, BootAnswer("Pending", 5, None)), T0 + 0.1)
    assert pending == [Persist(), CancelTimer(HEARTBEAT_TIMER), SetTimer(BOOT_TIMER, T0 + 5.1)]
    assert not m.online and m.registration.status == "Pending"
    assert m.handle(TimerFired(BOOT_TIMER), T0 + 5.1) == [SendCall(boot(), 2)]
    # Accepted: the interval becomes HeartbeatInterval and the first heartbeat is due then.
    effects = m.handle(CallAnswered(2, BootAnswer("Accepted", 30, T0 + 3600)), T0 + 5.2)
    assert effects == [
        Persist(),
        CancelTimer(BOOT_TIMER),
        SetTimer(HEARTBEAT_TIMER, T0 + 35.2),
        Registered(),
    ]
    assert m.online and m.station.config.get_int("HeartbeatInterval") == 30
    # The heartbeat re-arms before it is sent, and nothing waits for its answer.
    assert m.handle(TimerFired(HEARTBEAT_TIMER), T0 + 35.2) == [
        SetTimer(HEARTBEAT_TIMER, T0 + 65.2),
        SendCall(HeartbeatRequest()),
    ]
    assert m.flows.waiting == 0
    # The gateway changes HeartbeatInterval: counted from the change.
    assert m.station.config.set_by_csms("HeartbeatInterval", "10") == "Accepted"
    assert m.handle(ConfigurationChanged("HeartbeatInterval"), T0 + 40) == [
        SetTimer(HEARTBEAT_TIMER, T0 + 50)
    ]
    assert m.handle(ConfigurationChanged("MeterValueSampleInterval"), T0 + 41) == []
    # TriggerMessage BootNotification: a boot on the open connection, still registered.
    assert trigger(m, "BootNotification", T0 + 42) == [SendCall(boot("Triggered"), 3)]
    assert m.online
    effects = m.handle(CallAnswered(3, BootAnswer("Accepted", 90, None)), T0 + 42.1)
    assert effects == [Persist(), CancelTimer(BOOT_TIMER), SetTimer(HEARTBEAT_TIMER, T0 + 132.1)]
    assert m.station.config.get_int("HeartbeatInterval") == 90  # and no second Registered
    assert trigger(m, "Heartbeat", T0 + 43) == [SendCall(HeartbeatRequest())]


def test_heartbeat_interval_zero_stops_the_heartbeat() -> None:
    m = machine()
    accepted(m)
    m.station.config.set_by_csms("HeartbeatInterval", "0")
    assert m.handle(ConfigurationChanged("HeartbeatInterval"), T0 + 1) == [
        CancelTimer(HEARTBEAT_TIMER)
    ]


def test_rejected_without_interval_retries_after_the_default_and_nothing_else_goes_out() -> None:
    m = machine()
    m.handle(Connected(), T0)
    effects = m.handle(CallAnswered(1, BootAnswer("Rejected", 0, None)), T0 + 1)
    assert effects[-1] == SetTimer(BOOT_TIMER, T0 + 1 + DEFAULT_RETRY_INTERVAL)
    assert m.registration.status == "Rejected" and not m.online
    # Nothing but BootNotification before acceptance: no heartbeat, no triggered heartbeat,
    # no Authorize (the station is offline for the authorization flow).
    assert m.handle(TimerFired(HEARTBEAT_TIMER), T0 + 2) == []
    # A CSMS should not call a Rejected station: the machine observes it (a finding), and the
    # trigger sends nothing.
    observed, *answered = m.handle(CsmsRequest(TriggerRequest("Heartbeat", None)), T0 + 2)
    assert isinstance(observed, Observe) and observed.rule == "csms-call-before-accepted"
    assert answered == [Answer(TriggerAnswer("Accepted"))]
    [refused] = m.handle(GatewayCommand(AuthorizeIdTag("TAG")), T0 + 2)
    assert isinstance(refused, Fail) and isinstance(refused.error, StationError)
    assert refused.error.code == "not_connected"
    assert m.flows.waiting == 0


def test_a_boot_without_answer_is_retried_and_a_lost_connection_ends_the_flow() -> None:
    m = machine()
    m.handle(Connected(), T0)
    effects = m.handle(CallFailed(1, "timeout", "no answer in 30 s"), T0 + 30)
    assert effects == [Persist(), SetTimer(BOOT_TIMER, T0 + 30 + DEFAULT_RETRY_INTERVAL)]
    assert m.registration.last_error == "BootNotification failed: no answer in 30 s"
    assert m.handle(TimerFired(BOOT_TIMER), T0 + 60) == [SendCall(boot(), 2)]
    # The connection goes: the call fails with it, and the link reports the loss.
    assert m.handle(CallFailed(2, "connection_lost", "closed"), T0 + 61) == []
    assert m.handle(Disconnected(), T0 + 61) == [
        CancelTimer(BOOT_TIMER),
        CancelTimer(HEARTBEAT_TIMER),
        Persist(),
    ]
    assert m.flows.waiting == 0
    # A boot timer that fires anyway (already due) sends nothing without a connection.
    assert m.handle(TimerFired(BOOT_TIMER), T0 + 62) == []
    assert trigger(m, "BootNotification", T0 + 62) == []


def test_a_new_connection_registers_anew_and_an_answer_for_the_old_one_is_ignored() -> None:
    m = machine()
    accepted(m)
    assert m.handle(Disconnected(), T0 + 10)[:2] == [
        CancelTimer(BOOT_TIMER),
        CancelTimer(HEARTBEAT_TIMER),
    ]
    assert not m.online and m.registration.status is None
    assert m.handle(TimerFired(HEARTBEAT_TIMER), T0 + 60) == []
    assert m.handle(Connected(), T0 + 20) == [SendCall(boot(), 2)]
    # Gone again before the answer; a third connection boots as call 3.
    m.handle(Disconnected(), T0 + 21)
    assert m.handle(Connected(), T0 + 22) == [SendCall(boot(), 3)]
    assert m.handle(CallAnswered(2, BootAnswer("Accepted", 60, None)), T0 + 23) == []
    assert not m.online
    effects = m.handle(CallAnswered(3, BootAnswer("Accepted", 60, None)), T0 + 23)
    assert effects[-1] == Registered() and m.online


def test_once_the_queue_went_out_interrupted_closes_then_every_status_then_sampling() -> None:
    m = machine()
    station = m.station
    # A restart left transaction 7 open on connector 1; connector 2 charges on (a reconnect).
    left_open = {"local_id": 1, "connector_id": 1, "id_tag": "TAG", "started_at": T0 - 600}
    restore_station(
        station, {"open_transactions": [{**left_open, "meter_start_wh": 0.0, "transaction_id": 7}]}
    )
    station.plug(2, T0)
    station.confirm(station.begin_transaction(2, "TAG", T0), T0)
    accepted(m)  # ends with Registered: the driver delivers the offline queue first
    effects = m.handle(QueueDelivered(), T0 + 1)
    assert len(effects) == 1 and isinstance(effects[0], SendCall)
    stop = effects[0].message
    assert isinstance(stop, TransactionEnded) and stop.tx.transaction_id == 7
    assert stop.reason == "PowerLoss" and stop.stopped_at == T0 + 1
    # One CALL at a time: each status once the one before it was answered.
    effects = m.handle(CallAnswered(effects[0].call_id or 0, TransactionEndedAnswer(None)), T0 + 1)
    assert effects[:2] == [Persist(), Persist()] and not station.interrupted
    reported = []
    while isinstance(effects[-1], SendCall) and isinstance(effects[-1].message, StatusReport):
        reported.append((effects[-1].message.connector_id, effects[-1].message.status))
        effects = m.handle(CallAnswered(effects[-1].call_id or 0, Received()), T0 + 1)
    assert reported == [(0, "Available"), (1, "Available"), (2, "Charging")]
    sampling = station.config.get_int("MeterValueSampleInterval")
    assert effects == [SetTimer("sample:2", T0 + 1 + sampling)]
    # Gone before the queue went out: nothing follows on the lost connection.
    m.handle(Disconnected(), T0 + 2)
    assert m.handle(QueueDelivered(), T0 + 2) == []


def test_reset_boots_with_remote_reset_once_then_power_up() -> None:
    m = machine()
    accepted(m)
    assert m.handle(Rebooting("RemoteReset"), T0 + 1) == []
    m.handle(Disconnected(), T0 + 1)
    assert m.handle(Connected(), T0 + 2) == [SendCall(boot("RemoteReset"), 2)]
    # Pending keeps the reason for the retry; acceptance ends it.
    m.handle(CallAnswered(2, BootAnswer("Pending", 1, None)), T0 + 2)
    assert m.handle(TimerFired(BOOT_TIMER), T0 + 3) == [SendCall(boot("RemoteReset"), 3)]
    m.handle(CallAnswered(3, BootAnswer("Accepted", 60, None)), T0 + 3)
    m.handle(Disconnected(), T0 + 4)
    assert m.handle(Connected(), T0 + 5) == [SendCall(boot("PowerUp"), 4)]


def test_a_triggered_boot_decides_registration_like_any_boot() -> None:
    m = machine()
    accepted(m)
    # Answered Pending: not registered any more, so only BootNotification until accepted.
    assert trigger(m, "BootNotification", T0 + 1) == [SendCall(boot("Triggered"), 2)]
    effects = m.handle(CallAnswered(2, BootAnswer("Pending", 10, None)), T0 + 1)
    assert effects == [Persist(), CancelTimer(HEARTBEAT_TIMER), SetTimer(BOOT_TIMER, T0 + 11)]
    assert not m.online
    # While Pending the CSMS triggers a boot to end the wait: accepted at once, and the
    # registration work follows as after any acceptance.
    assert trigger(m, "BootNotification", T0 + 5) == [SendCall(boot("Triggered"), 3)]
    effects = m.handle(CallAnswered(3, BootAnswer("Accepted", 60, None)), T0 + 5)
    assert effects == [
        Persist(),
        CancelTimer(BOOT_TIMER),
        SetTimer(HEARTBEAT_TIMER, T0 + 65),
        Registered(),
    ]
    # A triggered boot that brings no answer leaves a registered station as it was.
    trigger(m, "BootNotification", T0 + 6)
    assert m.handle(CallFailed(4, "call_error", "InternalError"), T0 + 6) == [Persist()]
    assert m.online and "InternalError" in (m.registration.last_error or "")


# -- codecs -------------------------------------------------------------------------------------

LONG = BootRequest(
    vendor="V" * 60,
    model="M" * 30,
    serial_number="PREFIX-" + "S" * 30,
    firmware_version="F" * 60,
    meter_type="T" * 40,
    reason="RemoteReset",
)
ISO = "2027-01-15T08:00:00.000Z"  # T0


def check_answers(schemas: SchemaSet) -> None:
    """The answers are the same shape in both versions: one decoder for each."""
    boot_answer: dict[str, Any] = {"status": "Pending", "interval": 15, "currentTime": ISO}
    schemas.validate_response("BootNotification", boot_answer)
    assert shared.decode_boot_answer(boot_answer) == BootAnswer("Pending", 15, T0)
    action, payload = shared.encode_heartbeat(HeartbeatRequest())
    schemas.validate_request(action, payload)
    heartbeat_answer = {"currentTime": ISO}
    schemas.validate_response(action, heartbeat_answer)
    assert shared.decode_answer(HeartbeatRequest(), heartbeat_answer) == HeartbeatAnswer(T0)
    # A currentTime the station cannot read leaves the time out, not the answer.
    assert shared.decode_boot_answer(
        {"status": "Accepted", "interval": 60, "currentTime": "x"}
    ) == (BootAnswer("Accepted", 60, None))


def test_16_codec_per_schema() -> None:
    schemas = SchemaSet(OCPP16, schema_directory(OCPP16))
    action, payload = codec16.encode_boot(boot())
    schemas.validate_request(action, payload)
    assert (action, payload) == (
        "BootNotification",
        {
            "chargePointVendor": "Voltlab",
            "chargePointModel": "StreetPost 22 Duo",
            "chargePointSerialNumber": "CP-REG",
            "chargeBoxSerialNumber": "CP-REG",
            "firmwareVersion": "2.1.0",
            "meterType": "Voltlab AC meter",
        },
    )
    _, cut = codec16.encode_boot(LONG)
    schemas.validate_request(action, cut)  # within every maximum length
    assert cut["chargePointSerialNumber"] == "S" * 25  # the end, where identities differ
    check_answers(schemas)


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_codec_per_schema(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))
    action, payload = codec2x.encode_boot(boot("Triggered"))
    schemas.validate_request(action, payload)
    assert payload == {
        "reason": "Triggered",
        "chargingStation": {
            "model": "StreetPost 22 Duo",
            "vendorName": "Voltlab",
            "serialNumber": "CP-REG",
            "firmwareVersion": "2.1.0",
        },
    }
    _, cut = codec2x.encode_boot(LONG)
    schemas.validate_request(action, cut)
    assert cut["chargingStation"]["serialNumber"] == "S" * 25
    assert cut["chargingStation"]["vendorName"] == "V" * 50
    check_answers(schemas)
