"""Smart charging on the wire, 1.6 and 2.0.1, against the strict ocpp-rpc CSMS: a 22 kW
session gets a 3.7 kW TxProfile mid-session; the MeterValues the CSMS receives show the power
at or under the limit and energy growing at that rate."""

from __future__ import annotations

import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer
from support import wait_until
from voltlab.fleet.hosting.commands import COMMANDS
from voltlab.fleet.hosting.runtime_api import ChargerSpec
from voltlab.ocpp.vocabulary.timestamps import parse_timestamp

LIMIT_W = 3700.0


def samples_16(calls: list[dict]) -> list[tuple[float, float, float]]:
    out = []
    for call in calls:
        for mv in call["meterValue"]:
            values = {
                sv["measurand"]: float(sv["value"])
                for sv in mv["sampledValue"]
                if "phase" not in sv
            }
            out.append(
                (
                    parse_timestamp(mv["timestamp"]),
                    values["Power.Active.Import"],
                    values["Energy.Active.Import.Register"],
                )
            )
    return out


def samples_201(events: list[dict]) -> list[tuple[float, float, float]]:
    out = []
    for event in events:
        if event.get("triggerReason") != "MeterValuePeriodic":
            continue
        for mv in event["meterValue"]:
            values = {
                sv["measurand"]: float(sv["value"])
                for sv in mv["sampledValue"]
                if "phase" not in sv
            }
            out.append(
                (
                    parse_timestamp(mv["timestamp"]),
                    values["Power.Active.Import"],
                    values["Energy.Active.Import.Register"],
                )
            )
    return out


@pytest.mark.parametrize("version", ["ocpp1.6", "ocpp2.0.1"])
async def test_tx_profile_caps_meter_values(runtime, version):
    async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
        identity = f"SC-{version[-3:]}"
        await runtime.start_charger(
            ChargerSpec("dep-sc", "org", identity, peer.url, version, "ac-22kw-2c")
        )
        runner = runtime.runner("dep-sc")
        await wait_until(lambda: runner.link.online)
        await COMMANDS["configuration"](runner, {"key": "MeterValueSampleInterval", "value": "30"})
        await COMMANDS["plug_connector"](
            runner, {"connector_id": 1, "ev_profile": "premium-suv", "soc_percent": 20}
        )
        await COMMANDS["start_session"](runner, {"connector_id": 1, "id_tag": "SMART"})
        read = (
            (lambda: samples_16(peer.calls(identity, "MeterValues")))
            if version == "ocpp1.6"
            else (lambda: samples_201(peer.calls(identity, "TransactionEvent")))
        )
        await wait_until(lambda: len(read()) >= 2)
        assert read()[-1][1] == pytest.approx(22_000, rel=0.01)  # full power before the limit
        tx = runner.station.connectors[1].transaction
        schedule = {
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": LIMIT_W}],
        }
        if version == "ocpp1.6":
            answer = await peer.call(
                identity,
                "SetChargingProfile",
                {
                    "connectorId": 1,
                    "csChargingProfiles": {
                        "chargingProfileId": 11,
                        "transactionId": tx.transaction_id,
                        "stackLevel": 1,
                        "chargingProfilePurpose": "TxProfile",
                        "chargingProfileKind": "Relative",
                        "chargingSchedule": schedule,
                    },
                },
            )
        else:
            answer = await peer.call(
                identity,
                "SetChargingProfile",
                {
                    "evseId": 1,
                    "chargingProfile": {
                        "id": 11,
                        "transactionId": str(tx.transaction_id),
                        "stackLevel": 1,
                        "chargingProfilePurpose": "TxProfile",
                        "chargingProfileKind": "Relative",
                        "chargingSchedule": [{"id": 1, **schedule}],
                    },
                },
            )
        assert answer["status"] == "Accepted"
        # Samples stamped after the answer (simulated time): under load a sample read before
        # the limit can reach the peer's record after the answer, and it rightly shows 22 kW.
        applied_at = runner.now()

        def after_limit() -> list[tuple[float, float, float]]:
            return [sample for sample in read() if sample[0] > applied_at]

        await wait_until(lambda: len(after_limit()) >= 4, timeout=30)
        limited = after_limit()
        assert all(power <= LIMIT_W + 0.5 for _, power, _ in limited)
        for (t0, _, e0), (t1, _, e1) in zip(limited, limited[1:], strict=False):
            slope_w = (e1 - e0) * 3600 / (t1 - t0)
            assert slope_w == pytest.approx(LIMIT_W, rel=0.02), (t0, t1, e0, e1)
        unit = "W"
        if version == "ocpp1.6":
            composite = await peer.call(
                identity,
                "GetCompositeSchedule",
                {"connectorId": 1, "duration": 600, "chargingRateUnit": unit},
            )
            periods = composite["chargingSchedule"]["chargingSchedulePeriod"]
        else:
            composite = await peer.call(
                identity,
                "GetCompositeSchedule",
                {"evseId": 1, "duration": 600, "chargingRateUnit": unit},
            )
            periods = composite["schedule"]["chargingSchedulePeriod"]
        assert composite["status"] == "Accepted" and periods[0]["limit"] == LIMIT_W
        clear = {"id": 11} if version == "ocpp1.6" else {"chargingProfileId": 11}
        assert (await peer.call(identity, "ClearChargingProfile", clear))["status"] == "Accepted"
        after = len(read())
        await wait_until(lambda: len(read()) >= after + 2, timeout=15)
        assert read()[-1][1] == pytest.approx(22_000, rel=0.01)
        await peer.sync()
        assert peer.strict_failures == []


