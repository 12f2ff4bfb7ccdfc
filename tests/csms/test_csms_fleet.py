"""Real voltlab fleet stations (OCPP 1.6, simulated time x100) against the built-in CSMS."""

from __future__ import annotations

import pytest
from csms_support import (  # noqa: F401 - the *_fixture names register fixtures
    CPO,
    RecordingListener,
    live_fixture,
    start_csms_fixture,
    wait_until,
)

from voltlab.csms.events import IdTagStatus
from voltlab.fleet.driver.runner import StationRunner
from voltlab.fleet.hosting.commands import COMMANDS
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.fleet.hosting.runtime_api import ChargerSpec
from voltlab.fleet.model.station import StationError


async def start_station(
    runtime: FleetRuntime, url: str, identity: str, model: str = "ac-22kw-2c"
) -> StationRunner:
    spec = ChargerSpec(f"dep-{identity}", "org-1", identity, url, "ocpp1.6", model)
    await runtime.start_charger(spec)
    runner = runtime.runner(spec.charger_id)
    assert runner is not None
    await wait_until(lambda: runner.link.online)
    return runner


async def plug(runner: StationRunner, connector_id: int, soc_percent: float = 20.0) -> None:
    payload = {"connector_id": connector_id, "soc_percent": soc_percent}
    await COMMANDS["plug_connector"](runner, payload)


def statuses(listener: RecordingListener, identity: str, connector_id: int) -> list[str]:
    return [
        h.data["status"]
        for h in listener.of("connector_status", identity)
        if h.data["connector_id"] == connector_id
    ]


async def test_boot_and_status_reports_reach_the_listener(live, runtime):
    runner = await start_station(runtime, live.url, "CP-BOOT")
    listener = live.listener
    await wait_until(lambda: all(statuses(listener, "CP-BOOT", c) for c in (0, 1, 2)))
    (registered,) = listener.of("station_registered", "CP-BOOT")
    assert registered.cpo_id == CPO
    assert registered.data["boot"]["chargePointModel"] == "StreetPost 22 Duo"
    assert statuses(listener, "CP-BOOT", 1) == ["Available"]
    (view,) = live.csms.stations(CPO)
    assert view.identity == "CP-BOOT" and view.connected and view.registered
    assert view.version == "ocpp1.6"
    assert [(c.connector_id, c.status) for c in view.connectors] == [
        (0, "Available"),
        (1, "Available"),
        (2, "Available"),
    ]
    assert view.open_transactions == ()
    # The heartbeat interval of the BootNotification answer took effect at the station.
    assert runner.station.config.get_int("HeartbeatInterval") == 60
    assert live.csms.stations("cpo-other") == []


async def test_a_rejected_id_tag_is_refused(live, runtime):
    live.listener.decisions["STOLEN"] = IdTagStatus("Blocked")
    runner = await start_station(runtime, live.url, "CP-DENY")
    # Authorize first (start-session): the station does not start at all.
    with pytest.raises(StationError) as refused:
        await COMMANDS["start_session"](runner, {"connector_id": 1, "id_tag": "STOLEN"})
    assert refused.value.code == "not_authorized"
    assert [h.data["id_tag"] for h in live.listener.of("authorize")] == ["STOLEN"]
    # StartTransaction without Authorize: the CSMS records it, answers Blocked, and the
    # station stops it with DeAuthorized.
    await plug(runner, 2)
    await COMMANDS["start_transaction"](runner, {"connector_id": 2, "id_tag": "STOLEN"})
    await wait_until(lambda: live.listener.of("transaction_stopped", "CP-DENY"))
    (started,) = live.listener.txs("transaction_started", "CP-DENY")
    (stopped,) = live.listener.txs("transaction_stopped", "CP-DENY")
    assert started.id_tag_status == "Blocked"
    assert stopped.transaction_id == started.transaction_id
    assert stopped.stop_reason == "DeAuthorized"
    assert runner.station.connectors[2].transaction is None


async def test_a_full_session(live, runtime):
    runner = await start_station(runtime, live.url, "CP-SESSION")
    await plug(runner, 1)
    result = await COMMANDS["start_session"](runner, {"connector_id": 1, "id_tag": "TAG-OK"})
    tx_id = result["transaction_id"]
    await wait_until(lambda: live.csms.transaction(CPO, tx_id) is not None)
    # MeterValueSampleInterval 60 s is 0.6 s of real time here.
    await wait_until(lambda: len(live.listener.of("meter_values", "CP-SESSION")) >= 3)
    stopped = await COMMANDS["stop_session"](runner, {"connector_id": 1})
    station_energy = stopped["stopped_transaction"]["energy_wh"]
    await wait_until(lambda: live.listener.of("transaction_stopped", "CP-SESSION"))

    (started,) = live.listener.txs("transaction_started", "CP-SESSION")
    assert started.transaction_id == tx_id and started.id_tag == "TAG-OK"
    assert started.connector_id == 1 and started.is_open
    energies = [
        s.energy_wh
        for h in live.listener.of("meter_values", "CP-SESSION")
        for s in h.data["samples"]
    ]
    assert all(a < b for a, b in zip(energies, energies[1:], strict=False)), energies
    assert all(h.data["tx"].transaction_id == tx_id for h in live.listener.of("meter_values"))
    (final,) = live.listener.txs("transaction_stopped", "CP-SESSION")
    assert final.transaction_id == tx_id and not final.is_open
    assert final.stop_reason == "Local" and not final.recovered
    # The station reports whole Wh; its own figure is rounded to 0.1 Wh.
    assert abs((final.meter_stop_wh - final.meter_start_wh) - station_energy) <= 1.0
    assert final.energy_wh > 0 and final.last_power_w is not None and final.last_power_w > 0
    assert final.samples[-1].context == "Transaction.End"
    assert final.stopped_at > final.started_at
    assert live.csms.find_transaction_by_connector(CPO, "CP-SESSION", 1) is None
    assert live.csms.transaction(CPO, tx_id).meter_stop_wh == final.meter_stop_wh
    # Every listener call for the session came in protocol order.
    kinds = [h.kind for h in live.listener.heard if h.identity == "CP-SESSION"]
    tx_kinds = [k for k in kinds if k in ("transaction_started", "transaction_stopped")]
    assert tx_kinds == ["transaction_started", "transaction_stopped"]
    assert kinds.index("transaction_started") < kinds.index("meter_values")
    # The statuses after the stop (Finishing, Available) follow StopTransaction on the wire.
    await wait_until(lambda: statuses(live.listener, "CP-SESSION", 1)[-1] == "Available")


