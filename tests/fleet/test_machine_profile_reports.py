"""GetCompositeSchedule (1.6 and 2.x) and 2.x GetChargingProfiles as station-machine flows,
driven event by event on a virtual clock: what the machine answers, which reports follow the
answer, and the 1.6 / 2.x codec payloads of both against the OCA schemas.

The station (ac-22kw-2c) has two 3-phase 22 kW connectors and a 44 kW supply; at 230 V per
phase an ampere is 690 W on a connector."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.machine_support import register
from voltlab.fleet.codecs import ocpp16_control as control16
from voltlab.fleet.codecs import ocpp16_profiles as profiles16
from voltlab.fleet.codecs import ocpp201_control as control2x
from voltlab.fleet.codecs import ocpp201_profiles as profiles2x
from voltlab.fleet.codecs.station_codec import codec_for
from voltlab.fleet.machine.control_messages import (
    ChargingProfilesReport,
    CompositeScheduleAnswer,
    GetChargingProfilesAnswer,
    SetChargingProfileAnswer,
)
from voltlab.fleet.machine.effects import Answer, Effect, SendCall
from voltlab.fleet.machine.events import (
    CallAnswered,
    CsmsRequest,
    GatewayCommand,
)
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.session_messages import (
    PlugIn,
    StartTransaction,
    TransactionStarted,
    TransactionStartedAnswer,
)
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import SchemaSet, schema_set
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

T0 = 1_800_000_000.0
OK = IdTagInfo("Accepted")
SCHEMAS16 = schema_set(OCPP16)


def machine(version: str) -> StationMachine:
    station = Station("CP-PROFILES", CATALOG["ac-22kw-2c"], seed=5)
    if version == OCPP16:
        settings = MachineSettings(reports_reservation_ends=False)
    else:
        settings = MachineSettings(
            reports_reservation_ends=True, station_names_transactions=True, profile_rules=version
        )
    m = StationMachine(station, settings, new_transaction_id=lambda: "tx-1")
    register(m, T0)
    return m


def schedule(unit: str, periods: list[tuple[int, float]], **fields: Any) -> dict[str, Any]:
    return {
        **fields,
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": limit} for s, limit in periods],
    }


def set_profile_16(m: StationMachine, connector_id: int, body: dict[str, Any]) -> None:
    payload = {"connectorId": connector_id, "csChargingProfiles": body}
    SCHEMAS16.validate_request("SetChargingProfile", payload)
    effects = m.handle(CsmsRequest(control16.decode_set_charging_profile(payload)), m.context.now)
    assert Answer(SetChargingProfileAnswer("Accepted")) in effects


def set_profile_2x(
    m: StationMachine, schemas: SchemaSet, evse_id: int, body: dict[str, Any]
) -> None:
    payload = {"evseId": evse_id, "chargingProfile": body}
    schemas.validate_request("SetChargingProfile", payload)
    effects = m.handle(CsmsRequest(control2x.decode_set_charging_profile(payload)), m.context.now)
    assert Answer(SetChargingProfileAnswer("Accepted")) in effects


def only_answer(effects: list[Effect]) -> Any:
    """A request that reads profiles answers and does nothing else: no timer, no write."""
    [answer] = effects
    assert isinstance(answer, Answer)
    return answer.message


# -- GetCompositeSchedule ----------------------------------------------------------------------


def profiles_16(m: StationMachine) -> None:
    """A 30 kW station maximum, and a station-wide TxDefaultProfile from T0: 16 A, 10 A from
    T0+900, ending at T0+1800; then only the connector's 22 kW (31.9 A) limits it."""
    set_profile_16(
        m,
        0,
        {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": schedule("W", [(0, 30000.0)], startSchedule=format_timestamp(T0)),
        },
    )
    set_profile_16(
        m,
        0,
        {
            "chargingProfileId": 2,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": schedule(
                "A", [(0, 16.0), (900, 10.0)], startSchedule=format_timestamp(T0), duration=1800
            ),
        },
    )


