"""Findings about the system under test: what a CSMS did wrong, as the station saw it.

This module is data and types only, so every layer that observes behaviour may use it: the RPC
connection (OCPP-J framework rules), the station machine (CSMS behaviour; it emits an
`Observe` effect, the driver records it) and the fleet's recorder. A rule is a stable slug
with a severity, a title and where the specification says so; an `Observation` is one
violation with the frames that show it. Nothing here does I/O or reads a clock.

Spec references name the OCPP part and section: "OCPP-J 1.6 §4.1.1" is the JSON
specification of 1.6, "OCPP 2.0.1 Part 4 §4.1.1" the OCPP-J RPC framework of 2.0.1 (2.1's
Part 4 keeps the 2.0.1 section numbers), "OCPP 1.6 §4.2" the 1.6 specification itself and
"OCPP 2.0.1 Part 2 §B02" a functional block use case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from voltlab.ocpp.versions import OCPP16

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Rule:
    slug: str
    severity: Severity
    title: str
    spec_16: str  # where OCPP 1.6 (and OCPP-J 1.6) says so
    spec_2x: str  # where OCPP 2.0.1 / 2.1 say so

    def spec_ref(self, version: str) -> str:
        return self.spec_16 if version == OCPP16 else self.spec_2x


@dataclass(frozen=True, slots=True)
class FrameEvidence:
    """One OCPP-J frame as it went over the wire. `direction`: "in" (CSMS -> station) or
    "out"; `action` and `message_id` as far as they could be read; `frame` the text."""

    direction: str
    action: str | None
    message_id: str | None
    frame: str

    def as_json(self) -> dict[str, str | None]:
        return {
            "direction": self.direction,
            "action": self.action,
            "message_id": self.message_id,
            "frame": self.frame,
        }


@dataclass(frozen=True, slots=True)
class Observation:
    """One violation of `rule`: what was expected and what came (`detail`), and the frames
    that show it (may be empty: a handshake has no frame)."""

    rule: str
    detail: str
    evidence: tuple[FrameEvidence, ...] = ()


class RpcObserver(Protocol):
    """What an `RpcConnection` tells about its peer: violations of the OCPP-J RPC framework
    and how long each of its own CALLs waited for the answer (real seconds)."""

    def violation(self, observation: Observation) -> None: ...

    def answered(self, action: str, seconds: float) -> None: ...


_J16 = "OCPP-J 1.6"
_J2 = "OCPP 2.0.1 Part 4"

RULES: dict[str, Rule] = {
    rule.slug: rule
    for rule in (
        # -- OCPP-J RPC framework ----------------------------------------------------------
        Rule(
            "rpc-invalid-result",
            "error",
            "CALLRESULT payload fails the OCA schema",
            f"{_J16} §4.2.2 CallResult; OCPP 1.6 §6 (message schema)",
            f"{_J2} §4.2.2 CALLRESULT; Part 3 (JSON schemas)",
        ),
        Rule(
            "rpc-invalid-callerror",
            "error",
            "CALLERROR is malformed or carries an error code the version does not define",
            f"{_J16} §4.2.3 CallError, table 'Valid Error Codes'",
            f"{_J2} §4.2.3 CALLERROR, §4.3 RPC Framework Error Codes",
        ),
        Rule(
            "rpc-unknown-message-id",
            "error",
            "Answer to a message id the station never sent or had already seen answered",
            f"{_J16} §4.1.3 The message ID",
            f"{_J2} §4.1.3 The message ID",
        ),
        Rule(
            "rpc-call-timeout",
            "error",
            "No answer within the station's call timeout",
            f"{_J16} §4.1.1 Synchronicity; §4.2.2 CallResult",
            f"{_J2} §4.1.1 Synchronicity",
        ),
        Rule(
            "rpc-concurrent-call",
            "error",
            "CSMS sent a CALL while an earlier CALL of its own was still unanswered",
            f"{_J16} §4.1.1 Synchronicity",
            f"{_J2} §4.1.1 Synchronicity",
        ),
        Rule(
            "rpc-invalid-frame",
            "error",
            "Frame is not a valid OCPP-J message",
            f"{_J16} §4.1 Introduction (RPC framework), §3.4 (text frames)",
            f"{_J2} §4.1.2 Message type, §4.2 Message structures",
        ),
        Rule(
            "rpc-unknown-action",
            "error",
            "CALL names an action the OCPP version does not define",
            f"{_J16} §4.2.1 Call (action), §4.2.3 NotImplemented",
            f"{_J2} §4.2.1 CALL (action), §4.3 NotImplemented",
        ),
        Rule(
            "rpc-subprotocol",
            "error",
            "WebSocket handshake without the station's OCPP subprotocol",
            f"{_J16} §3.1.2 OCPP version",
            f"{_J2} §3.1.2 OCPP version",
        ),
        Rule(
            "rpc-abnormal-close",
            "warning",
            "CSMS closed the WebSocket with an error close code (not 1000, 1001, 1012, 1013)",
            f"{_J16} §3 Connection (RFC 6455 §7.4.1 close codes)",
            f"{_J2} §5 Connection (RFC 6455 §7.4.1 close codes)",
        ),
        # -- CSMS behaviour ----------------------------------------------------------------
        Rule(
            "csms-call-before-accepted",
            "error",
            "CSMS sent a request its registration status does not allow",
            "OCPP 1.6 §4.2 Boot Notification (Pending: no RemoteStart/RemoteStop; "
            "Rejected: SHOULD NOT initiate any message)",
            "OCPP 2.0.1 Part 2 §B02 Cold Boot - Pending (no RequestStart/Stop"
            "Transaction), §B03 Cold Boot - Rejected",
        ),
        Rule(
            "csms-boot-interval",
            "warning",
            "BootNotification interval is zero or absurd",
            "OCPP 1.6 §4.2 Boot Notification, §6.5 BootNotification.conf (interval)",
            "OCPP 2.0.1 Part 2 §B01 Cold Boot (interval); Part 2 §B02/§B03 (retry interval)",
        ),
        Rule(
            "csms-transaction-id-reused",
            "error",
            "CSMS gave a transactionId it had already given another transaction",
            "OCPP 1.6 §6.46 StartTransaction.conf (transactionId), §4.8 Start Transaction",
            "OCPP 2.0.1 (the station names transactions; not applicable)",
        ),
        Rule(
            "csms-id-token-contradiction",
            "warning",
            "CSMS answered the same id token differently within one transaction",
            "OCPP 1.6 §4.1 Authorize, §4.8 Start Transaction (IdTagInfo)",
            "OCPP 2.0.1 Part 2 §C01 (IdTokenInfo), §E01 (TransactionEvent idTokenInfo)",
        ),
        Rule(
            "csms-unknown-connector",
            "warning",
            "CSMS asked for a remote start on a connector or EVSE the station does not have",
            "OCPP 1.6 §5.11 Remote Start Transaction",
            "OCPP 2.0.1 Part 2 §F01/§F02 (RequestStartTransaction evseId)",
        ),
        Rule(
            "csms-invalid-charging-profile",
            "error",
            "Charging profile breaks the stack-level or schedule rules",
            "OCPP 1.6 §3.13 Smart Charging, §5.16 Set Charging Profile",
            "OCPP 2.0.1 Part 2 §K01 SetChargingProfile (K01.FR.*)",
        ),
        Rule(
            "csms-security-profile-prerequisites",
            "warning",
            "CSMS raised the security profile without its prerequisites, or not upwards",
            "OCPP 1.6 Security Whitepaper ed. 2, A05 Upgrade Charge Point Security Profile "
            "(A05.FR.01-04), §7.6 SecurityProfile",
            "OCPP 2.0.1 Part 2 §A05 Upgrade Charging Station Security Profile",
        ),
        Rule(
            "csms-unsupported-feature",
            "warning",
            "CSMS used a feature the station does not support (answered NotSupported)",
            "OCPP 1.6 §9.1.26 SupportedFeatureProfiles; OCPP-J 1.6 §4.2.3 NotSupported",
            "OCPP 2.0.1 Part 2 §B06/§B07 (device model reports); Part 4 §4.3 NotSupported",
        ),
        Rule(
            "csms-slow-responses",
            "warning",
            "p95 of the CSMS's answers to one action exceeds the threshold",
            f"{_J16} §4.1.1 Synchronicity (timeouts)",
            f"{_J2} §4.1.1 Synchronicity (timeouts)",
        ),
    )
}


def rule(slug: str) -> Rule:
    """The rule of that slug (KeyError for an unknown one: a typo must not pass silently)."""
    return RULES[slug]
