"""The replay's pure rules, without a socket: reading captures (and refusing them with the line
at fault), pairing, rewriting, comparing, and the dialogue's decisions."""

from __future__ import annotations

import json

import pytest

from voltlab.csms.ocpp16 import CHARGE_POINT_ACTIONS
from voltlab.csms.ocpp201 import CHARGING_STATION_ACTIONS_21
from voltlab.replay.capture import CaptureInvalid
from voltlab.replay.compare import compare_payloads, same_error_code
from voltlab.replay.dialogue import AnswerError, AnswerNothing, AnswerResult, ReplayDialogue
from voltlab.replay.dialogue import Error as CsmsError
from voltlab.replay.dialogue import Result as CsmsResult
from voltlab.replay.formats import detect_format, parse_capture
from voltlab.replay.jsonl import parse_jsonl
from voltlab.replay.python_ocpp_log import STATION_ACTIONS, parse_python_ocpp_log
from voltlab.replay.rewrite import (
    ID_FIELDS_2X,
    IdBindings,
    id_fields,
    rewrite_station_payload,
    shift_date_time,
)
from voltlab.replay.script import build_script, detect_version


def jsonl(*items: dict) -> str:
    return "\n".join(json.dumps(item) for item in items) + "\n"


BOOT_16 = [2, "a1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]
BOOT_16_OK = [
    3,
    "a1",
    {"status": "Accepted", "currentTime": "2025-01-01T00:00:00Z", "interval": 300},
]


# -- JSON lines ----------------------------------------------------------------------------


def test_jsonl_reads_directions_times_and_names() -> None:
    text = jsonl(
        {"timestamp": "2025-01-01T10:00:00.000Z", "direction": "out", "frame": BOOT_16,
         "identity": "CP-1", "ocpp_version": "ocpp1.6"},
        {"ts": 1735725600.5, "direction": "csms->station", "frame": json.dumps(BOOT_16_OK)},
        {"timestamp": 1735725601500, "direction": "station->csms",
         "frame": [2, "a2", "Heartbeat", {}]},
        {"direction": "in", "frame": "\x00binary"},
    )  # fmt: skip
    capture = parse_jsonl(text)
    assert (capture.identity, capture.ocpp_version) == ("CP-1", "ocpp1.6")
    assert [(f.line, f.direction, f.timestamp) for f in capture.frames] == [
        (1, "out", 1735725600.0),
        (2, "in", 1735725600.5),
        (3, "out", 1735725601.5),
    ]
    assert [(s.line, s.reason) for s in capture.skipped] == [
        (4, "the frame is not JSON (a binary or broken message)")
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"direction": "up", "frame": []}', "`direction` 'up' is none of"),
        ('{"direction": "out"}', "no `frame`"),
        ('{"direction": "out", "frame": [], "timestamp": "yesterday"}', "neither RFC 3339"),
        ('{"direction": "out", "frame": [], "ocpp_version": "ocpp9"}', "`ocpp_version` 'ocpp9'"),
        ('{"direction": "out", "frame": [], "identity": "OTHER"}', "differs from the earlier"),
    ],
)
def test_jsonl_refuses_a_bad_line_by_its_number(line: str, message: str) -> None:
    text = jsonl({"direction": "out", "frame": BOOT_16, "identity": "CP-1"}) + "\n" + line + "\n"
    with pytest.raises(CaptureInvalid) as caught:
        parse_jsonl(text)
    assert caught.value.line == 3 and caught.value.field == "capture"
    assert message in caught.value.message
    assert str(caught.value).startswith("line 3: ")


def test_frames_of_no_usable_shape_are_skipped_with_the_reason() -> None:
    capture = parse_jsonl(
        jsonl(
            {"direction": "out", "frame": [5, "x", "E", "", {}]},
            {"direction": "out", "frame": [2, "x", "Heartbeat"]},
            {"direction": "out", "frame": [3, 7, {}]},
        )
    )
    assert capture.frames == ()
    assert [s.reason for s in capture.skipped] == [
        "message type 5 is not 2 (CALL), 3 (CALLRESULT) or 4 (CALLERROR)",
        "message type 2 has 4 elements, this one 3",
        "the message id is not a non-empty string",
    ]


# -- the Python ocpp library's log ---------------------------------------------------------

