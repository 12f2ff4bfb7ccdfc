"""Raising the security profile the station connects with (OCPP 1.6 Security Whitepaper,
edition 2: use case A05 and the SecurityProfile key, §7.6).

ChangeConfiguration SecurityProfile is answered Rejected, and nothing changes, when the value
is not above the current profile (A05.FR.01), when profile 1 or 2 would have no Basic-auth
password (A05.FR.02), when profile 2 or 3 would have no valid CentralSystemRootCertificate
(A05.FR.03, validity judged at the request's wall time) or profile 3 no station certificate
(A05.FR.04); the CSMS should have seen to these first, so each refusal is also an observation
(`csms-security-profile-prerequisites`). Otherwise it is Accepted (A05.FR.05) and stored, the
ReconfigurationOfSecurityParameters security event goes out (whitepaper §8), and the station
disconnects and connects again with the new profile (A05.FR.06, A05.FR.07:
`UseSecurityProfile`). When no connection with the new profile comes within `FALLBACK_AFTER`
simulated seconds the station goes back to the profile it had (A05.FR.08, a SHOULD); the first
connection with the new profile confirms it, and OCPP never lowers it again (§7.6).

OCPP 2.0.1 keeps SecurityCtrlr.SecurityProfile ReadOnly and raises the profile through a network
connection profile: `flows/network_profiles.py`. The fallback timer here is 1.6's; a 2.x station
falls back through its network profiles' priority instead."""

from __future__ import annotations

from voltlab.fleet.machine.configuration_messages import (
    ChangeConfigurationAnswer,
)
from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import (
    Answer,
    Effect,
    Observe,
    Persist,
    SendCall,
    UseSecurityProfile,
)
from voltlab.fleet.machine.flows.certificates import MissingWallTime
from voltlab.fleet.machine.maintenance_messages import SecurityEventReport

KEY = "SecurityProfile"
RULE = "csms-security-profile-prerequisites"
RECONFIGURED = "ReconfigurationOfSecurityParameters"
FALLBACK_TIMER = "security-fallback"
# Simulated seconds the new profile has to connect before the station falls back.
FALLBACK_AFTER = 300.0


def change_security_profile(ctx: FlowContext, value: str, wall_time: float | None) -> list[Effect]:
    try:
        wanted = int(value.strip())
    except ValueError:
        wanted = -1
    refused = _refusal(ctx, wanted, value, wall_time)
    if refused is not None:
        return [Observe(RULE, refused, "request"), Answer(ChangeConfigurationAnswer("Rejected"))]
    security = ctx.security
    previous = security.profile
    security.previous, security.profile = previous, wanted
    ctx.station.config.set_local(KEY, str(wanted))
    detail = f"SecurityProfile {previous} -> {wanted}"
    return [
        Persist(),
        Answer(ChangeConfigurationAnswer("Accepted")),
        SendCall(SecurityEventReport(RECONFIGURED, ctx.now, detail)),
        UseSecurityProfile(wanted),
    ]


def _refusal(ctx: FlowContext, wanted: int, value: str, wall_time: float | None) -> str | None:
    """Why the station refuses to raise its profile to `wanted`, or None."""
    current = ctx.security.profile
    if wanted not in (0, 1, 2, 3):
        return f"SecurityProfile {value!r} is not a security profile (0 to 3)"
    if wanted <= current:
        return (
            f"SecurityProfile {wanted} is not above the current profile {current}: a profile "
            "is only ever raised over OCPP (A05.FR.01)"
        )
    if wanted in (1, 2) and not _has_password(ctx):
        return f"SecurityProfile {wanted} needs a Basic-auth password (AuthorizationKey) first"
    if wanted >= 2:
        if wall_time is None:
            raise MissingWallTime("SecurityProfile needs the wall time (CsmsRequest.wall_time)")
        if not ctx.certificates.has_valid_csms_root(wall_time):
            return (
                f"SecurityProfile {wanted} before a valid CSMS root certificate was installed "
                "(InstallCertificate CentralSystemRootCertificate first, A05.FR.03)"
            )
    if wanted == 3 and not has_client_certificate(ctx):
        return "SecurityProfile 3 before the station had a certificate (A05.FR.04)"
    return None


def _has_password(ctx: FlowContext) -> bool:
    return ctx.security.has_password or bool(ctx.station.config.get("AuthorizationKey"))


def has_client_certificate(ctx: FlowContext) -> bool:
    return ctx.security.has_client_certificate or (
        ctx.certificates.client_credentials() is not None
    )


# -- 1.6: confirming or falling back -----------------------------------------------


def disconnected(ctx: FlowContext) -> list[Effect]:
    """The connection went: a profile not yet confirmed has `FALLBACK_AFTER` to connect."""
    if ctx.security.previous is None or FALLBACK_TIMER in ctx.timers:
        return []
    return [ctx.set_timer(FALLBACK_TIMER, ctx.now + FALLBACK_AFTER)]


def connected(ctx: FlowContext) -> list[Effect]:
    """A connection came up: one with an upgraded profile confirms it."""
    security = ctx.security
    if security.previous is None:
        return []
    if FALLBACK_TIMER not in ctx.timers:
        return []  # connected before it ever left: the new profile is still to come
    security.previous = None
    return [ctx.cancel_timer(FALLBACK_TIMER), Persist()]


def fall_back(ctx: FlowContext) -> list[Effect]:
    """The upgraded profile did not connect in time: back to the profile before it."""
    security = ctx.security
    if security.previous is None:
        return []
    security.profile, security.previous = security.previous, None
    ctx.station.config.set_local(KEY, str(security.profile))
    return [Persist(), UseSecurityProfile(security.profile, reconnect=True)]
