"""ISO15118Ctrlr of the 2.x device model (OCPP 2.0.1 part 2, appendix 3; functional blocks C07
and M): Plug & Charge and the ISO 15118 certificate installations the station takes part in.
PnCEnabled, CentralContractValidationAllowed and ContractValidationOffline live in the same
`StationConfig` keys as the 1.6 application note's, so both versions decide alike
(flows/plug_and_charge.py)."""

from __future__ import annotations

from voltlab.fleet.model.device_model_catalog import (
    BOOLEAN,
    STRING,
    TRUE,
    VariableSpec,
    held,
    live,
)

ISO15118 = "ISO15118Ctrlr"
# Whether the station asks the CSMS to sign its V2G certificate (TriggerMessage
# SignV2GCertificate, A02/A03) and passes an EV's contract request on (Get15118EVCertificate, M01).
V2G_INSTALLATION = f"{ISO15118}.V2GCertificateInstallationEnabled"
CONTRACT_INSTALLATION = f"{ISO15118}.ContractCertificateInstallationEnabled"

ISO15118_VARIABLES: tuple[VariableSpec, ...] = (
    VariableSpec(ISO15118, "PnCEnabled", BOOLEAN, config_key="ISO15118PnCEnabled"),
    VariableSpec(
        ISO15118,
        "CentralContractValidationAllowed",
        BOOLEAN,
        config_key="CentralContractValidationAllowed",
    ),
    VariableSpec(
        ISO15118, "ContractValidationOffline", BOOLEAN, config_key="ContractValidationOffline"
    ),
    held(ISO15118, "V2GCertificateInstallationEnabled", BOOLEAN, TRUE),
    held(ISO15118, "ContractCertificateInstallationEnabled", BOOLEAN, TRUE),
    # The SECC's id an EV sees in SessionSetupRes: the station's identity.
    live(ISO15118, "SeccId", STRING, lambda s, t, n: s.identity, constant=True),
)