def test_16_composite_schedule_answers_the_window_from_now_on_the_virtual_clock() -> None:
    m = machine(OCPP16)
    profiles_16(m)
    request = {"connectorId": 1, "duration": 3600, "chargingRateUnit": "A"}
    SCHEMAS16.validate_request("GetCompositeSchedule", request)
    decoded = profiles16.decode_get_composite_schedule(request)
    answer = only_answer(m.handle(CsmsRequest(decoded), T0 + 300))
    assert isinstance(answer, CompositeScheduleAnswer) and answer.schedule is not None
    payload = profiles16.encode_composite_answer(answer)
    SCHEMAS16.validate_response("GetCompositeSchedule", payload)
    assert payload == {
        "status": "Accepted",
        "connectorId": 1,
        "scheduleStart": format_timestamp(T0 + 300),
        "chargingSchedule": {
            "startSchedule": format_timestamp(T0 + 300),
            "duration": 3600,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 16.0, "numberPhases": 3},
                {"startPeriod": 600, "limit": 10.0, "numberPhases": 3},  # T0+900
                {"startPeriod": 1500, "limit": 31.9, "numberPhases": 3},  # T0+1800: 22000/690
            ],
        },
    }
    # The same request later: the window starts at the instant that asks.
    later = only_answer(m.handle(CsmsRequest(decoded), T0 + 1000))
    periods = profiles16.encode_composite_answer(later)["chargingSchedule"]
    assert [(p["startPeriod"], p["limit"]) for p in periods["chargingSchedulePeriod"]] == [
        (0, 10.0),
        (800, 31.9),
    ]
    assert m.flows.waiting == 0 and m.context.timers.get("profiles") is not None


def test_16_composite_of_the_station_and_of_an_unknown_connector() -> None:
    m = machine(OCPP16)
    profiles_16(m)
    station = only_answer(
        m.handle(
            CsmsRequest(
                profiles16.decode_get_composite_schedule({"connectorId": 0, "duration": 600})
            ),
            T0,
        )
    )
    payload = profiles16.encode_composite_answer(station)
    SCHEMAS16.validate_response("GetCompositeSchedule", payload)
    # No unit asked: W; the station maximum under the 44 kW supply.
    assert payload["chargingSchedule"]["chargingRateUnit"] == "W"
    assert payload["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 30000.0, "numberPhases": 3}
    ]
    unknown = profiles16.decode_get_composite_schedule({"connectorId": 3, "duration": 600})
    answer = only_answer(m.handle(CsmsRequest(unknown), T0))
    assert answer == CompositeScheduleAnswer(None)
    assert profiles16.encode_composite_answer(answer) == {"status": "Rejected"}
    SCHEMAS16.validate_response("GetCompositeSchedule", {"status": "Rejected"})


