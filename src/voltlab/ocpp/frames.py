"""OCPP-J frames: sans-I/O encoding and strict decoding.

Decoding raises :class:`FrameError` carrying the CALLERROR code to answer with, spelt for
the link's version:

* not JSON, not a non-empty array, message type not an integer: the frame is not an RPC
  message at all -- 2.x ``RpcFrameworkError``, 1.6 ``FormationViolation``;
* a message type number the version does not define (types 5 and 6 exist only in 2.1):
  2.x ``MessageTypeNotSupported``, 1.6 ``ProtocolError`` (1.6 has no dedicated code);
* wrong element count, message id / action / error fields of the wrong type, payload or
  error details not an object, message id longer than 36 characters:
  ``FormatViolation`` (1.6 ``FormationViolation``).

``FrameError.message_id`` is the id when it could be read (a string), else None; the
connection then answers with message id "-1" as OCPP 2.0.1 prescribes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, NoReturn

from voltlab.ocpp.errors import FrameError, error_code
from voltlab.ocpp.versions import OCPP21, check_version, is_ocpp2

CALL = 2
CALLRESULT = 3
CALLERROR = 4
CALLRESULTERROR = 5  # 2.1 only: the receiver of a CALLRESULT could not process it
SEND = 6  # 2.1 only: unconfirmed message, never answered

MAX_MESSAGE_ID_LENGTH = 36

__all__ = [
    "CALL",
    "CALLERROR",
    "CALLRESULT",
    "CALLRESULTERROR",
    "SEND",
    "MAX_MESSAGE_ID_LENGTH",
    "Call",
    "CallError",
    "CallResult",
    "CallResultError",
    "Frame",
    "FrameError",
    "Send",
    "decode",
    "encode",
    "message_types",
]


@dataclass(slots=True)
class Call:
    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(slots=True)
class CallResult:
    message_id: str
    payload: dict[str, Any]


@dataclass(slots=True)
class CallError:
    message_id: str
    error_code: str
    error_description: str = ""
    error_details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CallResultError:
    message_id: str
    error_code: str
    error_description: str = ""
    error_details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Send:
    message_id: str
    action: str
    payload: dict[str, Any]


Frame = Call | CallResult | CallError | CallResultError | Send

# One encoder/decoder for the process: json.dumps/loads with options build a new one per call.
_json_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
# JSONEncoder.encode builds a new C encoder for every call; this one is built once. Without
# the circular-reference markers (a frame is a tree our code built, and a cycle would still
# end in RecursionError) it cannot carry stale markers from a failed call into the next one.
_c_encoder = (
    c_make_encoder(
        None,
        _json_encoder.default,
        encode_basestring,
        None,
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan, as JSONEncoder's default
    )
    if c_make_encoder is not None
    else None
)


def _encode_json(message: list[Any]) -> str:
    if _c_encoder is None:
        return _json_encoder.encode(message)
    return "".join(_c_encoder(message, 0))


def _reject_constant(name: str) -> Any:
    # NaN/Infinity are not JSON; Python's json accepts them unless told otherwise.
    raise ValueError(f"{name} is not valid JSON")


_decode_json = json.JSONDecoder(parse_constant=_reject_constant).decode

# Expected element count per message type number.
_FRAME_LENGTHS: dict[int, int] = {
    CALL: 4,
    CALLRESULT: 3,
    CALLERROR: 5,
    CALLRESULTERROR: 5,
    SEND: 4,
}
_TYPES_BY_VERSION_FAMILY: dict[bool, frozenset[int]] = {
    False: frozenset({CALL, CALLRESULT, CALLERROR}),
    True: frozenset({CALL, CALLRESULT, CALLERROR, CALLRESULTERROR, SEND}),
}


def message_types(version: str) -> frozenset[int]:
    """Message type numbers defined by ``version`` (5 and 6 only exist in ocpp2.1)."""
    return _TYPES_BY_VERSION_FAMILY[check_version(version) == OCPP21]


def encode(frame: Frame) -> str:
    """Compact JSON text of ``frame``; non-ASCII characters are kept as UTF-8."""
    if isinstance(frame, Call):
        return _encode_json([CALL, frame.message_id, frame.action, frame.payload])
    if isinstance(frame, CallResult):
        return _encode_json([CALLRESULT, frame.message_id, frame.payload])
    if isinstance(frame, CallError):
        return _encode_json(
            [
                CALLERROR,
                frame.message_id,
                frame.error_code,
                frame.error_description,
                frame.error_details,
            ]
        )
    if isinstance(frame, CallResultError):
        return _encode_json(
            [
                CALLRESULTERROR,
                frame.message_id,
                frame.error_code,
                frame.error_description,
                frame.error_details,
            ]
        )
    if isinstance(frame, Send):
        return _encode_json([SEND, frame.message_id, frame.action, frame.payload])
    raise TypeError(f"not an OCPP-J frame: {type(frame).__name__}")


def decode(text: str, version: str) -> Frame:
    """Parse one OCPP-J message of ``version``; raise FrameError if it is malformed."""
    check_version(version)
    try:
        data = _decode_json(text)
    except ValueError as exc:
        raise FrameError(_not_rpc_code(version), f"invalid JSON: {exc}") from None
    if type(data) is not list or not data:
        raise FrameError(_not_rpc_code(version), "frame is not a non-empty JSON array")

    message_type = data[0]
    # A readable id lets the CALLERROR be addressed even when the rest of the frame is bad.
    readable_id = data[1] if len(data) > 1 and type(data[1]) is str else None
    if type(message_type) is not int:  # bool is an int subclass, so compare types exactly
        raise FrameError(_not_rpc_code(version), "message type is not an integer", readable_id)
    if message_type not in _TYPES_BY_VERSION_FAMILY[version == OCPP21]:
        raise FrameError(
            error_code(version, "MessageTypeNotSupported"),
            f"message type {message_type} is not supported in {version}",
            readable_id,
            message_type,
        )

    expected = _FRAME_LENGTHS[message_type]
    if len(data) != expected:
        _format_error(
            version,
            f"message type {message_type} needs {expected} elements, got {len(data)}",
            readable_id,
            message_type,
        )
    if readable_id is None:
        _format_error(version, "message id is not a string", None, message_type)
    if len(readable_id) > MAX_MESSAGE_ID_LENGTH:
        _format_error(
            version,
            f"message id is longer than {MAX_MESSAGE_ID_LENGTH} characters",
            readable_id,
            message_type,
        )

    if message_type in (CALL, SEND):
        action, payload = data[2], data[3]
        if type(action) is not str:
            _format_error(version, "action is not a string", readable_id, message_type)
        if type(payload) is not dict:
            _format_error(version, "payload is not a JSON object", readable_id, message_type)
        if message_type == CALL:
            return Call(readable_id, action, payload)
        return Send(readable_id, action, payload)

    if message_type == CALLRESULT:
        payload = data[2]
        if type(payload) is not dict:
            _format_error(version, "payload is not a JSON object", readable_id, message_type)
        return CallResult(readable_id, payload)

    code, description, details = data[2], data[3], data[4]
    if type(code) is not str:
        _format_error(version, "error code is not a string", readable_id, message_type)
    if type(description) is not str:
        _format_error(version, "error description is not a string", readable_id, message_type)
    if type(details) is not dict:
        _format_error(version, "error details is not a JSON object", readable_id, message_type)
    if message_type == CALLERROR:
        return CallError(readable_id, code, description, details)
    return CallResultError(readable_id, code, description, details)


def _not_rpc_code(version: str) -> str:
    return "RpcFrameworkError" if is_ocpp2(version) else "FormationViolation"


def _format_error(
    version: str, description: str, message_id: str | None, message_type: int
) -> NoReturn:
    raise FrameError(error_code(version, "FormatViolation"), description, message_id, message_type)
