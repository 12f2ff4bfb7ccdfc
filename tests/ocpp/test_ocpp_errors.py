from __future__ import annotations

import pytest

from voltlab.ocpp.errors import (
    CANONICAL_CODES,
    CallErrorReceived,
    OcppError,
    canonical_code,
    error_code,
)
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201, SUPPORTED_VERSIONS


def test_version_constants() -> None:
    assert (OCPP16, OCPP201, OCPP21) == ("ocpp1.6", "ocpp2.0.1", "ocpp2.1")
    assert SUPPORTED_VERSIONS == (OCPP16, OCPP201, OCPP21)


@pytest.mark.parametrize(
    ("canonical", "expected_16"),
    [
        ("FormatViolation", "FormationViolation"),
        ("OccurrenceConstraintViolation", "OccurenceConstraintViolation"),
        ("MessageTypeNotSupported", "ProtocolError"),
        ("RpcFrameworkError", "ProtocolError"),
        ("PropertyConstraintViolation", "PropertyConstraintViolation"),
        ("TypeConstraintViolation", "TypeConstraintViolation"),
        ("NotImplemented", "NotImplemented"),
        ("NotSupported", "NotSupported"),
        ("ProtocolError", "ProtocolError"),
        ("SecurityError", "SecurityError"),
        ("InternalError", "InternalError"),
        ("GenericError", "GenericError"),
    ],
)
def test_ocpp16_spellings(canonical: str, expected_16: str) -> None:
    assert error_code(OCPP16, canonical) == expected_16


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_ocpp2_uses_canonical_spelling(version: str) -> None:
    for code in CANONICAL_CODES:
        assert error_code(version, code) == code


def test_1_6_spelling_is_accepted_as_input() -> None:
    assert error_code(OCPP201, "FormationViolation") == "FormatViolation"
    assert error_code(OCPP201, "OccurenceConstraintViolation") == "OccurrenceConstraintViolation"
    assert canonical_code("FormationViolation") == "FormatViolation"


def test_unknown_code_and_version_are_rejected() -> None:
    with pytest.raises(ValueError):
        error_code(OCPP16, "Oops")
    with pytest.raises(ValueError):
        error_code("ocpp1.5", "GenericError")


def test_exception_attributes() -> None:
    error = OcppError("NotSupported", "no", {"a": 1})
    assert (error.code, error.description, error.details) == ("NotSupported", "no", {"a": 1})
    assert OcppError("GenericError").details == {}
    received = CallErrorReceived("InternalError", "boom", {"x": 2})
    assert (received.code, received.description, received.details) == (
        "InternalError",
        "boom",
        {"x": 2},
    )
