"""OCPP-J RPC errors and version-correct CALLERROR code names.

OCPP 1.6 and 2.x spell two codes differently (1.6 has ``FormationViolation`` and the
misspelt ``OccurenceConstraintViolation``) and 2.x added ``MessageTypeNotSupported`` and
``RpcFrameworkError``. Code in voltlab names errors by their 2.x ("canonical") spelling and
converts with :func:`error_code` right before a frame goes on the wire.
"""

from __future__ import annotations

import functools
from typing import Any

from voltlab.ocpp.versions import OCPP16, check_version

CANONICAL_CODES: frozenset[str] = frozenset(
    {
        "FormatViolation",
        "OccurrenceConstraintViolation",
        "PropertyConstraintViolation",
        "TypeConstraintViolation",
        "NotImplemented",
        "NotSupported",
        "ProtocolError",
        "SecurityError",
        "InternalError",
        "GenericError",
        "MessageTypeNotSupported",
        "RpcFrameworkError",
    }
)

# 1.6 has no MessageTypeNotSupported / RpcFrameworkError; ProtocolError is the closest code
# ("payload for action is incomplete" / frame not usable).
_OCPP16_SPELLING: dict[str, str] = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
    "MessageTypeNotSupported": "ProtocolError",
    "RpcFrameworkError": "ProtocolError",
}

# Accept 1.6 spellings as input too, so a handler written for 1.6 can raise
# OcppError("FormationViolation") and still be answered correctly on a 2.x link.
_TO_CANONICAL: dict[str, str] = {code: code for code in CANONICAL_CODES} | {
    "FormationViolation": "FormatViolation",
    "OccurenceConstraintViolation": "OccurrenceConstraintViolation",
}


def canonical_code(code: str) -> str:
    """Map any known spelling (1.6 or 2.x) to the 2.x spelling; ValueError if unknown."""
    try:
        return _TO_CANONICAL[code]
    except KeyError:
        raise ValueError(f"unknown OCPP RPC error code {code!r}") from None


def error_code(version: str, canonical: str) -> str:
    """The CALLERROR code to put on the wire for ``canonical`` in ``version``."""
    check_version(version)
    code = canonical_code(canonical)
    if version == OCPP16:
        return _OCPP16_SPELLING.get(code, code)
    return code


@functools.cache
def wire_codes(version: str) -> frozenset[str]:
    """Every CALLERROR code `version` defines, as spelled on its wire (one set per version,
    shared by its connections)."""
    return frozenset(error_code(version, code) for code in CANONICAL_CODES)


def is_known_code(code: str) -> bool:
    """True if ``code`` is a CALLERROR code of any supported OCPP version."""
    return code in _TO_CANONICAL


class OcppError(Exception):
    """An RPC-level error. Raised by a call handler, it is answered with a CALLERROR.

    ``code`` may use either the 1.6 or the 2.x spelling; the connection translates it to the
    spelling of the link's version before sending.
    """

    def __init__(
        self, code: str, description: str = "", details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.details: dict[str, Any] = details if details is not None else {}


class FrameError(OcppError):
    """A received text could not be decoded into an OCPP-J frame.

    ``message_id`` is the id read from the frame when it was readable (used to address the
    CALLERROR), ``message_type`` the message type number when it was readable.
    """

    def __init__(
        self,
        code: str,
        description: str,
        message_id: str | None = None,
        message_type: int | None = None,
    ) -> None:
        super().__init__(code, description)
        self.message_id = message_id
        self.message_type = message_type


class CallErrorReceived(Exception):
    """The peer answered our CALL with a CALLERROR."""

    def __init__(
        self, code: str, description: str = "", details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.details: dict[str, Any] = details if details is not None else {}


class CallTimeout(Exception):
    """No CALLRESULT/CALLERROR arrived within the call timeout."""


class ConnectionLost(Exception):
    """The WebSocket closed before the call could be sent or answered."""
