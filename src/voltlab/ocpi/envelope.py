"""The OCPI response envelope, status codes, errors and the DateTime format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from voltlab.clock import wall_now
from voltlab.ocpi.findings import OcpiObservation
from voltlab.store.times import as_utc

SUPPORTED_VERSIONS: tuple[str, ...] = ("2.2.1", "2.1.1")


class OcpiStatus(IntEnum):
    SUCCESS = 1000
    CLIENT_ERROR = 2000
    INVALID_PARAMETERS = 2001
    NOT_ENOUGH_INFORMATION = 2002
    UNKNOWN_LOCATION = 2003
    UNKNOWN_TOKEN = 2004
    SERVER_ERROR = 3000
    CLIENT_API_ERROR = 3001  # "unable to use the client's API" (handshake call-back failed)
    UNSUPPORTED_VERSION = 3002
    NO_MATCHING_ENDPOINTS = 3003


class OcpiError(Exception):
    """Raised anywhere below a route; the endpoint runner turns it into an enveloped response.

    OCPI rule (status codes chapter): a request that reached the OCPI layer gets HTTP 200 with
    the problem in `status_code`; HTTP errors are for transport, auth (401), unknown resources
    on GET (404) and the credentials 405s. Hence `http_status` defaults to 200.
    """

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        http_status: int = 200,
        data: Any = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.http_status = http_status
        self.data = data


def unauthorized(message: str = "Unauthorized") -> OcpiError:
    return OcpiError(OcpiStatus.CLIENT_ERROR, message, http_status=401)


def not_found(status_code: int, message: str) -> OcpiError:
    return OcpiError(status_code, message, http_status=404)


def invalid(message: str, errors: list[str] | None = None) -> OcpiError:
    data = {"errors": errors} if errors else None
    return OcpiError(OcpiStatus.INVALID_PARAMETERS, message, data=data)


@dataclass
class OcpiReply:
    """What a handler returns: the envelope's data plus transport details."""

    data: Any = None
    status_code: int = OcpiStatus.SUCCESS
    message: str = "Success"
    http_status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Rules the request broke, found by the handler (paging, roles); recorded with the
    # exchange by the endpoint runner.
    observations: list[OcpiObservation] = field(default_factory=list)


def envelope(
    data: Any, status_code: int, message: str | None, timestamp: datetime | None = None
) -> dict[str, Any]:
    """`timestamp` comes from the OCPI layer's clock (the one its objects are stamped with),
    so an eMSP may use it as its next `date_from`."""
    body: dict[str, Any] = {"data": data, "status_code": int(status_code)}
    if message:
        body["status_message"] = message
    body["timestamp"] = format_datetime(timestamp if timestamp is not None else wall_now())
    return body


def format_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with `Z`; milliseconds only when present, as OCPI allows."""
    value = as_utc(value)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: object) -> datetime:
    """Parse an OCPI DateTime. No zone designator means UTC (OCPI types chapter)."""
    if not isinstance(value, str) or not value or len(value) > 40:
        raise ValueError(f"not an OCPI DateTime: {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
