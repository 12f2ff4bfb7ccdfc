"""The shared OCPP vocabulary: every word checked against the OCA schemas, every mapping round
tripped both ways, and the fleet (station) and csms sides shown to use the same tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltlab.csms import ocpp16 as csms16
from voltlab.csms import ocpp201 as csms201
from voltlab.csms import ocpp201_payloads, ocpp201_tx
from voltlab.csms.events import IdTagStatus
from voltlab.fleet.codecs import ocpp16_sessions as codec16
from voltlab.fleet.codecs import ocpp201_sessions as codec201
from voltlab.fleet.machine.flows import status as status_flow
from voltlab.fleet.machine.session_messages import StatusReport
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201
from voltlab.ocpp.vocabulary import authorization, connector_status, stop_reasons, timestamps
from voltlab.ocpp.vocabulary.authorization import (
    AUTHORIZATION_STATUSES_2X,
    AUTHORIZATION_STATUSES_16,
    Authorization,
    authorization_from_2x,
    authorization_from_16,
    id_tag_info_16,
    id_token_info_2x,
)
from voltlab.ocpp.vocabulary.connector_status import (
    CONNECTOR_STATUSES_16,
    EVSE_STATUS_PRIORITY,
    FAULT_TYPES,
    charging_state_2x,
    connector_status_2x,
    connector_status_16,
    error_code_16,
)
from voltlab.ocpp.vocabulary.stop_reasons import (
    REASONS_2X,
    REASONS_16,
    STOP_REASONS,
    stop_reason_from_2x,
    stop_reason_from_16,
    stop_reason_to_2x,
    stop_reason_to_16,
)
from voltlab.ocpp.vocabulary.timestamps import (
    format_datetime,
    format_timestamp,
    from_epoch,
    parse_datetime,
    parse_datetime_or,
    parse_timestamp,
)

EXPIRY = "2030-01-01T00:00:00.000Z"


def schema_enum(version: str, file: str, key: str) -> set[str]:
    """Every enum value under ``key`` (a property or definition name) in an OCA schema."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, child in node.items():
                if name == key and isinstance(child, dict) and "enum" in child:
                    found.update(child["enum"])
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(json.loads((schema_directory(version) / file).read_text(encoding="utf-8-sig")))
    assert found, f"no enum {key} in {version} {file}"
    return found


# -- the words are the specification's ---------------------------------------------------------


def test_stop_reason_words_are_the_schemas():
    reasons_16 = schema_enum(OCPP16, "StopTransaction.json", "reason")
    reasons_201 = schema_enum(OCPP201, "TransactionEventRequest.json", "ReasonEnumType")
    reasons_21 = schema_enum(OCPP21, "TransactionEventRequest.json", "ReasonEnumType")
    assert set(REASONS_16) == reasons_16 and len(REASONS_16) == 11
    assert set(REASONS_2X) == reasons_21 == reasons_201 | {"ReqEnergyTransferRejected"}
    # The neutral vocabulary is the union of 1.6 and 2.0.1: 22 words, each once.
    assert set(STOP_REASONS) == reasons_16 | reasons_201
    assert len(STOP_REASONS) == len(set(STOP_REASONS)) == 22


def test_status_and_error_words_are_the_schemas():
    assert set(CONNECTOR_STATUSES_16) == schema_enum(OCPP16, "StatusNotification.json", "status")
    assert set(EVSE_STATUS_PRIORITY) == schema_enum(
        OCPP201, "StatusNotificationRequest.json", "ConnectorStatusEnumType"
    )
    assert set(authorization.AUTHORIZATION_STATUSES_16) == schema_enum(
        OCPP16, "AuthorizeResponse.json", "status"
    )
    for version in (OCPP201, OCPP21):
        assert set(AUTHORIZATION_STATUSES_2X) == schema_enum(
            version, "AuthorizeResponse.json", "AuthorizationStatusEnumType"
        )
    charging_states = schema_enum(OCPP201, "TransactionEventRequest.json", "ChargingStateEnumType")
    assert {charging_state_2x(s) for s in CONNECTOR_STATUSES_16} - {None} <= charging_states
    error_codes = schema_enum(OCPP16, "StatusNotification.json", "errorCode")
    assert {error_code_16(f) for f in FAULT_TYPES} | {"OtherError", "NoError"} <= error_codes
    # No two alike, but for the grid's frequency events: 1.6 has no code for them, they are
    # OtherError with the event in `info` (codecs/ocpp16_sessions.py).
    distinct = [f for f in FAULT_TYPES if error_code_16(f) != "OtherError"]
    assert len({error_code_16(f) for f in distinct}) == len(distinct)
    assert {f for f in FAULT_TYPES if f not in distinct} == {"OverFrequency", "UnderFrequency"}


