"""Local cost and periodic event streams in the station machine (OCPP 2.1), against an
automatic CSMS that checks every frame against the OCA schemas: what 2.0.1 keeps (no tariffs,
CostUpdated), a tariff cleared under a running transaction, a restart in the middle of a
priced session, running cost switched off, and a stream's points kept while offline."""

from __future__ import annotations

from typing import Any

from fleet.auto_csms import T0, AutoCsms, station_machine
from voltlab.fleet.codecs.station_codec import codec_for
from voltlab.fleet.machine.customer_messages import CostUpdated
from voltlab.fleet.machine.events import Connected, Disconnected, Restored
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.session_messages import (
    PlugIn,
    StartTransaction,
    StopTransaction,
    Unplug,
)
from voltlab.fleet.machine.settings import settings_for
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.station import Station
from voltlab.fleet.model.station_state import restore_station, station_snapshot
from voltlab.ocpp.versions import OCPP21, OCPP201

FLAT = {
    "tariffId": "FLAT",
    "currency": "EUR",
    "energy": {"prices": [{"priceKwh": 0.30}]},
    "fixedFee": {"prices": [{"priceFixed": 1.00}]},
}


def request(csms: AutoCsms, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A CSMS request as it comes on the wire; its answer as it goes back."""
    csms.request(csms.codec.requests[action].decode(payload), action=action)
    return csms.answered[-1][1]


def events(csms: AutoCsms, event_type: str) -> list[dict[str, Any]]:
    return [p for p in csms.actions("TransactionEvent") if p["eventType"] == event_type]


def start(m: StationMachine, csms: AutoCsms, connector: int = 1) -> str:
    csms.command(PlugIn(connector))
    csms.command(StartTransaction(connector, f"TAG-{connector}"))
    tx = m.station.connectors[connector].transaction
    assert tx is not None
    return str(tx.transaction_id)


def test_a_201_station_takes_no_tariffs_and_keeps_costupdated() -> None:
    assert not {"SetDefaultTariff", "GetPeriodicEventStream"} & set(codec_for(OCPP201).requests)
    m, csms = station_machine(OCPP201)
    tx_id = start(m, csms)
    csms.request(CostUpdated(tx_id, 2.35))
    assert m.station.connectors[1].transaction.total_cost == 2.35
    csms.advance(T0 + 600)
    csms.command(StopTransaction(1, "Local"))
    for event in csms.actions("TransactionEvent"):
        assert "costDetails" not in event and "tariffId" not in event["transactionInfo"]


def test_costupdated_still_works_beside_local_cost() -> None:
    m, csms = station_machine(OCPP21)
    request(csms, "SetDefaultTariff", {"evseId": 0, "tariff": FLAT})
    tx_id = start(m, csms)
    assert request(csms, "CostUpdated", {"totalCost": 4.5, "transactionId": tx_id}) == {}
    assert m.station.connectors[1].transaction.total_cost == 4.5


def test_a_cleared_tariff_keeps_pricing_the_transaction_that_started_with_it() -> None:
    m, csms = station_machine(OCPP21)
    request(csms, "SetDefaultTariff", {"evseId": 1, "tariff": FLAT})
    start(m, csms)
    cleared = request(csms, "ClearTariffs", {"tariffIds": ["FLAT"]})
    assert cleared == {"clearTariffsResult": [{"tariffId": "FLAT", "status": "Accepted"}]}
    # Off the EVSE, still pricing the transaction there: listed with that EVSE.
    assert request(csms, "GetTariffs", {"evseId": 0}) == {
        "status": "Accepted",
        "tariffAssignments": [{"tariffId": "FLAT", "tariffKind": "DefaultTariff", "evseIds": [1]}],
    }
    assert request(csms, "GetTariffs", {"evseId": 2}) == {"status": "NoTariff"}
    csms.advance(T0 + 1800)  # 30 minutes at 11 kW: 5.5 kWh
    csms.command(StopTransaction(1, "Local"))
    [ended] = events(csms, "Ended")
    assert ended["costDetails"]["totalCost"]["total"] == {"exclTax": 2.65, "inclTax": 2.65}
    assert request(csms, "GetTariffs", {"evseId": 0}) == {"status": "NoTariff"}
    # The next session on EVSE 1 is not priced: no default tariff any more.
    csms.command(Unplug(1))
    start(m, csms)
    [_, second] = events(csms, "Started")
    assert "tariffId" not in second["transactionInfo"]


def test_running_cost_is_off_with_interval_zero_or_cost_disabled() -> None:
    for variable, value in (("Interval[Cost]", "0"), ("Enabled[Cost]", "false")):
        m, csms = station_machine(OCPP21)
        name, instance = variable.rstrip("]").split("[")
        request(
            csms,
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "attributeValue": value,
                        "component": {"name": "TariffCostCtrlr"},
                        "variable": {"name": name, "instance": instance},
                    }
                ]
            },
        )
        request(csms, "SetDefaultTariff", {"evseId": 0, "tariff": FLAT})
        start(m, csms)
        csms.advance(T0 + 900)
        csms.command(StopTransaction(1, "Local"))
        updates = [e for e in events(csms, "Updated") if "costDetails" in e]
        assert updates == [], variable
        [ended] = events(csms, "Ended")
        assert ended["costDetails"]["totalCost"]["total"]["exclTax"] == 1.83  # 1.00 + 2.75 kWh


def test_a_priced_session_carried_over_a_restart_is_priced_whole() -> None:
    m, csms = station_machine(OCPP21)
    request(csms, "SetDefaultTariff", {"evseId": 0, "tariff": FLAT})
    start(m, csms)
    csms.advance(T0 + 900)
    m.station.advance(csms.now)
    stored = station_snapshot(m.station)
    # Another process takes the station over, its session goes on (issue 14).
    station = Station("CP-201", CATALOG["ac-22kw-2c"], seed=11)
    restore_station(station, stored, continue_transactions=True)
    assert set(station.cost_meters) == {1} and station.tariffs.in_force(1, csms.now)
    again = StationMachine(station, settings_for(OCPP21))
    csms.machine = again
    again.handle(Restored(), csms.now)
    csms.feed(Connected())
    csms.advance(T0 + 1800)
    csms.command(StopTransaction(1, "Local"))
    [ended] = events(csms, "Ended")
    usage = ended["costDetails"]["totalUsage"]
    # Charging resumed after the takeover: priced from start to end, nothing twice.
    assert usage["energy"] == ended["meterValue"][0]["sampledValue"][0]["value"]
    total = ended["costDetails"]["totalCost"]["total"]["exclTax"]
    assert total == round(1.00 + 0.30 * usage["energy"] / 1000 + 1e-9, 2)


def power_monitor(stream: dict[str, int]) -> dict[str, Any]:
    return {
        "value": 10,
        "type": "Periodic",
        "severity": 8,
        "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "Power"},
        "periodicEventStream": stream,
    }


def test_a_streams_points_wait_while_offline_and_go_with_pending() -> None:
    m, csms = station_machine(OCPP21)
    answer = request(
        csms,
        "SetVariableMonitoring",
        {"setMonitoringData": [power_monitor({"interval": 0, "values": 3})]},
    )
    assert answer["setMonitoringResult"][0]["status"] == "Accepted"
    [opened] = csms.actions("OpenPeriodicEventStream")
    start(m, csms)
    csms.advance(T0 + 60)  # six points: two frames of three
    frames = csms.actions("NotifyPeriodicEventStream")
    assert [len(f["data"]) for f in frames] == [3, 3]
    assert {f["id"] for f in frames} == {opened["constantStreamData"]["id"]}
    csms.feed(Disconnected())
    csms.advance(T0 + 140)  # eight points taken offline, none sent
    assert len(csms.actions("NotifyPeriodicEventStream")) == 2
    csms.feed(Connected())
    csms.advance(T0 + 150)  # the next point sends all nine: three frames, pending 6, 3, 0
    later = csms.actions("NotifyPeriodicEventStream")[2:]
    assert [(len(f["data"]), f["pending"]) for f in later] == [(3, 6), (3, 3), (3, 0)]
    assert [float(p["v"]) for f in later for p in f["data"]] == [11000.0] * 9