HA = "INFO (MainThread) [ocpp] Wallbox:"
CSMS_SIDE_LOG = "\n".join(
    [
        "2021-03-17 20:20:21 WARNING (MainThread) [homeassistant.loader] unrelated line",
        f"2021-03-17 20:23:00 {HA} receive message "
        '[2,"b1","BootNotification",{"chargePointVendor":"W","chargePointModel":"P"}]',
        f"2021-03-17 20:23:00 {HA} send "
        '[3,"b1",{"status":"Accepted","currentTime":"2021-03-17T20:23:00Z","interval":60}]',
        f"2021-03-17 20:23:01 {HA} send "
        '[2,"t1","TriggerMessage",{"requestedMessage":"StatusNotification"}]',
        f'2021-03-17 20:23:01 {HA} receive message [3,"t1",',
        "{",
        '"status": "Accepted"',
        "}]",
        "2021-03-17 20:23:02 INFO (MainThread) [ocpp] Other: receive message "
        '[2,"h1","Heartbeat",{}]',
    ]
)


def test_a_csms_side_log_with_a_pretty_printed_frame_reads_as_the_station_saw_it() -> None:
    capture = parse_python_ocpp_log(CSMS_SIDE_LOG, "Wallbox")
    assert capture.identity == "Wallbox" and capture.format == "python-ocpp-log"
    assert [(f.line, f.direction, f.kind) for f in capture.frames] == [
        (2, "out", 2),  # the CSMS received it: the station sent it
        (3, "in", 3),
        (4, "in", 2),
        (5, "out", 3),
    ]
    assert capture.frames[3].payload == {"status": "Accepted"}
    assert capture.frames[1].timestamp == 1616012580.0  # read as UTC
    assert capture.frames[2].timestamp == 1616012581.0


def test_a_log_of_several_stations_needs_an_identity() -> None:
    with pytest.raises(CaptureInvalid) as caught:
        parse_python_ocpp_log(CSMS_SIDE_LOG)
    assert caught.value.field == "identity"
    assert "2 stations (Other, Wallbox)" in caught.value.message
    with pytest.raises(CaptureInvalid, match="no frame of station 'CP9'"):
        parse_python_ocpp_log(CSMS_SIDE_LOG, "CP9")


def test_a_station_side_log_without_times_and_its_refusals() -> None:
    log = (
        "INFO:ocpp:CP_1: send "
        '[2,"1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]\n'
        "INFO:root:CP_1: connected to central system\n"
        'INFO:ocpp:CP_1: receive message [3,"1",{"status":"Accepted","currentTime":"x",'
        '"interval":10}]\n'
    )
    capture = parse_python_ocpp_log(log)
    assert [(f.line, f.direction, f.timestamp) for f in capture.frames] == [
        (1, "out", None),
        (3, "in", None),
    ]
    with pytest.raises(CaptureInvalid, match="cannot tell which side wrote the log"):
        parse_python_ocpp_log('INFO:ocpp:CP_1: send [2,"1","Reset",{"type":"Soft"}]\n')
    with pytest.raises(CaptureInvalid) as caught:
        parse_python_ocpp_log(
            'INFO:ocpp:CP_1: send [2,"1","Heartbeat",{}]\nINFO:ocpp:CP_1: send [2,\n'
        )
    assert caught.value.line == 2 and "not JSON" in caught.value.message


def test_station_actions_are_what_the_built_in_csms_takes_from_a_station() -> None:
    assert (CHARGE_POINT_ACTIONS | CHARGING_STATION_ACTIONS_21) - {
        "DataTransfer"
    } == STATION_ACTIONS


def test_the_format_is_detected_or_the_first_line_refused() -> None:
    assert detect_format("\n" + jsonl({"direction": "out", "frame": BOOT_16})) == "jsonl"
    assert detect_format(CSMS_SIDE_LOG) == "python-ocpp-log"
    with pytest.raises(CaptureInvalid) as caught:
        parse_capture("\n\nGET /ocpp HTTP/1.1\n")
    assert caught.value.line == 3
    with pytest.raises(CaptureInvalid, match="empty"):
        parse_capture(" \n")


# -- the script ----------------------------------------------------------------------------


def test_calls_pair_with_their_answers_and_offsets_never_go_back() -> None:
    capture = parse_jsonl(
        jsonl(
            {"timestamp": 100.0, "direction": "out", "frame": BOOT_16},
            {"timestamp": 100.2, "direction": "in", "frame": [2, "c1", "Reset", {"type": "Soft"}]},
            {"timestamp": 100.1, "direction": "in", "frame": BOOT_16_OK},
            {"timestamp": 101.0, "direction": "in", "frame": [3, "zz", {}]},
            {"direction": "out", "frame": [2, "a2", "Heartbeat", {}]},
        )
    )
    script = build_script(capture, "ocpp1.6")
    assert [(e.call.action, e.by_station, e.offset) for e in script.exchanges] == [
        ("BootNotification", True, 0.0),
        ("Reset", False, pytest.approx(0.2)),
        ("Heartbeat", True, pytest.approx(1.0)),  # no time: the last one's
    ]
    assert script.exchanges[0].answer is not None and script.exchanges[0].answer.line == 3
    assert script.exchanges[1].answer is None and script.exchanges[2].answer is None
    assert [(u.line, u.reason) for u in script.unused] == [
        (4, "an answer to no CALL of the capture")
    ]
    with pytest.raises(CaptureInvalid, match="no CALL"):
        build_script(parse_jsonl(jsonl({"direction": "in", "frame": BOOT_16_OK})), "ocpp1.6")