# -- stop reasons --------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", STOP_REASONS)
def test_stop_reason_round_trips_through_16(reason):
    word = stop_reason_to_16(reason)
    assert word in REASONS_16
    if reason in REASONS_16:
        assert word == reason and stop_reason_from_16(word) == reason
    else:  # 2.x-only: a limit the station enforced is Local, anything else Other
        limit = reason in ("EnergyLimitReached", "TimeLimitReached")
        assert word == ("Local" if limit else "Other")


@pytest.mark.parametrize("reason", STOP_REASONS)
def test_stop_reason_round_trips_through_2x(reason):
    stopped, trigger = stop_reason_to_2x(reason)
    assert stopped in REASONS_2X
    assert trigger in schema_enum(OCPP201, "TransactionEventRequest.json", "TriggerReasonEnumType")
    # 2.x has no HardReset / SoftReset (ImmediateReset) and no UnlockCommand reason (Other,
    # with the trigger saying it); every other word is the same on both sides.
    expected = {
        "HardReset": "ImmediateReset",
        "SoftReset": "ImmediateReset",
        "UnlockCommand": "Other",
    }.get(reason, reason)
    if reason == "UnlockCommand":
        assert trigger == "UnlockCommand"
    assert stop_reason_from_2x(stopped) == expected


@pytest.mark.parametrize("word", REASONS_2X)
def test_every_2x_reason_reads_as_a_neutral_one(word):
    reason = stop_reason_from_2x(word)
    assert reason == (word if word in STOP_REASONS else "Other")
    assert stop_reason_to_2x(reason)[0] == (word if word in STOP_REASONS else "Other")


def test_absent_or_unknown_stop_reasons():
    assert stop_reason_from_16(None) == stop_reason_from_2x(None) == "Local"  # spec: omitted
    assert stop_reason_from_2x("ReqEnergyTransferRejected") == "Other"
    assert stop_reason_to_16(None) == "Local" and stop_reason_to_2x(None) == (
        "Local",
        "StopAuthorized",
    )
    assert stop_reason_to_16("NoSuchReason") == "Other"
    assert stop_reason_to_2x("NoSuchReason") == ("Other", "AbnormalCondition")


@given(st.sampled_from(STOP_REASONS))
def test_csms_reads_what_the_station_sends(reason):
    # What a 1.6 / 2.x station says for a reason, the CSMS reads back to a neutral reason the
    # station would say in exactly the same words: the wire is a fixed point of the round trip.
    heard_16 = stop_reason_from_16(stop_reason_to_16(reason))
    assert stop_reason_to_16(heard_16) == stop_reason_to_16(reason)
    heard_2x = stop_reason_from_2x(stop_reason_to_2x(reason)[0])
    assert stop_reason_to_2x(heard_2x)[0] == stop_reason_to_2x(reason)[0]
    if reason in REASONS_16:
        assert heard_16 == reason


# -- authorization -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", AUTHORIZATION_STATUSES_16)
@pytest.mark.parametrize("expiry", [None, EXPIRY])
@pytest.mark.parametrize("parent", [None, "GROUP-1"])
def test_id_tag_info_16_round_trip(status, expiry, parent):
    body = id_tag_info_16(status, expiry, parent)
    SchemaSet(OCPP16, schema_directory(OCPP16)).validate_response("Authorize", {"idTagInfo": body})
    assert ("expiryDate" in body, "parentIdTag" in body) == (bool(expiry), bool(parent))
    assert authorization_from_16(body) == Authorization(status, expiry, parent)