def test_16_composite_follows_a_transaction_relative_tx_profile() -> None:
    m = machine(OCPP16)
    m.handle(GatewayCommand(PlugIn(2)), T0)
    [call] = m.handle(GatewayCommand(StartTransaction(2, "TAG")), T0 + 100)
    assert isinstance(call, SendCall) and isinstance(call.message, TransactionStarted)
    m.handle(CallAnswered(call.call_id or 0, TransactionStartedAnswer(41, OK)), T0 + 100)
    m.context.now = T0 + 200
    set_profile_16(
        m,
        2,
        {
            "chargingProfileId": 5,
            "transactionId": 41,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": schedule("W", [(0, 11000.0), (300, 7000.0)]),
        },
    )
    request = profiles16.decode_get_composite_schedule({"connectorId": 2, "duration": 900})
    answer = only_answer(m.handle(CsmsRequest(request), T0 + 250))
    payload = profiles16.encode_composite_answer(answer)
    SCHEMAS16.validate_response("GetCompositeSchedule", payload)
    # Relative to the transaction's start (T0+100): 7 kW from T0+400, 150 s into the window.
    assert [
        (p["startPeriod"], p["limit"])
        for p in payload["chargingSchedule"]["chargingSchedulePeriod"]
    ] == [(0, 11000.0), (150, 7000.0)]


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_composite_schedule_of_an_evse(version: str) -> None:
    schemas = schema_set(version)
    m = machine(version)
    set_profile_2x(
        m,
        schemas,
        1,
        {
            "id": 3,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [
                {"id": 1, **schedule("W", [(0, 7400.0)], startSchedule=format_timestamp(T0))}
            ],
        },
    )
    request = {"evseId": 1, "duration": 1200}
    schemas.validate_request("GetCompositeSchedule", request)
    answer = only_answer(
        m.handle(CsmsRequest(profiles2x.decode_get_composite_schedule(request)), T0 + 60)
    )
    payload = profiles2x.encode_composite_answer(answer)
    schemas.validate_response("GetCompositeSchedule", payload)
    assert payload == {
        "status": "Accepted",
        "schedule": {
            "evseId": 1,
            "scheduleStart": format_timestamp(T0 + 60),
            "duration": 1200,
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0, "numberPhases": 3}],
        },
    }
    unknown = profiles2x.decode_get_composite_schedule({"evseId": 9, "duration": 60})
    rejected = profiles2x.encode_composite_answer(only_answer(m.handle(CsmsRequest(unknown), T0)))
    schemas.validate_response("GetCompositeSchedule", rejected)
    assert rejected == {"status": "Rejected"}


# -- GetChargingProfiles -----------------------------------------------------------------------


def installed_2x(version: str) -> tuple[StationMachine, SchemaSet]:
    """A station maximum on EVSE 0 (id 1), TxDefaultProfiles on EVSE 1 (id 2) and 2 (id 3)."""
    schemas = schema_set(version)
    m = machine(version)
    start = format_timestamp(T0)
    set_profile_2x(
        m,
        schemas,
        0,
        {
            "id": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "ChargingStationMaxProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [{"id": 1, **schedule("W", [(0, 40000.0)], startSchedule=start)}],
        },
    )
    for evse_id, limit in ((1, 16.0), (2, 10.0)):
        set_profile_2x(
            m,
            schemas,
            evse_id,
            {
                "id": evse_id + 1,
                "stackLevel": 2,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Absolute",
                "validTo": format_timestamp(T0 + 86_400),
                "chargingSchedule": [
                    {"id": 7, **schedule("A", [(0, limit)], startSchedule=start, duration=3600)}
                ],
            },
        )
    return m, schemas


def get_profiles(
    m: StationMachine, schemas: SchemaSet, payload: dict[str, Any], now: float
) -> list[Effect]:
    schemas.validate_request("GetChargingProfiles", payload)
    effects = m.handle(CsmsRequest(profiles2x.decode_get_charging_profiles(payload)), now)
    first = effects[0]
    assert isinstance(first, Answer) and isinstance(first.message, GetChargingProfilesAnswer)
    answer = profiles2x.encode_get_charging_profiles_answer(first.message)
    schemas.validate_response("GetChargingProfiles", answer)
    return effects


