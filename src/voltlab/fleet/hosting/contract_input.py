"""plug-connector's Plug & Charge part: the EV's contract (`contract` in the command's event,
api/command_events.py `ContractEvent`) read into the station model, checked where the targeted
station decides (1.6's idTag is 20 characters, and StartTransaction names the eMAID), and what
came of it for the command's result."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.machine.pnc_messages import PncOutcome
from voltlab.fleet.model.certificates import CertificateError
from voltlab.fleet.model.contracts import (
    ISO15118_2_SCHEMA,
    CertificateInstallation,
    ContractCredential,
)
from voltlab.fleet.model.records import StationError
from voltlab.ocpp.versions import OCPP16

# The ISO 15118 EV a contract comes with when the command names none.
DEFAULT_PNC_EV = "iso15118-sedan"


def contract_from(body: dict[str, Any] | None, version: str) -> ContractCredential | None:
    if not body:
        return None
    installation = body.get("certificate_installation")
    try:
        contract = ContractCredential.from_chain(
            str(body.get("certificate_chain") or ""),
            body.get("emaid"),
            None
            if not installation
            else CertificateInstallation(
                installation["action"],
                str(installation["exi_request"]),
                str(installation.get("schema_version") or ISO15118_2_SCHEMA),
            ),
        )
    except CertificateError as exc:
        raise StationError("invalid_contract", str(exc)) from None
    limit = 20 if version == OCPP16 else 36  # the idTag / IdToken that carries the eMAID
    if not 1 <= len(contract.emaid) <= limit:
        raise StationError("invalid_contract", f"an eMAID is 1 to {limit} characters on {version}")
    return contract


def outcome_view(outcome: PncOutcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    body: dict[str, Any] = {
        "emaid": outcome.emaid,
        "decided_by": outcome.decided_by,
        "authorization": outcome.authorization,
        "certificate_status": outcome.certificate_status,
        "contract_check": outcome.contract_check,
        "charging": outcome.charging,
    }
    if outcome.installation is not None:
        body["certificate_installation"] = {
            "status": outcome.installation.status,
            "exi_response": outcome.installation.exi_response,
        }
    return body