async def test_remote_start_and_remote_stop(live, runtime):
    runner = await start_station(runtime, live.url, "CP-REMOTE")
    await plug(runner, 2)
    await wait_until(lambda: "Preparing" in statuses(live.listener, "CP-REMOTE", 2))
    assert await live.csms.remote_start(CPO, "CP-REMOTE", 2, "REMOTE-1") == "Accepted"
    await wait_until(lambda: live.listener.of("transaction_started", "CP-REMOTE"))
    (started,) = live.listener.txs("transaction_started", "CP-REMOTE")
    assert (started.id_tag, started.connector_id) == ("REMOTE-1", 2)
    open_tx = live.csms.find_transaction_by_connector(CPO, "CP-REMOTE", 2)
    assert open_tx is not None and open_tx.transaction_id == started.transaction_id
    assert live.csms.station(CPO, "CP-REMOTE").open_transactions[0].id_tag == "REMOTE-1"
    await wait_until(lambda: "Charging" in statuses(live.listener, "CP-REMOTE", 2))

    answer = await live.csms.remote_stop(CPO, "CP-REMOTE", started.transaction_id)
    assert answer == "Accepted"
    await wait_until(lambda: live.listener.of("transaction_stopped", "CP-REMOTE"))
    (stopped,) = live.listener.txs("transaction_stopped", "CP-REMOTE")
    assert stopped.transaction_id == started.transaction_id
    assert stopped.stop_reason == "Remote"
    assert runner.station.connectors[2].transaction is None
    # An id the station does not hold is rejected by the station.
    assert await live.csms.remote_stop(CPO, "CP-REMOTE", 1) == "Rejected"


async def test_remote_start_waits_for_the_cable(live, runtime):
    runner = await start_station(runtime, live.url, "CP-CABLE")
    assert await live.csms.remote_start(CPO, "CP-CABLE", None, "REMOTE-2") == "Accepted"
    await wait_until(lambda: "Preparing" in statuses(live.listener, "CP-CABLE", 1))
    assert live.listener.of("transaction_started") == []
    await plug(runner, 1)
    await wait_until(lambda: live.listener.of("transaction_started", "CP-CABLE"))
    assert live.listener.txs("transaction_started")[0].id_tag == "REMOTE-2"


async def test_reset_reboots_the_station(live, runtime):
    runner = await start_station(runtime, live.url, "CP-RESET")
    assert await live.csms.reset(CPO, "CP-RESET", hard=False) == "Accepted"
    await wait_until(lambda: len(live.listener.of("station_registered", "CP-RESET")) == 2)
    await wait_until(lambda: runner.link.online)
    assert live.csms.station(CPO, "CP-RESET").registered


async def test_unknown_identity_never_gets_online(start_csms, runtime):
    async def known(cpo_id: str, identity: str) -> bool:
        return identity.startswith("CP-OK")

    live = await start_csms(is_known_station=known)
    spec = ChargerSpec("dep-x", "org-1", "CP-INTRUDER", live.url, "ocpp1.6", "ac-7kw-1c")
    await runtime.start_charger(spec)
    runner = runtime.runner("dep-x")
    await wait_until(lambda: runner.link.last_error)
    assert "404" in runner.link.last_error
    assert not runner.link.online
    assert live.csms.stations(CPO) == []
    await start_station(runtime, live.url, "CP-OK-1", "ac-7kw-1c")


async def test_a_transaction_survives_a_csms_restart(start_csms, runtime):
    first = await start_csms()
    runner = await start_station(runtime, first.url, "CP-PHOENIX")
    await plug(runner, 1)
    result = await COMMANDS["start_session"](runner, {"connector_id": 1, "id_tag": "TAG-R"})
    await wait_until(lambda: first.listener.of("meter_values", "CP-PHOENIX"))
    port = first.port
    await first.stop()
    second = await start_csms(port=port)
    await wait_until(lambda: second.listener.of("meter_values", "CP-PHOENIX"), timeout=15)
    # The new CSMS adopted the transaction from the station's MeterValues.
    (adopted,) = second.listener.txs("transaction_started", "CP-PHOENIX")
    assert adopted.recovered and adopted.transaction_id == result["transaction_id"]
    stopped = await COMMANDS["stop_session"](runner, {"connector_id": 1})
    await wait_until(lambda: second.listener.of("transaction_stopped", "CP-PHOENIX"))
    (final,) = second.listener.txs("transaction_stopped", "CP-PHOENIX")
    # StopTransaction's Transaction.Begin reading restores the true meter start.
    station_energy = stopped["stopped_transaction"]["energy_wh"]
    assert abs(final.energy_wh - station_energy) <= 1.0
    assert final.meter_start_wh == pytest.approx(result["meter_start_wh"], abs=1.0)
