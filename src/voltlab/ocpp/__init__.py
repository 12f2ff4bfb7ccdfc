"""OCPP-J RPC framing, schema validation and the asyncio RPC connection.

Shared by the virtual stations (client side, ``voltlab.fleet``) and the built-in CSMS
(server side, ``voltlab.csms``).
"""

from voltlab.ocpp.connection import Handler, Reply, RpcConnection, SendHandler
from voltlab.ocpp.errors import (
    CallErrorReceived,
    CallTimeout,
    ConnectionLost,
    FrameError,
    OcppError,
    error_code,
)
from voltlab.ocpp.frames import (
    Call,
    CallError,
    CallResult,
    CallResultError,
    Frame,
    Send,
    decode,
    encode,
)
from voltlab.ocpp.schemas import SchemaSet, schema_set
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201, SUPPORTED_VERSIONS

__all__ = [
    "OCPP16",
    "OCPP201",
    "OCPP21",
    "SUPPORTED_VERSIONS",
    "Call",
    "CallError",
    "CallErrorReceived",
    "CallResult",
    "CallResultError",
    "CallTimeout",
    "ConnectionLost",
    "Frame",
    "FrameError",
    "Handler",
    "OcppError",
    "Reply",
    "RpcConnection",
    "SchemaSet",
    "Send",
    "SendHandler",
    "decode",
    "encode",
    "error_code",
    "schema_set",
]
