"""plug-connector's Plug & Charge part (docs/api.md): the contract an ISO 15118 EV authorizes
with when it plugs in, and what it asks the station to install first. Pure pydantic, shared
with `voltlab.client`; the certificates themselves are read by the station
(fleet/hosting/contract_input.py), which answers `invalid_contract` for a chain it cannot use."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Authorize.certificate: 5 500 characters in 2.0.1, 10 000 in 2.1; a chain the CSMS could not
# be sent whole is still the EV's, so the bound is 2.1's.
MAX_CHAIN_CHARS = 10_000


class CertificateInstallationEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["Install", "Update"] = Field(
        description="CertificateInstallationReq (Install) or CertificateUpdateReq (Update)"
    )
    exi_request: str = Field(
        min_length=1,
        max_length=5600,
        pattern=r"^[A-Za-z0-9+/]*={0,2}$",
        description="the EV's raw EXI request, base64: passed to the CSMS unread "
        "(Get15118EVCertificate.exiRequest)",
    )
    schema_version: str | None = Field(
        default=None,
        max_length=50,
        description="the ISO 15118 schema of the EV's session (default ISO 15118-2's)",
    )


class ContractEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate_chain: str = Field(
        min_length=1,
        max_length=MAX_CHAIN_CHARS,
        description="PEM: the contract certificate, then the MO sub-CAs above it (no root); "
        "`voltlab.pki.v2g.V2GTestPki` makes one",
    )
    emaid: str | None = Field(
        default=None,
        min_length=1,
        max_length=36,
        pattern=r"^[A-Za-z0-9*-]+$",
        description="the contract's eMAID (default: the contract certificate's subject CN); at "
        "most 20 characters for an OCPP 1.6 charger, whose StartTransaction names it as idTag",
    )
    certificate_installation: CertificateInstallationEvent | None = Field(
        default=None,
        description="the EV asks for its contract to be installed or updated first "
        "(Get15118EVCertificate); an Install the CSMS answers Failed leaves it without one",
    )
