"""The station's security: connect arguments per security profile (fleet.driver.security; real
handshakes against the ocpp-rpc peer on 127.0.0.1), error texts, the certificate store
(fleet.model.certificates, validity judged at the wall time passed in) and the security
events (ocpp.vocabulary.security_events)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import shutil
import ssl
import stat
import tempfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from voltlab.clock import wall_time
from voltlab.fleet.driver import security
from voltlab.fleet.driver.security import (
    SecurityConfigError,
    connect_kwargs,
    describe_connect_error,
)
from voltlab.fleet.model.certificates import (
    CERTIFICATE_TYPES_16,
    CERTIFICATE_TYPES_201,
    CertificateStore,
    accept_signed_certificate,
    make_csr,
)
from voltlab.ocpp.vocabulary.security_events import (
    CRITICAL_SECURITY_EVENTS,
    SECURITY_EVENTS,
    is_critical_security_event,
    security_event_type,
)

try:
    from tests.peers.ocpp_rpc_peer import OcppRpcPeer
    from tests.peers.test_ca import CertAuthority
except ImportError:  # tests/ itself on sys.path
    from peers.ocpp_rpc_peer import OcppRpcPeer
    from peers.test_ca import CertAuthority

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")

BOOT16 = {"chargePointVendor": "VoltLab", "chargePointModel": "Tiny-1"}


# ------------------------------------------------------------------------------ fixtures --


@pytest.fixture(scope="module")
def ca() -> CertAuthority:
    return CertAuthority.generate("VoltLab Test Root CA")


@pytest.fixture(scope="module")
def other_ca() -> CertAuthority:
    return CertAuthority.generate("Somebody Else's CA")


@pytest.fixture
def server_files(ca, tmp_path):
    cert, key = ca.issue_server().write(tmp_path, "server")
    return cert, key, ca.write(tmp_path, "ca")


async def tiny_connect(peer: OcppRpcPeer, identity: str, sec: dict | None, version="ocpp1.6"):
    """A minimal station: websockets.connect with what connect_kwargs says, nothing else."""
    url = f"{peer.url}/{identity}"
    return await connect(
        url,
        subprotocols=[version],
        open_timeout=10,
        proxy=None,
        **connect_kwargs(sec, identity, url),
    )


async def connect_error(peer: OcppRpcPeer, identity: str, sec: dict) -> tuple[Exception, str]:
    with pytest.raises(Exception) as info:  # noqa: B017,PT011 - any failure, described below
        ws = await tiny_connect(peer, identity, sec)
        await ws.close()
    return info.value, describe_connect_error(info.value)


async def boot(ws) -> list:
    await ws.send(json.dumps([2, "b1", "BootNotification", BOOT16]))
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


# ------------------------------------------------------------------- connect_kwargs unit --


def test_profile_0_needs_nothing():
    assert connect_kwargs(None, "CP", "ws://h/ocpp/CP") == {}
    assert connect_kwargs({"profile": 0}, "CP", "ws://h/ocpp/CP") == {}


def test_profile_1_sends_basic_auth_with_identity_as_user():
    kwargs = connect_kwargs({"profile": 1, "password": "s3:cret"}, "CP:1", "ws://h/ocpp/CP:1")
    assert set(kwargs) == {"additional_headers"}
    scheme, token = kwargs["additional_headers"]["Authorization"].split()
    assert scheme == "Basic"
    assert base64.b64decode(token) == b"CP:1:s3:cret"


def test_profile_2_and_3_refuse_plain_ws():
    for sec in (
        {"profile": 2, "password": "pw"},
        {"profile": 3, "client_cert_pem": "x", "client_key_pem": "y"},
    ):
        with pytest.raises(SecurityConfigError, match="wss://"):
            connect_kwargs(sec, "CP", "ws://127.0.0.1:9000/ocpp/CP")


@pytest.mark.parametrize(
    ("sec", "message"),
    [
        ({"profile": 1}, "password"),
        ({"profile": 2, "password": ""}, "password"),
        ({"profile": 3}, "client certificate"),
        ({"profile": 7}, "0, 1, 2 or 3"),
        ({"profile": "high"}, "0, 1, 2 or 3"),
        ({"profile": 2, "password": "pw", "ca_pem": "not a pem"}, "ca_pem"),
    ],
)
def test_bad_settings_raise_clear_errors(sec, message):
    with pytest.raises(SecurityConfigError, match=message):
        connect_kwargs(sec, "CP", "wss://127.0.0.1/ocpp/CP")


def test_other_url_schemes_are_refused():
    with pytest.raises(SecurityConfigError, match="ws:// or wss://"):
        connect_kwargs({"profile": 0}, "CP", "http://127.0.0.1/ocpp/CP")


def test_profile_2_context_validates_server_and_hostname(ca):
    kwargs = connect_kwargs(
        {"profile": 2, "password": "pw", "ca_pem": ca.cert_pem}, "CP", "wss://127.0.0.1/o/CP"
    )
    ctx = kwargs["ssl"]
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    # only the configured CA, not the system bundle
    subjects = [dict(x[0] for x in c["subject"]) for c in ctx.get_ca_certs()]
    assert subjects == [{"commonName": "VoltLab Test Root CA", "organizationName": "VoltLab Test"}]
    assert "Authorization" in kwargs["additional_headers"]


def test_profile_2_without_ca_uses_system_cas():
    ctx = connect_kwargs({"profile": 2, "password": "pw"}, "CP", "wss://example.com/o/CP")["ssl"]
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


def test_profile_3_loads_client_cert_from_a_private_temp_file(ca, monkeypatch):
    client = ca.issue_client("CP3-TMP")
    seen: list[tuple[str, int]] = []
    real_mkstemp = tempfile.mkstemp
    real_load = ssl.SSLContext.load_cert_chain

    def spy_mkstemp(*args, **kwargs):
        fd, path = real_mkstemp(*args, **kwargs)
        seen.append((path, 0))
        return fd, path

    def spy_load(self, certfile, *args, **kwargs):
        seen.append((certfile, stat.S_IMODE(os.stat(certfile).st_mode)))
        return real_load(self, certfile, *args, **kwargs)

    monkeypatch.setattr(security.tempfile, "mkstemp", spy_mkstemp)
    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy_load)
    security._cached_context.cache_clear()
    kwargs = connect_kwargs(
        {
            "profile": 3,
            "ca_pem": ca.cert_pem,
            "client_cert_pem": client.chain_pem,
            "client_key_pem": client.key_pem,
            "password": "ignored in profile 3",
        },
        "CP3-TMP",
        "wss://127.0.0.1/ocpp/CP3-TMP",
    )
    assert "additional_headers" not in kwargs  # profile 3: no Basic auth
    (path, _), (loaded, mode) = seen
    assert loaded == path and mode == 0o600
    assert not os.path.exists(path)


def test_profile_3_rejects_a_key_that_does_not_match_the_certificate(ca):
    a, b = ca.issue_client("A"), ca.issue_client("B")
    with pytest.raises(SecurityConfigError, match="does not match"):
        connect_kwargs(
            {"profile": 3, "client_cert_pem": a.cert_pem, "client_key_pem": b.key_pem},
            "A",
            "wss://127.0.0.1/ocpp/A",
        )


def test_describe_simple_failures():
    assert "connection refused" in describe_connect_error(ConnectionRefusedError(111, "refused"))
    assert "timed out" in describe_connect_error(TimeoutError())
    assert "wss://" in describe_connect_error(SecurityConfigError("profile 2 needs wss://"))
    wrapped = RuntimeError("outer")
    wrapped.__cause__ = ConnectionRefusedError(111, "refused")
    assert "connection refused" in describe_connect_error(wrapped)


# ------------------------------------------------------------------ real handshakes: peer --


@needs_node
async def test_profile_1_right_and_wrong_password():
    async with OcppRpcPeer(protocols=("ocpp1.6",), basic_auth=("CP1", "hunter2")) as peer:
        assert peer.url.startswith("ws://")
        ws = await tiny_connect(peer, "CP1", {"profile": 1, "password": "hunter2"})
        assert ws.subprotocol == "ocpp1.6"
        reply = await boot(ws)
        assert reply[0] == 3 and reply[2]["status"] == "Accepted"
        await ws.close()

        exc, text = await connect_error(peer, "CP1", {"profile": 1, "password": "wrong"})
        assert isinstance(exc, InvalidStatus) and exc.response.status_code == 401
        assert "401 Unauthorized" in text and "password" in text
        rejected = await peer.wait_for_event(lambda e: e.get("event") == "upgrade_rejected")
        assert rejected["identity"] == "CP1" and rejected["status"] == 401

        # no credentials at all, and an identity the CSMS does not know
        _, text = await connect_error(peer, "CP1", {"profile": 0})
        assert "401" in text
        _, text = await connect_error(peer, "CP-OTHER", {"profile": 1, "password": "hunter2"})
        assert "401" in text


@needs_node
async def test_profile_2_right_ca_connects_wrong_ca_is_verify_failure(ca, other_ca, server_files):
    cert, key, _ = server_files
    async with OcppRpcPeer(
        protocols=("ocpp1.6",), tls_cert=cert, tls_key=key, basic_auth="*:pw-2"
    ) as peer:
        assert peer.url.startswith("wss://127.0.0.1:")
        ws = await tiny_connect(
            peer, "CP2", {"profile": 2, "password": "pw-2", "ca_pem": ca.cert_pem}
        )
        reply = await boot(ws)
        assert reply[0] == 3 and reply[2]["status"] == "Accepted"
        await ws.close()
        connected = peer.events_of("connected", "CP2")[0]
        assert connected["tls"]["protocol"] in ("TLSv1.2", "TLSv1.3")
        assert connected["tls"]["client_cert"] is None

        exc, text = await connect_error(
            peer, "CP2", {"profile": 2, "password": "pw-2", "ca_pem": other_ca.cert_pem}
        )
        assert isinstance(exc, ssl.SSLCertVerificationError)
        assert "certificate verify failed" in text and "unknown CA" in text

        # right CA, wrong password: TLS is fine, Basic auth is not
        _, text = await connect_error(
            peer, "CP2", {"profile": 2, "password": "nope", "ca_pem": ca.cert_pem}
        )
        assert "401 Unauthorized" in text


@needs_node
async def test_profile_2_hostname_mismatch(ca, tmp_path):
    cert, key = ca.issue_server(hosts=("csms.example.com",)).write(tmp_path, "wrong-host")
    async with OcppRpcPeer(protocols=("ocpp1.6",), tls_cert=cert, tls_key=key) as peer:
        _, text = await connect_error(
            peer, "CP2H", {"profile": 2, "password": "pw", "ca_pem": ca.cert_pem}
        )
        assert "certificate verify failed" in text and "hostname mismatch" in text


@needs_node
async def test_tls_client_against_plain_ws_port(ca):
    async with OcppRpcPeer(protocols=("ocpp1.6",)) as peer:
        url = peer.url.replace("ws://", "wss://") + "/CPX"
        sec = {"profile": 2, "password": "pw", "ca_pem": ca.cert_pem}
        with pytest.raises(ssl.SSLError) as info:
            await connect(url, proxy=None, open_timeout=5, **connect_kwargs(sec, "CPX", url))
        assert "does not speak TLS" in describe_connect_error(info.value)


@needs_node
async def test_profile_3_mutual_tls(ca, other_ca, server_files):
    cert, key, ca_path = server_files
    client = ca.issue_client("CP3")
    stranger = other_ca.issue_client("CP3")
    async with OcppRpcPeer(
        protocols=("ocpp1.6", "ocpp2.0.1"),
        tls_cert=cert,
        tls_key=key,
        tls_ca=ca_path,
        require_client_cert=True,
    ) as peer:
        sec = {
            "profile": 3,
            "ca_pem": ca.cert_pem,
            "client_cert_pem": client.chain_pem,
            "client_key_pem": client.key_pem,
        }
        ws = await tiny_connect(peer, "CP3", sec)
        reply = await boot(ws)
        assert reply[0] == 3
        await ws.close()
        tls = peer.events_of("connected", "CP3")[0]["tls"]
        assert tls["authorized"] is True
        assert tls["client_cert"]["subject"]["CN"] == "CP3"

        # no client certificate: the handshake is refused
        _, text = await connect_error(
            peer, "CP3", {"profile": 2, "password": "x", "ca_pem": ca.cert_pem}
        )
        assert "client certificate" in text
        # a certificate from a CA the CSMS does not trust
        _, text = await connect_error(
            peer,
            "CP3",
            {**sec, "client_cert_pem": stranger.chain_pem, "client_key_pem": stranger.key_pem},
        )
        assert "client certificate" in text
        await peer.sync()
        assert len(peer.events_of("connected", "CP3")) == 1


@needs_node
async def test_optional_client_cert_replaces_basic_auth(ca, server_files):
    """--tls-ca without --tls-require-client-cert: a valid certificate or the password."""
    cert, key, ca_path = server_files
    client = ca.issue_client("CPMIX")
    async with OcppRpcPeer(
        protocols=("ocpp1.6",), tls_cert=cert, tls_key=key, tls_ca=ca_path, basic_auth="*:pw"
    ) as peer:
        sec3 = {
            "profile": 3,
            "ca_pem": ca.cert_pem,
            "client_cert_pem": client.chain_pem,
            "client_key_pem": client.key_pem,
        }
        ws = await tiny_connect(peer, "CPMIX", sec3)
        await ws.close()
        ws = await tiny_connect(
            peer, "CPMIX", {"profile": 2, "password": "pw", "ca_pem": ca.cert_pem}
        )
        await ws.close()
        exc, text = await connect_error(
            peer, "CPMIX", {"profile": 2, "password": "bad", "ca_pem": ca.cert_pem}
        )
        assert isinstance(exc, InvalidStatus) and "401" in text


def test_peer_tls_options_are_checked():
    with pytest.raises(ValueError):
        OcppRpcPeer(tls_cert="a.crt")
    with pytest.raises(ValueError):
        OcppRpcPeer(tls_ca="ca.crt")
    with pytest.raises(ValueError):
        OcppRpcPeer(tls_cert="a", tls_key="b", require_client_cert=True)
    with pytest.raises(ValueError):
        OcppRpcPeer(basic_auth="no-colon")
    assert OcppRpcPeer(basic_auth={"A": "1", "B": "2"}).basic_auth == [("A", "1"), ("B", "2")]
    assert OcppRpcPeer().tls is False


# -------------------------------------------------------------------- certificate store --


def ocsp_ids(cert: x509.Certificate, issuer: x509.Certificate) -> dict[str, str]:
    """The expected hash data, computed independently through cryptography's OCSP CertID."""
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
    return {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": req.issuer_name_hash.hex(),
        "issuerKeyHash": req.issuer_key_hash.hex(),
        "serialNumber": format(req.serial_number, "x"),
    }