@pytest.mark.parametrize("status", AUTHORIZATION_STATUSES_2X)
@pytest.mark.parametrize("expiry", [None, EXPIRY])
@pytest.mark.parametrize("group", [None, "GROUP-1"])
def test_id_token_info_2x_round_trip(status, expiry, group):
    body = id_token_info_2x(status, expiry, group)
    SchemaSet(OCPP201, schema_directory(OCPP201)).validate_response(
        "Authorize", {"idTokenInfo": body}
    )
    if group:
        assert body["groupIdToken"] == {"idToken": group, "type": "Central"}
    # A 1.6-minded station hears the 2.x-only statuses as Invalid: it may not charge now.
    heard = "Invalid" if status not in AUTHORIZATION_STATUSES_16 else status
    assert authorization_from_2x(body) == Authorization(heard, expiry, group)


@pytest.mark.parametrize(
    "status", ["NoCredit", "NotAllowedTypeEVSE", "NotAtThisLocation", "NotAtThisTime", "Unknown"]
)
def test_2x_only_statuses_read_invalid(status):
    assert authorization.authorization_status_16(status) == "Invalid"
    assert codec201.id_tag_info({"status": status}) == IdTagInfo("Invalid")


def test_no_answer_is_invalid():
    assert authorization_from_16(None) == authorization_from_2x(None) == Authorization("Invalid")
    assert authorization_from_16({}) == Authorization("Invalid")


@pytest.mark.parametrize("status", AUTHORIZATION_STATUSES_16)
def test_station_decodes_what_the_csms_encodes(status):
    expiry = datetime(2030, 1, 1, 12, 30, 5, 250_000, tzinfo=UTC)
    decision = IdTagStatus(status, expiry, "PARENT-7")
    # 1.6: StartTransaction / Authorize answers
    assert codec16.id_tag_info(dict(csms16.id_tag_info(decision))) == IdTagInfo(
        status, "2030-01-01T12:30:05.250Z", "PARENT-7"
    )
    # 2.x: idTokenInfo, group as a Central token
    for version in (OCPP201, OCPP21):
        body = ocpp201_payloads.id_token_info(decision, version)
        assert codec201.id_tag_info(dict(body)) == IdTagInfo(
            status, "2030-01-01T12:30:05.250Z", "PARENT-7"
        )
    # No decision: 2.x says Unknown, which the station takes as Invalid.
    assert codec201.id_tag_info(dict(ocpp201_payloads.id_token_info(None, OCPP201))) == (
        IdTagInfo("Invalid")
    )


def test_too_long_parent_is_dropped_not_sent():
    long_parent = "P" * 21  # 1.6 CiString20
    assert csms16.id_tag_info(IdTagStatus("Accepted", None, long_parent)) == {"status": "Accepted"}
    group = "G" * 37  # 2.0.1 idToken is 36 long, 2.1 255
    assert "groupIdToken" not in ocpp201_payloads.id_token_info(
        IdTagStatus("Accepted", None, group), OCPP201
    )
    assert ocpp201_payloads.id_token_info(IdTagStatus("Accepted", None, group), OCPP21)[
        "groupIdToken"
    ] == {"idToken": group, "type": "Central"}


# -- connector statuses ----------------------------------------------------------------------


@pytest.mark.parametrize("status", CONNECTOR_STATUSES_16)
def test_connector_status_folds_and_unfolds(status):
    folded = connector_status_2x(status)
    state = charging_state_2x(status)
    # What the CSMS knows of the EVSE: a transaction is open while the EV is charging or
    # suspended; Finishing is an EV that stayed after its transaction ended.
    has_transaction = status in ("Charging", "SuspendedEV", "SuspendedEVSE")
    unfolded, code = connector_status_16(
        folded, state if has_transaction else None, has_transaction, status == "Finishing"
    )
    assert unfolded == status
    assert code == ("OtherError" if status == "Faulted" else "NoError")


@pytest.mark.parametrize("evse_status", EVSE_STATUS_PRIORITY)
@pytest.mark.parametrize(
    "charging_state", [None, "EVConnected", "Charging", "SuspendedEV", "SuspendedEVSE", "Idle"]
)
@pytest.mark.parametrize("has_transaction", [False, True])
@pytest.mark.parametrize("finishing", [False, True])
def test_every_2x_status_unfolds_to_a_16_word(
    evse_status, charging_state, has_transaction, finishing
):
    status, code = connector_status_16(evse_status, charging_state, has_transaction, finishing)
    assert status in CONNECTOR_STATUSES_16
    assert connector_status_2x(status) == evse_status  # and folds back to what was said
    assert code in ("NoError", "OtherError")


