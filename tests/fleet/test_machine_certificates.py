"""The certificate flows of the station machine, driven event by event: InstallCertificate,
GetInstalledCertificateIds, DeleteCertificate, the station's SignCertificate
(RequestCertificate) with an injected CSR factory, and CertificateSigned with its security
event. Validity is judged at the wall time the driver passes (`CsmsRequest.wall_time`), which
the tests set far from the simulated `now`. Plus the 1.6 and 2.x certificate codecs against
the OCA schemas."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fleet.machine_support import register
from voltlab.fleet.codecs import ocpp16_certificates as codec16
from voltlab.fleet.codecs import ocpp201_certificates as codec2x
from voltlab.fleet.codecs import shared_certificates as shared
from voltlab.fleet.codecs.station_codec import codec_for
from voltlab.fleet.machine.certificate_messages import (
    CertificateRequested,
    CertificateSigned,
    CertificateSignedAnswer,
    DeleteCertificate,
    DeleteCertificateAnswer,
    GetInstalledCertificateIds,
    InstallCertificate,
    InstallCertificateAnswer,
    InstalledCertificates,
    RequestCertificate,
    SignCertificateAnswer,
    SignCertificateRequest,
)
from voltlab.fleet.machine.effects import Answer, Fail, Persist, SendCall
from voltlab.fleet.machine.events import CallAnswered, CallFailed, CsmsRequest, GatewayCommand
from voltlab.fleet.machine.flows.certificates import MissingWallTime
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.maintenance_messages import SecurityEventReport
from voltlab.fleet.machine.messages import CsmsRequestMessage
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.certificates import CertificateHashDataChain, certificate_hash_data
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

DAY = 86_400.0
T0 = 1_800_000_000.0  # the fleet's simulated time (2027)
WALL = 1_900_000_000.0  # the real world's time (2030): certificates are judged by it
IDENTITY = "CP-CERT"
STATION = "ChargingStationCertificate"


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _certificate(
    subject: str,
    public_key: ec.EllipticCurvePublicKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    key: ec.EllipticCurvePrivateKey,
    valid: tuple[float, float],
    serial: int,
) -> x509.Certificate:
    """A certificate valid over `valid` (POSIX seconds), self-signed when no issuer: a CA."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, signer = issuer if issuer is not None else (name, key)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(dt.datetime.fromtimestamp(valid[0], dt.UTC))
        .not_valid_after(dt.datetime.fromtimestamp(valid[1], dt.UTC))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())
    )


# Fixed keys: the same certificates' keys and hash data in every run.
ROOT_KEY = ec.derive_private_key(1001, ec.SECP256R1())
ROOT = _certificate(
    "Lab CSMS Root", ROOT_KEY.public_key(), None, ROOT_KEY, (WALL - DAY, WALL + 365 * DAY), 0x1A
)
STATION_KEY = ec.derive_private_key(2002, ec.SECP256R1())
OTHER_KEY = ec.derive_private_key(3003, ec.SECP256R1())
CSR = (
    x509.CertificateSigningRequestBuilder()
    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, IDENTITY)]))
    .sign(STATION_KEY, hashes.SHA256())
    .public_bytes(serialization.Encoding.PEM)
    .decode()
)


def leaf(key: ec.EllipticCurvePrivateKey, valid: tuple[float, float]) -> x509.Certificate:
    """The station's certificate for `key`, signed by ROOT."""
    return _certificate(IDENTITY, key.public_key(), (ROOT.subject, ROOT_KEY), ROOT_KEY, valid, 77)


def signed_chain(key: ec.EllipticCurvePrivateKey, valid: tuple[float, float]) -> str:
    """The CSMS's answer to a CSR for `key`: the leaf, then ROOT."""
    return _pem(leaf(key, valid)) + _pem(ROOT)


