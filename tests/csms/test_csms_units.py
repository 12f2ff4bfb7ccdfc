"""Sans-I/O parts of the built-in CSMS: meter value parsing, the registry, transaction ids,
ordered notifications, timestamps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from csms_support import RecordingListener

from voltlab.csms.events import IdTagStatus
from voltlab.csms.metering import parse_meter_value, parse_meter_values
from voltlab.csms.notify import ConnectorStatusChanged, StationNotifier, StationRegistered
from voltlab.csms.ocpp16 import id_tag_info
from voltlab.csms.registry import TRANSACTION_ID_EPOCH, Registry, TransactionIds
from voltlab.csms.server import choose_version
from voltlab.ocpp.vocabulary.timestamps import format_datetime, parse_datetime_or

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


def sv(value: str, **fields: str) -> dict[str, str]:
    return {"value": value, **fields}


# -- metering --------------------------------------------------------------------------------


def test_energy_units_default_measurand_and_kilo_prefixes():
    sample = parse_meter_value(
        {
            "timestamp": "2025-03-01T12:00:00Z",
            "sampledValue": [
                sv("12.5", unit="kWh"),  # measurand defaults to the energy register
                sv("7.2", measurand="Power.Active.Import", unit="kW"),
                sv("55", measurand="SoC", unit="Percent", location="EV"),
            ],
        },
        T0,
    )
    assert sample is not None
    assert (sample.energy_wh, sample.power_w, sample.soc_percent) == (12500.0, 7200.0, 55.0)
    assert sample.timestamp == T0 and sample.context == "Sample.Periodic"


def test_phases_are_summed_or_reduced_and_totals_win():
    phases = parse_meter_value(
        {
            "timestamp": "2025-03-01T12:00:00Z",
            "sampledValue": [
                sv("3000", measurand="Power.Active.Import", unit="W", phase="L1"),
                sv("3100", measurand="Power.Active.Import", unit="W", phase="L2"),
                sv("2900", measurand="Power.Active.Import", unit="W", phase="L3"),
                sv("13", measurand="Current.Import", unit="A", phase="L1"),
                sv("14", measurand="Current.Import", unit="A", phase="L2"),
                sv("2", measurand="Current.Import", unit="A", phase="N"),
                sv("230", measurand="Voltage", unit="V", phase="L1-N"),
                sv("232", measurand="Voltage", unit="V", phase="L2-N"),
                sv("400", measurand="Voltage", unit="V", phase="L1-L2"),
            ],
        },
        T0,
    )
    assert phases is not None
    assert phases.power_w == 9000.0 and phases.current_a == 14.0 and phases.voltage_v == 231.0
    total = parse_meter_value(
        {
            "timestamp": "2025-03-01T12:00:00Z",
            "sampledValue": [
                sv("1000", measurand="Power.Active.Import", unit="W", phase="L1"),
                sv("3300", measurand="Power.Active.Import", unit="W"),
            ],
        },
        T0,
    )
    assert total is not None and total.power_w == 3300.0


def test_outlet_beats_inlet_and_junk_is_skipped():
    sample = parse_meter_value(
        {
            "timestamp": "2025-03-01T12:00:00Z",
            "sampledValue": [
                sv("999", location="Inlet"),
                sv("100", location="Outlet", context="Transaction.Begin"),
                sv("abc", measurand="Power.Active.Import"),
                sv("nan", measurand="Current.Import"),
                sv("5", measurand="Power.Active.Import", unit="Wh"),  # wrong unit
                sv("0xDEADBEEF", format="SignedData"),
                sv("21", measurand="Temperature", unit="Celsius"),
            ],
        },
        T0,
    )
    assert sample is not None
    assert sample.energy_wh == 100.0 and sample.power_w is None and sample.current_a is None
    assert sample.context == "Transaction.Begin"
    only_signed = {
        "timestamp": "2025-03-01T12:00:00Z",
        "sampledValue": [sv("x", format="SignedData")],
    }
    assert parse_meter_values([only_signed], T0) == []


# -- registry --------------------------------------------------------------------------------


def counter(start: int = 100):
    value = start

    def next_id() -> int:
        nonlocal value
        value += 1
        return value

    return next_id


def started(registry: Registry, identity: str = "CP", connector_id: int = 1, **kw):
    tx, superseded = registry.start_transaction(
        "cpo",
        identity,
        connector_id=connector_id,
        id_tag=kw.get("id_tag", "TAG"),
        meter_start_wh=kw.get("meter_start_wh", 1000.0),
        started_at=kw.get("started_at", T0),
        authorization=IdTagStatus.accept(),
    )
    return tx, superseded


def test_transaction_ids_follow_the_wall_clock_and_never_repeat():
    wall = [TRANSACTION_ID_EPOCH + 500.0]
    ids = TransactionIds(lambda: wall[0])
    assert [ids(), ids(), ids()] == [500, 501, 502]
    wall[0] += 10_000
    assert ids() == 10_500
    restarted = TransactionIds(lambda: wall[0] + 1)
    assert restarted() > 10_500
    assert TransactionIds()() < 2**31


def test_registry_skips_ids_it_already_holds():
    registry = Registry(counter(0))
    registry.adopt(
        "cpo",
        "CP",
        1,
        1,
        parse_meter_values([{"timestamp": "2025-03-01T12:00:00Z", "sampledValue": [sv("5")]}], T0),
    )
    tx, _ = started(registry)
    assert tx.transaction_id == 2


def test_transactions_are_scoped_to_their_cpo_and_station():
    registry = Registry(counter())
    tx, _ = started(registry)
    assert registry.transaction("cpo", tx.transaction_id) is tx
    assert registry.transaction("other", tx.transaction_id) is None
    assert registry.open_transaction("cpo", "OTHER-CP", tx.transaction_id) is None
    stolen, newly = registry.stop_transaction(
        "cpo",
        "OTHER-CP",
        tx.transaction_id,
        meter_stop_wh=5.0,
        stopped_at=T0,
        reason="Local",
        id_tag=None,
        samples=[],
    )
    assert newly and stolen is not tx and stolen.recovered
    assert tx.is_open  # another station's stop never closes this one


def test_stop_is_idempotent_and_samples_are_capped(monkeypatch):
    monkeypatch.setattr("voltlab.csms.registry.MAX_SAMPLES_PER_TRANSACTION", 3)
    registry = Registry(counter())
    tx, _ = started(registry)
    samples = [
        parse_meter_value(
            {
                "timestamp": format_datetime(T0 + timedelta(minutes=i)),
                "sampledValue": [sv(str(1000 + i))],
            },
            T0,
        )
        for i in range(5)
    ]
    registry.record_samples(tx, samples)  # type: ignore[arg-type]
    assert [s.energy_wh for s in tx.samples] == [1000.0, 1003.0, 1004.0]
    assert tx.last_meter_wh == 1004.0
    stop = dict(meter_stop_wh=1010.0, stopped_at=T0, reason="Local", id_tag=None, samples=[])
    first, newly = registry.stop_transaction("cpo", "CP", tx.transaction_id, **stop)
    again, again_new = registry.stop_transaction("cpo", "CP", tx.transaction_id, **stop)
    assert newly and not again_new and first is again is tx
    assert tx.energy_wh == 10.0


def test_forget_cpo_drops_stations_and_transactions():
    registry = Registry(counter())
    registry.station("cpo", "CP")
    tx, _ = started(registry)
    registry.forget_cpo("cpo")
    assert registry.station_records("cpo") == []
    assert registry.transaction("cpo", tx.transaction_id) is None


# -- notifier --------------------------------------------------------------------------------


async def test_notifier_delivers_in_order_and_survives_failures_and_hangs():
    listener = RecordingListener(failing={"station_registered"}, delays={})
    notifier = StationNotifier(listener, "cpo", "CP", timeout=0.2)
    notifier.push(StationRegistered({"chargePointVendor": "V"}))
    for status in ("Preparing", "Charging"):
        notifier.push(ConnectorStatusChanged(1, status, "NoError", T0))
    await asyncio.wait_for(notifier.idle(), 2)
    assert [h.kind for h in listener.heard] == [
        "station_registered",
        "connector_status",
        "connector_status",
    ]
    listener.delays["connector_status"] = 5.0  # longer than the timeout: skipped
    notifier.push(ConnectorStatusChanged(1, "Finishing", "NoError", T0))
    notifier.push(StationRegistered({}))
    await asyncio.wait_for(notifier.idle(), 2)
    assert listener.heard[-1].kind == "station_registered"
    assert notifier.is_idle and notifier.pending == 0


# -- odds and ends ---------------------------------------------------------------------------


def test_timestamps_round_trip_and_fall_back():
    moment = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert format_datetime(moment) == "2025-03-01T12:00:00.123Z"
    assert parse_datetime_or("2025-03-01T14:00:00+02:00", T0) == T0
    assert parse_datetime_or("2025-03-01T12:00:00", T0) == T0  # naive means UTC
    assert parse_datetime_or("2025-03-01T12:00:00.1234567Z", T0).microsecond == 123456
    fallback = datetime(2000, 1, 1, tzinfo=UTC)
    assert parse_datetime_or("yesterday", fallback) is fallback
    assert parse_datetime_or(None, fallback) is fallback


def test_id_tag_info_drops_a_parent_too_long_for_ocpp16():
    info = id_tag_info(IdTagStatus("Accepted", None, "P" * 21))
    assert info == {"status": "Accepted"}
    with pytest.raises(ValueError):
        IdTagStatus("Unknown")


def test_version_choice():
    # The station's order of preference decides among the served versions.
    assert choose_version(["ocpp2.0.1", "ocpp1.6"]) == "ocpp2.0.1"
    assert choose_version(["ocpp1.6", "ocpp2.0.1"]) == "ocpp1.6"
    assert choose_version(["ocpp1.5", "ocpp2.1"]) == "ocpp2.1"
    assert choose_version(["ocpp1.5"]) is None
    assert choose_version([]) is None
