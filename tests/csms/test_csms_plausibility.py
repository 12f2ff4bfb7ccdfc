"""Billing plausibility in the built-in CSMS: energy readings that go backwards, or imply more
energy than the connector's maximum power over the elapsed time, never reach the listener
(the cpo layer's Sessions and CDRs) as truth.

The rule itself (`MeterGuard`), the registry that applies it, and the wire: OCPP 1.6
MeterValues / StopTransaction and 2.0.1 TransactionEvent, with the station answered normally.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from csms_support import (  # noqa: F401 - the *_fixture names register fixtures
    CPO,
    LiveCsms,
    RawStation,
    start_csms_fixture,
    wait_until,
)
from ocpp201_support import BOOT, V201, at, connect, event, meter, rfid

from voltlab.csms.events import CsmsTransaction, IdTagStatus, MeterSample
from voltlab.csms.plausibility import BACKWARDS, FUTURE, TOO_FAST, MeterGuard
from voltlab.csms.registry import Registry

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
KW7 = 7400.0  # ac-7kw-1c: the connector's maximum power


def max_power(cpo_id: str, identity: str, connector_id: int) -> float | None:
    return KW7 if identity.startswith("CP") else None


def transaction(meter_start_wh: float = 1000.0) -> CsmsTransaction:
    return CsmsTransaction(
        transaction_id=1,
        cpo_id="cpo",
        identity="CP",
        connector_id=1,
        id_tag="TAG",
        meter_start_wh=meter_start_wh,
        started_at=T0,
        last_meter_wh=meter_start_wh,
        last_meter_at=T0,
    )


# -- the rule ---------------------------------------------------------------------------------


def test_normal_charging_is_plausible():
    guard = MeterGuard(max_power)
    tx = transaction()
    # 7.4 kW for 60 s is 123.3 Wh; 110 % of it plus 2 s of clock granularity plus 1 Wh is
    # about 141 Wh.
    assert guard.judge(tx, 1000 + 123, T0 + timedelta(seconds=60)) is None
    assert guard.judge(tx, 1000 + 140, T0 + timedelta(seconds=60)) is None
    assert guard.judge(tx, 1000.0, T0) is None  # no energy, no time: fine
    assert guard.judge(tx, 1000 + 7400, T0 + timedelta(hours=1)) is None


def test_faster_than_the_connector_is_implausible():
    guard = MeterGuard(max_power)
    tx = transaction()
    verdict = guard.judge(tx, 1000 + 145, T0 + timedelta(seconds=60))
    assert verdict is not None and verdict.reason == TOO_FAST
    verdict = guard.judge(tx, 500_000_000, T0 + timedelta(minutes=30))
    assert verdict is not None and verdict.reason == TOO_FAST
    assert "7.4 kW" in verdict.detail


def test_a_register_going_backwards_is_implausible():
    guard = MeterGuard(max_power)
    tx = transaction()
    tx.last_meter_wh, tx.last_meter_at = 1100.0, T0 + timedelta(minutes=5)
    verdict = guard.judge(tx, 1099.0, T0 + timedelta(minutes=6))
    assert verdict is not None and verdict.reason == BACKWARDS
    # Without a known maximum power, only the backwards rule applies.
    unbounded = MeterGuard()
    assert unbounded.judge(tx, 500_000_000, T0 + timedelta(minutes=6)) is None
    assert unbounded.judge(tx, 1099.0, T0 + timedelta(minutes=6)).reason == BACKWARDS  # type: ignore[union-attr]


def test_a_whole_wh_meter_stop_after_decimal_samples_is_rounding_not_backwards():
    guard = MeterGuard(max_power)
    tx = transaction(meter_start_wh=0.0)
    tx.last_meter_wh, tx.last_meter_at = 405.3, T0 + timedelta(minutes=5)
    assert guard.judge(tx, 405.0, T0 + timedelta(minutes=5, seconds=1)) is None
    assert guard.judge(tx, 404.9, T0 + timedelta(minutes=5, seconds=1)) is None
    assert guard.judge(tx, 404.3, T0 + timedelta(minutes=5, seconds=1)).reason == BACKWARDS  # type: ignore[union-attr]


def test_an_earlier_reading_must_lie_between_start_and_last():
    guard = MeterGuard(max_power)
    tx = transaction()
    tx.last_meter_wh, tx.last_meter_at = 1100.0, T0 + timedelta(minutes=5)
    assert guard.judge(tx, 1050.0, T0 + timedelta(minutes=2)) is None
    assert guard.judge(tx, 1000.0, T0) is None  # the Transaction.Begin reading
    assert guard.judge(tx, 1200.0, T0 + timedelta(minutes=2)).reason == BACKWARDS  # type: ignore[union-attr]
    assert guard.judge(tx, 900.0, T0 + timedelta(minutes=2)).reason == BACKWARDS  # type: ignore[union-attr]


def test_a_timestamp_beyond_the_stations_clock_buys_no_time():
    now = (T0 + timedelta(minutes=10)).timestamp()
    guard = MeterGuard(max_power, lambda: now)
    tx = transaction()
    a_year_on = T0 + timedelta(days=365)
    # A year at 7.4 kW would allow 64 MWh; the stations' clock says 10 minutes (+ 60 s skew).
    verdict = guard.judge(tx, 1000 + 64_000_000, a_year_on)
    assert verdict is not None and verdict.reason == TOO_FAST
    assert guard.judge(tx, 1000 + 1200, a_year_on) is None  # 11 minutes' worth is fine
    assert guard.from_future(a_year_on).reason == FUTURE  # type: ignore[union-attr]
    assert guard.from_future(T0 + timedelta(minutes=10, seconds=59)) is None
    assert MeterGuard(max_power).from_future(a_year_on) is None  # clock unknown: no judgement


# -- the registry -----------------------------------------------------------------------------


def registry(now: datetime | None = None) -> tuple[Registry, CsmsTransaction]:
    ids = iter(range(100, 200))
    clock = (lambda: now.timestamp()) if now is not None else None
    reg = Registry(lambda: next(ids), MeterGuard(max_power, clock))
    tx, _ = reg.start_transaction(
        "cpo",
        "CP",
        connector_id=1,
        id_tag="TAG",
        meter_start_wh=1000.0,
        started_at=T0,
        authorization=IdTagStatus.accept(),
    )
    return reg, tx


def sample(minutes: float, wh: float | None, power_w: float | None = None) -> MeterSample:
    return MeterSample(T0 + timedelta(minutes=minutes), energy_wh=wh, power_w=power_w)


def test_registry_keeps_implausible_samples_out_of_the_transaction():
    reg, tx = registry()
    recorded = reg.record_samples(
        tx,
        [
            sample(1, 1100.0, 6000.0),  # plausible
            sample(2, 9_000_000.0, 6000.0),  # far too fast: energy dropped, power kept
            sample(3, 1050.0),  # backwards: nothing left, dropped
            sample(4, 1400.0, 50_000.0),  # energy fine, power above the connector's maximum
        ],
    )
    assert [(s.energy_wh, s.power_w) for s in recorded] == [
        (1100.0, 6000.0),
        (None, 6000.0),
        (1400.0, None),
    ]
    assert tx.samples == recorded
    assert tx.last_meter_wh == 1400.0 and tx.energy_wh == 400.0
    assert [(r.reason, r.energy_wh, r.kept_wh) for r in tx.rejected_readings] == [
        (TOO_FAST, 9_000_000.0, 1100.0),
        (BACKWARDS, 1050.0, 1100.0),
    ]
    assert reg.rejections["cpo"] == 2


def test_a_forged_meter_stop_is_replaced_by_the_last_plausible_register():
    reg, tx = registry()
    reg.record_samples(tx, [sample(10, 2000.0)])
    closed, newly = reg.stop_transaction(
        "cpo",
        "CP",
        tx.transaction_id,
        meter_stop_wh=500_000_000.0,
        stopped_at=T0 + timedelta(minutes=11),
        reason="Local",
        id_tag=None,
        samples=[],
    )
    assert newly and closed.meter_stop_wh == 2000.0 and closed.energy_wh == 1000.0
    assert closed.rejected_readings[-1].source == "StopTransaction"
    assert closed.rejected_readings[-1].reason == TOO_FAST


def test_a_stop_stamped_in_the_future_ends_at_the_stations_now():
    now = T0 + timedelta(minutes=20)
    reg, tx = registry(now)
    closed, _ = reg.stop_transaction(
        "cpo",
        "CP",
        tx.transaction_id,
        meter_stop_wh=1500.0,
        stopped_at=T0 + timedelta(days=365),
        reason="Local",
        id_tag=None,
        samples=[sample(60 * 24 * 365, 1500.0)],  # its transaction data, a year ahead too
    )
    assert closed.stopped_at == now
    assert closed.meter_stop_wh == 1500.0  # 500 Wh in 20 minutes at 7.4 kW is plausible
    assert closed.samples == []
    assert [r.reason for r in closed.rejected_readings] == [FUTURE]


def test_a_forged_meter_start_does_not_close_the_previous_transaction_with_it():
    reg, stale = registry()
    reg.record_samples(stale, [sample(5, 1500.0)])
    _, superseded = reg.start_transaction(
        "cpo",
        "CP",
        connector_id=1,
        id_tag="TAG",
        meter_start_wh=500_000_000.0,
        started_at=T0 + timedelta(minutes=6),
        authorization=IdTagStatus.accept(),
    )
    assert superseded == [stale]
    assert stale.meter_stop_wh == 1500.0 and stale.energy_wh == 500.0
    assert stale.rejected_readings[-1].source == "StartTransaction"


# -- on the wire ------------------------------------------------------------------------------


@pytest.fixture
async def guarded(start_csms) -> LiveCsms:
    return await start_csms(max_power_w=max_power)


def meter_value_16(minute: int, wh: float) -> dict:
    return {
        "timestamp": at(minute),
        "sampledValue": [
            {"value": str(wh), "unit": "Wh", "measurand": "Energy.Active.Import.Register"}
        ],
    }


async def test_ocpp16_forged_readings_never_reach_the_listener(guarded: LiveCsms):
    station = await RawStation.connect(guarded, "CP-16")
    await station.boot()
    started = await station.result(
        "StartTransaction",
        {"connectorId": 1, "idTag": "TAG", "meterStart": 1000, "timestamp": at(0)},
    )
    tx_id = started["transactionId"]

    async def meter_values(*values: dict) -> dict:
        return await station.result(
            "MeterValues", {"connectorId": 1, "transactionId": tx_id, "meterValue": list(values)}
        )

    assert await meter_values(meter_value_16(1, 1100)) == {}
    assert await meter_values(meter_value_16(2, 900)) == {}  # backwards
    assert await meter_values(meter_value_16(3, 9_000_000)) == {}  # 9 MWh in a minute
    assert await meter_values(meter_value_16(4, 1300)) == {}
    # StopTransaction.conf cannot refuse: answered like any other stop.
    stop = await station.result(
        "StopTransaction",
        {"transactionId": tx_id, "meterStop": 500_000_000, "timestamp": at(5), "idTag": "TAG"},
    )
    assert stop == {"idTagInfo": {"status": "Accepted"}}
    await guarded.csms.idle()
    heard = [
        s.energy_wh for h in guarded.listener.of("meter_values", "CP-16") for s in h.data["samples"]
    ]
    assert heard == [1100.0, 1300.0]
    (stopped,) = guarded.listener.txs("transaction_stopped", "CP-16")
    assert stopped.meter_stop_wh == 1300.0 and stopped.energy_wh == 300.0
    assert [(r.source, r.reason) for r in stopped.rejected_readings] == [
        ("MeterValues", BACKWARDS),
        ("MeterValues", TOO_FAST),
        ("StopTransaction", TOO_FAST),
    ]
    assert guarded.csms.implausible_readings(CPO) == 3
    assert guarded.csms.transaction(CPO, tx_id).rejected_readings == stopped.rejected_readings  # type: ignore[union-attr]
    await station.close()


async def test_ocpp201_forged_energy_register_in_a_transaction_event(guarded: LiveCsms):
    station = await connect(guarded, "CP-201", V201)
    assert (await station.result("BootNotification", BOOT))["status"] == "Accepted"

    async def send(payload: dict) -> dict:
        return await station.result("TransactionEvent", payload)

    await send(
        event(
            "Started",
            "T-1",
            0,
            "Authorized",
            0,
            evse_id=1,
            token=rfid("TAG"),
            charging_state="Charging",
            meter_values=[meter(0, 2000, "Transaction.Begin")],
        )
    )
    await send(event("Updated", "T-1", 1, "MeterValuePeriodic", 1, meter_values=[meter(1, 2100)]))
    await send(
        event("Updated", "T-1", 2, "MeterValuePeriodic", 2, meter_values=[meter(2, 2_000_000)])
    )
    await send(
        event(
            "Ended",
            "T-1",
            3,
            "StopAuthorized",
            3,
            stopped_reason="Local",
            meter_values=[meter(3, 500_000_000, "Transaction.End")],
        )
    )
    await guarded.csms.idle()
    heard = [
        s.energy_wh
        for h in guarded.listener.of("meter_values", "CP-201")
        for s in h.data["samples"]
    ]
    assert heard == [2100.0]
    (stopped,) = guarded.listener.txs("transaction_stopped", "CP-201")
    assert stopped.meter_start_wh == 2000.0 and stopped.meter_stop_wh == 2100.0
    assert stopped.energy_wh == 100.0
    assert [(r.source, r.reason, r.energy_wh) for r in stopped.rejected_readings] == [
        ("TransactionEvent", TOO_FAST, 2_000_000.0),
        ("TransactionEvent", TOO_FAST, 500_000_000.0),
    ]
    await station.close()
