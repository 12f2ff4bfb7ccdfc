"""OCPP 2.1 local cost against the strict ocpp-rpc CSMS (2.1 schemas): a default tariff prices
a session, and the cost the Ended event carries is the cost a CSMS computes by hand from the
meter values it received, to the cent; the running cost, a tariff changed mid-session,
GetTariffs and ClearTariffs with and without ids, the refusals, and one malformed request of
each new CSMS-initiated message answered with its CALLERROR."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer, PeerCallError
from support import wait_until
from voltlab.fleet.hosting.commands import COMMANDS
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.fleet.hosting.runtime_api import ChargerSpec
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

REGISTER = "Energy.Active.Import.Register"
CENT = Decimal("0.01")
# The acceptance tariff: 0.30 per kWh and 1.00 once.
FLAT = {
    "tariffId": "FLAT-030",
    "currency": "EUR",
    "description": [{"format": "UTF8", "content": "0.30 EUR/kWh + 1.00 EUR", "language": "en"}],
    "energy": {"prices": [{"priceKwh": 0.30}]},
    "fixedFee": {"prices": [{"priceFixed": 1.00}]},
}


@pytest.fixture
async def peer21():
    async with OcppRpcPeer(protocols=("ocpp2.1",), strict=True) as peer:
        yield peer


async def boot(runtime: FleetRuntime, peer: OcppRpcPeer, identity: str):
    spec = ChargerSpec(f"dep-{identity}", "org", identity, peer.url, "ocpp2.1", "ac-22kw-2c")
    await runtime.start_charger(spec)
    runner = runtime.runner(f"dep-{identity}")
    await wait_until(lambda: runner.link.online)
    await wait_until(lambda: len(peer.calls(identity, "StatusNotification")) >= 2)
    return runner


def transaction_events(peer: OcppRpcPeer, identity: str, event_type: str) -> list[dict]:
    return [e for e in peer.calls(identity, "TransactionEvent") if e["eventType"] == event_type]


def register_of(event: dict) -> Decimal:
    """The energy register a TransactionEvent carries, as the CSMS read it."""
    [value] = [
        sample["value"]
        for meter_value in event["meterValue"]
        for sample in meter_value["sampledValue"]
        if sample.get("measurand", REGISTER) == REGISTER
    ]
    return Decimal(str(value))


def euros(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


async def set_variable(peer: OcppRpcPeer, identity: str, variable: str, instance: str, value: str):
    answer = await peer.call(
        identity,
        "SetVariables",
        {
            "setVariableData": [
                {
                    "attributeValue": value,
                    "component": {"name": "TariffCostCtrlr"},
                    "variable": {"name": variable, "instance": instance},
                }
            ]
        },
    )
    assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"


async def test_the_ended_cost_of_a_default_tariff_is_the_hand_computed_cost(
    runtime, peer21
) -> None:
    peer, ident = peer21, "CS-21-COST"
    runner = await boot(runtime, peer, ident)
    await set_variable(peer, ident, "Interval", "Cost", "120")  # a running cost every 2 min
    assert await peer.call(ident, "SetDefaultTariff", {"evseId": 0, "tariff": FLAT}) == {
        "status": "Accepted"
    }
    listed = await peer.call(ident, "GetTariffs", {"evseId": 0})
    assert listed == {
        "status": "Accepted",
        "tariffAssignments": [
            {"tariffId": "FLAT-030", "tariffKind": "DefaultTariff", "evseIds": [1, 2]}
        ],
    }
    await COMMANDS["plug_connector"](runner, {"connector_id": 1, "ev_profile": "family-hatch"})
    await COMMANDS["start_session"](runner, {"id_tag": "COST-1", "connector_id": 1})
    tx_id = runner.station.connectors[1].transaction.transaction_id
    # Ten minutes at 11 kW, then seven at 4.2 kW: the energy follows power and time.
    now = runner.now()
    await wait_until(lambda: runner.now() > now + 600, timeout=15)
    await COMMANDS["power_update"](runner, {"connector_id": 1, "power_kw": 4.2})
    await wait_until(lambda: runner.now() > now + 1020, timeout=15)
    view = runner.live_state()["connectors"][0]["local_cost"]
    assert (view["tariff_id"], view["currency"]) == ("FLAT-030", "EUR")
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    await wait_until(lambda: transaction_events(peer, ident, "Ended"))
    await peer.sync()

    [started] = transaction_events(peer, ident, "Started")
    [ended] = transaction_events(peer, ident, "Ended")
    assert started["transactionInfo"]["tariffId"] == "FLAT-030"
    assert ended["transactionInfo"] == {**ended["transactionInfo"], "tariffId": "FLAT-030"}
    energy_wh = register_of(ended) - register_of(started)
    assert Decimal(2000) < energy_wh < Decimal(2600)  # 11 kW x 600 s + 4.2 kW x 420 s
    # By hand, from the two registers the CSMS received: 0.30 per kWh, 1.00 once.
    energy_cost = euros(Decimal("0.30") * energy_wh / 1000)
    hand = Decimal("1.00") + energy_cost
    details = ended["costDetails"]
    total = details["totalCost"]
    assert (total["currency"], total["typeOfCost"]) == ("EUR", "NormalCost")
    assert Decimal(str(total["total"]["exclTax"])) == hand
    assert Decimal(str(total["total"]["inclTax"])) == hand  # no tax in the tariff
    assert total["fixed"] == {"exclTax": 1.0, "inclTax": 1.0}
    assert Decimal(str(total["energy"]["exclTax"])) == energy_cost
    assert Decimal(str(details["totalUsage"]["energy"])) == energy_wh
    [period] = details["chargingPeriods"]
    assert period["tariffId"] == "FLAT-030"
    dimensions = {d["type"]: d["volume"] for d in period["dimensions"]}
    assert Decimal(str(dimensions["Energy"])) == energy_wh
    # The EV drew 11 kW, then 4.2 kW; idle (it drew nothing) while the session got going.
    idle = dimensions["IdleTIme"]
    assert (dimensions["MaxPower"], dimensions["MinPower"]) == (11000, 0 if idle else 4200)
    assert dimensions["ChargingTime"] + idle == pytest.approx(1020, abs=90)
    # The running cost every two minutes: the transaction's, rising, below the final cost.
    running = [
        e for e in transaction_events(peer, ident, "Updated") if e["triggerReason"] == "RunningCost"
    ]
    assert 7 <= len(running) <= 9, len(running)  # 17 minutes / 2
    totals = [Decimal(str(e["costDetails"]["totalCost"]["total"]["exclTax"])) for e in running]
    assert totals == sorted(totals) and Decimal("1.00") < totals[0] and totals[-1] <= hand
    assert {e["transactionInfo"]["transactionId"] for e in running} == {tx_id}
    assert peer.strict_failures == []


async def test_a_tariff_changed_mid_session_prices_what_follows(runtime, peer21) -> None:
    peer, ident = peer21, "CS-21-CHANGE"
    runner = await boot(runtime, peer, ident)
    await set_variable(peer, ident, "Enabled", "Cost", "false")  # no running cost events
    await peer.call(ident, "SetDefaultTariff", {"evseId": 1, "tariff": FLAT})
    await COMMANDS["plug_connector"](runner, {"connector_id": 1, "ev_profile": "family-hatch"})
    await COMMANDS["start_session"](runner, {"id_tag": "CHG-1", "connector_id": 1})
    tx_id = runner.station.connectors[1].transaction.transaction_id
    now = runner.now()
    await wait_until(lambda: runner.now() > now + 300, timeout=15)
    peak = {**FLAT, "tariffId": "PEAK-050", "energy": {"prices": [{"priceKwh": 0.50}]}}
    refusals = [
        ({"transactionId": "no-such-tx", "tariff": peak}, "TxNotFound"),
        ({"transactionId": tx_id, "tariff": {**peak, "currency": "USD"}}, "NoCurrencyChange"),
    ]
    for request, status in refusals:
        answer = await peer.call(ident, "ChangeTransactionTariff", request)
        assert answer["status"] == status
    changed = await peer.call(
        ident, "ChangeTransactionTariff", {"transactionId": tx_id, "tariff": peak}
    )
    assert changed == {"status": "Accepted"}
    await wait_until(
        lambda: any(
            e["triggerReason"] == "TariffChanged"
            for e in transaction_events(peer, ident, "Updated")
        )
    )
    listed = await peer.call(ident, "GetTariffs", {"evseId": 1})
    kinds = [(a["tariffId"], a["tariffKind"], a["evseIds"]) for a in listed["tariffAssignments"]]
    assert kinds == [("FLAT-030", "DefaultTariff", [1]), ("PEAK-050", "DriverTariff", [1])]
    await wait_until(lambda: runner.now() > now + 600, timeout=15)
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    await wait_until(lambda: transaction_events(peer, ident, "Ended"))
    await peer.sync()

    [started] = transaction_events(peer, ident, "Started")
    [ended] = transaction_events(peer, ident, "Ended")
    [report] = [
        e for e in transaction_events(peer, ident, "Updated") if "costDetails" in e
    ]  # the change, and nothing else (Enabled[Cost] false)
    assert (report["triggerReason"], report["transactionInfo"]["tariffId"]) == (
        "TariffChanged",
        "PEAK-050",
    )
    details = ended["costDetails"]
    before, after = details["chargingPeriods"]
    assert (before["tariffId"], after["tariffId"]) == ("FLAT-030", "PEAK-050")
    volume = {
        name: Decimal(str(next(d["volume"] for d in p["dimensions"] if d["type"] == "Energy")))
        for name, p in (("before", before), ("after", after))
    }
    assert volume["before"] + volume["after"] == register_of(ended) - register_of(started)
    assert volume["before"] > 0 and volume["after"] > 0
    hand = Decimal("1.00") + euros(
        (Decimal("0.30") * volume["before"] + Decimal("0.50") * volume["after"]) / 1000
    )
    assert Decimal(str(details["totalCost"]["total"]["exclTax"])) == hand
    assert ended["transactionInfo"]["tariffId"] == "PEAK-050"
    assert peer.strict_failures == []


def flat(tariff_id: str, price: float, **extra: Any) -> dict[str, Any]:
    return {
        "tariffId": tariff_id,
        "currency": "EUR",
        "energy": {"prices": [{"priceKwh": price}]},
        **extra,
    }


async def test_tariffs_are_installed_listed_and_cleared_by_the_rules(runtime, peer21) -> None:
    peer, ident = peer21, "CS-21-TARIFFS"
    runner = await boot(runtime, peer, ident)

    async def set_default(evse_id: int, tariff: dict[str, Any]) -> str:
        answer = await peer.call(ident, "SetDefaultTariff", {"evseId": evse_id, "tariff": tariff})
        return str(answer["status"])

    async def tariffs(evse_id: int) -> list[tuple[str, list[int]]] | str:
        answer = await peer.call(ident, "GetTariffs", {"evseId": evse_id})
        if answer["status"] != "Accepted":
            return str(answer["status"])
        return [(a["tariffId"], a["evseIds"]) for a in answer["tariffAssignments"]]

    assert await tariffs(0) == "NoTariff"
    assert await set_default(1, flat("T-A", 0.25)) == "Accepted"
    assert await set_default(2, flat("T-B", 0.35)) == "Accepted"
    assert await tariffs(0) == [("T-A", [1]), ("T-B", [2])]
    assert await tariffs(2) == [("T-B", [2])]
    # The same tariff on another EVSE replaces the one there (an EVSE has one default).
    assert await set_default(2, flat("T-A", 0.25)) == "Accepted"
    assert await tariffs(0) == [("T-A", [1, 2])]
    assert await set_default(1, flat("T-A", 0.99)) == "DuplicateTariffId"
    assert await set_default(3, flat("T-C", 0.25)) == "Rejected"  # no EVSE 3
    many = {"prices": [{"priceKwh": 0.1 * n} for n in range(1, 12)]}  # 11 > MaxElements (10)
    assert await set_default(0, {**flat("T-D", 0.1), "energy": many}) == "TooManyElements"
    paying = {"prices": [{"priceFixed": 0.5, "conditions": {"paymentBrand": "Visa"}}]}
    assert await set_default(0, {**flat("T-E", 0.1), "fixedFee": paying}) == (
        "ConditionNotSupported"  # the station takes no ad-hoc payments
    )
    # A tariff valid from later waits beside the one in force: T-F takes EVSE 2 in an hour.
    valid_from = format_timestamp(runner.now() + 3600)
    assert await set_default(2, flat("T-F", 0.40, validFrom=valid_from)) == "Accepted"
    listed = await peer.call(ident, "GetTariffs", {"evseId": 2})
    assert [(a["tariffId"], a.get("validFrom")) for a in listed["tariffAssignments"]] == [
        ("T-A", None),
        ("T-F", valid_from),
    ]
    view = {t["tariff_id"]: t["in_force_on"] for t in runner.live_state()["tariffs"]}
    assert view == {"T-A": [1, 2], "T-F": []}

    cleared = await peer.call(ident, "ClearTariffs", {"tariffIds": ["T-A", "T-X"], "evseId": 2})
    assert cleared["clearTariffsResult"] == [
        {"tariffId": "T-A", "status": "Accepted"},
        {"tariffId": "T-X", "status": "NoTariff"},
    ]
    assert await tariffs(0) == [("T-A", [1]), ("T-F", [2])]  # T-A left EVSE 2 only
    everything = await peer.call(ident, "ClearTariffs", {})
    assert everything["clearTariffsResult"] == [
        {"tariffId": "T-A", "status": "Accepted"},
        {"tariffId": "T-F", "status": "Accepted"},
    ]
    assert (await peer.call(ident, "ClearTariffs", {}))["clearTariffsResult"] == [
        {"status": "NoTariff"}
    ]
    assert await tariffs(0) == "NoTariff"
    # Local cost switched off: no tariff is taken.
    await set_variable(peer, ident, "Enabled", "Tariff", "false")
    assert await set_default(0, flat("T-G", 0.3)) == "Rejected"
    await peer.sync()
    assert peer.strict_failures == []


MALFORMED: list[tuple[str, Any, str]] = [
    ("SetDefaultTariff", {"tariff": FLAT}, "OccurrenceConstraintViolation"),
    ("GetTariffs", {"evseId": "1"}, "TypeConstraintViolation"),
    ("ClearTariffs", {"tariffIds": []}, "OccurrenceConstraintViolation"),
    (
        "ChangeTransactionTariff",
        {"transactionId": "t" * 37, "tariff": FLAT},
        "PropertyConstraintViolation",
    ),
    ("GetPeriodicEventStream", [], "FormatViolation"),  # the payload is not a JSON object
    ("AdjustPeriodicEventStream", {"id": -1, "params": {}}, "PropertyConstraintViolation"),
    (
        "SetVariableMonitoring",  # 2.1's periodicEventStream, its interval a string
        {
            "setMonitoringData": [
                {
                    "value": 10,
                    "type": "Periodic",
                    "severity": 8,
                    "component": {"name": "EVSE", "evse": {"id": 1}},
                    "variable": {"name": "Power"},
                    "periodicEventStream": {"interval": "30"},
                }
            ]
        },
        "TypeConstraintViolation",
    ),
]


@pytest.mark.csms_misbehaves  # it sends malformed requests on purpose
async def test_one_malformed_request_of_each_gets_the_right_callerror(runtime, peer21) -> None:
    peer, ident = peer21, "CS-21-BAD"
    await boot(runtime, peer, ident)
    for index, (action, payload, code) in enumerate(MALFORMED):
        message_id = f"bad-{index}"
        frame = await peer.call_raw(ident, message_id, action, payload)
        assert (frame[0], frame[2]) == (4, code), (action, frame)
    # And a well-formed one is answered after all that.
    try:
        answer = await peer.call(ident, "GetTariffs", {"evseId": 0})
    except PeerCallError as exc:  # pragma: no cover - the assertion says what came back
        raise AssertionError(exc) from exc
    assert answer == {"status": "NoTariff"}
