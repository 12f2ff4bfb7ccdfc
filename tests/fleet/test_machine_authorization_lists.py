"""The local list, authorization cache and DataTransfer flows of the station machine, driven
event by event with explicit `now` values: no loop, no socket, no sleep. Plus their 1.6 and
2.x codecs against the OCA schemas."""

from __future__ import annotations

import pytest

from voltlab.fleet.codecs import ocpp16_local_list as codec16
from voltlab.fleet.codecs import ocpp201_local_list as codec2x
from voltlab.fleet.codecs import shared_requests as shared
from voltlab.fleet.machine.effects import Answer, Persist
from voltlab.fleet.machine.events import CsmsRequest, GatewayCommand
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.messages import (
    ClearCache,
    ClearCacheAnswer,
    ClearLocalList,
    ClearLocalListAnswer,
    DataTransfer,
    DataTransferAnswer,
    GetLocalListVersion,
    LocalListVersionAnswer,
    SendLocalList,
    SendLocalListAnswer,
)
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

T0 = 1_800_000_000.0
OK = IdTagInfo("Accepted")
BLOCKED = IdTagInfo("Blocked")


def machine_16() -> StationMachine:
    station = Station("CP-M", CATALOG["ac-22kw-2c"], seed=1)
    settings = MachineSettings(reports_reservation_ends=False, hides_disabled_local_list=True)
    return StationMachine(station, settings)


def machine_2x() -> StationMachine:
    station = Station("CP-M", CATALOG["ac-22kw-2c"], seed=1)
    settings = MachineSettings(reports_reservation_ends=True, clear_cache_needs_enabled_cache=True)
    return StationMachine(station, settings)


def send(version: int, update: str, *entries: tuple[str, IdTagInfo | None]) -> CsmsRequest:
    return CsmsRequest(SendLocalList(version, update, tuple(entries)))  # type: ignore[arg-type]


def test_a_full_list_is_stored_before_the_answer_and_a_differential_one_merges() -> None:
    m = machine_16()
    effects = m.handle(send(3, "Full", ("A", OK), ("B", BLOCKED), ("GONE", None)), T0)
    assert effects == [Persist(), Answer(SendLocalListAnswer("Accepted", 3, 2))]
    assert m.station.local_list.lookup("B") == BLOCKED
    effects = m.handle(send(4, "Differential", ("A", None), ("C", OK)), T0 + 1)
    assert effects == [Persist(), Answer(SendLocalListAnswer("Accepted", 4, 2))]
    assert sorted(m.station.local_list.entries) == ["B", "C"]
    assert m.handle(CsmsRequest(GetLocalListVersion()), T0 + 2) == [
        Answer(LocalListVersionAnswer(4))
    ]


def test_a_refused_list_changes_nothing_and_stores_nothing() -> None:
    m = machine_16()
    m.handle(send(5, "Full", ("A", OK)), T0)
    # Differential must be newer; a list longer than SendLocalListMaxLength fails.
    assert m.handle(send(5, "Differential", ("B", OK)), T0) == [
        Answer(SendLocalListAnswer("VersionMismatch", 5, 1))
    ]
    too_long = [
        (f"T{i}", OK) for i in range(m.station.config.get_int("SendLocalListMaxLength") + 1)
    ]
    assert m.handle(send(6, "Full", *too_long), T0) == [Answer(SendLocalListAnswer("Failed", 5, 1))]
    assert m.handle(send(-1, "Full"), T0) == [Answer(SendLocalListAnswer("Failed", 5, 1))]
    assert list(m.station.local_list.entries) == ["A"]


def test_a_disabled_list_answers_minus_one_in_16_and_its_version_in_2x() -> None:
    for m, expected in ((machine_16(), -1), (machine_2x(), 2)):
        m.handle(send(2, "Full", ("A", OK)), T0)
        m.station.config.set_local("LocalAuthListEnabled", "false")
        assert m.handle(CsmsRequest(GetLocalListVersion()), T0) == [
            Answer(LocalListVersionAnswer(expected))
        ]


def test_the_gateway_clears_the_list_through_the_machine() -> None:
    m = machine_2x()
    m.handle(send(7, "Full", ("A", OK), ("B", OK)), T0)
    effects = m.handle(GatewayCommand(ClearLocalList()), T0)
    assert effects == [Persist(), Answer(ClearLocalListAnswer(2))]
    assert (m.station.local_list.version, m.station.local_list.entries) == (0, {})
    # The gateway installs a list the way the CSMS does.
    effects = m.handle(GatewayCommand(SendLocalList(1, "Full", (("Z", OK),))), T0)
    assert effects == [Persist(), Answer(SendLocalListAnswer("Accepted", 1, 1))]


def test_clear_cache_empties_the_cache_and_2x_refuses_a_disabled_one() -> None:
    m16, m2x = machine_16(), machine_2x()
    for m in (m16, m2x):
        m.station.auth_cache.learn("A", OK)
        m.station.config.set_local("AuthorizationCacheEnabled", "false")
    assert m2x.handle(CsmsRequest(ClearCache()), T0) == [Answer(ClearCacheAnswer("Rejected", 0))]
    assert list(m2x.station.auth_cache.entries) == ["A"]
    # 1.6 always clears; the gateway's reset clears a disabled cache in 2.x too.
    assert m16.handle(CsmsRequest(ClearCache()), T0) == [
        Persist(),
        Answer(ClearCacheAnswer("Accepted", 1)),
    ]
    assert m2x.handle(GatewayCommand(ClearCache()), T0) == [
        Persist(),
        Answer(ClearCacheAnswer("Accepted", 1)),
    ]
    assert m16.station.auth_cache.entries == m2x.station.auth_cache.entries == {}


