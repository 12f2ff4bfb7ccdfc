"""What the 2.x additions keep across a restart: the station's snapshot (a JSON round trip, as
the store keeps it) brings back the monitors as the CSMS left them, the monitoring base and
level, the display messages, the network profiles and the one in use, the external limits and
a running transaction's cost; a fresh station's snapshot carries none of it."""

from __future__ import annotations

import json

from fleet.auto_csms import station_machine
from voltlab.fleet.machine.charging_limit_messages import SetExternalLimit
from voltlab.fleet.machine.customer_messages import CostUpdated
from voltlab.fleet.machine.display_requests import SetDisplayMessage
from voltlab.fleet.machine.monitoring_messages import (
    ClearVariableMonitoring,
    SetMonitoringBase,
    SetMonitoringLevel,
    SetVariableMonitoring,
)
from voltlab.fleet.machine.session_messages import PlugIn, StartTransaction
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.device_model_types import ComponentRef, VariableRef
from voltlab.fleet.model.device_monitoring import MonitorSetting
from voltlab.fleet.model.display_messages import DisplayMessage
from voltlab.fleet.model.network_profiles import NetworkProfile
from voltlab.fleet.model.station import Station
from voltlab.fleet.model.station_state import restore_station, station_snapshot
from voltlab.ocpp.versions import OCPP201


def test_the_2x_state_survives_a_restart() -> None:
    m, csms = station_machine(OCPP201)
    fresh = station_snapshot(m.station)
    assert not {"monitors", "display_messages", "network_profiles", "external_limits"} & set(fresh)
    power = VariableRef("Power")
    csms.request(
        SetVariableMonitoring(
            (
                MonitorSetting(ComponentRef("EVSE", 1), power, "UpperThreshold", 7000, 3),
                MonitorSetting(ComponentRef("EVSE", 2), power, "UpperThreshold", 9000, 2, id=5),
            )
        )
    )
    csms.request(ClearVariableMonitoring((6,)))
    csms.request(SetMonitoringBase("FactoryDefault"))
    set_monitors = SetVariableMonitoring(
        (MonitorSetting(ComponentRef("EVSE", 1), power, "Periodic", 600, 8),)
    )
    csms.request(set_monitors)
    csms.request(SetMonitoringLevel(6))
    csms.request(SetDisplayMessage(DisplayMessage(3, "InFront", "UTF8", "Hello", state="Idle")))
    m.station.network.slots[2] = NetworkProfile("wss://csms-b.example/ocpp", 2, "pw-of-slot-two!!")
    m.station.network.priority, m.station.network.active = (2, 1), 2
    csms.command(SetExternalLimit(0, 9_000.0, "EMS"))
    csms.command(PlugIn(1))
    csms.command(StartTransaction(1, "TAG-P"))
    tx = m.station.connectors[1].transaction
    assert tx is not None
    csms.request(CostUpdated(str(tx.transaction_id), 2.5))

    stored = json.loads(json.dumps(station_snapshot(m.station)))
    again = Station("CP-201", CATALOG["ac-22kw-2c"], config=stored["config"], seed=11)
    restore_station(again, stored, continue_transactions=True)
    assert list(again.monitors.all()) == list(m.station.monitors.all())
    assert again.monitors.get(6) is None and again.monitors.get(5).value == 9000  # type: ignore[union-attr]
    assert (again.monitors.base, again.monitors.level) == ("FactoryDefault", 6)
    assert again.monitors.next_id == m.station.monitors.next_id
    assert again.display_messages.all(csms.now) == m.station.display_messages.all(csms.now)
    assert again.network.slots == m.station.network.slots
    assert (again.network.priority, again.network.active) == ((2, 1), 2)
    assert again.external_limits.all() == m.station.external_limits.all()
    restored_tx = again.connectors[1].transaction
    assert restored_tx is not None and restored_tx.total_cost == 2.5
