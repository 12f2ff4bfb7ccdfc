"""Raising the security profile in the station machine, effect by effect (1.6 Security
Whitepaper ed. 2 A05 and §7.6; 2.0.1 A05 and B09): what is refused and why, what an accepted
raise emits, and the fallback timer. Certificate validity is judged at the request's wall time,
far from the simulated now."""

from __future__ import annotations

import pytest

from fleet.machine_support import register
from fleet.test_machine_certificates import ROOT, T0, WALL, _pem
from voltlab.fleet.machine.certificate_messages import InstallCertificate
from voltlab.fleet.machine.configuration_messages import (
    ChangeConfiguration,
    ChangeConfigurationAnswer,
    NetworkProfile,
    SetNetworkProfile,
    SetNetworkProfileAnswer,
    SetVariables,
    VariablesAnswer,
)
from voltlab.fleet.machine.context import ConnectionSecurity
from voltlab.fleet.machine.effects import (
    Answer,
    CancelTimer,
    Observe,
    Persist,
    SendCall,
    SetTimer,
    UseSecurityProfile,
)
from voltlab.fleet.machine.events import Connected, CsmsRequest, Disconnected, TimerFired
from voltlab.fleet.machine.flows.security_profile import FALLBACK_AFTER, FALLBACK_TIMER, RULE
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.maintenance_messages import SecurityEventReport
from voltlab.fleet.machine.settings import MachineSettings, settings_for
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.device_model_types import ComponentRef, VariableRef, VariableSet
from voltlab.fleet.model.station import Station

YEAR = 365 * 86_400.0


def machine(profile: int = 1, *, password: bool = True, version: str = "ocpp1.6") -> StationMachine:
    settings = (
        MachineSettings(reports_reservation_ends=True)
        if version == "ocpp1.6"
        else settings_for(version)
    )
    m = StationMachine(Station("CP-SEC", CATALOG["ac-22kw-2c"], seed=3), settings)
    m.context.security = ConnectionSecurity(profile, has_password=password, configured=profile)
    register(m, T0)
    return m


def change(m: StationMachine, value: str, wall: float | None = WALL) -> list:
    return m.handle(CsmsRequest(ChangeConfiguration("SecurityProfile", value), wall), T0 + 1)


def install_root(m: StationMachine, cert_type: str = "CentralSystemRootCertificate") -> None:
    [*_, answer] = m.handle(CsmsRequest(InstallCertificate(cert_type, _pem(ROOT)), WALL), T0)
    assert isinstance(answer, Answer)


def refused(effects: list) -> str:
    observe, answer = effects
    assert answer == Answer(ChangeConfigurationAnswer("Rejected"))
    assert isinstance(observe, Observe) and observe.rule == RULE and observe.subject == "request"
    return observe.detail


def test_refused_without_what_the_profile_needs() -> None:
    m = machine()
    assert "A05.FR.03" in refused(change(m, "2"))  # no CSMS root yet
    assert "A05.FR.01" in refused(change(m, "1"))  # not above the current profile
    assert "A05.FR.01" in refused(change(m, "0"))
    assert "not a security profile" in refused(change(m, "two"))
    install_root(m)
    # A root that is not valid at the request's wall time does not count.
    assert "A05.FR.03" in refused(change(m, "2", wall=WALL + 2 * YEAR))
    assert "A05.FR.04" in refused(change(m, "3"))  # no station certificate
    assert "password" in refused(change(machine(0, password=False), "1"))  # A05.FR.02
    assert m.station.config.get("SecurityProfile") == "0"  # nothing changed
    assert m.context.security.profile == 1


def test_accepted_reconnects_and_a_connection_confirms_it() -> None:
    m = machine()
    install_root(m)
    persist, answer, event, use = change(m, "2")
    assert persist == Persist() and answer == Answer(ChangeConfigurationAnswer("Accepted"))
    assert isinstance(event, SendCall) and isinstance(event.message, SecurityEventReport)
    assert event.message.kind == "ReconfigurationOfSecurityParameters"
    assert use == UseSecurityProfile(2)  # disconnect, connect again with profile 2
    assert m.station.config.get("SecurityProfile") == "2"
    assert (m.context.security.profile, m.context.security.previous) == (2, 1)
    effects = m.handle(Disconnected(), T0 + 2)
    assert SetTimer(FALLBACK_TIMER, T0 + 2 + FALLBACK_AFTER) in effects
    effects = m.handle(Connected(), T0 + 3)
    assert effects[:2] == [CancelTimer(FALLBACK_TIMER), Persist()]
    assert m.context.security.previous is None
    # Confirmed: a later disconnection starts no fallback.
    assert not [e for e in m.handle(Disconnected(), T0 + 4) if isinstance(e, SetTimer)]