def test_data_transfer_echoes_for_our_vendor_only() -> None:
    m = machine_2x()
    echo = DataTransfer("org.voltlab", "Echo", {"n": [1, None]}, has_data=True)
    assert m.handle(CsmsRequest(echo), T0) == [
        Answer(DataTransferAnswer("Accepted", {"n": [1, None]}, has_data=True))
    ]
    assert m.handle(CsmsRequest(DataTransfer("org.voltlab", "Echo")), T0) == [
        Answer(DataTransferAnswer("Accepted"))
    ]
    assert m.handle(CsmsRequest(DataTransfer("org.voltlab", "Ping", "x", True)), T0) == [
        Answer(DataTransferAnswer("UnknownMessageId"))
    ]
    assert m.handle(CsmsRequest(DataTransfer("com.other", "Echo", "x", True)), T0) == [
        Answer(DataTransferAnswer("UnknownVendorId"))
    ]


def test_16_codecs_decode_and_answer_per_schema() -> None:
    schemas = SchemaSet(OCPP16, schema_directory(OCPP16))
    payload = {
        "listVersion": 3,
        "updateType": "Differential",
        "localAuthorizationList": [
            {"idTag": "A", "idTagInfo": {"status": "Blocked", "parentIdTag": "G"}},
            {"idTag": "B"},
        ],
    }
    schemas.validate_request("SendLocalList", payload)
    assert codec16.CODEC.decode_send_local_list(payload) == SendLocalList(
        3, "Differential", (("A", IdTagInfo("Blocked", None, "G")), ("B", None))
    )
    for status in ("Accepted", "Failed", "NotSupported", "VersionMismatch"):
        body = codec16.CODEC.encode_send_local_list_answer(SendLocalListAnswer(status, 3, 1))
        schemas.validate_response("SendLocalList", body)
        assert body == {"status": status}
    schemas.validate_request("GetLocalListVersion", {})
    assert codec16.CODEC.decode_get_local_list_version({}) == GetLocalListVersion()
    body = codec16.CODEC.encode_local_list_version_answer(LocalListVersionAnswer(-1))
    schemas.validate_response("GetLocalListVersion", body)
    assert body == {"listVersion": -1}
    _shared_codecs_per_schema(schemas, data="text")


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_codecs_decode_and_answer_per_schema(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))
    payload = {
        "versionNumber": 8,
        "updateType": "Full",
        "localAuthorizationList": [
            {
                "idToken": {"idToken": "A", "type": "ISO14443"},
                "idTokenInfo": {
                    "status": "Accepted",
                    "cacheExpiryDateTime": "2027-01-15T08:00:00Z",
                    "groupIdToken": {"idToken": "G", "type": "Central"},
                },
            },
            {"idToken": {"idToken": "B", "type": "Central"}},
        ],
    }
    schemas.validate_request("SendLocalList", payload)
    decoded = codec2x.CODEC.decode_send_local_list(payload)
    assert (decoded.version, decoded.update_type) == (8, "Full")
    assert decoded.entries == (
        ("A", IdTagInfo("Accepted", "2027-01-15T08:00:00Z", "G")),
        ("B", None),
    )
    for status in ("Accepted", "Failed", "VersionMismatch"):
        body = codec2x.CODEC.encode_send_local_list_answer(SendLocalListAnswer(status, 8, 1))
        schemas.validate_response("SendLocalList", body)
    schemas.validate_request("GetLocalListVersion", {})
    body = codec2x.CODEC.encode_local_list_version_answer(LocalListVersionAnswer(8))
    schemas.validate_response("GetLocalListVersion", body)
    assert body == {"versionNumber": 8}
    _shared_codecs_per_schema(schemas, data={"any": ["json", 1]})


def _shared_codecs_per_schema(schemas: SchemaSet, *, data: object) -> None:
    schemas.validate_request("ClearCache", {})
    assert shared.decode_clear_cache({}) == ClearCache()
    for status in ("Accepted", "Rejected"):
        body = shared.encode_clear_cache_answer(ClearCacheAnswer(status, 0))
        schemas.validate_response("ClearCache", body)
        assert body == {"status": status}
    payload = {"vendorId": "org.voltlab", "messageId": "Echo", "data": data}
    schemas.validate_request("DataTransfer", payload)
    request = shared.decode_data_transfer(payload)
    assert request == DataTransfer("org.voltlab", "Echo", data, has_data=True)
    body = shared.encode_data_transfer_answer(DataTransferAnswer("Accepted", data, True))
    schemas.validate_response("DataTransfer", body)
    assert body == {"status": "Accepted", "data": data}
    bare = shared.decode_data_transfer({"vendorId": "x"})
    assert (bare.message_id, bare.has_data) == (None, False)
    for status in ("Rejected", "UnknownMessageId", "UnknownVendorId"):
        body = shared.encode_data_transfer_answer(DataTransferAnswer(status))
        schemas.validate_response("DataTransfer", body)
        assert body == {"status": status}