def test_install_list_and_delete_with_spec_hash_data(ca, other_ca):
    store = CertificateStore()
    assert store.install("CentralSystemRootCertificate", ca.cert_pem, wall_time()) == "Accepted"
    assert (
        store.install("ManufacturerRootCertificate", other_ca.cert_pem, wall_time()) == "Accepted"
    )
    assert (
        store.install("CentralSystemRootCertificate", ca.cert_pem, wall_time()) == "Accepted"
    )  # no dup

    ids = store.installed_ids(["CentralSystemRootCertificate"])
    assert ids == [
        {
            "certificateType": "CentralSystemRootCertificate",
            "certificateHashData": ocsp_ids(ca.cert, ca.cert),
        }
    ]
    hash_data = ids[0]["certificateHashData"]
    # recompute by hand too: SHA-256 of the DER issuer name and of the issuer's EC point
    name_der = ca.cert.issuer.public_bytes()
    point = ca.key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert hash_data["issuerNameHash"] == hashes_hex(name_der)
    assert hash_data["issuerKeyHash"] == hashes_hex(point)
    assert hash_data["serialNumber"] == hex(ca.cert.serial_number)[2:]
    assert not hash_data["serialNumber"].startswith("0")

    assert [e["certificateType"] for e in store.installed_ids(None)] == [
        "CentralSystemRootCertificate",
        "ManufacturerRootCertificate",
    ]
    assert store.installed_ids(["V2GRootCertificate"]) == []
    assert store.csms_ca_pem() == ca.cert_pem

    # DeleteCertificate: upper-case hex and leading zeros in the serial still match
    request = {
        **hash_data,
        "issuerNameHash": hash_data["issuerNameHash"].upper(),
        "serialNumber": "00" + hash_data["serialNumber"].upper(),
    }
    assert store.delete(request) == "Accepted"
    assert store.delete(request) == "NotFound"
    assert store.installed_ids(["CentralSystemRootCertificate"]) == []
    assert store.delete({**hash_data, "hashAlgorithm": "MD5"}) == "Failed"
    assert store.delete({"hashAlgorithm": "SHA256"}) == "Failed"


