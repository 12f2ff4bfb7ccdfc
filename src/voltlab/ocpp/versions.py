"""OCPP-J protocol versions, named exactly as their WebSocket subprotocols."""

from __future__ import annotations

OCPP16 = "ocpp1.6"
OCPP201 = "ocpp2.0.1"
OCPP21 = "ocpp2.1"

# Ordered oldest first; the strings double as Sec-WebSocket-Protocol values.
SUPPORTED_VERSIONS: tuple[str, ...] = (OCPP16, OCPP201, OCPP21)


def check_version(version: str) -> str:
    """Return ``version`` unchanged, or raise ValueError if voltlab does not speak it."""
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(
            f"unsupported OCPP version {version!r}; expected one of {SUPPORTED_VERSIONS}"
        )
    return version


def is_ocpp2(version: str) -> bool:
    """True for the 2.x family (2.0.1 and 2.1), which share RPC error code spellings."""
    return version in (OCPP201, OCPP21)