def test_falls_back_when_the_new_profile_does_not_connect() -> None:
    m = machine()
    install_root(m)
    change(m, "2")
    m.handle(Disconnected(), T0 + 2)
    effects = m.handle(TimerFired(FALLBACK_TIMER), T0 + 2 + FALLBACK_AFTER)
    assert effects == [Persist(), UseSecurityProfile(1, reconnect=True)]
    assert m.context.security.profile == 1 and m.context.security.previous is None
    assert m.station.config.get("SecurityProfile") == "1"


def priority(value: str) -> VariableSet:
    return VariableSet(
        ComponentRef("OCPPCommCtrlr"), VariableRef("NetworkConfigurationPriority"), value
    )


def heartbeat(value: str) -> VariableSet:
    return VariableSet(ComponentRef("OCPPCommCtrlr"), VariableRef("HeartbeatInterval"), value)


def set_variables(m: StationMachine, *items: VariableSet, at: float = T0 + 1) -> list:
    return m.handle(CsmsRequest(SetVariables(items), WALL), at)


def answer_of(effects: list) -> VariablesAnswer:
    [answer] = [e for e in effects if isinstance(e, Answer)]
    assert isinstance(answer.message, VariablesAnswer)
    return answer.message


INVALID = SetNetworkProfileAnswer("Rejected", "InvalidNetworkConf")  # B09.FR.02
DOWNGRADE = SetNetworkProfileAnswer("Rejected", "NoSecurityDowngrade")  # B09.FR.04


@pytest.mark.parametrize(
    ("profile", "answer"),
    [
        (None, INVALID),
        (NetworkProfile("ws://csms/ocpp", 0), DOWNGRADE),
        (NetworkProfile("wss://csms/ocpp", 2), SetNetworkProfileAnswer("Accepted")),  # B09.FR.01
    ],
)
def test_201_network_profiles(profile: NetworkProfile | None, answer) -> None:
    m = machine()
    effects = m.handle(CsmsRequest(SetNetworkProfile(2, profile), WALL), T0 + 1)
    assert effects[-1] == Answer(answer)
    observed = [e for e in effects if isinstance(e, Observe)]
    assert len(observed) == (1 if answer.reason_code == "NoSecurityDowngrade" else 0)


def test_201_priority_raises_the_profile_from_the_next_connection() -> None:
    m = machine(version="ocpp2.0.1")
    slot = NetworkProfile("wss://csms.example/ocpp", 2)
    m.handle(CsmsRequest(SetNetworkProfile(2, slot), WALL), T0)
    # Without the root: Rejected (A05.FR.02); the other variable in the request still set,
    # the results in the request's order.
    effects = set_variables(m, heartbeat("120"), priority("2,1"))
    first, second = answer_of(effects).results
    assert (first.variable.name, first.status) == ("HeartbeatInterval", "Accepted")
    assert (second.status, second.refusal and second.refusal.reason_code) == (
        "Rejected",
        "NoCSMSRootCert",
    )
    assert [e.rule for e in effects if isinstance(e, Observe)] == [RULE]
    # A slot nobody set: Rejected, no finding.
    [unknown] = answer_of(set_variables(m, priority("7,1"))).results
    assert unknown.status == "Rejected"
    install_root(m, "CSMSRootCertificate")
    effects = set_variables(m, priority("2,1"))
    assert answer_of(effects).results[0].status == "Accepted"  # A05.FR.04
    after = effects[effects.index(next(e for e in effects if isinstance(e, Answer))) + 1 :]
    event, use = after
    assert isinstance(event, SendCall) and isinstance(event.message, SecurityEventReport)
    assert use == UseSecurityProfile(2, "wss://csms.example/ocpp", reconnect=False)
    # The profile is the station's once a connection with it confirms it; slot 1 (profile 1)
    # then leaves the priority.
    assert m.context.security.profile == 1
    m.handle(Disconnected(), T0 + 2)
    m.handle(Connected(), T0 + 3)
    assert m.context.security.profile == 2
    assert m.station.config.get("SecurityProfile") == "2"
    assert m.station.network.priority == (2,)
    # Below the active profile now: refused (A05.FR.10).
    [lower] = answer_of(set_variables(m, priority("1"))).results
    assert lower.refusal is not None and lower.refusal.reason_code == "NoSecurityDowngrade"