def hashes_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize().hex()


def test_rsa_root_hash_data_matches_ocsp():
    root = CertificateStore()
    rsa_ca = CertAuthority.generate("RSA Root", rsa=True)
    assert root.install("CSMSRootCertificate", rsa_ca.cert_pem, wall_time()) == "Accepted"
    entry = root.installed_ids(["CSMSRootCertificate"])[0]
    assert entry["certificateHashData"] == ocsp_ids(rsa_ca.cert, rsa_ca.cert)


def test_delete_with_sha384_hash_data(ca):
    store = CertificateStore()
    store.install("V2GRootCertificate", ca.cert_pem, wall_time())
    req = ocsp.OCSPRequestBuilder().add_certificate(ca.cert, ca.cert, hashes.SHA384()).build()
    hash_data = {
        "hashAlgorithm": "SHA384",
        "issuerNameHash": req.issuer_name_hash.hex(),
        "issuerKeyHash": req.issuer_key_hash.hex(),
        "serialNumber": format(req.serial_number, "x"),
    }
    assert store.delete(hash_data) == "Accepted"


def test_sub_ca_is_hashed_with_its_issuers_key(ca):
    sub = ca.issue_sub_ca("VoltLab Sub CA")
    pem = sub.cert.public_bytes(serialization.Encoding.PEM).decode()
    store = CertificateStore()
    store.install("MORootCertificate", ca.cert_pem, wall_time())
    assert store.install("MORootCertificate", pem, wall_time()) == "Accepted"
    entries = store.installed_ids(["MORootCertificate"])
    assert entries[1]["certificateHashData"] == ocsp_ids(sub.cert, ca.cert)
    assert store.delete(entries[1]["certificateHashData"]) == "Accepted"
    assert len(store.installed_ids()) == 1