async def test_201_get_charging_profiles_answers_then_reports_each_evse(runtime):
    """GetChargingProfiles on the wire: Accepted, then one ReportChargingProfiles per EVSE
    (tbc on all but the last), each valid for the strict CSMS; no match: NoProfiles."""
    async with OcppRpcPeer(protocols=("ocpp2.0.1",), strict=True) as peer:
        identity = "SC-REPORT"
        await runtime.start_charger(
            ChargerSpec("dep-sc-report", "org", identity, peer.url, "ocpp2.0.1", "ac-22kw-2c")
        )
        runner = runtime.runner("dep-sc-report")
        await wait_until(lambda: runner.link.online)
        for evse_id, purpose, limit in (
            (0, "ChargingStationMaxProfile", 30000.0),
            (2, "TxDefaultProfile", 7400.0),
        ):
            profile = {
                "id": 20 + evse_id,
                "stackLevel": 1,
                "chargingProfilePurpose": purpose,
                "chargingProfileKind": "Relative" if evse_id else "Absolute",
                "chargingSchedule": [
                    {
                        "id": 1,
                        "chargingRateUnit": "W",
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
                    }
                ],
            }
            if not evse_id:
                profile["chargingSchedule"][0]["startSchedule"] = "2020-01-01T00:00:00.000Z"
            answer = await peer.call(
                identity, "SetChargingProfile", {"evseId": evse_id, "chargingProfile": profile}
            )
            assert answer["status"] == "Accepted"
        answer = await peer.call(
            identity, "GetChargingProfiles", {"requestId": 31, "chargingProfile": {}}
        )
        assert answer == {"status": "Accepted"}
        await wait_until(lambda: len(peer.calls(identity, "ReportChargingProfiles")) >= 2)
        reports = peer.calls(identity, "ReportChargingProfiles")
        assert [(r["requestId"], r["evseId"], r.get("tbc")) for r in reports] == [
            (31, 0, True),
            (31, 2, None),
        ]
        assert [[p["id"] for p in r["chargingProfile"]] for r in reports] == [[20], [22]]
        assert reports[0]["chargingProfile"][0]["chargingProfilePurpose"] == (
            "ChargingStationMaxProfile"
        )
        none = await peer.call(
            identity, "GetChargingProfiles", {"requestId": 32, "chargingProfile": {"stackLevel": 9}}
        )
        assert none == {"status": "NoProfiles"}
        composite = await peer.call(identity, "GetCompositeSchedule", {"evseId": 2, "duration": 60})
        assert composite["status"] == "Accepted"
        assert composite["schedule"]["chargingSchedulePeriod"][0]["limit"] == 7400.0
        unknown = await peer.call(identity, "GetCompositeSchedule", {"evseId": 7, "duration": 60})
        assert unknown == {"status": "Rejected"}
        await peer.sync()
        assert len(peer.calls(identity, "ReportChargingProfiles")) == 2
        assert peer.strict_failures == []
