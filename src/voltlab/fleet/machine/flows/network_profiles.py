"""A 2.x station's network connection profiles (OCPP 2.0.1 B09 SetNetworkProfile, B10 migrate
to a new CSMS, A05 upgrade the security profile; reused by 2.1).

SetNetworkProfile stores a slot's CSMS URL and security profile in the station's model
(Rejected: a slot the station lacks, InvalidConfSlot; content it cannot use, B09.FR.02
InvalidNetworkConf; a profile below the active one, B09.FR.04 NoSecurityDowngrade).
SetVariables OCPPCommCtrlr.NetworkConfigurationPriority orders the slots; naming slots with
profile 2 or 3 needs a valid CSMSRootCertificate (A05.FR.02), with profile 3 a station
certificate (A05.FR.03), and none below the active profile (A05.FR.10). Accepted (A05.FR.04),
the first slot is the one the station connects with from its next connection on, which the
Reset the CSMS sends then brings (B10); raising the profile sends the
ReconfigurationOfSecurityParameters security event.

Each failed connection attempt counts against OCPPCommCtrlr.NetworkProfileConnectionAttempts;
when the active slot used them up the station moves to the next slot of the priority (the
first after the last) and tries that one. A connection confirms its slot: SecurityCtrlr.
SecurityProfile becomes the slot's profile and the slots below it leave the priority, as OCPP
never lowers a profile again."""

from __future__ import annotations

from collections.abc import Callable

from voltlab.fleet.machine.configuration_messages import (
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
from voltlab.fleet.machine.flows.security_profile import (
    KEY,
    RECONFIGURED,
    RULE,
    has_client_certificate,
)
from voltlab.fleet.machine.maintenance_messages import SecurityEventReport
from voltlab.fleet.model.device_model_types import Refusal, VariableResult, VariableSet
from voltlab.fleet.model.network_profiles import SLOTS, NetworkProfile, NetworkProfiles

COMM_CTRLR, PRIORITY = "OCPPCommCtrlr", "NetworkConfigurationPriority"
ATTEMPTS_KEY = "OCPPCommCtrlr.NetworkProfileConnectionAttempts"
# SecurityCtrlr.BasicAuthPassword's setting: the password of the next connection (A01).
PASSWORD_KEY = "AuthorizationKey"
DEFAULT_ATTEMPTS = 3


def set_network_profile(ctx: FlowContext, request: SetNetworkProfile) -> list[Effect]:
    profile = request.profile
    if request.slot not in SLOTS:
        return [Answer(SetNetworkProfileAnswer("Rejected", "InvalidConfSlot"))]
    if profile is None or profile.security_profile not in (0, 1, 2, 3):
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
    _network(ctx).slots[request.slot] = profile
    return [Persist(), Answer(SetNetworkProfileAnswer("Accepted"))]


# -- NetworkConfigurationPriority --------------------------------------------------------------


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
    answered: list[VariableResult] = []
    if others.items:
        for effect in set_others(others):
            if isinstance(effect, Answer):
                assert isinstance(effect.message, VariablesAnswer)
                answered = list(effect.message.results)
            else:
                before.append(effect)
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

    network = _network(ctx)
    try:
        order = [int(part) for part in item.value.split(",")]
    except ValueError:
        return result("Rejected", "InvalidValue", f"not a list of slots: {item.value!r}"), []
    profiles = [network.profile(slot) for slot in order]
    if not order or None in profiles or len(set(order)) != len(order):
        missing = [slot for slot, p in zip(order, profiles, strict=True) if p is None]
        why = f"no network profile in slot {missing}" if missing else "a slot is named twice"
        return result("Rejected", "InvalidValue", why), []
    chosen = [p for p in profiles if p is not None]
    refused = _priority_refusal(ctx, chosen, wall_time)
    if refused is not None:
        code, detail = refused
        return result("Rejected", code, detail), [Observe(RULE, detail, "request")]
    network.priority = tuple(order)
    effects: list[Effect] = [Persist()]
    first = chosen[0]
    active = ctx.security.profile
    if first.security_profile > active:
        detail = f"SecurityProfile {active} -> {first.security_profile} (slot {order[0]})"
        effects.append(SendCall(SecurityEventReport(RECONFIGURED, ctx.now, detail)))
    if order[0] != network.active or network.failed_attempts:
        network.active, network.failed_attempts = order[0], 0
        effects.append(use_slot(ctx, order[0]))
    return result("Accepted"), effects


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
    if max(levels) == 3 and not has_client_certificate(ctx):
        return "NoClientCertificate", (
            "NetworkConfigurationPriority with security profile 3 before the station had a "
            "certificate (A05.FR.03)"
        )
    return None


def use_slot(ctx: FlowContext, slot: int) -> UseSecurityProfile:
    """Connect by `slot` from the next connection on: its URL (none: the configured CSMS),
    its profile, and its Basic-auth password (2.1 carries one in the profile), else the one
    the CSMS set (SecurityCtrlr.BasicAuthPassword)."""
    profile = _network(ctx).profile(slot)
    assert profile is not None
    password = profile.basic_auth_password or ctx.station.config.get(PASSWORD_KEY) or None
    return UseSecurityProfile(
        profile.security_profile, profile.csms_url or None, reconnect=False, password=password
    )


# -- connections --------------------------------------------------------------------------------


def connected(ctx: FlowContext) -> list[Effect]:
    """A connection confirms the active slot: its profile is the station's from now on, and
    the slots below it leave the priority."""
    network, security = _network(ctx), ctx.security
    network.failed_attempts = 0
    profile = network.profile(network.active)
    if profile is None:
        return []
    effects: list[Effect] = []
    if profile.security_profile != security.profile:
        security.profile = profile.security_profile
        ctx.station.config.set_local(KEY, str(profile.security_profile))
        effects.append(Persist())
    if network.drop_below(profile.security_profile):
        effects.append(Persist())
    return effects[:1]


def connect_failed(ctx: FlowContext) -> list[Effect]:
    """A connection attempt failed: after NetworkProfileConnectionAttempts of them on the
    active slot, the next slot of the priority is tried."""
    network = _network(ctx)
    if len(network.priority) < 2:
        return []  # nowhere else to go: the link keeps trying this one
    network.failed_attempts += 1
    if network.failed_attempts < _attempts(ctx):
        return []
    network.active, network.failed_attempts = network.next_slot(), 0
    return [Persist(), use_slot(ctx, network.active)]


def _network(ctx: FlowContext) -> NetworkProfiles:
    """The station's network profiles, slot 1 standing for the charger's configured
    connection (its profile is the security the machine was given)."""
    network = ctx.station.network
    network.configured_profile = ctx.security.configured
    return network


def _attempts(ctx: FlowContext) -> int:
    try:
        return max(1, int(ctx.station.config.get(ATTEMPTS_KEY) or DEFAULT_ATTEMPTS))
    except ValueError:
        return DEFAULT_ATTEMPTS
