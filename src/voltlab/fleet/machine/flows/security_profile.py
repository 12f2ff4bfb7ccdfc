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
connection profile (A05, B09): SetNetworkProfile stores a slot's CSMS URL and profile (Rejected:
content the station cannot use, B09.FR.02 InvalidNetworkConf, or a profile below the active one,
B09.FR.04 NoSecurityDowngrade); SetVariables OCPPCommCtrlr.NetworkConfigurationPriority naming
slots with profile 2 or 3 needs a valid CSMSRootCertificate (A05.FR.02), with profile 3 a station
certificate (A05.FR.03), and none below the active profile (A05.FR.10). Accepted (A05.FR.04), the
first slot's profile and URL are used from the next connection on, which the Reset the CSMS sends
then brings. In both versions the fallback timer runs from the disconnection that leads to the
new profile."""

from __future__ import annotations

from collections.abc import Callable

from voltlab.fleet.machine.configuration_messages import (
    ChangeConfigurationAnswer,
    NetworkProfile,
    SetNetworkProfile,
    SetNetworkProfileAnswer,
    SetVariables,
    VariablesAnswer,
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
from voltlab.fleet.model.device_model_types import Refusal, VariableResult, VariableSet

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
    if wanted == 3 and not _has_client_certificate(ctx):
        return "SecurityProfile 3 before the station had a certificate (A05.FR.04)"
    return None


def _has_password(ctx: FlowContext) -> bool:
    return ctx.security.has_password or bool(ctx.station.config.get("AuthorizationKey"))


def _has_client_certificate(ctx: FlowContext) -> bool:
    return ctx.security.has_client_certificate or (
        ctx.certificates.client_credentials() is not None
    )


# -- 2.x: network connection profiles -----------------------------------------------------------

COMM_CTRLR, PRIORITY = "OCPPCommCtrlr", "NetworkConfigurationPriority"


def set_network_profile(ctx: FlowContext, request: SetNetworkProfile) -> list[Effect]:
    profile = request.profile
    if profile is None or profile.security_profile not in (0, 1, 2, 3) or request.slot < 0:
        return [Answer(SetNetworkProfileAnswer("Rejected", "InvalidNetworkConf"))]
    active = ctx.security.profile
    if profile.security_profile < active:
        detail = (
            f"SetNetworkProfile slot {request.slot} with security profile "
            f"{profile.security_profile}, below the active profile {active} (B09.FR.04)"
        )
        return [
            Observe(RULE, detail, "request"),
            Answer(SetNetworkProfileAnswer("Rejected", "NoSecurityDowngrade")),
        ]
    ctx.security.slots[request.slot] = profile
    return [Answer(SetNetworkProfileAnswer("Accepted"))]


def sets_priority(request: SetVariables) -> bool:
    return any(_is_priority(item) for item in request.items)


def _is_priority(item: VariableSet) -> bool:
    return item.component.name == COMM_CTRLR and item.variable.name == PRIORITY


def set_variables(
    ctx: FlowContext,
    request: SetVariables,
    wall_time: float | None,
    set_others: Callable[[SetVariables], list[Effect]],
) -> list[Effect]:
    """SetVariables with NetworkConfigurationPriority: that item here, the others by the
    device model (`set_others`), the results in the request's order."""
    others = SetVariables(tuple(item for item in request.items if not _is_priority(item)))
    before: list[Effect] = []
    after: list[Effect] = []
    if others.items:
        for effect in set_others(others):
            if isinstance(effect, Answer):
                assert isinstance(effect.message, VariablesAnswer)
                answered = list(effect.message.results)
            else:
                before.append(effect)
    else:
        answered = []
    results: list[VariableResult] = []
    for item in request.items:
        if not _is_priority(item):
            results.append(answered.pop(0))
            continue
        result, effects = _set_priority(ctx, item, wall_time)
        results.append(result)
        before += [e for e in effects if isinstance(e, Observe | Persist)]
        after += [e for e in effects if not isinstance(e, Observe | Persist)]
    return [*before, Answer(VariablesAnswer(tuple(results))), *after]


def _set_priority(
    ctx: FlowContext, item: VariableSet, wall_time: float | None
) -> tuple[VariableResult, list[Effect]]:
    def result(status: str, code: str | None = None, info: str = "") -> VariableResult:
        refusal = Refusal(code, info) if code is not None else None
        return VariableResult(
            item.component, item.variable, item.attribute_type, status, None, refusal
        )

    try:
        order = [int(part) for part in item.value.split(",")]
    except ValueError:
        return result("Rejected", "InvalidValue", f"not a list of slots: {item.value!r}"), []
    profiles = [_slot(ctx, slot) for slot in order]
    if not order or None in profiles:
        missing = [slot for slot, p in zip(order, profiles, strict=True) if p is None]
        return result("Rejected", "InvalidValue", f"no network profile in slot {missing}"), []
    chosen = [p for p in profiles if p is not None]
    refused = _priority_refusal(ctx, chosen, wall_time)
    if refused is not None:
        code, detail = refused
        return result("Rejected", code, detail), [Observe(RULE, detail, "request")]
    first, security = chosen[0], ctx.security
    if first.security_profile <= security.profile:
        return result("Accepted"), []
    previous = security.profile
    security.previous, security.profile = previous, first.security_profile
    ctx.station.config.set_local(KEY, str(first.security_profile))
    detail = f"SecurityProfile {previous} -> {first.security_profile} (network profile {order[0]})"
    return result("Accepted"), [
        Persist(),
        SendCall(SecurityEventReport(RECONFIGURED, ctx.now, detail)),
        UseSecurityProfile(first.security_profile, first.csms_url, reconnect=False),
    ]


def _slot(ctx: FlowContext, slot: int) -> NetworkProfile | None:
    profile = ctx.security.slots.get(slot)
    if profile is None and slot == 1:  # the configured connection
        return NetworkProfile("", ctx.security.configured)
    return profile


def _priority_refusal(
    ctx: FlowContext, profiles: list[NetworkProfile], wall_time: float | None
) -> tuple[str, str] | None:
    active = ctx.security.profile
    levels = [p.security_profile for p in profiles]
    if min(levels) < active:
        return "NoSecurityDowngrade", (
            f"NetworkConfigurationPriority names a profile {min(levels)} below the active "
            f"profile {active} (A05.FR.10)"
        )
    if max(levels) >= 2:
        if wall_time is None:
            raise MissingWallTime("NetworkConfigurationPriority needs the wall time")
        if not ctx.certificates.has_valid_csms_root(wall_time):
            return "NoCSMSRootCert", (
                f"NetworkConfigurationPriority with security profile {max(levels)} before a "
                "valid CSMS root certificate was installed (InstallCertificate "
                "CSMSRootCertificate first, A05.FR.02)"
            )
    if max(levels) == 3 and not _has_client_certificate(ctx):
        return "NoClientCertificate", (
            "NetworkConfigurationPriority with security profile 3 before the station had a "
            "certificate (A05.FR.03)"
        )
    return None


# -- both versions: confirming or falling back -----------------------------------------------


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
