"""The failures of a CALL to the CSMS that a station lives with, and how the machine names
them (`flow.FailureReason`)."""

from __future__ import annotations

from voltlab.fleet.driver.link import NotConnected
from voltlab.ocpp.errors import CallErrorReceived, CallTimeout, ConnectionLost, OcppError

# The driver logs these and goes on; a flow waiting for the call gets `CallFailed`.
TRANSPORT_ERRORS = (NotConnected, ConnectionLost, CallTimeout, CallErrorReceived, OcppError)


def failure_reason(exc: BaseException) -> str:
    """A transport error as a `flow.FailureReason`."""
    if isinstance(exc, NotConnected):
        return "not_connected"
    if isinstance(exc, CallTimeout):
        return "timeout"
    if isinstance(exc, CallErrorReceived | OcppError):
        return "call_error"
    return "connection_lost"
