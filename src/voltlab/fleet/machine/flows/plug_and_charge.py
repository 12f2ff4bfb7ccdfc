"""ISO 15118 Plug & Charge (OCPP 2.0.1 C07, M01/M02, M06, A02/A03 for the V2G certificate; the
same in 2.1; in 1.6 by the OCA application note "Using ISO 15118 Plug & Charge with OCPP 1.6",
whose DataTransfer wrapping is the 1.6 codec's business).

A plugged EV that holds a contract authorizes with it, no id tag asked for:
1. If it asks for its contract to be installed or updated, the station passes its EXI request
   on (Get15118EVCertificate). A failed installation leaves it without a contract: it waits
   for an id tag like any EV (ISO 15118's External Identification Means).
2. The contract is checked against the installed V2G and MO roots, at the wall time.
   Online (C07.FR.01/.02): Authorize with the eMAID (idToken type eMAID) and the OCSP request
   data of the chain; with no root to check it against, the chain itself when
   CentralContractValidationAllowed (C07.FR.06), else Invalid without asking. Offline:
   nothing without ContractValidationOffline (C07.FR.07); with it a valid contract is looked
   up in the local list and cache (LocalAuthorizeOffline, AllowOfflineTxForUnknownId: C07.FR.08
   /.09), an expired one is Expired.
3. Accepted (idTokenInfo Accepted, certificateStatus absent or Accepted): the transaction
   starts for the eMAID and energy flows. Anything else: no transaction is started or
   authorized, no energy; the EV stays plugged (2.x Occupied, chargingState EVConnected when
   TxStartPoint opened a transaction on the cable, which ends with EVDisconnected when the
   cable goes; 1.6 Preparing).

The station's V2G certificate: a signed V2G chain must lead to an installed V2G root (as the
EV will check it); once installed, the station asks the CSMS for the OCSP status of each
certificate of it (GetCertificateStatus, M06) and keeps the responses for its EVs."""

from __future__ import annotations

from dataclasses import replace

from voltlab.fleet.machine.certificate_messages import (
    CertificateRequest,
    CertificateSigned,
    CertificateSignedAnswer,
    InstallCertificate,
    InstallCertificateAnswer,
)
from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Answer, Effect, Persist
from voltlab.fleet.machine.flow import Call, CallFailure, Flow, FlowStepper, no_result
from voltlab.fleet.machine.flows import authorization, certificates
from voltlab.fleet.machine.flows.certificates import MissingWallTime
from voltlab.fleet.machine.flows.sessions import start_transaction
from voltlab.fleet.machine.messages import DataTransferAnswer
from voltlab.fleet.machine.pnc_messages import (
    EMAID,
    CertificateStatusAnswer,
    CertificateStatusRequest,
    EvCertificateAnswer,
    EvCertificateRequest,
    PncAuthorizeAnswer,
    PncAuthorizeRequest,
    PncOutcome,
    WrappedPncRequest,
)
from voltlab.fleet.machine.session_messages import StartTransaction
from voltlab.fleet.machine.trigger_messages import TriggerAnswer, TriggerRequest
from voltlab.fleet.model.contracts import (
    CONTRACT_ROOTS,
    V2G_CERTIFICATE,
    CertificateInstallation,
    ContractCredential,
    contract_ocsp_data,
    ocsp_key,
    v2g_chain_ocsp_data,
    validate_contract,
)
from voltlab.fleet.model.device_model_iso15118 import CONTRACT_INSTALLATION, V2G_INSTALLATION
from voltlab.fleet.model.records import StationError, Transaction

PNC_ENABLED = "ISO15118PnCEnabled"
CENTRAL_VALIDATION = "CentralContractValidationAllowed"
OFFLINE_VALIDATION = "ContractValidationOffline"


def enabled(ctx: FlowContext) -> bool:
    return ctx.station.config.get_bool(PNC_ENABLED)


def _allowed(ctx: FlowContext, held_key: str) -> bool:
    """A 2.x ISO15118Ctrlr switch kept as a custom key: true unless set to false."""
    return ctx.station.config.get(held_key) != "false"