class CsrFactory:
    """The machine's key-pair factory, made deterministic: always STATION_KEY and its CSR."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def __call__(self, identity: str, organization: str) -> tuple[str, str]:
        self.asked.append((identity, organization))
        return CSR, _key_pem(STATION_KEY)


def machine(*, online: bool = True) -> tuple[StationMachine, CsrFactory]:
    factory = CsrFactory()
    station = Station(IDENTITY, CATALOG["ac-22kw-2c"], seed=5)
    m = StationMachine(station, MachineSettings(reports_reservation_ends=True), make_csr=factory)
    if online:
        register(m, T0)
    return m, factory


def request(message: CsmsRequestMessage, wall_time: float | None = WALL) -> CsmsRequest:
    return CsmsRequest(message, wall_time)


def root_entry(cert_type: str = "CSMSRootCertificate") -> CertificateHashDataChain:
    return {"certificateType": cert_type, "certificateHashData": certificate_hash_data(ROOT)}


# -- CA certificates -----------------------------------------------------------------------------


def test_install_list_and_delete_a_root_effect_by_effect() -> None:
    m, _ = machine()
    install = request(InstallCertificate("CSMSRootCertificate", _pem(ROOT)))
    assert m.handle(install, T0) == [Persist(), Answer(InstallCertificateAnswer("Accepted"))]
    everything = m.handle(request(GetInstalledCertificateIds()), T0 + 1)
    assert everything == [Answer(InstalledCertificates("Accepted", (root_entry(),)))]
    v2g = m.handle(request(GetInstalledCertificateIds(("V2GRootCertificate",))), T0 + 1)
    assert v2g == [Answer(InstalledCertificates("NotFound"))]

    hash_data = certificate_hash_data(ROOT)
    delete = request(DeleteCertificate(hash_data))
    assert m.handle(delete, T0 + 2) == [Persist(), Answer(DeleteCertificateAnswer("Accepted"))]
    assert m.handle(delete, T0 + 3) == [Answer(DeleteCertificateAnswer("NotFound"))]
    assert m.handle(request(GetInstalledCertificateIds()), T0 + 4) == [
        Answer(InstalledCertificates("NotFound"))
    ]


def test_refused_installs_store_nothing() -> None:
    m, _ = machine()
    for cert_type, pem in [
        ("CSMSRootCertificate", "not a pem"),
        ("CSMSRootCertificate", _pem(leaf(STATION_KEY, (WALL - DAY, WALL + DAY)))),  # not a CA
        ("ChargingStationCertificate", _pem(ROOT)),  # not a CA certificate type
    ]:
        effects = m.handle(request(InstallCertificate(cert_type, pem)), T0)
        assert effects == [Answer(InstallCertificateAnswer("Rejected"))]
    assert m.context.certificates.installed_ids() == []


def test_validity_is_judged_at_the_wall_time_not_at_the_simulated_now() -> None:
    # The simulated now (2027) is years before the root's validity (2030): the wall time says.
    m, _ = machine()
    root = InstallCertificate("CSMSRootCertificate", _pem(ROOT))
    expired_wall = WALL + 400 * DAY
    assert m.handle(request(root, expired_wall), T0) == [
        Answer(InstallCertificateAnswer("Rejected"))
    ]
    assert m.handle(request(root, WALL), T0) == [
        Persist(),
        Answer(InstallCertificateAnswer("Accepted")),
    ]


def test_a_certificate_request_without_the_wall_time_is_a_driver_bug() -> None:
    m, _ = machine()
    with pytest.raises(MissingWallTime):
        m.handle(request(InstallCertificate("CSMSRootCertificate", _pem(ROOT)), None), T0)
    with pytest.raises(MissingWallTime):
        m.handle(request(CertificateSigned(signed_chain(STATION_KEY, (WALL, WALL))), None), T0)
    # Listing and deleting judge no validity: they need no wall time.
    assert m.handle(request(GetInstalledCertificateIds(), None), T0) == [
        Answer(InstalledCertificates("NotFound"))
    ]
    delete = request(DeleteCertificate(certificate_hash_data(ROOT)), None)
    assert m.handle(delete, T0) == [Answer(DeleteCertificateAnswer("NotFound"))]


# -- the station's certificate ---------------------------------------------------------------------


def test_sign_certificate_then_certificate_signed() -> None:
    m, factory = machine()
    effects = m.handle(GatewayCommand(RequestCertificate()), T0)
    assert factory.asked == [(IDENTITY, "Voltlab")]
    [persist, call] = effects
    assert persist == Persist()  # the new key is stored before its CSR goes out
    assert isinstance(call, SendCall) and call.call_id is not None
    assert call.message == SignCertificateRequest(CSR, STATION)
    assert m.context.certificates.has_pending_csr(STATION)
    answered = m.handle(CallAnswered(call.call_id, SignCertificateAnswer("Accepted")), T0 + 1)
    assert answered == [Answer(CertificateRequested(STATION, "Accepted"))]

    # Signed for the station's key and valid at the wall time: installed as its certificate.
    chain = signed_chain(STATION_KEY, (WALL - DAY, WALL + 30 * DAY))
    signed = m.handle(request(CertificateSigned(chain, STATION)), T0 + 60)
    assert signed == [Persist(), Answer(CertificateSignedAnswer("Accepted"))]
    assert m.context.certificates.client_credentials(STATION) == (chain, _key_pem(STATION_KEY))
    assert not m.context.certificates.has_pending_csr(STATION)


@pytest.mark.parametrize(
    ("key", "valid", "why"),
    [
        (OTHER_KEY, (WALL - DAY, WALL + DAY), "not the key of the station's CSR"),
        (STATION_KEY, (WALL - 30 * DAY, WALL - DAY), "expired at the wall time"),
        (STATION_KEY, (T0 - DAY, T0 + DAY), "valid only around the simulated now"),
    ],
)
def test_a_chain_that_does_not_fit_is_rejected_and_reported(
    key: ec.EllipticCurvePrivateKey, valid: tuple[float, float], why: str
) -> None:
    m, _ = machine()
    [_, call] = m.handle(GatewayCommand(RequestCertificate()), T0)
    assert isinstance(call, SendCall)
    m.handle(CallAnswered(call.call_id or 0, SignCertificateAnswer("Accepted")), T0)
    # The leaf alone (ROOT's own validity would refuse it at the simulated now anyway).
    refused = m.handle(request(CertificateSigned(_pem(leaf(key, valid)))), T0 + 60)
    event = SecurityEventReport(
        "InvalidChargePointCertificate", T0 + 60, f"CertificateSigned for {STATION} refused"
    )
    # The answer first; the security event once it is on the wire.
    assert refused == [Answer(CertificateSignedAnswer("Rejected")), SendCall(event)], why
    assert m.context.certificates.client_credentials(STATION) is None
    assert m.context.certificates.has_pending_csr(STATION)  # the key still waits


def test_a_renewal_for_the_key_the_station_has_is_accepted() -> None:
    m, _ = machine()
    [_, call] = m.handle(GatewayCommand(RequestCertificate()), T0)
    assert isinstance(call, SendCall)
    m.handle(CallAnswered(call.call_id or 0, SignCertificateAnswer("Accepted")), T0)
    first = signed_chain(STATION_KEY, (WALL - DAY, WALL + DAY))
    m.handle(request(CertificateSigned(first)), T0 + 1)
    renewal = signed_chain(STATION_KEY, (WALL - DAY, WALL + 90 * DAY))
    assert m.handle(request(CertificateSigned(renewal), WALL + 1), T0 + 2) == [
        Persist(),
        Answer(CertificateSignedAnswer("Accepted")),
    ]
    assert m.context.certificates.client_credentials(STATION) == (renewal, _key_pem(STATION_KEY))


def test_a_v2g_certificate_is_listed_as_a_chain() -> None:
    m, _ = machine()
    [_, call] = m.handle(GatewayCommand(RequestCertificate("V2GCertificate")), T0)
    assert isinstance(call, SendCall) and call.message == SignCertificateRequest(
        CSR, "V2GCertificate"
    )
    m.handle(CallAnswered(call.call_id or 0, SignCertificateAnswer("Accepted")), T0)
    chain = signed_chain(STATION_KEY, (WALL - DAY, WALL + DAY))
    # An EV trusts V2G roots only: without ROOT installed as one, the chain is refused.
    refused = m.handle(request(CertificateSigned(chain, "V2GCertificate")), T0 + 1)
    assert refused[0] == Answer(CertificateSignedAnswer("Rejected"))
    m.handle(request(InstallCertificate("V2GRootCertificate", _pem(ROOT))), T0 + 1)
    accepted = m.handle(request(CertificateSigned(chain, "V2GCertificate")), T0 + 1)
    assert accepted == [Persist(), Answer(CertificateSignedAnswer("Accepted"))]
    [answer] = m.handle(request(GetInstalledCertificateIds(("V2GCertificateChain",))), T0 + 2)
    assert isinstance(answer, Answer) and isinstance(answer.message, InstalledCertificates)
    [entry] = answer.message.chains
    station_cert = x509.load_pem_x509_certificates(chain.encode())[0]
    assert entry == {
        "certificateType": "V2GCertificateChain",
        "certificateHashData": certificate_hash_data(station_cert, ROOT),
        "childCertificateHashData": [certificate_hash_data(ROOT)],
    }


def test_a_sign_certificate_the_csms_rejects_or_never_answers() -> None:
    m, _ = machine()
    [_, call] = m.handle(GatewayCommand(RequestCertificate()), T0)
    assert isinstance(call, SendCall)
    rejected = m.handle(CallAnswered(call.call_id or 0, SignCertificateAnswer("Rejected")), T0)
    assert rejected == [Answer(CertificateRequested(STATION, "Rejected"))]
    [_, call] = m.handle(GatewayCommand(RequestCertificate()), T0 + 10)
    assert isinstance(call, SendCall)
    silent = m.handle(CallFailed(call.call_id or 0, "timeout", "no answer in 30 s"), T0 + 40)
    assert silent == [Answer(CertificateRequested(STATION, None, "timeout"))]


def test_offline_no_key_is_made_and_a_wrong_type_fails() -> None:
    m, factory = machine(online=False)
    assert m.handle(GatewayCommand(RequestCertificate()), T0) == [
        Answer(CertificateRequested(STATION, None, "not_connected"))
    ]
    assert factory.asked == []
    assert not m.context.certificates.has_pending_csr(STATION)
    m, factory = machine()
    [failed] = m.handle(GatewayCommand(RequestCertificate("CSMSRootCertificate")), T0)
    assert isinstance(failed, Fail) and isinstance(failed.error, ValueError)
    assert factory.asked == []


# -- codecs ------------------------------------------------------------------------------------


HASH = certificate_hash_data(ROOT)


def test_16_codec_decodes_the_requests_and_encodes_per_schema() -> None:
    schemas = SchemaSet(OCPP16, schema_directory(OCPP16))
    install = {"certificateType": "CentralSystemRootCertificate", "certificate": _pem(ROOT)}
    schemas.validate_request("InstallCertificate", install)
    assert shared.decode_install_certificate(install) == InstallCertificate(
        "CentralSystemRootCertificate", _pem(ROOT)
    )
    listing = {"certificateType": "CentralSystemRootCertificate"}
    schemas.validate_request("GetInstalledCertificateIds", listing)
    decoded = codec16.decode_get_installed_ids(listing)
    assert decoded == GetInstalledCertificateIds(("CentralSystemRootCertificate",))
    answer = codec16.encode_installed_ids(
        InstalledCertificates("Accepted", (root_entry("CentralSystemRootCertificate"),))
    )
    schemas.validate_response("GetInstalledCertificateIds", answer)
    assert answer == {"status": "Accepted", "certificateHashData": [HASH]}
    none = codec16.encode_installed_ids(InstalledCertificates("NotFound"))
    schemas.validate_response("GetInstalledCertificateIds", none)
    assert none == {"status": "NotFound"}
    delete = {"certificateHashData": dict(HASH)}
    schemas.validate_request("DeleteCertificate", delete)
    assert shared.decode_delete_certificate(delete) == DeleteCertificate(HASH)
    signed = {"certificateChain": "-----BEGIN CERTIFICATE-----"}
    schemas.validate_request("CertificateSigned", signed)
    assert shared.decode_certificate_signed(signed) == CertificateSigned(
        "-----BEGIN CERTIFICATE-----", STATION
    )
    for action, status in [
        ("InstallCertificate", InstallCertificateAnswer("Failed")),
        ("DeleteCertificate", DeleteCertificateAnswer("NotFound")),
        ("CertificateSigned", CertificateSignedAnswer("Rejected")),
    ]:
        body = shared.encode_status_answer(status)
        schemas.validate_response(action, body)
        assert body == {"status": status.status}
    # The whitepaper signs the Charge Point certificate only: no type on the wire.
    call = SignCertificateRequest("-----BEGIN CERTIFICATE REQUEST-----", STATION)
    action, payload = codec_for(OCPP16).encode_call(call)
    assert (action, payload) == ("SignCertificate", {"csr": "-----BEGIN CERTIFICATE REQUEST-----"})
    schemas.validate_request(action, payload)
    schemas.validate_response("SignCertificate", {"status": "Accepted"})
    assert codec_for(OCPP16).decode_answer(call, {"status": "Accepted"}) == SignCertificateAnswer(
        "Accepted"
    )


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_codec_decodes_the_requests_and_encodes_per_schema(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))
    listing: dict[str, object] = {"certificateType": ["CSMSRootCertificate", "V2GCertificateChain"]}
    schemas.validate_request("GetInstalledCertificateIds", listing)
    assert codec2x.decode_get_installed_ids(listing) == GetInstalledCertificateIds(
        ("CSMSRootCertificate", "V2GCertificateChain")
    )
    assert codec2x.decode_get_installed_ids({}) == GetInstalledCertificateIds(())
    chain: CertificateHashDataChain = {**root_entry(), "childCertificateHashData": [HASH]}
    answer = codec2x.encode_installed_ids(InstalledCertificates("Accepted", (root_entry(), chain)))
    schemas.validate_response("GetInstalledCertificateIds", answer)
    assert answer == {"status": "Accepted", "certificateHashDataChain": [root_entry(), chain]}
    signed = {
        "certificateChain": "-----BEGIN CERTIFICATE-----",
        "certificateType": "V2GCertificate",
    }
    schemas.validate_request("CertificateSigned", signed)
    assert shared.decode_certificate_signed(signed) == CertificateSigned(
        "-----BEGIN CERTIFICATE-----", "V2GCertificate"
    )
    install = {"certificateType": "MORootCertificate", "certificate": _pem(ROOT)}
    schemas.validate_request("InstallCertificate", install)
    schemas.validate_request("DeleteCertificate", {"certificateHashData": dict(HASH)})
    schemas.validate_response("InstallCertificate", {"status": "Rejected"})
    call = SignCertificateRequest("-----BEGIN CERTIFICATE REQUEST-----", "V2GCertificate")
    action, payload = codec_for(version).encode_call(call)
    assert (action, payload) == (
        "SignCertificate",
        {"csr": "-----BEGIN CERTIFICATE REQUEST-----", "certificateType": "V2GCertificate"},
    )
    schemas.validate_request(action, payload)
    reply = {"status": "Rejected", "statusInfo": {"reasonCode": "NoCA"}}
    schemas.validate_response("SignCertificate", reply)
    assert codec_for(version).decode_answer(call, reply) == SignCertificateAnswer("Rejected")