def test_the_version_is_the_one_whose_schemas_take_the_station_calls() -> None:
    v16 = parse_jsonl(jsonl({"direction": "out", "frame": BOOT_16}))
    boot_201 = {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}
    v201 = parse_jsonl(jsonl({"direction": "out", "frame": [2, "b", "BootNotification", boot_201]}))
    unknown = parse_jsonl(jsonl({"direction": "out", "frame": [2, "b", "Hello", {}]}))
    assert detect_version(v16) == "ocpp1.6"
    assert detect_version(v201) == "ocpp2.0.1"  # valid 2.1 too: the older wins
    assert detect_version(unknown) is None


# -- rewriting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "moved"),
    [
        ("2025-01-01T00:00:00Z", 90.5, "2025-01-01T00:01:30Z"),
        ("2025-01-01T00:00:00.123Z", 1.0, "2025-01-01T00:00:01.123Z"),
        ("2025-01-01T23:59:59.123456+02:00", 3600, "2025-01-02T00:59:59.123456+02:00"),
        ("2025-01-01T00:00:00.5", -0.25, "2025-01-01T00:00:00.2"),
    ],
)
def test_a_date_time_moves_and_keeps_its_format(text: str, seconds: float, moved: str) -> None:
    assert shift_date_time(text, seconds) == moved


def test_station_payloads_carry_live_ids_and_shifted_times() -> None:
    bindings = IdBindings(id_fields("ocpp1.6"))
    assert bindings.check("transactionId", 5, 17) is None
    payload = {
        "transactionId": 5,
        "meterValue": [{"timestamp": "2025-01-01T00:00:00Z", "sampledValue": [{"value": "2"}]}],
        "reservationId": 9,  # never bound: sent as captured
    }
    assert rewrite_station_payload(payload, bindings, 60) == {
        "transactionId": 17,
        "meterValue": [{"timestamp": "2025-01-01T00:01:00Z", "sampledValue": [{"value": "2"}]}],
        "reservationId": 9,
    }
    assert "transactionId" not in ID_FIELDS_2X  # a 2.x station chooses its own


# -- comparison ----------------------------------------------------------------------------


def test_comparison_rules() -> None:
    bindings = IdBindings(id_fields("ocpp1.6"))
    expected = {
        "idTagInfo": {"status": "Accepted", "expiryDate": "2025-01-01T00:00:00Z"},
        "transactionId": 4,
        "list": [1, 2],
        "flag": True,
        "gone": 1,
    }
    actual = {
        "idTagInfo": {"status": "Blocked", "expiryDate": "2031-05-05T10:00:00.5+01:00"},
        "transactionId": 99,
        "list": [1],
        "flag": 1,
        "extra": "x",
    }
    found = [(d.path, d.problem) for d in compare_payloads(expected, actual, bindings)]
    assert found == [
        ("idTagInfo.status", "value"),
        ("list", "length"),
        ("flag", "type"),
        ("gone", "missing"),
        ("extra", "unexpected"),
    ]
    assert bindings.live("transactionId", 4) == (True, 99)
    # A later frame must show the same live id for 4, and 99 cannot stand for another one.
    assert compare_payloads({"transactionId": 4}, {"transactionId": 99}, bindings) == []
    [again] = compare_payloads({"transactionId": 4}, {"transactionId": 100}, bindings)
    assert again.problem == "id" and "gave 99 for the capture's 4 before, now 100" in again.detail
    [reused] = compare_payloads({"transactionId": 5}, {"transactionId": 99}, bindings)
    assert "gave 99 again" in reused.detail
    [not_a_time] = compare_payloads(
        {"currentTime": "2025-01-01T00:00:00Z"}, {"currentTime": 5}, bindings
    )
    assert not_a_time.problem == "date-time"
    assert compare_payloads({"n": 1}, {"n": 1.0}, bindings) == []
    assert same_error_code("FormationViolation", "FormatViolation")
    assert not same_error_code("NotSupported", "NotImplemented")


# -- the dialogue --------------------------------------------------------------------------