def test_install_rejects_what_is_not_a_ca_certificate(ca):
    store = CertificateStore()
    leaf = ca.issue_client("CP")
    assert store.install("CentralSystemRootCertificate", leaf.cert_pem, wall_time()) == "Rejected"
    assert store.install("CentralSystemRootCertificate", "garbage", wall_time()) == "Rejected"
    assert store.install("CentralSystemRootCertificate", "", wall_time()) == "Rejected"
    assert store.install("NoSuchType", ca.cert_pem, wall_time()) == "Rejected"
    two = ca.cert_pem + CertAuthority.generate("Second").cert_pem
    assert store.install("CentralSystemRootCertificate", two, wall_time()) == "Rejected"
    assert store.installed_ids() == []


def test_install_fails_when_the_store_is_full(ca, other_ca):
    store = CertificateStore(max_certificates=1)
    assert store.install("ManufacturerRootCertificate", ca.cert_pem, wall_time()) == "Accepted"
    assert store.install("ManufacturerRootCertificate", other_ca.cert_pem, wall_time()) == "Failed"


def test_certificate_types_cover_both_versions():
    assert CERTIFICATE_TYPES_16 == ("CentralSystemRootCertificate", "ManufacturerRootCertificate")
    assert set(CERTIFICATE_TYPES_201) == {
        "V2GRootCertificate",
        "MORootCertificate",
        "CSMSRootCertificate",
        "ManufacturerRootCertificate",
    }


