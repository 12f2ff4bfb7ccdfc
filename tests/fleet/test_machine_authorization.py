"""Authorization as a machine flow that waits for the CSMS: local list, cache, then Authorize,
driven event by event with explicit `now` values (no loop, no socket, no sleep); the answer
comes back as `CallAnswered`, a lost call as `CallFailed`, a refusal as a `Fail` effect.
Plus the 1.6 and 2.x Authorize codecs against the OCA schemas."""

from __future__ import annotations

import pytest

from voltlab.fleet.codecs import ocpp16_authorization as codec16
from voltlab.fleet.codecs import ocpp201_authorization as codec2x
from voltlab.fleet.machine.effects import Answer, Fail, Persist, SendCall
from voltlab.fleet.machine.events import (
    CallAnswered,
    CallFailed,
    Connected,
    Disconnected,
    GatewayCommand,
)
from voltlab.fleet.machine.flow import UnknownCall
from voltlab.fleet.machine.flows.registration import boot_request
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.messages import (
    AuthorizationDecision,
    AuthorizeAnswer,
    AuthorizeIdTag,
    AuthorizeRequest,
    BootAnswer,
)
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.records import StationError
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

T0 = 1_800_000_000.0
OK = IdTagInfo("Accepted", "2027-02-01T00:00:00.000Z", "FLEET")


def online_machine() -> StationMachine:
    station = Station("CP-A", CATALOG["ac-22kw-2c"], seed=1)
    machine = StationMachine(station, MachineSettings(reports_reservation_ends=False))
    # Registered: the BootNotification (call 1) is accepted, so a flow's first call is 2.
    assert machine.handle(Connected(), T0) == [SendCall(boot_request(station, "PowerUp"), 1)]
    machine.handle(CallAnswered(1, BootAnswer("Accepted", 300, None)), T0)
    assert machine.online
    return machine


def test_unknown_tag_waits_for_the_csms_and_the_answer_is_cached() -> None:
    m = online_machine()
    effects = m.handle(GatewayCommand(AuthorizeIdTag("TAG-1")), T0)
    assert effects == [SendCall(AuthorizeRequest("TAG-1"), call_id=2)]
    assert m.flows.waiting == 1
    effects = m.handle(CallAnswered(2, AuthorizeAnswer(OK)), T0 + 0.2)
    assert effects == [Persist(), Answer(AuthorizationDecision("TAG-1", OK, "csms"))]
    assert m.flows.waiting == 0
    assert m.station.auth_cache.lookup("TAG-1") == OK
    # With LocalPreAuthorize the cache answers next time: no call at all.
    m.station.config.set_local("LocalPreAuthorize", "true")
    effects = m.handle(GatewayCommand(AuthorizeIdTag("TAG-1")), T0 + 1)
    assert effects == [Answer(AuthorizationDecision("TAG-1", OK, "cache"))]


def test_a_refusal_is_an_answer_and_a_disabled_cache_learns_nothing() -> None:
    m = online_machine()
    m.station.config.set_local("AuthorizationCacheEnabled", "false")
    effects = m.handle(GatewayCommand(AuthorizeIdTag("BAD")), T0)
    assert effects == [SendCall(AuthorizeRequest("BAD"), call_id=2)]
    blocked = IdTagInfo("Blocked")
    effects = m.handle(CallAnswered(2, AuthorizeAnswer(blocked)), T0)
    assert effects == [Answer(AuthorizationDecision("BAD", blocked, "csms"))]
    assert not effects[0].message.accepted  # type: ignore[union-attr]
    assert m.station.auth_cache.lookup("BAD") is None