def ocpp201_script():
    start = {"idToken": {"idToken": "T", "type": "Central"}, "remoteStartId": 7}
    event = {
        "eventType": "Started",
        "timestamp": "2025-01-01T00:00:05Z",
        "triggerReason": "RemoteStart",
        "seqNo": 0,
        "transactionInfo": {"transactionId": "tx-1", "remoteStartId": 7},
    }
    capture = parse_jsonl(
        jsonl(
            {"timestamp": "2025-01-01T00:00:00Z", "direction": "in",
             "frame": [2, "c1", "RequestStartTransaction", start]},
            {"timestamp": "2025-01-01T00:00:00Z", "direction": "out",
             "frame": [3, "c1", {"status": "Accepted", "transactionId": "tx-1"}]},
            {"timestamp": "2025-01-01T00:00:05Z", "direction": "out",
             "frame": [2, "s1", "TransactionEvent", event]},
            {"timestamp": "2025-01-01T00:00:05Z", "direction": "in", "frame": [3, "s1", {}]},
            {"timestamp": "2025-01-01T00:00:06Z", "direction": "in",
             "frame": [2, "c2", "GetLog", {"logType": "DiagnosticsLog", "requestId": 3,
                                            "log": {"remoteLocation": "ftp://x"}}]},
        )
    )  # fmt: skip
    return build_script(capture, "ocpp2.0.1")


def test_a_csms_assigned_remote_start_id_follows_into_the_stations_frames() -> None:
    script = ocpp201_script()
    started = 1735689600.0 + 3600  # an hour after the capture began
    dialogue = ReplayDialogue(script, started)
    live_start = {"idToken": {"idToken": "T", "type": "Central"}, "remoteStartId": 4242}
    answer, found = dialogue.csms_called(
        "RequestStartTransaction", live_start, json.dumps([2, "L1", "x", live_start]), started
    )
    assert found == []
    assert answer == AnswerResult({"status": "Accepted", "transactionId": "tx-1"})
    assert dialogue.arrived(script.exchanges[0])
    action, payload = dialogue.station_call(script.exchanges[1])
    assert action == "TransactionEvent"
    assert payload["transactionInfo"] == {"transactionId": "tx-1", "remoteStartId": 4242}
    assert payload["timestamp"] == "2025-01-01T01:00:05Z"  # shifted by the hour
    assert dialogue.answered(script.exchanges[1], "[2]", CsmsResult({}, "[3]"), started) == []
    # A GetLog the capture has, with another requestId: bound, not a divergence...
    get_log = {"logType": "DiagnosticsLog", "requestId": 77, "log": {"remoteLocation": "ftp://x"}}
    answer, found = dialogue.csms_called("GetLog", get_log, "[2]", started)
    assert found == [] and answer == AnswerNothing()  # the captured station never answered
    assert dialogue.bindings.live("requestId", 3) == (True, 77)
    # ... a second one is not in the capture: answered NotSupported, reported.
    answer, found = dialogue.csms_called("GetLog", get_log, "[2]", started)
    assert answer == AnswerError("NotSupported", "the replayed capture has no answer to GetLog", {})
    [unexpected] = found
    assert unexpected.kind == "unexpected-call" and unexpected.actual is not None
    answer, found = dialogue.csms_called("Reset", {"type": "Immediate"}, "[2]", started)
    assert answer == AnswerError("NotSupported", "the replayed capture has no answer to Reset", {})
    assert dialogue.counts()["divergences"] == 2


def test_answer_kinds_are_judged_against_the_captured_answer() -> None:
    capture = parse_jsonl(
        jsonl(
            {"direction": "out", "frame": BOOT_16},
            {"direction": "in", "frame": BOOT_16_OK},
            {"direction": "out", "frame": [2, "h", "Heartbeat", {}]},
            {"direction": "in", "frame": [4, "h", "FormationViolation", "", {}]},
            {"direction": "out", "frame": [2, "h2", "Heartbeat", {}]},
        )
    )
    script = build_script(capture, "ocpp1.6")
    boot, beat, unanswered = script.exchanges
    dialogue = ReplayDialogue(script, 0.0)
    error = CsmsError("InternalError", "boom", '[4,"n","InternalError","boom",{}]')
    [d1] = dialogue.answered(boot, "[2]", error, 1.0)
    assert d1.kind == "callerror-instead-of-result" and d1.expected["frame"] == BOOT_16_OK
    assert d1.actual["frame"] == [4, "n", "InternalError", "boom", {}]
    assert dialogue.answered(beat, "[2]", CsmsError("FormatViolation", "", "[4]"), 1.0) == []
    [d2] = dialogue.answered(beat, "[2]", CsmsResult({"currentTime": "x"}, "[3]"), 1.0)
    assert d2.kind == "result-instead-of-callerror"
    [d3] = dialogue.answered(unanswered, "[2]", CsmsResult({}, "[3]"), 1.0)
    assert d3.kind == "answer-not-in-capture"
    assert [d.kind for d in dialogue.divergences] == [
        "callerror-instead-of-result",
        "result-instead-of-callerror",
        "answer-not-in-capture",
    ]
