"""2.x GetTransactionStatus as a station-machine request (OCPP 2.0.1 E14): ongoingIndicator
only when a transaction is named, messagesInQueue from what the driver reports of its offline
queue (`QueueChanged`), for that transaction or for any. Plus the driver's per-transaction
count of the queue, and the codec against the OCA schemas."""

from __future__ import annotations

import pytest

from fleet.machine_support import answer_statuses, register
from voltlab.fleet.codecs import ocpp16_sessions as sessions16
from voltlab.fleet.codecs import ocpp201_sessions as sessions2x
from voltlab.fleet.codecs import ocpp201_triggers as codec2x
from voltlab.fleet.driver.offline_delivery import QueuedTransactions
from voltlab.fleet.machine.effects import Answer, Effect, SendCall
from voltlab.fleet.machine.events import (
    CallAnswered,
    CsmsRequest,
    GatewayCommand,
    QueueChanged,
)
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.session_messages import (
    PlugIn,
    StartTransaction,
    StopTransaction,
    TransactionEnded,
    TransactionEndedAnswer,
    TransactionStarted,
    TransactionStartedAnswer,
)
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.machine.trigger_messages import GetTransactionStatus, TransactionStatusAnswer
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP21, OCPP201

T0 = 1_800_000_000.0


def machine() -> StationMachine:
    settings = MachineSettings(
        reports_reservation_ends=True,
        station_names_transactions=True,
        default_transaction_measurands=("Energy.Active.Import.Register",),
        profile_rules=OCPP201,
        folds_statuses_2x=True,
    )
    m = StationMachine(
        Station("CS-GTS", CATALOG["ac-22kw-2c"], seed=1), settings, new_transaction_id=lambda: "T1"
    )
    register(m, T0)
    return m


def status(m: StationMachine, transaction_id: str | None, now: float = T0) -> list[Effect]:
    return m.handle(CsmsRequest(GetTransactionStatus(transaction_id)), now)


def answer(messages_in_queue: bool, ongoing: bool | None) -> list[Effect]:
    return [Answer(TransactionStatusAnswer(messages_in_queue, ongoing))]


def test_ongoing_and_queued_per_transaction() -> None:
    m = machine()
    assert status(m, None) == answer(False, None)  # E14.FR.06: no ongoingIndicator
    assert status(m, "T1") == answer(False, False)  # not (or no longer) running
    answer_statuses(m, m.handle(GatewayCommand(PlugIn(1)), T0), T0)
    [call] = m.handle(GatewayCommand(StartTransaction(1, "TAG")), T0 + 1)
    assert isinstance(call, SendCall) and isinstance(call.message, TransactionStarted)
    started = CallAnswered(call.call_id or 0, TransactionStartedAnswer(None, IdTagInfo("Accepted")))
    answer_statuses(m, m.handle(started, T0 + 1), T0 + 1)
    assert status(m, "T1", T0 + 2) == answer(False, True)  # E14.FR.02, FR.05
    # The CSMS went away: the driver queued two of T1's messages and one of no transaction.
    assert m.handle(QueueChanged(3, frozenset({"T1"})), T0 + 3) == []
    assert status(m, "T1", T0 + 4) == answer(True, True)  # E14.FR.04
    assert status(m, "T2", T0 + 4) == answer(False, False)  # another transaction: not queued
    assert status(m, None, T0 + 4) == answer(True, None)  # E14.FR.07
    # T1's messages delivered, one other left: nothing of T1, something in general.
    m.handle(QueueChanged(1, frozenset()), T0 + 5)
    assert status(m, "T1", T0 + 6) == answer(False, True)
    assert status(m, None, T0 + 6) == answer(True, None)
    # T1 stops while its end is queued: no longer ongoing, messages still to come.
    effects = m.handle(GatewayCommand(StopTransaction(1, "Local")), T0 + 7)
    [ended] = [e for e in effects if isinstance(e, SendCall)]
    assert isinstance(ended.message, TransactionEnded)
    m.handle(QueueChanged(2, frozenset({"T1"})), T0 + 7)
    done = CallAnswered(ended.call_id or 0, TransactionEndedAnswer(None))
    answer_statuses(m, m.handle(done, T0 + 7), T0 + 7)
    assert status(m, "T1", T0 + 8) == answer(True, False)  # E14.FR.03, FR.04
    m.handle(QueueChanged(0, frozenset()), T0 + 9)
    assert status(m, "T1", T0 + 9) == answer(False, False)
    assert status(m, None, T0 + 9) == answer(False, None)  # E14.FR.08


def test_the_driver_counts_queued_messages_per_transaction() -> None:
    queued = QueuedTransactions()
    assert queued.event() == QueueChanged(0, frozenset())
    queued.load(["T1", "T1", None])
    assert queued.event() == QueueChanged(3, frozenset({"T1"}))
    queued.remove("T1")
    assert queued.event() == QueueChanged(2, frozenset({"T1"}))
    queued.remove("T1")
    queued.add("T2")
    assert queued.event() == QueueChanged(2, frozenset({"T2"}))
    queued.remove("T3")  # a message the count never saw (loaded before it was counted)
    assert queued.event() == QueueChanged(2, frozenset({"T2"}))
    # 1.6: a StartTransaction queued under its provisional id, its followers too; once the
    # CSMS answers it, the followers stand under the CSMS's id.
    start = {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": "2027-01-15T08:00:00Z"}
    provisional = sessions16.queued_transaction("StartTransaction", start)
    assert provisional is not None and int(provisional) < 0
    stop = {"transactionId": int(provisional), "meterStop": 5, "timestamp": "x", "reason": "Local"}
    queued.load([provisional, sessions16.queued_transaction("StopTransaction", stop)])
    queued.remove(provisional)
    queued.rename(provisional, "99")
    assert queued.event() == QueueChanged(1, frozenset({"99"}))
    assert sessions16.queued_transaction("MeterValues", {"connectorId": 1}) is None


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_codec_per_schema(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))
    for payload, transaction_id in [({}, None), ({"transactionId": "T1"}, "T1")]:
        schemas.validate_request("GetTransactionStatus", payload)
        assert codec2x.decode_get_transaction_status(payload) == GetTransactionStatus(
            transaction_id
        )
    cases = [
        (TransactionStatusAnswer(True, None), {"messagesInQueue": True}),
        (
            TransactionStatusAnswer(False, True),
            {"messagesInQueue": False, "ongoingIndicator": True},
        ),
    ]
    for neutral, wire in cases:
        body = codec2x.encode_transaction_status_answer(neutral)
        schemas.validate_response("GetTransactionStatus", dict(body))
        assert body == wire
    event = {
        "eventType": "Updated",
        "timestamp": "2027-01-15T08:00:00.000Z",
        "triggerReason": "MeterValuePeriodic",
        "seqNo": 3,
        "transactionInfo": {"transactionId": "T1"},
        "offline": True,
    }
    assert sessions2x.queued_transaction("TransactionEvent", event) == "T1"
