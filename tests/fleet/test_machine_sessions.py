"""A whole charging session driven through the station machine on a virtual clock, effect by
effect: plug in, local-list authorization, start, ten periodic samples, a TxProfile that
lowers the limit mid-session, and the stop when the energy target is reached; on OCPP 1.6 and
on 2.0.1 (where the cable opens the transaction). No loop, no socket, no sleep: the test is
the driver. It answers the machine's calls, fires its timers in order, and checks every
payload the version's codec makes of a machine message against the OCA schemas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fleet.machine_support import register
from voltlab.fleet.codecs import ocpp16_control, ocpp16_sessions, ocpp201_control, ocpp201_sessions
from voltlab.fleet.machine.control_messages import SetChargingProfileAnswer
from voltlab.fleet.machine.effects import (
    Answer,
    AwaitStoredMeter,
    CancelTimer,
    Effect,
    Persist,
    ReportStatus,
    SendCall,
    SetTimer,
)
from voltlab.fleet.machine.events import (
    CallAnswered,
    CsmsRequest,
    Event,
    GatewayCommand,
    Resumed,
    TimerFired,
)
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.messages import AuthorizationDecision, AuthorizeIdTag
from voltlab.fleet.machine.session_messages import (
    ChargingStateChanged,
    MeterValuesReport,
    PlugIn,
    Received,
    ReportStatuses,
    SessionResult,
    StartTransaction,
    StatusReport,
    TransactionAuthorized,
    TransactionAuthorizedAnswer,
    TransactionEnded,
    TransactionEndedAnswer,
    TransactionStarted,
    TransactionStartedAnswer,
)
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP201

T0 = 1_800_000_000.0
OK = IdTagInfo("Accepted")
TAG = "LOCAL-1"
INTERVAL = 60  # MeterValueSampleInterval
TARGET_WH = 1350.0  # the session's energy target: reached between the 10th and 11th sample
LIMIT_W = 4600.0  # the TxProfile's limit, set after the fifth sample
REGISTER = "Energy.Active.Import.Register"


class Points:
    def __init__(self, opens_on_plug: bool) -> None:
        self.opens_on_plug = opens_on_plug

    def opens_transaction_on_plug(self) -> bool:
        return self.opens_on_plug

    def stops_transaction_on_unplug(self) -> bool:
        return True


class VirtualDriver:
    """Feeds events at a virtual `now`, keeps the timers the machine sets, and checks what a
    codec makes of every message the machine sends."""

    def __init__(
        self,
        machine: StationMachine,
        encode: Callable[[Any], tuple[str, dict[str, Any]]],
        schemas: SchemaSet,
    ) -> None:
        self.machine = machine
        self.encode = encode
        self.schemas = schemas
        self.now = T0
        self.timers: dict[str, float] = {}
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.statuses: list[StatusReport | ChargingStateChanged] = []
        self._unread: list[StatusReport | ChargingStateChanged] = []

    def feed(self, event: Event) -> list[Effect]:
        """The event's effects, and those of answering the status reports among them (the
        CSMS answers StatusNotification at once), in order; the reports themselves are kept
        apart, for `reported()`."""
        effects = self.machine.handle(event, self.now)
        done: list[Effect] = []
        while effects:
            self._execute(effects)
            last = effects[-1]
            if isinstance(last, SendCall) and isinstance(
                last.message, StatusReport | ChargingStateChanged
            ):
                done.extend(effects[:-1])
                self.statuses.append(last.message)
                self._unread.append(last.message)
                effects = self.machine.handle(CallAnswered(last.call_id or 0, Received()), self.now)
            else:
                done.extend(effects)
                break
        return done

    def reported(self) -> list[tuple[int, str] | str]:
        """The statuses reported since the last call: (connector, status), or a 2.x charging
        state."""
        out: list[tuple[int, str] | str] = [
            (r.connector_id, r.status) if isinstance(r, StatusReport) else r.state
            for r in self._unread
        ]
        self._unread.clear()
        return out

    def _execute(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, SetTimer):
                assert effect.at >= self.now
                self.timers[effect.name] = effect.at
            elif isinstance(effect, CancelTimer):
                self.timers.pop(effect.name, None)
            elif isinstance(effect, SendCall):
                action, payload = self.encode(effect.message)
                self.schemas.validate_request(action, payload)
                self.sent.append((action, payload))
            elif isinstance(effect, ReportStatus):
                # What a driver does for `ReportStatus`: run the machine's status flow.
                self.feed(GatewayCommand(ReportStatuses()))

    def next_timer(self) -> str:
        """Advance the virtual clock to the earliest timer and return its name."""
        name = min(self.timers, key=lambda n: self.timers[n])
        self.now = self.timers.pop(name)
        return name


def make_machine(version: str) -> tuple[StationMachine, VirtualDriver]:
    station = Station("CP-SESSION", CATALOG["ac-22kw-2c"], seed=7)
    if version == OCPP16:
        settings = MachineSettings(reports_reservation_ends=False, hides_disabled_local_list=True)
        points = Points(opens_on_plug=False)
        encode: Callable[[Any], tuple[str, dict[str, Any]]] = ocpp16_sessions.encode_session_call
    else:
        settings = MachineSettings(
            reports_reservation_ends=True,
            clear_cache_needs_enabled_cache=True,
            station_names_transactions=True,
            default_transaction_measurands=(REGISTER,),
            profile_rules=OCPP201,
            folds_statuses_2x=True,
            unlock_keeps_authorized_transaction=True,
        )
        points = Points(opens_on_plug=True)
        encode = ocpp201_sessions.encode_session_call
    machine = StationMachine(station, settings, points=points, new_transaction_id=lambda: "tx-0001")
    station.config.set_local("MeterValueSampleInterval", str(INTERVAL))
    station.config.set_local("MeterValuesSampledData", f"{REGISTER},Power.Active.Import")
    station.config.set_local("LocalPreAuthorize", "true")
    station.local_list.update(1, "Full", [(TAG, OK)])
    driver = VirtualDriver(machine, encode, SchemaSet(version, schema_directory(version)))
    register(machine, T0)
    return machine, driver


def sample_value(report: MeterValuesReport, measurand: str) -> float:
    return next(s.value for s in report.value.samples if s.measurand == measurand)


def tx_profile(version: str, transaction_id: str | int) -> CsmsRequest:
    """A TxProfile for the running transaction: LIMIT_W from now on, as the CSMS sends it."""
    schedule = {
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": LIMIT_W}],
    }
    if version == OCPP16:
        payload = {
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 9,
                "transactionId": transaction_id,
                "stackLevel": 1,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": schedule,
            },
        }
        SchemaSet(OCPP16, schema_directory(OCPP16)).validate_request("SetChargingProfile", payload)
        return CsmsRequest(ocpp16_control.decode_set_charging_profile(payload))
    payload = {
        "evseId": 1,
        "chargingProfile": {
            "id": 9,
            "transactionId": transaction_id,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": [{"id": 1, **schedule}],
        },
    }
    SchemaSet(OCPP201, schema_directory(OCPP201)).validate_request("SetChargingProfile", payload)
    return CsmsRequest(ocpp201_control.decode_set_charging_profile(payload))


def plug_and_start(version: str, m: StationMachine, d: VirtualDriver) -> str | int:
    """Plug in, authorize from the local list, start: the transaction's id."""
    plugged = d.feed(GatewayCommand(PlugIn(1)))
    if version == OCPP16:
        assert plugged == [Persist(), Answer(SessionResult(None))]
        assert d.reported() == [(1, "Preparing")]
    else:
        # 2.0.1 TxStartPoint EVConnected: the cable opens the transaction, not authorized yet.
        [persist, call] = plugged
        assert persist == Persist() and isinstance(call, SendCall)
        assert d.reported() == [(1, "Occupied")]
        started = call.message
        assert isinstance(started, TransactionStarted)
        assert (started.id_tag, started.trigger, started.tx.transaction_id, started.tx.seq_no) == (
            None,
            "CablePluggedIn",
            "tx-0001",
            0,
        )
        assert d.sent[-1][1]["eventType"] == "Started"
        opened = d.feed(CallAnswered(call.call_id or 0, TransactionStartedAnswer(None, None)))
        tx = m.station.connectors[1].transaction
        assert opened == [
            SetTimer("sample:1", T0 + INTERVAL),
            Persist(),
            Answer(SessionResult(tx)),
        ]
        assert d.reported() == []  # still Occupied
        assert tx is not None and not tx.confirmed and m.station.connectors[1].power_w == 0

    # The local list answers: no Authorize on the wire.
    assert d.feed(GatewayCommand(AuthorizeIdTag(TAG))) == [
        Answer(AuthorizationDecision(TAG, OK, "local_list"))
    ]
    [call] = d.feed(GatewayCommand(StartTransaction(1, TAG, energy_limit_wh=TARGET_WH)))
    assert isinstance(call, SendCall) and call.call_id is not None
    if version == OCPP16:
        assert isinstance(call.message, TransactionStarted)
        assert (call.message.id_tag, call.message.meter_start_wh) == (TAG, 0.0)
        assert d.sent[-1] == (
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": TAG,
                "meterStart": 0,
                "timestamp": "2027-01-15T08:00:00.000Z",
            },
        )
        answer: Any = TransactionStartedAnswer(4711, OK)
        ahead: list[Effect] = [Persist(write_ahead=True)]  # the CSMS's id, before energy flows
    else:
        assert isinstance(call.message, TransactionAuthorized)
        assert (call.message.id_tag, call.message.trigger, call.message.tx.seq_no) == (
            TAG,
            "Authorized",
            1,
        )
        answer, ahead = TransactionAuthorizedAnswer(OK), []
    confirmed = d.feed(CallAnswered(call.call_id, answer))
    tx = m.station.connectors[1].transaction
    assert tx is not None and tx.confirmed
    power = m.station.connectors[1].power_w
    assert power > LIMIT_W  # the EV draws more than the profile will allow
    assert confirmed == [
        *ahead,
        Persist(),  # the CSMS's view of the tag, learnt into the cache
        SetTimer("sample:1", T0 + INTERVAL),
        SetTimer("limit:1", T0 + TARGET_WH / power * 3600),
        Persist(),  # the status report
        Answer(SessionResult(tx)),
    ]
    # Energy flows: 1.6 reports Charging; 2.x's connector stays Occupied and the transaction's
    # charging state changes.
    assert d.reported() == ([(1, "Charging")] if version == OCPP16 else ["Charging"])
    assert tx.transaction_id is not None
    return tx.transaction_id


