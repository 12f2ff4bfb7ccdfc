"""Security events of the 1.6 security whitepaper and OCPP 2.x: their names in each version and
which are critical (pushed to the CSMS at once). Shared by the stations and the CSMS."""

from __future__ import annotations

# 1.6 security whitepaper names (the neutral names), then the two 2.0.1 additions.
SECURITY_EVENTS: tuple[str, ...] = (
    "FirmwareUpdated",
    "FailedToAuthenticateAtCentralSystem",
    "CentralSystemFailedToAuthenticate",
    "SettingSystemTime",
    "StartupOfTheDevice",
    "ResetOrReboot",
    "SecurityLogWasCleared",
    "ReconfigurationOfSecurityParameters",
    "MemoryExhaustion",
    "InvalidMessages",
    "AttemptedReplayAttacks",
    "TamperDetectionActivated",
    "InvalidFirmwareSignature",
    "InvalidFirmwareSigningCertificate",
    "InvalidCentralSystemCertificate",
    "InvalidChargePointCertificate",
    "InvalidTLSVersion",
    "InvalidTLSCipherSuite",
    "MaintenanceLoginAccepted",
    "MaintenanceLoginFailed",
)

# Critical events are pushed to the CSMS at once (whitepaper / 2.0.1 appendix "Critical").
CRITICAL_SECURITY_EVENTS = frozenset(
    {
        "FirmwareUpdated",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "SecurityLogWasCleared",
        "MemoryExhaustion",
        "TamperDetectionActivated",
        "MaintenanceLoginAccepted",
    }
)

_EVENT_NAMES_201 = {
    "FailedToAuthenticateAtCentralSystem": "FailedToAuthenticateAtCsms",
    "CentralSystemFailedToAuthenticate": "CsmsFailedToAuthenticate",
    "InvalidCentralSystemCertificate": "InvalidCsmsCertificate",
    "InvalidChargePointCertificate": "InvalidChargingStationCertificate",
}
_EVENT_NAMES_16 = {v: k for k, v in _EVENT_NAMES_201.items()}


def _neutral_event(name: str) -> str:
    name = _EVENT_NAMES_16.get(name, name)
    if name not in SECURITY_EVENTS:
        raise ValueError(f"unknown security event {name!r}")
    return name


def security_event_type(name: str, version: str) -> str:
    """The event's `type` for SecurityEventNotification in `version` ("ocpp1.6", "ocpp2.0.1",
    "ocpp2.1"); accepts the 1.6 or the 2.0.1 spelling."""
    neutral = _neutral_event(name)
    if version == "ocpp1.6":
        return neutral
    return _EVENT_NAMES_201.get(neutral, neutral)


def is_critical_security_event(name: str) -> bool:
    return _neutral_event(name) in CRITICAL_SECURITY_EVENTS
