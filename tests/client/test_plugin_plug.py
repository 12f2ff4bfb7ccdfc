"""The pytest plugin's `VirtualCharger.plug` sends every plug-connector field it is given, and
only those: the EV, its departure and V2X reserve, and a Plug & Charge contract."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from voltlab.client import models
from voltlab.pytest_plugin.handles import VirtualCharger


class RecordingCommands:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def send(self, slug: str, charger_id: str, event: Any) -> Any:
        self.sent.append((slug, charger_id, event))
        done = SimpleNamespace(wait=lambda timeout, check: "done")
        return SimpleNamespace(accepted=SimpleNamespace(failed=[]), commands=[done])


def _charger() -> tuple[VirtualCharger, RecordingCommands]:
    commands = RecordingCommands()
    client: Any = SimpleNamespace(commands=commands)
    charger = VirtualCharger(client, "dep-1", "CP-1", "ws://127.0.0.1:1/ocpp", "ocpp2.1", "m")
    return charger, commands


def test_plug_sends_only_the_fields_given() -> None:
    charger, commands = _charger()
    charger.plug(2)
    slug, charger_id, event = commands.sent[-1]
    assert (slug, charger_id) == ("plug-connector", "dep-1")
    assert event.model_dump(exclude_none=True) == {"connector_id": 2}


def test_plug_with_a_v2x_reserve_and_a_contract() -> None:
    charger, commands = _charger()
    contract = models.ContractEvent.model_validate(
        {"certificate_chain": "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"}
    )
    charger.plug(1, ev_profile="v2x-ac-hatch", departure_seconds=3600, min_soc_percent=40)
    charger.plug(1, contract=contract)
    v2x_event, pnc_event = (sent[2] for sent in commands.sent)
    assert v2x_event.model_dump(exclude_none=True) == {
        "connector_id": 1,
        "ev_profile": "v2x-ac-hatch",
        "departure_seconds": 3600,
        "min_soc_percent": 40,
    }
    assert pnc_event.contract == contract