def contract_of(ctx: FlowContext, connector_id: int) -> ContractCredential | None:
    """The contract a Plug & Charge EV on the connector authorizes with, if PnC applies."""
    ev = ctx.station.connector(connector_id).ev
    if ev is None or ev.contract is None or not ev.profile.iso15118 or not enabled(ctx):
        return None
    return ev.contract


def plug_and_charge(
    ctx: FlowContext, connector_id: int, contract: ContractCredential, wall_time: float | None
) -> Flow[Transaction | None]:
    """What follows the cable for an EV with a contract (see the module docstring)."""
    if wall_time is None:
        raise MissingWallTime("Plug & Charge needs the wall time to judge the contract")
    installed = None
    if contract.installation is not None:
        installed = yield from request_ev_certificate(ctx, contract.installation)
        if contract.installation.action == "Install" and installed.status != "Accepted":
            ctx.pnc_outcomes[connector_id] = PncOutcome(
                contract.emaid, "none", "NoContract", installation=installed
            )
            return None
    outcome = yield from authorize_contract(ctx, contract, wall_time)
    outcome = replace(outcome, installation=installed)
    ctx.pnc_outcomes[connector_id] = outcome
    if outcome.authorization != "Accepted" or outcome.certificate_status not in (None, "Accepted"):
        return None
    start = StartTransaction(connector_id, contract.emaid, id_token_type=EMAID)
    try:
        tx = yield from start_transaction(ctx, start)
    except StationError:
        return None  # the start failed on the way (its CSMS call): no energy, as said
    charging = ctx.station.connector(connector_id).transaction is tx and not tx.deauthorized
    ctx.pnc_outcomes[connector_id] = replace(outcome, charging=charging)
    return tx


def authorize_contract(
    ctx: FlowContext, contract: ContractCredential, wall_time: float
) -> Flow[PncOutcome]:
    station, emaid = ctx.station, contract.emaid
    check = validate_contract(ctx.certificates, contract.chain_pem, wall_time)
    if not ctx.online:
        return (yield from _offline(ctx, emaid, check))
    central = station.config.get_bool(CENTRAL_VALIDATION)
    hash_data = (
        ()
        if check == "IssuerNotFound"
        else tuple(contract_ocsp_data(ctx.certificates, contract.chain_pem))
    )
    if hash_data:
        request = PncAuthorizeRequest(emaid, None, hash_data)
    elif central:  # no root to check it against, or no OCSP responder named: the CSMS checks
        request = PncAuthorizeRequest(emaid, contract.chain_pem, ())
    else:
        return PncOutcome(emaid, "local", "Invalid", contract_check=check)
    answer = yield Call(request)
    if isinstance(answer, CallFailure):
        return PncOutcome(emaid, "none", "Unknown", contract_check=check)
    assert isinstance(answer, PncAuthorizeAnswer)
    if answer.refused is None:
        yield from authorization.learn(station, emaid, answer.info)
    status = answer.refused or answer.token_status or answer.info.status
    return PncOutcome(emaid, "csms", status, answer.certificate_status, check)


def _offline(ctx: FlowContext, emaid: str, check: str) -> Flow[PncOutcome]:
    config = ctx.station.config
    if not config.get_bool(OFFLINE_VALIDATION):
        return PncOutcome(emaid, "local", "NotAtThisTime", contract_check=check)
    if check == "Expired":
        return PncOutcome(emaid, "local", "Expired", "CertificateExpired", check)
    if check != "Valid" or not config.get_bool("LocalAuthorizeOffline"):
        return PncOutcome(emaid, "local", "Unknown", contract_check=check)
    try:
        decision = yield from authorization.authorize(
            ctx.station, emaid, ctx.now, online=False, memory=ctx.csms
        )
    except StationError:  # unknown eMAID and no AllowOfflineTxForUnknownId
        return PncOutcome(emaid, "local", "Unknown", contract_check=check)
    return PncOutcome(emaid, "local", decision.info.status, "Accepted", check)


