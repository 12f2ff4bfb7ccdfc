from __future__ import annotations

import json

import pytest

from voltlab.ocpp.errors import FrameError
from voltlab.ocpp.frames import (
    Call,
    CallError,
    CallResult,
    CallResultError,
    Send,
    decode,
    encode,
)
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201


def test_encode_is_compact_and_keeps_unicode() -> None:
    text = encode(Call("id-1", "DataTransfer", {"vendorId": "Zürich", "data": "ü"}))
    assert text == '[2,"id-1","DataTransfer",{"vendorId":"Zürich","data":"ü"}]'


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (Call("a", "Heartbeat", {}), [2, "a", "Heartbeat", {}]),
        (CallResult("a", {"x": 1}), [3, "a", {"x": 1}]),
        (
            CallError("a", "NotSupported", "nope", {"k": "v"}),
            [4, "a", "NotSupported", "nope", {"k": "v"}],
        ),
        (
            CallResultError("a", "FormatViolation", "bad", {}),
            [5, "a", "FormatViolation", "bad", {}],
        ),
        (
            Send("a", "NotifyPeriodicEventStream", {"id": 1}),
            [6, "a", "NotifyPeriodicEventStream", {"id": 1}],
        ),
    ],
)
def test_encode_decode_round_trip(frame: object, expected: list[object]) -> None:
    text = encode(frame)  # type: ignore[arg-type]
    assert json.loads(text) == expected
    assert decode(text, OCPP21) == frame


def test_call_error_defaults() -> None:
    assert encode(CallError("a", "GenericError")) == '[4,"a","GenericError","",{}]'


@pytest.mark.parametrize("version", [OCPP16, OCPP201])
@pytest.mark.parametrize(
    "text", ['[5,"a","FormatViolation","",{}]', '[6,"a","NotifyPeriodicEventStream",{}]']
)
def test_types_5_and_6_only_in_2_1(version: str, text: str) -> None:
    with pytest.raises(FrameError) as info:
        decode(text, version)
    expected = "ProtocolError" if version == OCPP16 else "MessageTypeNotSupported"
    assert info.value.code == expected
    assert info.value.message_id == "a"


# (text, code in 1.6, code in 2.0.1, message id that the CALLERROR is addressed to)
MALFORMED = [
    ("not json", "FormationViolation", "RpcFrameworkError", None),
    ("[2, NaN]", "FormationViolation", "RpcFrameworkError", None),
    ('{"a": 1}', "FormationViolation", "RpcFrameworkError", None),
    ("[]", "FormationViolation", "RpcFrameworkError", None),
    ('["2","a","Heartbeat",{}]', "FormationViolation", "RpcFrameworkError", "a"),
    ('[true,"a","Heartbeat",{}]', "FormationViolation", "RpcFrameworkError", "a"),
    ('[9,"a","Heartbeat",{}]', "ProtocolError", "MessageTypeNotSupported", "a"),
    ('[2,"a","Heartbeat"]', "FormationViolation", "FormatViolation", "a"),
    ('[2,"a","Heartbeat",{},1]', "FormationViolation", "FormatViolation", "a"),
    ('[2,7,"Heartbeat",{}]', "FormationViolation", "FormatViolation", None),
    ('[2,"a",7,{}]', "FormationViolation", "FormatViolation", "a"),
    ('[2,"a","Heartbeat",[]]', "FormationViolation", "FormatViolation", "a"),
    ('[2,"a","Heartbeat",null]', "FormationViolation", "FormatViolation", "a"),
    ('[3,"a",[]]', "FormationViolation", "FormatViolation", "a"),
    ('[4,"a",1,"",{}]', "FormationViolation", "FormatViolation", "a"),
    ('[4,"a","GenericError","",[]]', "FormationViolation", "FormatViolation", "a"),
    ('[4,"a","GenericError",""]', "FormationViolation", "FormatViolation", "a"),
    (json.dumps([2, "x" * 37, "Heartbeat", {}]), "FormationViolation", "FormatViolation", "x" * 37),
]


@pytest.mark.parametrize(("text", "code16", "code201", "message_id"), MALFORMED)
def test_malformed_frames(text: str, code16: str, code201: str, message_id: str | None) -> None:
    for version, code in ((OCPP16, code16), (OCPP201, code201), (OCPP21, code201)):
        with pytest.raises(FrameError) as info:
            decode(text, version)
        assert info.value.code == code, (version, text)
        assert info.value.message_id == message_id


def test_message_id_of_36_characters_is_fine() -> None:
    frame = decode(json.dumps([2, "x" * 36, "Heartbeat", {}]), OCPP16)
    assert frame == Call("x" * 36, "Heartbeat", {})


def test_frame_error_reports_message_type() -> None:
    with pytest.raises(FrameError) as info:
        decode('[3,"a","oops"]', OCPP201)
    assert info.value.message_type == 3


def test_unknown_version_is_rejected() -> None:
    with pytest.raises(ValueError):
        decode('[2,"a","Heartbeat",{}]', "ocpp9")
