"""Certificates: the CA certificates a CSMS installs (InstallCertificate), lists
(GetInstalledCertificateIds) and deletes (DeleteCertificate), and the station's own: a new
key pair whose CSR goes to the CSMS with SignCertificate (`request_certificate`: the gateway's
RequestCertificate, or a triggered SignChargePointCertificate / SignChargingStationCertificate),
and the signed chain the CSMS brings with CertificateSigned. A chain that does not fit the
key, or is not valid, is refused and reported as the InvalidChargePointCertificate security
event (2.x: InvalidChargingStationCertificate). A V2G certificate must also lead to an installed
V2G root, the only roots an ISO 15118 EV trusts.

Validity is judged at the request's wall time (`CsmsRequest.wall_time`, real-world seconds
the driver passes in), not at the simulated `now`: certificates are real X.509 objects."""

from __future__ import annotations

from voltlab.fleet.machine.certificate_messages import (
    STATION_CERTIFICATE,
    CertificateRequest,
    CertificateRequested,
    CertificateSigned,
    CertificateSignedAnswer,
    DeleteCertificate,
    DeleteCertificateAnswer,
    GetInstalledCertificateIds,
    InstallCertificateAnswer,
    InstalledCertificates,
    SignCertificateAnswer,
    SignCertificateRequest,
)
from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Answer, Effect, Persist, SendCall
from voltlab.fleet.machine.flow import Call, CallFailure, Flow
from voltlab.fleet.machine.maintenance_messages import SecurityEventReport
from voltlab.fleet.model.contracts import V2G_CERTIFICATE, V2G_ROOT, validate_chain

# The CSR's organization (O=), as it always was; 2.x SecurityCtrlr.OrganizationName is not
# read for it.
ORGANIZATION = "Voltlab"
INVALID_STATION_CERTIFICATE = "InvalidChargePointCertificate"


class MissingWallTime(TypeError):
    """A certificate request came without the wall time to judge validity by: a driver bug."""


def certificate_request(
    ctx: FlowContext, request: CertificateRequest, wall_time: float | None
) -> list[Effect]:
    store = ctx.certificates
    if isinstance(request, GetInstalledCertificateIds):
        chains = tuple(store.installed_ids(request.cert_types))
        return [Answer(InstalledCertificates("Accepted" if chains else "NotFound", chains))]
    if isinstance(request, DeleteCertificate):
        deleted = store.delete(request.hash_data)
        return _stored_if(deleted == "Accepted", DeleteCertificateAnswer(deleted))
    if wall_time is None:
        raise MissingWallTime(f"{request!r} needs the wall time (CsmsRequest.wall_time)")
    if isinstance(request, CertificateSigned):
        return certificate_signed(ctx, request, wall_time)
    installed = store.install(request.cert_type, request.certificate, wall_time)
    return _stored_if(installed == "Accepted", InstallCertificateAnswer(installed))


def certificate_signed(
    ctx: FlowContext, request: CertificateSigned, wall_time: float
) -> list[Effect]:
    store = ctx.certificates
    anchored = (
        request.cert_type != V2G_CERTIFICATE
        or validate_chain(store, request.chain, wall_time, (V2G_ROOT,)) == "Valid"
    )
    if anchored and store.certificate_signed(request.chain, request.cert_type, now=wall_time):
        return [Persist(), Answer(CertificateSignedAnswer("Accepted"))]
    refused = f"CertificateSigned for {request.cert_type} refused"
    return [
        Answer(CertificateSignedAnswer("Rejected")),
        SendCall(SecurityEventReport(INVALID_STATION_CERTIFICATE, ctx.now, refused)),
    ]


def request_certificate(
    ctx: FlowContext, cert_type: str = STATION_CERTIFICATE
) -> Flow[CertificateRequested]:
    """A new key pair for slot `cert_type` (it waits for CertificateSigned) and its CSR sent
    with SignCertificate; returns the CSMS's answer. Nothing is made while offline."""
    if not ctx.online:
        return CertificateRequested(cert_type, None, "not_connected")
    store = ctx.certificates
    csr = store.new_csr(ctx.station.identity, ORGANIZATION, cert_type, ctx.make_csr)
    yield Persist()
    answer = yield Call(SignCertificateRequest(csr, cert_type))
    if isinstance(answer, CallFailure):
        return CertificateRequested(cert_type, None, answer.reason)
    assert isinstance(answer, SignCertificateAnswer)
    return CertificateRequested(cert_type, answer.status)


def _stored_if(
    changed: bool, answer: InstallCertificateAnswer | DeleteCertificateAnswer
) -> list[Effect]:
    return [Persist(), Answer(answer)] if changed else [Answer(answer)]