def test_local_list_answers_first_and_an_expired_entry_says_expired() -> None:
    m = online_machine()
    m.station.config.set_local("LocalPreAuthorize", "true")
    m.station.local_list.update(
        1, "Full", [("LIST", IdTagInfo("Accepted", "2027-06-01T00:00:00.000Z"))]
    )
    before = m.handle(GatewayCommand(AuthorizeIdTag("LIST")), T0)
    assert before == [
        Answer(
            AuthorizationDecision(
                "LIST", IdTagInfo("Accepted", "2027-06-01T00:00:00.000Z"), "local_list"
            )
        )
    ]
    expired = m.handle(GatewayCommand(AuthorizeIdTag("LIST")), 1_830_000_000.0)  # 2027-12
    assert expired == [
        Answer(
            AuthorizationDecision(
                "LIST", IdTagInfo("Expired", "2027-06-01T00:00:00.000Z"), "local_list"
            )
        )
    ]


def test_offline_the_station_decides_alone_or_refuses_with_not_connected() -> None:
    m = online_machine()
    m.handle(Disconnected(), T0)
    [refused] = m.handle(GatewayCommand(AuthorizeIdTag("ANY")), T0)
    assert isinstance(refused, Fail) and isinstance(refused.error, StationError)
    assert refused.error.code == "not_connected"
    assert m.flows.waiting == 0
    m.station.config.set_local("AllowOfflineTxForUnknownId", "true")
    effects = m.handle(GatewayCommand(AuthorizeIdTag("ANY")), T0)
    assert effects == [Answer(AuthorizationDecision("ANY", IdTagInfo("Accepted"), "offline"))]


def test_a_lost_call_fails_the_flow_with_csms_error_and_leaves_nothing_waiting() -> None:
    m = online_machine()
    assert m.handle(GatewayCommand(AuthorizeIdTag("T")), T0) == [
        SendCall(AuthorizeRequest("T"), call_id=2)
    ]
    [failed] = m.handle(CallFailed(2, "timeout", "no answer in 30 s"), T0 + 30)
    assert isinstance(failed, Fail) and isinstance(failed.error, StationError)
    assert failed.error.code == "csms_error" and "no answer in 30 s" in str(failed.error)
    assert m.flows.waiting == 0
    with pytest.raises(UnknownCall):
        m.handle(CallAnswered(2, AuthorizeAnswer(OK)), T0 + 31)


def test_two_flows_wait_side_by_side_and_resume_by_call_id() -> None:
    m = online_machine()
    m.handle(GatewayCommand(AuthorizeIdTag("A")), T0)
    m.handle(GatewayCommand(AuthorizeIdTag("B")), T0)
    blocked = IdTagInfo("Blocked")
    assert m.handle(CallAnswered(3, AuthorizeAnswer(blocked)), T0)[-1] == Answer(
        AuthorizationDecision("B", blocked, "csms")
    )
    assert m.handle(CallAnswered(2, AuthorizeAnswer(OK)), T0)[-1] == Answer(
        AuthorizationDecision("A", OK, "csms")
    )


def test_16_codec_per_schema() -> None:
    schemas = SchemaSet(OCPP16, schema_directory(OCPP16))
    action, payload = codec16.encode_authorize(AuthorizeRequest("TAG-16"))
    assert (action, payload) == ("Authorize", {"idTag": "TAG-16"})
    schemas.validate_request(action, payload)
    answer = {
        "idTagInfo": {"status": "Accepted", "expiryDate": OK.expiry_date, "parentIdTag": "FLEET"}
    }
    schemas.validate_response(action, answer)
    assert codec16.decode_authorize_answer(answer) == AuthorizeAnswer(OK)


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_codec_per_schema(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))
    action, payload = codec2x.encode_authorize(AuthorizeRequest("TAG-2X"))
    assert payload == {"idToken": {"idToken": "TAG-2X", "type": "ISO14443"}}
    schemas.validate_request(action, payload)
    answer = {
        "idTokenInfo": {
            "status": "NotAtThisTime",
            "cacheExpiryDateTime": OK.expiry_date,
            "groupIdToken": {"idToken": "FLEET", "type": "Central"},
        }
    }
    schemas.validate_response(action, answer)
    # A 2.x-only status reads as Invalid, the 1.6 word for "may not charge now".
    assert codec2x.decode_authorize_answer(answer) == AuthorizeAnswer(
        IdTagInfo("Invalid", OK.expiry_date, "FLEET")
    )