def one_sample(d: VirtualDriver, m: StationMachine, limit_at: float) -> MeterValuesReport:
    """The sample timer fires: the next one is set, the reading waits for the store, then goes
    out as the flow's last step (charging steadily changes no status, so nothing waits for the
    answer); the limit timer stays where it is."""
    assert d.next_timer() == "sample:1"
    [again, wait] = d.feed(TimerFired("sample:1"))
    assert again == SetTimer("sample:1", d.now + INTERVAL)
    assert isinstance(wait, AwaitStoredMeter)
    [call] = d.feed(Resumed(wait.call_id))
    assert isinstance(call, SendCall) and isinstance(call.message, MeterValuesReport)
    assert call.call_id is None and m.flows.waiting == 0
    report = call.message
    assert report.value.context == "Sample.Periodic" and report.value.timestamp == d.now
    assert d.timers["limit:1"] == pytest.approx(limit_at, abs=1e-6)
    return report


@pytest.mark.parametrize("version", [OCPP16, OCPP201])
def test_a_whole_session_through_the_machine(version: str) -> None:
    m, d = make_machine(version)
    transaction_id = plug_and_start(version, m, d)
    power = m.station.connectors[1].power_w
    limit_at = T0 + TARGET_WH / power * 3600

    reports = [one_sample(d, m, limit_at) for _ in range(5)]

    # Mid-session the CSMS lowers the limit: stored, answered, then the limit timer moves out
    # to when the target is reached at the lower power, and the status is reported.
    profile_at = d.now
    changed = d.feed(tx_profile(version, transaction_id))
    register_then = 5 * INTERVAL * power / 3600
    limit_at = profile_at + (TARGET_WH - register_then) / LIMIT_W * 3600
    assert changed == [
        Persist(),
        Answer(SetChargingProfileAnswer("Accepted")),
        SetTimer("limit:1", pytest.approx(limit_at)),  # type: ignore[arg-type]
        ReportStatus(),
    ]
    assert m.station.connectors[1].power_w == LIMIT_W

    reports += [one_sample(d, m, limit_at) for _ in range(5)]

    # Ten samples, each at its instant, the register following power over time.
    assert [r.value.timestamp for r in reports] == [T0 + INTERVAL * n for n in range(1, 11)]
    registers = [sample_value(r, REGISTER) for r in reports]
    powers = [sample_value(r, "Power.Active.Import") for r in reports]
    assert powers == [power] * 5 + [LIMIT_W] * 5
    expected = [power * INTERVAL * n / 3600 for n in range(1, 6)]
    expected += [expected[-1] + LIMIT_W * INTERVAL * n / 3600 for n in range(1, 6)]
    assert registers == pytest.approx(expected, abs=1e-6)
    seq_nos = [r.tx.seq_no for r in reports if r.tx is not None]
    assert len(seq_nos) == 10 and seq_nos == sorted(set(seq_nos))
    assert all(r.tx is not None and r.tx.transaction_id == transaction_id for r in reports)

    # The energy target is reached between samples: the limit timer ends the session.
    assert d.next_timer() == "limit:1" and d.now == pytest.approx(limit_at)
    [stop_sample, stop_limit, call] = d.feed(TimerFired("limit:1"))
    assert (stop_sample, stop_limit) == (CancelTimer("sample:1"), CancelTimer("limit:1"))
    assert isinstance(call, SendCall) and isinstance(call.message, TransactionEnded)
    ended = call.message
    assert ended.reason == "EnergyLimitReached" and ended.meter_stop_wh == pytest.approx(TARGET_WH)
    assert ended.stopped_at == d.now and ended.tx.transaction_id == transaction_id
    action, payload = d.sent[-1]
    if version == OCPP16:
        assert action == "StopTransaction" and payload["meterStop"] == TARGET_WH
        assert payload["reason"] == "Local"  # 1.6 has no word for an energy limit
    else:
        # Every TransactionEvent, the charging-state ones the status flow sent included, in
        # one gapless sequence that the Ended event closes.
        events = [p["seqNo"] for a, p in d.sent if a == "TransactionEvent"]
        assert events == list(range(len(events))) and payload["seqNo"] == events[-1]
        assert payload["eventType"] == "Ended"
        charging = [s.state for s in d.statuses if isinstance(s, ChargingStateChanged)]
        assert charging == ["Charging"]
        assert payload["transactionInfo"]["stoppedReason"] == "EnergyLimitReached"
        assert payload["meterValue"][0]["sampledValue"][0]["value"] == TARGET_WH
    done = d.feed(CallAnswered(call.call_id or 0, TransactionEndedAnswer(None)))
    # The stop's status, then the cable out's, each reported as the flow passes it: 1.6 shows
    # Finishing before Available.
    assert done == [Persist(), Persist()]
    if version == OCPP16:
        assert d.reported() == [(1, "Finishing"), (1, "Available")]
    else:
        assert d.reported() == [(1, "Available")]
    assert m.station.connectors[1].transaction is None and not m.station.connectors[1].plugged
    assert d.timers == {} and m.flows.waiting == 0


@pytest.mark.parametrize("version", [OCPP16, OCPP201])
def test_a_late_limit_timer_stops_at_the_energy_target(version: str) -> None:
    """The station opens its contactor at the session's energy target: when the limit timer
    fires late (a busy event loop on a fast clock), the meter stops at the target anyway."""
    m, d = make_machine(version)
    plug_and_start(version, m, d)
    limit_at = d.timers["limit:1"]
    d.timers.pop("sample:1")
    d.timers["limit:1"] = d.now = limit_at + 45.0  # the timer fires 45 s late
    d.timers.pop("limit:1")
    [*_, call] = d.feed(TimerFired("limit:1"))
    assert isinstance(call, SendCall) and isinstance(call.message, TransactionEnded)
    assert call.message.reason == "EnergyLimitReached"
    assert call.message.meter_stop_wh == pytest.approx(TARGET_WH)
    assert m.station.connectors[1].power_w == 0.0  # nothing flows past the target