def test_make_csr_gives_p256_key_and_subject():
    csr_pem, key_pem = make_csr("CP-CSR", "VoltLab Org")
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP-CSR"
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "VoltLab Org"
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert csr.public_key().public_numbers() == key.public_key().public_numbers()


def test_accept_signed_certificate_checks_key_and_chain(ca, other_ca):
    csr_pem, key_pem = make_csr("CP-SIGN", "VoltLab")
    assert accept_signed_certificate(ca.sign_csr(csr_pem), key_pem, wall_time())

    _, other_key = make_csr("CP-SIGN", "VoltLab")
    assert not accept_signed_certificate(
        ca.sign_csr(csr_pem), other_key, wall_time()
    )  # key mismatch
    assert not accept_signed_certificate("not a chain", key_pem, wall_time())

    sub = ca.issue_sub_ca("Sub")
    chain = sub.sign_csr(csr_pem)  # leaf + sub CA
    assert len(x509.load_pem_x509_certificates(chain.encode())) == 2
    assert accept_signed_certificate(chain, key_pem, wall_time())
    leaf_only = x509.load_pem_x509_certificates(chain.encode())[0]
    broken = leaf_only.public_bytes(serialization.Encoding.PEM).decode() + other_ca.cert_pem
    assert not accept_signed_certificate(
        broken, key_pem, wall_time()
    )  # second is not the leaf's issuer


def test_accept_signed_certificate_refuses_an_expired_leaf(ca):
    csr_pem, key_pem = make_csr("CP-OLD", "VoltLab")
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca.cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=10))
        .not_valid_after(now - dt.timedelta(days=1))
        .sign(ca.key, hashes.SHA256())
    )
    assert not accept_signed_certificate(
        cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem, wall_time()
    )


