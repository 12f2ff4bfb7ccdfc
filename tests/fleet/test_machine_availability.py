"""ChangeAvailability in the station machine, driven event by event with explicit `now`
values (no loop, socket or sleep), and its 1.6 and 2.x codecs against the OCA schemas and
the built-in CSMS's payloads."""

from __future__ import annotations

import pytest

from voltlab.csms import ocpp201_payloads as csms201
from voltlab.fleet.codecs import ocpp16_availability as codec16
from voltlab.fleet.codecs import ocpp201_availability as codec2x
from voltlab.fleet.machine.effects import Answer, ReportStatus
from voltlab.fleet.machine.events import CsmsRequest
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.messages import ChangeAvailability, ChangeAvailabilityAnswer
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

T0 = 1_800_000_000.0


def machine() -> StationMachine:
    station = Station("CP-M", CATALOG["ac-22kw-2c"], seed=1)
    return StationMachine(station, MachineSettings(reports_reservation_ends=False))


def change(connector_id: int, operative: bool) -> CsmsRequest:
    return CsmsRequest(ChangeAvailability(connector_id, operative))


def test_an_idle_connector_changes_at_once_and_reports_after_the_answer() -> None:
    m = machine()
    assert m.handle(change(2, False), T0) == [
        Answer(ChangeAvailabilityAnswer("Accepted")),
        ReportStatus(),
    ]
    assert m.station.connector_status(2).status == "Unavailable"
    assert m.station.connector_status(1).status == "Available"
    assert m.handle(change(2, True), T0 + 1) == [
        Answer(ChangeAvailabilityAnswer("Accepted")),
        ReportStatus(),
    ]
    assert m.station.connector_status(2).status == "Available"


def test_during_a_transaction_the_change_is_scheduled_for_its_end() -> None:
    m = machine()
    m.station.plug(1, T0)
    m.station.confirm(m.station.begin_transaction(1, "TAG", T0), T0)
    assert m.handle(change(1, False), T0 + 10) == [
        Answer(ChangeAvailabilityAnswer("Scheduled")),
        ReportStatus(),
    ]
    assert m.station.connector_status(1).status == "Charging"
    m.station.end_transaction(1, T0 + 20, "Local")
    assert m.station.connector_status(1).status == "Unavailable"
    # The whole station (connector 0) is scheduled too while any transaction runs.
    m.station.plug(2, T0 + 30)
    m.station.confirm(m.station.begin_transaction(2, "TAG", T0 + 30), T0 + 30)
    assert m.handle(change(0, False), T0 + 40)[0] == Answer(ChangeAvailabilityAnswer("Scheduled"))
    assert m.station.station_operative


def test_an_unknown_connector_is_rejected_without_a_status_report() -> None:
    m = machine()
    assert m.handle(change(9, False), T0) == [Answer(ChangeAvailabilityAnswer("Rejected"))]
    assert m.handle(change(0, False), T0) == [
        Answer(ChangeAvailabilityAnswer("Accepted")),
        ReportStatus(),
    ]
    assert m.station.connector_status(0).status == "Unavailable"


def test_16_codec_per_schema() -> None:
    schemas = SchemaSet(OCPP16, schema_directory(OCPP16))
    for connector_id, kind, operative in ((0, "Inoperative", False), (2, "Operative", True)):
        payload = {"connectorId": connector_id, "type": kind}
        schemas.validate_request("ChangeAvailability", payload)
        assert codec16.decode_change_availability(payload) == ChangeAvailability(
            connector_id, operative
        )
    for status in ("Accepted", "Rejected", "Scheduled"):
        body = codec16.encode_change_availability_answer(ChangeAvailabilityAnswer(status))
        schemas.validate_response("ChangeAvailability", body)
        assert body == {"status": status}


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_codec_decodes_what_the_csms_sends_per_schema(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))
    for evse_id, operative in ((0, False), (2, True)):
        payload = csms201.change_availability_payload(evse_id, operative)
        schemas.validate_request("ChangeAvailability", payload)
        assert codec2x.decode_change_availability(payload) == ChangeAvailability(evse_id, operative)
    for status in ("Accepted", "Rejected", "Scheduled"):
        body = codec2x.encode_change_availability_answer(ChangeAvailabilityAnswer(status))
        schemas.validate_response("ChangeAvailability", body)
        assert body == {"status": status}