def reported(version: str, schemas: SchemaSet, effects: list[Effect]) -> list[dict[str, Any]]:
    """The ReportChargingProfiles payloads of the SendCall effects, schema-checked."""
    codec = codec_for(version)
    payloads = []
    for effect in effects:
        assert isinstance(effect, SendCall) and effect.call_id is None  # nobody waits
        action, payload = codec.encode_call(effect.message)
        assert action == "ReportChargingProfiles"
        schemas.validate_request(action, payload)
        payloads.append(payload)
    return payloads


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_get_charging_profiles_answers_then_reports_each_evse(version: str) -> None:
    m, schemas = installed_2x(version)
    answer, *reports = get_profiles(m, schemas, {"requestId": 12, "chargingProfile": {}}, T0 + 5)
    assert answer == Answer(GetChargingProfilesAnswer(True))
    find = m.station.profiles.find
    station_max, evse1, evse2 = (find(i).profile for i in (1, 2, 3))
    assert reports == [
        SendCall(ChargingProfilesReport(12, 0, (station_max,), more_follow=True)),
        SendCall(ChargingProfilesReport(12, 1, (evse1,), more_follow=True)),
        SendCall(ChargingProfilesReport(12, 2, (evse2,), more_follow=False)),
    ]
    payloads = reported(version, schemas, reports)
    assert [(p["evseId"], p.get("tbc"), p["chargingLimitSource"]) for p in payloads] == [
        (0, True, "CSO"),
        (1, True, "CSO"),
        (2, None, "CSO"),
    ]
    # The station-wide maximum goes back under its 2.x name, every field as it was sent.
    [reported_max] = payloads[0]["chargingProfile"]
    assert reported_max["chargingProfilePurpose"] == "ChargingStationMaxProfile"
    assert profiles2x.decode_profile(reported_max) == station_max
    [reported_evse2] = payloads[2]["chargingProfile"]
    assert reported_evse2["chargingSchedule"][0]["id"] == 7
    assert reported_evse2["validTo"] == format_timestamp(T0 + 86_400)
    assert reported_evse2["chargingSchedule"][0]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 10.0}
    ]


@pytest.mark.parametrize(
    ("payload", "evse_ids"),
    [
        ({"requestId": 1, "evseId": 1, "chargingProfile": {}}, [1]),
        (
            {"requestId": 2, "chargingProfile": {"chargingProfilePurpose": "TxDefaultProfile"}},
            [1, 2],
        ),
        (
            {
                "requestId": 3,
                "chargingProfile": {"chargingProfilePurpose": "ChargingStationMaxProfile"},
            },
            [0],
        ),
        ({"requestId": 4, "chargingProfile": {"chargingProfileId": [1, 3]}}, [0, 2]),
        ({"requestId": 5, "evseId": 0, "chargingProfile": {"stackLevel": 0}}, [0]),
    ],
)
def test_2x_get_charging_profiles_criteria(payload: dict[str, Any], evse_ids: list[int]) -> None:
    m, schemas = installed_2x(OCPP201)
    # The request speaks of profiles in the model's words (the 1.6 name of the station maximum).
    purpose = profiles2x.decode_get_charging_profiles(payload).purpose
    assert purpose in (None, "TxDefaultProfile", "ChargePointMaxProfile")
    _, *reports = get_profiles(m, schemas, payload, T0)
    payloads = reported(OCPP201, schemas, reports)
    assert [p["evseId"] for p in payloads] == evse_ids
    assert all(p["requestId"] == payload["requestId"] for p in payloads)
    # Only the last report of a request says nothing more follows.
    assert [p.get("tbc", False) for p in payloads] == [True] * (len(evse_ids) - 1) + [False]


def test_2x_get_charging_profiles_without_a_match_answers_no_profiles_and_reports_nothing() -> None:
    m, schemas = installed_2x(OCPP201)
    payload = {"requestId": 9, "chargingProfile": {"stackLevel": 5}}
    effects = get_profiles(m, schemas, payload, T0)
    assert effects == [Answer(GetChargingProfilesAnswer(False))]
    encoded = profiles2x.encode_get_charging_profiles_answer(GetChargingProfilesAnswer(False))
    assert encoded == {"status": "NoProfiles"}
    empty = get_profiles(machine(OCPP201), schemas, {"requestId": 10, "chargingProfile": {}}, T0)
    assert empty == [Answer(GetChargingProfilesAnswer(False))]


def test_the_16_codec_has_no_report_of_charging_profiles() -> None:
    m, _ = installed_2x(OCPP201)
    [_, first, *_] = get_profiles(
        m,
        schema_set(OCPP201),
        {"requestId": 1, "chargingProfile": {}},
        T0,
    )
    assert isinstance(first, SendCall)
    with pytest.raises(TypeError):
        codec_for(OCPP16).encode_call(first.message)
