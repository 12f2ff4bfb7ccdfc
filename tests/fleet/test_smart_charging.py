"""Smart charging without sockets: installing and clearing profiles, the composite limit, its
next change, GetCompositeSchedule, and the 1.6 / 2.0.1 JSON forms checked against the OCA
schemas shipped in the `ocpp` package. Expected numbers are worked out by hand in comments."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jsonschema
import pytest

from voltlab.fleet.codecs import ocpp16_profiles as profiles16
from voltlab.fleet.codecs import ocpp201_profiles as profiles201
from voltlab.fleet.model.smart_charging import (
    ABSOLUTE,
    CHARGE_POINT_MAX,
    DAILY,
    RECURRING,
    RELATIVE,
    TX_DEFAULT,
    TX_PROFILE,
    WEEKLY,
    ChargingProfile,
    ChargingProfiles,
    ProfileError,
    SchedulePeriod,
)
from voltlab.ocpp.schemas import schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP201

MIDNIGHT = 1_799_971_200.0  # a UTC midnight, so daily recurrences fall on whole hours
T0 = MIDNIGHT
HOUR = 3600.0
DAY = 86_400.0


def make(
    profile_id: int,
    purpose: str = TX_DEFAULT,
    *,
    stack_level: int = 0,
    periods: Any = ((0, 16.0),),
    kind: str = ABSOLUTE,
    unit: str = "A",
    start: float | None = T0,
    **fields: Any,
) -> ChargingProfile:
    return ChargingProfile(
        id=profile_id,
        stack_level=stack_level,
        purpose=purpose,
        kind=kind,
        charging_rate_unit=unit,
        periods=periods,
        start_schedule=None if kind == RELATIVE else start,
        **fields,
    )


def store(*items: tuple[int, ChargingProfile], tx: str | int | None = None) -> ChargingProfiles:
    profiles = ChargingProfiles(connector_count=2)
    for connector_id, profile in items:
        in_transaction = profile.purpose == TX_PROFILE
        status = profiles.install(
            connector_id, profile, T0, transaction_id=tx, in_transaction=in_transaction
        )
        assert status == "Accepted", profile
    return profiles


def limit(profiles: ChargingProfiles, connector_id: int, now: float, **kw: Any) -> float | None:
    kw.setdefault("tx_started_at", None)
    return profiles.limit_w(connector_id, now, **kw)


def validate(schema_path: str, payload: dict[str, Any]) -> None:
    """Check a payload against an OCA schema, e.g. "v16/schemas/SetChargingProfile.json"."""
    version_dir, _, file_name = schema_path.split("/")
    version = OCPP16 if version_dir == "v16" else OCPP201
    schema = json.loads((schema_directory(version) / file_name).read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class(schema, format_checker=jsonschema.FormatChecker()).validate(payload)


# -- stacking and purposes ---------------------------------------------------------------------


def test_higher_stack_level_wins_and_lower_shows_through_after_its_duration() -> None:
    profiles = store(
        (0, make(1, stack_level=0, periods=[(0, 16.0)])),
        (0, make(2, stack_level=1, periods=[(0, 10.0)], duration=3600)),
    )
    assert limit(profiles, 1, T0 + 100) == 10 * 3 * 230  # 6900
    assert limit(profiles, 1, T0 + HOUR) == 16 * 3 * 230  # 11040: level 1 is over
    assert profiles.next_change(1, T0 + 100, tx_started_at=None) == T0 + HOUR


def test_tx_profile_overrides_tx_default_even_with_a_higher_limit() -> None:
    profiles = store(
        (0, make(1, TX_DEFAULT, stack_level=5, periods=[(0, 10.0)])),
        (1, make(2, TX_PROFILE, stack_level=0, periods=[(0, 32.0)])),
        tx=42,
    )
    assert limit(profiles, 1, T0 + 1, tx_started_at=T0) == 32 * 690  # 22080
    assert limit(profiles, 2, T0 + 1) == 10 * 690  # the TxProfile is connector 1's only
    assert [p.id for p in profiles.transaction_ended(1)] == [2]
    assert limit(profiles, 1, T0 + 1) == 10 * 690


def test_connector_tx_default_beats_station_tx_default_on_equal_stack_level() -> None:
    profiles = store(
        (0, make(1, TX_DEFAULT, periods=[(0, 16.0)])),
        (2, make(2, TX_DEFAULT, periods=[(0, 10.0)])),
    )
    assert limit(profiles, 1, T0) == 11040
    assert limit(profiles, 2, T0) == 6900
    # A higher stack level on connector 0 outranks the connector's own lower one.
    profiles.install(0, make(3, TX_DEFAULT, stack_level=1, periods=[(0, 20.0)]), T0)
    assert limit(profiles, 2, T0) == 20 * 690


def test_charge_point_max_caps_every_connector_and_is_the_station_limit() -> None:
    profiles = store(
        (0, make(1, CHARGE_POINT_MAX, periods=[(0, 8.0)])),
        (1, make(2, TX_PROFILE, periods=[(0, 32.0)])),
        tx=7,
    )
    assert limit(profiles, 1, T0) == 8 * 690  # min(22080, 5520)
    assert limit(profiles, 2, T0) == 5520  # only the station maximum applies
    assert limit(profiles, 0, T0) == 5520
    # A cap above the connector limit does not bind.
    profiles.install(0, make(3, CHARGE_POINT_MAX, stack_level=1, periods=[(0, 40.0)]), T0)
    assert limit(profiles, 1, T0) == 22080


def test_nothing_installed_means_no_limit() -> None:
    profiles = ChargingProfiles()
    assert limit(profiles, 1, T0) is None
    assert profiles.next_change(1, T0, tx_started_at=None) is None


# -- unit conversion ---------------------------------------------------------------------------


def test_amperes_convert_with_phases_and_voltage() -> None:
    profiles = store((0, make(1, periods=[(0, 16.0)])))
    assert limit(profiles, 1, T0, phases=3) == 11040
    assert limit(profiles, 1, T0, phases=1) == 3680
    assert limit(profiles, 1, T0, phases=3, voltage=240.0) == 16 * 3 * 240
    # DC (phases 0): amperes times the DC voltage.
    assert limit(profiles, 1, T0, phases=0, voltage=400.0) == 6400


def test_period_number_phases_is_bounded_by_the_connector() -> None:
    one_phase = store((0, make(1, periods=[SchedulePeriod(0, 16.0, 1)])))
    assert limit(one_phase, 1, T0, phases=3) == 3680  # the period asks for one phase
    three_phase = store((0, make(1, periods=[(0, 16.0, 3)])))
    assert limit(three_phase, 1, T0, phases=1) == 3680  # a 1-phase connector has one


def test_watt_profiles_are_taken_as_they_are() -> None:
    profiles = store((0, make(1, unit="W", periods=[(0, 7000.0)])))
    assert limit(profiles, 1, T0, phases=1) == 7000
    assert limit(profiles, 1, T0, phases=0, voltage=800.0) == 7000


# -- kinds ---------------------------------------------------------------------------------------


def test_relative_schedule_starts_with_the_transaction() -> None:
    profiles = store((0, make(1, kind=RELATIVE, periods=[(0, 32.0), (1800, 16.0)])))
    assert limit(profiles, 1, T0 + 1000, tx_started_at=T0) == 22080
    assert limit(profiles, 1, T0 + 2000, tx_started_at=T0) == 11040
    assert profiles.next_change(1, T0 + 10, tx_started_at=T0) == T0 + 1800
    # Without a transaction it reads as a session starting now: first period, no change ahead.
    assert limit(profiles, 1, T0 + 5000) == 22080
    assert profiles.next_change(1, T0 + 5000, tx_started_at=None) is None


def test_absolute_schedule_applies_from_its_start_only() -> None:
    profiles = store((0, make(1, start=T0 + 600, periods=[(0, 10.0)])))
    assert limit(profiles, 1, T0) is None
    assert profiles.next_change(1, T0, tx_started_at=None) == T0 + 600
    assert limit(profiles, 1, T0 + 600) == 6900


def test_absolute_without_start_is_anchored_where_it_is_received() -> None:
    profiles = ChargingProfiles()
    no_start = make(1, start=None, periods=[(0, 10.0), (600, 6.0)])
    assert profiles.install(0, no_start, T0 + 50) == "Accepted"
    assert profiles.find(1).profile.start_schedule == T0 + 50
    assert limit(profiles, 1, T0 + 40) is None
    assert limit(profiles, 1, T0 + 649) == 6900
    assert limit(profiles, 1, T0 + 650) == 6 * 690
    # With validFrom ahead, the schedule waits for it.
    later = make(2, start=None, valid_from=T0 + HOUR, stack_level=1)
    profiles.install(0, later, T0 + 50)
    assert profiles.find(2).profile.start_schedule == T0 + HOUR


def test_daily_recurring_schedule_repeats_every_day() -> None:
    day_plan = [(0, 16.0), (8 * 3600, 6.0), (18 * 3600, 16.0)]
    profiles = store(
        (0, make(1, kind=RECURRING, recurrency=DAILY, start=MIDNIGHT, periods=day_plan))
    )
    third_day = MIDNIGHT + 2 * DAY
    assert limit(profiles, 1, third_day + 9 * HOUR) == 6 * 690  # 4140
    assert limit(profiles, 1, third_day + 19 * HOUR) == 11040
    assert profiles.next_change(1, third_day + 9 * HOUR, tx_started_at=None) == (
        third_day + 18 * HOUR
    )
    assert profiles.next_change(1, third_day + 19 * HOUR, tx_started_at=None) == (third_day + DAY)
    assert limit(profiles, 1, MIDNIGHT - HOUR) is None  # recurrence begins at its start
    assert profiles.next_change(1, MIDNIGHT - HOUR, tx_started_at=None) == MIDNIGHT


def test_weekly_recurring_schedule_with_a_duration() -> None:
    weekly = make(1, kind=RECURRING, recurrency=WEEKLY, periods=[(0, 10.0)], duration=3600)
    profiles = store((0, weekly))
    assert limit(profiles, 1, T0 + 7 * DAY + 1800) == 6900
    assert limit(profiles, 1, T0 + DAY + 1800) is None
    assert profiles.next_change(1, T0 + HOUR, tx_started_at=None) == T0 + 7 * DAY


def test_validity_window_bounds_a_profile() -> None:
    windowed = make(1, periods=[(0, 10.0)], valid_from=T0 + 100, valid_to=T0 + 200)
    profiles = store((0, windowed))
    assert limit(profiles, 1, T0 + 50) is None
    assert limit(profiles, 1, T0 + 150) == 6900
    assert limit(profiles, 1, T0 + 200) is None
    assert profiles.next_change(1, T0 + 50, tx_started_at=None) == T0 + 100
    assert profiles.next_change(1, T0 + 150, tx_started_at=None) == T0 + 200
    assert profiles.next_change(1, T0 + 250, tx_started_at=None) is None


# -- SetChargingProfile rules ------------------------------------------------------------------


def test_station_max_only_on_connector_zero_and_tx_profile_only_on_a_connector() -> None:
    profiles = ChargingProfiles(connector_count=2)
    assert profiles.install(1, make(1, CHARGE_POINT_MAX), T0) == "Rejected"
    assert profiles.check_install(1, make(1, CHARGE_POINT_MAX)) == "InvalidEvse"
    assert profiles.install(0, make(1, TX_PROFILE), T0, transaction_id=5) == "Rejected"
    assert profiles.install(3, make(1), T0) == "Rejected"
    assert profiles.check_install(3, make(1)) == "UnknownEvse"
    assert profiles.install(0, make(1, CHARGE_POINT_MAX), T0) == "Accepted"
    assert profiles.install(2, make(2, TX_DEFAULT), T0) == "Accepted"


def test_tx_profile_needs_the_connectors_transaction() -> None:
    profiles = ChargingProfiles(connector_count=2)
    assert profiles.install(1, make(1, TX_PROFILE), T0) == "Rejected"
    assert profiles.check_install(1, make(1, TX_PROFILE)) == "TxNotFound"
    other_tx = make(1, TX_PROFILE, transaction_id=7)
    assert profiles.install(1, other_tx, T0, transaction_id=8) == "Rejected"
    assert profiles.install(1, other_tx, T0, transaction_id="7") == "Accepted"
    # 1.6: the transaction runs but has no id before StartTransaction.conf.
    assert profiles.install(2, make(2, TX_PROFILE), T0, in_transaction=True) == "Accepted"
    # Without its own transactionId a TxProfile takes the running transaction's.
    profiles.install(1, make(3, TX_PROFILE, stack_level=2), T0, transaction_id=7)
    assert profiles.find(3).profile.transaction_id == 7


@pytest.mark.parametrize(
    "broken",
    [
        make(1, periods=[]),
        make(1, periods=[(0, 10.0), (0, 8.0)]),
        make(1, periods=[(600, 10.0), (300, 8.0)]),
        make(1, periods=[(0, -1.0)]),
        make(1, periods=[(0, 10.0, 4)]),
        make(1, stack_level=-1),
        make(1, unit="kW"),
        make(1, kind=RECURRING),  # no recurrencyKind
        make(1, valid_from=T0 + 10, valid_to=T0),
    ],
)
def test_malformed_profiles_are_rejected(broken: ChargingProfile) -> None:
    profiles = ChargingProfiles()
    assert profiles.install(0, broken, T0) == "Rejected"
    assert profiles.profiles() == []


def test_ocpp201_adds_the_k01_rules() -> None:
    late_first_period = make(1, periods=[(60, 10.0)])
    relative_with_start = ChargingProfile(
        id=2,
        stack_level=0,
        purpose=TX_DEFAULT,
        kind=RELATIVE,
        charging_rate_unit="A",
        periods=[(0, 10.0)],
        start_schedule=T0,
    )
    absolute_without_start = make(3, start=None)
    relative_station_max = make(4, CHARGE_POINT_MAX, kind=RELATIVE)
    for profile in (
        late_first_period,
        relative_with_start,
        absolute_without_start,
        relative_station_max,
    ):
        assert ChargingProfiles().install(0, profile, T0, ocpp_version=OCPP201) == "Rejected"
        assert ChargingProfiles().install(0, profile, T0) == "Accepted"  # 1.6 allows them
    anonymous_tx = make(5, TX_PROFILE)
    assert (
        ChargingProfiles().install(1, anonymous_tx, T0, transaction_id="t", ocpp_version=OCPP201)
        == "Rejected"
    )


def test_tx_profile_on_a_taken_stack_level_replaces_in_16_and_is_refused_in_201() -> None:
    first = make(1, TX_PROFILE, stack_level=1, transaction_id="tx-1")
    second = make(2, TX_PROFILE, stack_level=1, transaction_id="tx-1", periods=[(0, 6.0)])
    strict = ChargingProfiles()
    assert strict.install(1, first, T0, transaction_id="tx-1", ocpp_version=OCPP201) == ("Accepted")
    assert strict.install(1, second, T0, transaction_id="tx-1", ocpp_version=OCPP201) == (
        "Rejected"
    )
    # The same id may be updated in place.
    update = make(1, TX_PROFILE, stack_level=1, transaction_id="tx-1", periods=[(0, 6.0)])
    assert strict.install(1, update, T0, transaction_id="tx-1", ocpp_version=OCPP201) == (
        "Accepted"
    )
    lenient = ChargingProfiles()
    lenient.install(1, first, T0, transaction_id="tx-1")
    assert lenient.install(1, second, T0, transaction_id="tx-1") == "Accepted"
    assert [item.profile.id for item in lenient.profiles()] == [2]


def test_replacement_by_slot_and_by_id() -> None:
    profiles = store((0, make(1, stack_level=1, periods=[(0, 16.0)])))
    # Same purpose, stack level and connector under a new id: replaces.
    profiles.install(0, make(2, stack_level=1, periods=[(0, 10.0)]), T0)
    assert [item.profile.id for item in profiles.profiles()] == [2]
    # Same purpose and level on another connector, or another level: stacks next to it.
    profiles.install(1, make(3, stack_level=1), T0)
    profiles.install(0, make(4, stack_level=2), T0)
    assert sorted(item.profile.id for item in profiles.profiles()) == [2, 3, 4]
    # Same id: replaces wherever the old one was.
    profiles.install(2, make(3, stack_level=7, periods=[(0, 6.0)]), T0)
    moved = profiles.find(3)
    assert (moved.connector_id, moved.profile.stack_level) == (2, 7)
    assert len(profiles.profiles()) == 3


def test_profiles_are_listed_by_criteria() -> None:
    profiles = store(
        (0, make(1, CHARGE_POINT_MAX)),
        (0, make(2, TX_DEFAULT, stack_level=3)),
        (1, make(3, TX_DEFAULT)),
        (1, make(4, TX_PROFILE, stack_level=3)),
        tx=9,
    )
    assert [item.profile.id for item in profiles.profiles()] == [1, 2, 3, 4]
    assert [item.profile.id for item in profiles.profiles(0)] == [1, 2]
    assert [item.profile.id for item in profiles.profiles(stack_level=3)] == [2, 4]
    assert [item.profile.id for item in profiles.profiles(purpose="ChargingStationMaxProfile")] == [
        1
    ]
    assert [item.profile.id for item in profiles.profiles(ids=[4, 3])] == [3, 4]


# -- ClearChargingProfile ----------------------------------------------------------------------


def test_clear_by_criteria() -> None:
    profiles = store(
        (0, make(1, CHARGE_POINT_MAX)),
        (0, make(2, TX_DEFAULT, stack_level=1)),
        (1, make(3, TX_DEFAULT, stack_level=1)),
        (2, make(4, TX_DEFAULT, stack_level=2)),
    )
    assert profiles.clear(id=99) is False  # Unknown
    # An id names one profile; the other criteria are then ignored.
    assert profiles.clear(id=3, connector_id=2) is True
    assert profiles.find(3) is None
    assert profiles.clear(connector_id=1) is False
    assert profiles.clear(purpose=TX_DEFAULT, stack_level=2) is True
    assert [item.profile.id for item in profiles.profiles()] == [1, 2]
    assert profiles.clear(connector_id=0, purpose=CHARGE_POINT_MAX) is True
    assert profiles.clear() is True  # no criteria: everything
    assert profiles.profiles() == []
    assert profiles.clear() is False


# -- next_change -------------------------------------------------------------------------------


def test_next_change_walks_period_boundaries_of_every_relevant_profile() -> None:
    profiles = store(
        (0, make(1, CHARGE_POINT_MAX, periods=[(0, 20.0), (7200, 12.0)])),
        (0, make(2, TX_DEFAULT, periods=[(0, 16.0), (1800, 8.0)])),
        (
            1,
            make(
                3,
                TX_PROFILE,
                stack_level=1,
                kind=RELATIVE,
                periods=[(0, 32.0), (600, 10.0)],
                duration=1200,
            ),
        ),
        tx=1,
    )
    started = T0 + 300
    walk = []
    instant = T0
    while (instant := profiles.next_change(1, instant, tx_started_at=started)) is not None:
        walk.append(instant - T0)
    assert walk == [300, 900, 1500, 1800, 7200]
    # Connector 2 has no TxProfile: its changes come from the default and the maximum.
    assert profiles.next_change(2, T0, tx_started_at=None) == T0 + 1800


# -- GetCompositeSchedule ----------------------------------------------------------------------


def composite_example() -> ChargingProfiles:
    """Connector 1, 3-phase 230 V, transaction started at T0+300:
    - ChargePointMaxProfile 10350 W from T0 (= 15 A on 3 phases);
    - TxDefaultProfile 16 A (11040 W) from T0, 8 A (5520 W) from T0+1800;
    - TxProfile, relative, 1200 s: 32 A (22080 W) for 600 s, then 10 A (6900 W).
    Over [T0, T0+3600):
       0..900   min(11040 or 22080, 10350)       = 10350 W
     900..1500  min(6900, 10350)                 =  6900 W
    1500..1800  TxProfile over, default 11040    = 10350 W
    1800..3600  default 5520                     =  5520 W"""
    return store(
        (0, make(1, CHARGE_POINT_MAX, unit="W", periods=[(0, 10350.0)])),
        (0, make(2, TX_DEFAULT, periods=[(0, 16.0), (1800, 8.0)])),
        (
            1,
            make(
                3,
                TX_PROFILE,
                stack_level=1,
                kind=RELATIVE,
                periods=[(0, 32.0), (600, 10.0)],
                duration=1200,
            ),
        ),
        tx=1,
    )


def test_composite_schedule_in_watts() -> None:
    composite = composite_example().composite_schedule(
        1, T0, 3600, "W", tx_started_at=T0 + 300, phases=3, voltage=230.0
    )
    assert composite["start"] == T0
    assert composite["duration"] == 3600
    assert composite["unit"] == "W"
    assert [(p["start_period"], p["limit"], p["number_phases"]) for p in composite["periods"]] == [
        (0, 10350.0, 3),
        (900, 6900.0, 3),
        (1500, 10350.0, 3),
        (1800, 5520.0, 3),
    ]


def test_composite_schedule_in_amperes_renders_for_16_and_201() -> None:
    profiles = composite_example()
    composite = profiles.composite_schedule(1, T0, 3600, "A", tx_started_at=T0 + 300)
    assert [(p["start_period"], p["limit"]) for p in composite["periods"]] == [
        (0, 15.0),
        (900, 10.0),
        (1500, 15.0),
        (1800, 8.0),
    ]
    answer16 = profiles16.encode_composite(composite)
    validate("v16/schemas/GetCompositeScheduleResponse.json", answer16)
    assert answer16["status"] == "Accepted"
    assert answer16["connectorId"] == 1
    assert answer16["scheduleStart"] == "2027-01-15T00:00:00.000Z"
    assert answer16["chargingSchedule"]["chargingSchedulePeriod"][1] == {
        "startPeriod": 900,
        "limit": 10.0,
        "numberPhases": 3,
    }
    answer201 = profiles201.encode_composite(composite)
    validate("v201/schemas/GetCompositeScheduleResponse.json", answer201)
    schedule = answer201["schedule"]
    assert (schedule["evseId"], schedule["duration"], schedule["chargingRateUnit"]) == (
        1,
        3600,
        "A",
    )
    assert [p["limit"] for p in schedule["chargingSchedulePeriod"]] == [15.0, 10.0, 15.0, 8.0]


def test_composite_window_starting_mid_schedule_is_relative_to_now() -> None:
    composite = composite_example().composite_schedule(
        1, T0 + 1000, 1000, "W", tx_started_at=T0 + 300
    )
    assert [(p["start_period"], p["limit"]) for p in composite["periods"]] == [
        (0, 6900.0),  # T0+1000
        (500, 10350.0),  # T0+1500
        (800, 5520.0),  # T0+1800
    ]


def test_composite_of_connector_zero_is_the_station_maximum() -> None:
    composite = composite_example().composite_schedule(0, T0, 600, "W", tx_started_at=None)
    assert [(p["start_period"], p["limit"]) for p in composite["periods"]] == [(0, 10350.0)]


def test_composite_gaps_need_the_physical_maximum() -> None:
    profiles = store((1, make(1, TX_PROFILE, start=T0 + 600, periods=[(0, 10.0)], duration=600)))
    bare = profiles.composite_schedule(1, T0, 1800, "W", tx_started_at=T0)
    assert [p["limit"] for p in bare["periods"]] == [None, 6900.0, None]
    assert profiles16.encode_composite(bare) == {"status": "Rejected"}
    assert profiles201.encode_composite(bare) == {"status": "Rejected"}
    capped = profiles.composite_schedule(1, T0, 1800, "W", tx_started_at=T0, max_w=22000.0)
    assert [(p["start_period"], p["limit"]) for p in capped["periods"]] == [
        (0, 22000.0),
        (600, 6900.0),
        (1200, 22000.0),
    ]
    validate("v201/schemas/GetCompositeScheduleResponse.json", profiles201.encode_composite(capped))


def test_composite_on_dc_reports_no_phases() -> None:
    profiles = store((0, make(1, unit="W", periods=[(0, 50000.0)])))
    composite = profiles.composite_schedule(
        1, T0, 600, "A", tx_started_at=None, phases=0, voltage=500.0
    )
    assert composite["periods"] == [{"start_period": 0, "limit": 100.0, "number_phases": None}]
    period = profiles16.encode_composite(composite)["chargingSchedule"]["chargingSchedulePeriod"][0]
    assert period == {"startPeriod": 0, "limit": 100.0}


# -- OCPP 1.6 JSON -----------------------------------------------------------------------------

PROFILE_16 = {
    "chargingProfileId": 12,
    "transactionId": 345,
    "stackLevel": 2,
    "chargingProfilePurpose": "TxProfile",
    "chargingProfileKind": "Recurring",
    "recurrencyKind": "Daily",
    "validFrom": "2027-01-15T00:00:00.000Z",
    "validTo": "2027-02-15T00:00:00.000Z",
    "chargingSchedule": {
        "startSchedule": "2027-01-15T00:00:00.000Z",
        "duration": 86400,
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 16.0, "numberPhases": 3},
            {"startPeriod": 28800, "limit": 6.0},
        ],
        "minChargingRate": 6.0,
    },
}


def test_ocpp16_profile_reads_every_field() -> None:
    validate(
        "v16/schemas/SetChargingProfile.json", {"connectorId": 1, "csChargingProfiles": PROFILE_16}
    )
    profile = profiles16.decode_profile(PROFILE_16)
    assert profile == ChargingProfile(
        id=12,
        stack_level=2,
        purpose=TX_PROFILE,
        kind=RECURRING,
        recurrency=DAILY,
        valid_from=MIDNIGHT,
        valid_to=MIDNIGHT + 31 * DAY,
        transaction_id=345,
        start_schedule=MIDNIGHT,
        duration=86400,
        charging_rate_unit="A",
        periods=(SchedulePeriod(0, 16.0, 3), SchedulePeriod(28800, 6.0, None)),
        min_charging_rate=6.0,
    )


def test_ocpp16_round_trip_is_exact_and_schema_valid() -> None:
    profile = profiles16.decode_profile(PROFILE_16)
    assert profiles16.encode_profile(profile) == PROFILE_16
    minimal = make(3, CHARGE_POINT_MAX, unit="W", periods=[(0, 11000.0)], start=None)
    body = profiles16.encode_profile(minimal)
    validate("v16/schemas/SetChargingProfile.json", {"connectorId": 0, "csChargingProfiles": body})
    assert "startSchedule" not in body["chargingSchedule"]
    assert profiles16.decode_profile(body) == minimal


def test_ocpp16_drops_a_transaction_id_it_cannot_say() -> None:
    profile = make(1, TX_PROFILE, transaction_id="9c1d-uuid")
    assert "transactionId" not in profiles16.encode_profile(profile)
    assert (
        profiles16.encode_profile(make(1, TX_PROFILE, transaction_id="77"))["transactionId"] == 77
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {**PROFILE_16, "chargingProfilePurpose": "ChargingStationMaxProfile"},
        {**PROFILE_16, "chargingProfileKind": "Sometimes"},
        {**PROFILE_16, "validFrom": "yesterday"},
        {**PROFILE_16, "chargingSchedule": {"chargingRateUnit": "A"}},
    ],
)
def test_ocpp16_malformed_json_raises_profile_error(body: dict[str, Any]) -> None:
    with pytest.raises(ProfileError):
        profiles16.decode_profile(body)


# -- OCPP 2.0.1 JSON ---------------------------------------------------------------------------

PROFILE_201 = {
    "id": 21,
    "stackLevel": 1,
    "chargingProfilePurpose": "ChargingStationMaxProfile",
    "chargingProfileKind": "Absolute",
    "validFrom": "2027-01-15T00:00:00.000Z",
    "chargingSchedule": [
        {
            "id": 5,
            "startSchedule": "2027-01-15T06:00:00.000Z",
            "duration": 7200,
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 22000.0, "numberPhases": 3},
                {"startPeriod": 3600, "limit": 11000.0},
            ],
        }
    ],
}


def test_ocpp201_profile_reads_and_round_trips() -> None:
    validate(
        "v201/schemas/SetChargingProfileRequest.json", {"evseId": 0, "chargingProfile": PROFILE_201}
    )
    profile = profiles201.decode_profile(PROFILE_201)
    assert profile.purpose == CHARGE_POINT_MAX
    assert profile.schedule_id == 5
    assert profile.start_schedule == MIDNIGHT + 6 * HOUR
    assert profile.periods == (SchedulePeriod(0, 22000.0, 3), SchedulePeriod(3600, 11000.0))
    assert profiles201.encode_profile(profile) == PROFILE_201
    # The station-wide purpose goes back to each version under its own name.
    assert profiles16.encode_profile(profile)["chargingProfilePurpose"] == "ChargePointMaxProfile"
    profiles = ChargingProfiles()
    assert profiles.install(0, profile, T0, ocpp_version=OCPP201) == "Accepted"
    assert limit(profiles, 1, MIDNIGHT + 7 * HOUR) == 11000
    assert limit(profiles, 1, MIDNIGHT + 8 * HOUR) is None  # past its duration


def test_ocpp201_tx_profile_takes_the_first_schedule_and_a_string_transaction_id() -> None:
    body = {
        "id": 4,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "transactionId": "b3c1f0",
        "chargingSchedule": [
            {
                "id": 1,
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}],
            },
            {
                "id": 2,
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 32.0}],
            },
        ],
    }
    validate("v201/schemas/SetChargingProfileRequest.json", {"evseId": 1, "chargingProfile": body})
    profile = profiles201.decode_profile(body)
    assert (profile.transaction_id, profile.schedule_id, profile.periods[0].limit) == (
        "b3c1f0",
        1,
        10.0,
    )
    profiles = ChargingProfiles(connector_count=2)
    assert (
        profiles.install(1, profile, T0, transaction_id="b3c1f0", ocpp_version=OCPP201)
        == "Accepted"
    )
    assert limit(profiles, 1, T0 + 60, tx_started_at=T0) == 6900
    reported = profiles201.encode_profile(profiles.find(4).profile)
    validate(
        "v201/schemas/SetChargingProfileRequest.json", {"evseId": 1, "chargingProfile": reported}
    )
    assert reported["chargingSchedule"] == body["chargingSchedule"][:1]


def test_ocpp201_round_trip_of_a_model_profile_is_schema_valid() -> None:
    profile = make(
        8,
        TX_DEFAULT,
        kind=RECURRING,
        recurrency=WEEKLY,
        periods=[(0, 16.0, 1), (3600, 32.0)],
        valid_to=T0 + 30 * DAY,
        min_charging_rate=6.0,
    )
    body = profiles201.encode_profile(profile)
    validate("v201/schemas/SetChargingProfileRequest.json", {"evseId": 0, "chargingProfile": body})
    assert body["chargingSchedule"][0]["id"] == 8  # no schedule id given: the profile's
    assert profiles201.decode_profile(body) == dataclasses.replace(profile, schedule_id=8)


def test_ocpp201_external_constraints_and_malformed_bodies_raise() -> None:
    with pytest.raises(ProfileError) as external:
        profiles201.decode_profile(
            {**PROFILE_201, "chargingProfilePurpose": "ChargingStationExternalConstraints"}
        )
    assert external.value.reason == "UnsupportedParam"
    with pytest.raises(ProfileError):
        profiles201.decode_profile({**PROFILE_201, "chargingSchedule": []})
    with pytest.raises(ProfileError):
        profiles201.decode_profile(
            {**PROFILE_201, "chargingProfilePurpose": "ChargePointMaxProfile"}
        )
    with pytest.raises(ProfileError):
        profiles201.decode_profile({"id": 1})


# -- persistence -------------------------------------------------------------------------------


def test_snapshot_and_restore_survive_json() -> None:
    profiles = composite_example()
    profiles.install(2, make(9, kind=RECURRING, recurrency=DAILY, periods=[(0, 6.0)]), T0)
    body = json.loads(json.dumps(profiles.snapshot()))
    restored = ChargingProfiles(connector_count=2)
    restored.restore(body)
    assert restored.profiles() == profiles.profiles()
    for connector_id in (0, 1, 2):
        for offset in (0, 950, 1600, 2000):
            now = T0 + offset
            assert limit(restored, connector_id, now, tx_started_at=T0 + 300) == limit(
                profiles, connector_id, now, tx_started_at=T0 + 300
            )