def request_ev_certificate(
    ctx: FlowContext, installation: CertificateInstallation
) -> Flow[EvCertificateAnswer]:
    """M01/M02: the EV's EXI request to the CSMS and its answer back (Failed when the station
    may not or cannot ask)."""
    if not ctx.online or not _allowed(ctx, CONTRACT_INSTALLATION):
        return EvCertificateAnswer("Failed", "")
    answer = yield Call(
        EvCertificateRequest(
            installation.action, installation.exi_request, installation.schema_version
        )
    )
    if isinstance(answer, CallFailure):
        return EvCertificateAnswer("Failed", "")
    assert isinstance(answer, EvCertificateAnswer)
    return answer


def refresh_ocsp(ctx: FlowContext) -> Flow[int]:
    """M06: the OCSP status of each certificate of the station's V2G chain, kept by issuer
    and serial; returns how many responses the station holds afterwards."""
    store = ctx.certificates
    for data in v2g_chain_ocsp_data(store):
        answer = yield Call(CertificateStatusRequest(data))
        if isinstance(answer, CallFailure):
            break
        assert isinstance(answer, CertificateStatusAnswer)
        if answer.status == "Accepted" and answer.ocsp_result:
            store.ocsp[ocsp_key(data)] = answer.ocsp_result
            yield Persist()
    return len(store.ocsp)


def request(
    ctx: FlowContext,
    flows: FlowStepper,
    message: CertificateRequest | WrappedPncRequest,
    wall_time: float | None,
) -> list[Effect]:
    """A CSMS certificate request (2.x, 1.6 whitepaper), or one of the 1.6 note's."""
    if isinstance(message, WrappedPncRequest):
        return wrapped_request(ctx, flows, message, wall_time)
    return certificate_request(ctx, flows, message, wall_time)


def certificate_request(
    ctx: FlowContext, flows: FlowStepper, request: CertificateRequest, wall_time: float | None
) -> list[Effect]:
    """A CSMS certificate request (2.x, or 1.6 wrapped): answered from the store; an accepted
    V2G certificate is followed by the OCSP status of its chain."""
    effects = certificates.certificate_request(ctx, request, wall_time)
    signed_v2g = isinstance(request, CertificateSigned) and request.cert_type == V2G_CERTIFICATE
    installed = Answer(CertificateSignedAnswer("Accepted")) in effects
    if signed_v2g and installed and ctx.online:
        effects += flows.start(refresh_ocsp(ctx), no_result)
    return effects


def wrapped_request(
    ctx: FlowContext, flows: FlowStepper, message: WrappedPncRequest, wall_time: float | None
) -> list[Effect]:
    """1.6: a CSMS request of the application note, inside DataTransfer. A station with
    ISO15118PnCEnabled false does not speak the note (UnknownVendorId); a request it cannot
    read is Rejected; the note's messages are for ISO 15118 certificates only (2.3)."""
    if not enabled(ctx):
        return [Answer(DataTransferAnswer("UnknownVendorId"))]
    request = message.request
    if request is None:
        return [Answer(DataTransferAnswer(message.refusal))]
    if isinstance(request, TriggerRequest):  # the note's TriggerMessage: a V2G CSR, nothing else
        if request.target != "SignV2GCertificate":
            return [Answer(TriggerAnswer("NotImplemented"))]
        if not ctx.online or not _allowed(ctx, V2G_INSTALLATION):
            return [Answer(TriggerAnswer("Rejected"))]
        csr = certificates.request_certificate(ctx, V2G_CERTIFICATE)
        return [Answer(TriggerAnswer("Accepted")), *flows.start(csr, no_result)]
    if isinstance(request, InstallCertificate) and request.cert_type not in CONTRACT_ROOTS:
        return [Answer(InstallCertificateAnswer("Rejected"))]
    if isinstance(request, CertificateSigned) and request.cert_type != V2G_CERTIFICATE:
        return [Answer(CertificateSignedAnswer("Rejected"))]
    assert isinstance(request, CertificateRequest)
    return certificate_request(ctx, flows, request, wall_time)