@needs_node
async def test_csr_round_trip_then_profile_3_with_the_signed_certificate(ca, server_files):
    store = CertificateStore()
    assert store.install("CentralSystemRootCertificate", ca.cert_pem, wall_time()) == "Accepted"
    csr_pem = store.new_csr("CP-RT", "VoltLab")
    assert store.has_pending_csr()
    assert not store.certificate_signed(
        ca.issue_client("CP-RT").chain_pem, now=wall_time()
    )  # not our key
    assert store.certificate_signed(ca.sign_csr(csr_pem), now=wall_time())
    assert not store.has_pending_csr()
    chain_pem, key_pem = store.client_credentials()

    # the station's own certificate may not be deleted
    leaf = x509.load_pem_x509_certificates(chain_pem.encode())[0]
    assert store.delete(ocsp_ids(leaf, ca.cert)) == "Failed"

    # persisted and restored, the store still drives a mutual-TLS connection
    restored = CertificateStore.from_snapshot(json.loads(json.dumps(store.snapshot())))
    assert restored.installed_ids() == store.installed_ids()
    chain2, key2 = restored.client_credentials()
    cert, key, ca_path = server_files
    async with OcppRpcPeer(
        protocols=("ocpp1.6",), tls_cert=cert, tls_key=key, tls_ca=ca_path, require_client_cert=True
    ) as peer:
        sec = {
            "profile": 3,
            "ca_pem": restored.csms_ca_pem(),
            "client_cert_pem": chain2,
            "client_key_pem": key2,
        }
        ws = await tiny_connect(peer, "CP-RT", sec)
        assert (await boot(ws))[0] == 3
        await ws.close()
        assert peer.events_of("connected", "CP-RT")[0]["tls"]["client_cert"]["subject"] == {
            "CN": "CP-RT",
            "O": "VoltLab",
        }


def test_renewal_with_the_same_key_and_v2g_chain_listing(ca):
    store = CertificateStore()
    csr_pem = store.new_csr("CP-V2G", "VoltLab", "V2GCertificate")
    sub = ca.issue_sub_ca("V2G Sub CA")
    assert store.certificate_signed(sub.sign_csr(csr_pem), "V2GCertificate", now=wall_time())
    # a renewal signed for the key the station already has is accepted too
    assert store.certificate_signed(sub.sign_csr(csr_pem), "V2GCertificate", now=wall_time())
    store.install("V2GRootCertificate", ca.cert_pem, wall_time())
    entries = store.installed_ids(["V2GCertificateChain"])
    assert len(entries) == 1
    chain = x509.load_pem_x509_certificates(store.client_credentials("V2GCertificate")[0].encode())
    assert entries[0]["certificateHashData"] == ocsp_ids(chain[0], sub.cert)
    assert entries[0]["childCertificateHashData"] == [ocsp_ids(sub.cert, ca.cert)]
    with pytest.raises(ValueError):
        store.new_csr("CP", "O", "CentralSystemRootCertificate")


def test_snapshot_restores_an_empty_store():
    store = CertificateStore(max_certificates=5)
    data = json.loads(json.dumps(store.snapshot()))
    assert CertificateStore.from_snapshot(data).snapshot() == store.snapshot()
    assert CertificateStore.from_snapshot(None).installed_ids() == []


# ------------------------------------------------------------------------ security events --


def test_security_events_match_the_201_enum_after_renaming():
    from ocpp.v201.enums import SecurityEventType

    assert {security_event_type(e, "ocpp2.0.1") for e in SECURITY_EVENTS} == {
        e.value for e in SecurityEventType
    }
    for name in (
        "FirmwareUpdated",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "InvalidCentralSystemCertificate",
        "InvalidChargePointCertificate",
        "ReconfigurationOfSecurityParameters",
        "AttemptedReplayAttacks",
    ):
        assert name in SECURITY_EVENTS
    assert security_event_type("InvalidCentralSystemCertificate", "ocpp2.0.1") == (
        "InvalidCsmsCertificate"
    )
    assert security_event_type("InvalidCsmsCertificate", "ocpp1.6") == (
        "InvalidCentralSystemCertificate"
    )
    assert security_event_type("ResetOrReboot", "ocpp2.1") == "ResetOrReboot"
    with pytest.raises(ValueError):
        security_event_type("NoSuchEvent", "ocpp1.6")


def test_critical_events():
    assert set(SECURITY_EVENTS) >= CRITICAL_SECURITY_EVENTS
    assert is_critical_security_event("StartupOfTheDevice")
    assert not is_critical_security_event("InvalidCsmsCertificate")