def test_unknown_words_fold_safely():
    assert connector_status_2x("NoSuchStatus") == "Unavailable"
    assert charging_state_2x("Available") is None
    assert error_code_16(None) == "NoError" and error_code_16("NoSuchFault") == "NoError"


# -- timestamps ----------------------------------------------------------------------------------

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01T12:00:00Z", T0),
        ("2025-03-01T12:00:00.000Z", T0),
        ("2025-03-01T12:00:00.5Z", T0 + timedelta(milliseconds=500)),
        ("2025-03-01T12:00:00.1234567Z", T0 + timedelta(microseconds=123_456)),
        ("2025-03-01T14:00:00+02:00", T0),
        ("2025-03-01T06:30:00.250-05:30", T0 + timedelta(milliseconds=250)),
        ("2025-03-01T12:00:00", T0),  # no offset: OCPP's UTC
    ],
)
def test_parse_with_and_without_fractions_and_offsets(text, expected):
    assert parse_datetime(text) == expected
    assert parse_datetime(text).tzinfo == UTC
    assert parse_timestamp(text) == expected.timestamp()


def test_format_is_utc_milliseconds_z():
    moment = datetime(2025, 3, 1, 14, 0, 0, 123_999, tzinfo=timezone(timedelta(hours=2)))
    assert format_datetime(moment) == "2025-03-01T12:00:00.123Z"
    assert format_timestamp(T0.timestamp() + 0.9999) == "2025-03-01T12:00:00.999Z"
    assert format_timestamp(T0.timestamp() + 0.9999996) == "2025-03-01T12:00:01.000Z"
    assert format_timestamp(T0.timestamp()) == "2025-03-01T12:00:00.000Z"


def test_unreadable_or_absent_falls_back():
    fallback = datetime(2020, 1, 1, tzinfo=UTC)
    assert parse_datetime_or("yesterday", fallback) is fallback
    assert parse_datetime_or(None, fallback) is fallback
    assert parse_datetime_or("", fallback) is fallback
    with pytest.raises(ValueError):
        parse_datetime("yesterday")


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))  # 1970 .. 2100
def test_epoch_and_datetime_entry_points_agree(epoch):
    text = format_timestamp(epoch)
    assert text == format_datetime(from_epoch(epoch))
    # Parsing gives the instant back, truncated to the millisecond.
    assert abs(parse_timestamp(text) - epoch) < 0.001 + 1e-6
    assert format_timestamp(parse_timestamp(text)) == text


# -- one vocabulary, both sides of the wire ---------------------------------------------------


@pytest.mark.parametrize(
    ("user", "name", "vocabulary"),
    [
        (codec16, "stop_reason_to_16", stop_reasons),
        (csms16, "stop_reason_from_16", stop_reasons),
        (codec201, "stop_reason_to_2x", stop_reasons),
        (ocpp201_tx, "stop_reason_from_2x", stop_reasons),
        (codec16, "authorization_from_16", authorization),
        (csms16, "id_tag_info_16", authorization),
        (codec201, "authorization_from_2x", authorization),
        (ocpp201_payloads, "id_token_info_2x", authorization),
        (status_flow, "connector_status_2x", connector_status),
        (csms201, "connector_status_16", connector_status),
        (codec16, "format_timestamp", timestamps),
        (csms16, "format_datetime", timestamps),
    ],
)
def test_fleet_and_csms_share_the_same_objects(user, name, vocabulary):
    assert getattr(user, name) is getattr(vocabulary, name)


def test_a_grid_frequency_event_is_named_in_the_16_info():
    report = StatusReport(0, "Available", "UnderFrequency", None, None, 1_800_000_000.0)
    action, body = codec16.encode_session_call(report)
    assert (action, body["errorCode"], body["info"]) == (
        "StatusNotification",
        "OtherError",
        "UnderFrequency",
    )
    said = StatusReport(0, "Available", "UnderFrequency", "grid 49.4 Hz", None, 1_800_000_000.0)
    assert codec16.encode_session_call(said)[1]["info"] == "grid 49.4 Hz"  # the fault's own
