"""The reservation flow of the station machine, driven event by event with explicit `now`
values: no loop, no socket, no sleep. Plus the 1.6 and 2.x reservation codecs against the OCA
schemas and against what the built-in CSMS encodes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from voltlab.csms import ocpp16 as csms16
from voltlab.csms import ocpp201_payloads as csms201
from voltlab.fleet.codecs import ocpp16_reservations as codec16
from voltlab.fleet.codecs import ocpp201_reservations as codec2x
from voltlab.fleet.machine.effects import (
    Answer,
    CancelTimer,
    Persist,
    ReportStatus,
    SendCall,
    SetTimer,
)
from voltlab.fleet.machine.events import CsmsRequest, Restored, TimerFired
from voltlab.fleet.machine.machine import StationMachine, UnhandledEvent
from voltlab.fleet.machine.messages import (
    CancelReservation,
    CancelReservationAnswer,
    ReservationEnded,
    ReserveNow,
    ReserveNowAnswer,
)
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.station import Fault, Station
from voltlab.fleet.model.station_state import restore_station, station_snapshot
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

T0 = 1_800_000_000.0


def machine(*, reports_ends: bool, model: str = "ac-22kw-2c") -> StationMachine:
    station = Station("CP-M", CATALOG[model], seed=1)
    return StationMachine(station, MachineSettings(reports_reservation_ends=reports_ends))


def reserve(reservation_id: int, connector_id: int, expires_at: float, **kw) -> CsmsRequest:
    return CsmsRequest(ReserveNow(reservation_id, connector_id, "OWNER", None, expires_at, **kw))


def test_accepted_reservation_sets_its_expiry_timer_and_answers_before_reporting() -> None:
    m = machine(reports_ends=True)
    effects = m.handle(reserve(7, 1, T0 + 600), T0)
    assert effects == [
        SetTimer("reservation:7", T0 + 600),
        Persist(),
        Answer(ReserveNowAnswer("Accepted")),
        ReportStatus(),
    ]
    assert m.station.connector_status(1).status == "Reserved"


def test_expiry_in_2x_tells_the_csms_then_reports_the_status() -> None:
    m = machine(reports_ends=True)
    m.handle(reserve(7, 1, T0 + 600), T0)
    assert m.handle(TimerFired("reservation:7"), T0 + 600) == [
        Persist(),
        SendCall(ReservationEnded(7, "Expired")),
        ReportStatus(),
    ]
    assert m.station.reservations == {}
    assert m.station.connector_status(1).status == "Available"
    # The timer of a reservation that is gone (used or cancelled meanwhile) does nothing.
    assert m.handle(TimerFired("reservation:7"), T0 + 601) == []


def test_expiry_in_16_only_reports_the_status() -> None:
    m = machine(reports_ends=False)
    m.handle(reserve(7, 1, T0 + 600), T0)
    assert m.handle(TimerFired("reservation:7"), T0 + 600) == [Persist(), ReportStatus()]


def test_a_timer_that_fires_early_is_set_again() -> None:
    m = machine(reports_ends=True)
    m.handle(reserve(7, 1, T0 + 600), T0)
    assert m.handle(TimerFired("reservation:7"), T0 + 599.999) == [
        SetTimer("reservation:7", T0 + 600)
    ]
    assert 7 in m.station.reservations


def test_a_new_reservation_ends_the_due_ones_first() -> None:
    m = machine(reports_ends=True)
    m.handle(reserve(7, 1, T0 + 60), T0)
    effects = m.handle(reserve(8, 2, T0 + 600), T0 + 61)
    assert effects == [
        CancelTimer("reservation:7"),
        Persist(),
        SetTimer("reservation:8", T0 + 600),
        Persist(),
        Answer(ReserveNowAnswer("Accepted")),
        SendCall(ReservationEnded(7, "Expired")),
        ReportStatus(),
    ]


def test_in_16_a_refused_reservation_still_reports_the_ones_it_ended() -> None:
    m = machine(reports_ends=False)
    m.handle(reserve(7, 1, T0 + 60), T0)
    assert m.handle(reserve(8, 9, T0 + 600), T0 + 61) == [
        CancelTimer("reservation:7"),
        Persist(),
        Answer(ReserveNowAnswer("Rejected")),
        ReportStatus(),
    ]


def test_occupied_faulted_unavailable_and_unknown_connectors_are_refused() -> None:
    m = machine(reports_ends=True)
    station = m.station
    station.plug(1, T0)
    assert m.handle(reserve(1, 1, T0 + 600), T0) == [Answer(ReserveNowAnswer("Occupied"))]
    station.connectors[2].fault = Fault("GroundFailure")
    assert m.handle(reserve(2, 2, T0 + 600), T0) == [Answer(ReserveNowAnswer("Faulted"))]
    station.connectors[2].fault = None
    station.change_availability(2, False, T0)
    assert m.handle(reserve(3, 2, T0 + 600), T0) == [Answer(ReserveNowAnswer("Unavailable"))]
    assert m.handle(reserve(4, 9, T0 + 600), T0) == [Answer(ReserveNowAnswer("Rejected"))]
    assert station.reservations == {}


def test_a_connector_held_for_another_reservation_is_occupied() -> None:
    m = machine(reports_ends=True)
    m.handle(reserve(1, 1, T0 + 600), T0)
    assert m.handle(reserve(2, 1, T0 + 600), T0) == [Answer(ReserveNowAnswer("Occupied"))]
    # The same id again replaces the reservation: a new expiry, a new timer.
    assert m.handle(reserve(1, 1, T0 + 900), T0)[0] == SetTimer("reservation:1", T0 + 900)


def test_connector_zero_follows_reserve_connector_zero_supported() -> None:
    m = machine(reports_ends=True)
    m.station.config.set_local("ReserveConnectorZeroSupported", "false")
    assert m.handle(reserve(1, 0, T0 + 600), T0) == [Answer(ReserveNowAnswer("Rejected"))]
    m.station.config.set_local("ReserveConnectorZeroSupported", "true")
    assert m.handle(reserve(1, 0, T0 + 600), T0)[2] == Answer(ReserveNowAnswer("Accepted"))


def test_a_connector_type_the_connector_does_not_have_is_rejected() -> None:
    m = machine(reports_ends=True, model="dc-50kw-ccs-chademo")
    types = {cid: c.spec.connector_type for cid, c in m.station.connectors.items()}
    ccs = next(cid for cid, kind in types.items() if kind == "IEC62196Type2Combo")
    chademo = next(cid for cid, kind in types.items() if kind == "CHAdeMO")
    wrong = m.handle(reserve(1, ccs, T0 + 600, connector_type="CHAdeMO"), T0)
    assert wrong == [Answer(ReserveNowAnswer("Rejected"))]
    right = m.handle(reserve(2, chademo, T0 + 600, connector_type="CHAdeMO"), T0)
    assert Answer(ReserveNowAnswer("Accepted")) in right


def test_cancel_stops_the_timer_and_an_unknown_id_is_rejected() -> None:
    m = machine(reports_ends=True)
    m.handle(reserve(7, 1, T0 + 600), T0)
    assert m.handle(CsmsRequest(CancelReservation(99)), T0 + 1) == [
        Answer(CancelReservationAnswer("Rejected"))
    ]
    assert m.handle(CsmsRequest(CancelReservation(7)), T0 + 1) == [
        CancelTimer("reservation:7"),
        Persist(),
        Answer(CancelReservationAnswer("Accepted")),
        ReportStatus(),
    ]
    assert m.station.connector_status(1).status == "Available"


def test_an_event_without_a_flow_is_a_driver_error() -> None:
    with pytest.raises(UnhandledEvent):
        machine(reports_ends=True).handle(TimerFired("nobody:1"), T0)


# -- codecs -----------------------------------------------------------------------------------

EXPIRY = datetime.fromtimestamp(T0 + 600, UTC)


def test_16_codec_decodes_what_the_csms_sends_and_answers_per_schema() -> None:
    schemas = SchemaSet(OCPP16, schema_directory(OCPP16))
    payload = csms16.reserve_now_payload(2, EXPIRY, "OWNER", 11, "GROUP")
    schemas.validate_request("ReserveNow", payload)
    assert codec16.decode_reserve_now(payload) == ReserveNow(11, 2, "OWNER", "GROUP", T0 + 600)
    cancel = {"reservationId": 11}
    schemas.validate_request("CancelReservation", cancel)
    assert codec16.decode_cancel_reservation(cancel) == CancelReservation(11)
    for status in ("Accepted", "Faulted", "Occupied", "Rejected", "Unavailable"):
        body = codec16.encode_answer(ReserveNowAnswer(status))
        schemas.validate_response("ReserveNow", body)
        assert body == {"status": status}
    for status in ("Accepted", "Rejected"):
        schemas.validate_response(
            "CancelReservation", codec16.encode_answer(CancelReservationAnswer(status))
        )


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_codec_decodes_what_the_csms_sends_and_encodes_per_schema(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))
    payload = csms201.reserve_now_payload(2, EXPIRY, "OWNER", 31, "GROUP", "ISO14443")
    payload["connectorType"] = "cG105"
    schemas.validate_request("ReserveNow", payload)
    assert codec2x.decode_reserve_now(payload) == ReserveNow(
        31, 2, "OWNER", "GROUP", T0 + 600, connector_type="CHAdeMO"
    )
    # No evseId: any EVSE (connector 0); a connector type no catalog word stands for stays.
    anywhere = csms201.reserve_now_payload(0, EXPIRY, "OWNER", 32, None, "ISO14443")
    anywhere["connectorType"] = "cTesla"
    schemas.validate_request("ReserveNow", anywhere)
    decoded = codec2x.decode_reserve_now(anywhere)
    assert (decoded.connector_id, decoded.parent_id_tag, decoded.connector_type) == (
        0,
        None,
        "cTesla",
    )
    assert codec2x.decode_cancel_reservation({"reservationId": 31}) == CancelReservation(31)
    for status in ("Accepted", "Faulted", "Occupied", "Rejected", "Unavailable"):
        schemas.validate_response("ReserveNow", codec2x.encode_answer(ReserveNowAnswer(status)))
    for reason in ("Expired", "Removed"):
        action, body = codec2x.encode_reservation_ended(ReservationEnded(31, reason))
        schemas.validate_request(action, body)
        assert (action, body) == (
            "ReservationStatusUpdate",
            {"reservationId": 31, "reservationUpdateStatus": reason},
        )


@pytest.mark.parametrize("reports_ends", [True, False])
def test_a_restored_station_ends_what_fell_due_and_arms_the_other_expiries(
    reports_ends: bool,
) -> None:
    """A restart builds the station from its snapshot with no timer running: `Restored` ends
    the reservations that expired while no process hosted it and sets the others' timers."""
    m = machine(reports_ends=reports_ends)
    m.handle(reserve(7, 1, T0 + 600), T0)
    m.handle(reserve(8, 2, T0 + 60), T0)
    station = Station("CP-M", CATALOG["ac-22kw-2c"], seed=1)
    restore_station(station, station_snapshot(m.station))
    restored = StationMachine(station, MachineSettings(reports_reservation_ends=reports_ends))

    effects = restored.handle(Restored(), T0 + 120)

    ended = [SendCall(ReservationEnded(8, "Expired"))] if reports_ends else []
    assert effects == [Persist(), SetTimer("reservation:7", T0 + 600), *ended, ReportStatus()]
    assert station.connector_status(1).status == "Reserved"
    assert station.connector_status(2).status == "Available"
    # ... and the armed timer ends the other one when it fires
    fired = restored.handle(TimerFired("reservation:7"), T0 + 600)
    assert fired[0] == Persist() and fired[-1] == ReportStatus()
    assert station.connector_status(1).status == "Available"


def test_a_restored_station_without_reservations_arms_nothing() -> None:
    m = machine(reports_ends=True)
    assert m.handle(Restored(), T0) == []
