"""OCPP security for virtual stations, version-neutral (1.6 security whitepaper, 2.0.1 blocks A/M).

- `connect_kwargs`: what `StationLink` passes to `websockets.asyncio.client.connect` for security
  profiles 0-3 (HTTP Basic auth, TLS with server-certificate validation, mutual TLS).
- `describe_connect_error`: one human sentence for a failed connect (TLS verify failures, handshake
  alerts, 401 from Basic auth), shown in the charger state instead of a traceback.
- `CertificateStore`: the CA certificates a CSMS installs (InstallCertificate,
  GetInstalledCertificateIds, DeleteCertificate) and the station's own key pair and signed
  certificate (SignCertificate / CertificateSigned).

The `security` dict of a station::

    {"profile": 0|1|2|3,
     "password": "...",              # profiles 1 and 2 (HTTP Basic, user = identity)
     "ca_pem": "-----BEGIN ...",      # wss: CA(s) the CSMS certificate must chain to;
                                      #      system CAs when absent
     "client_cert_pem": "...",        # profile 3: certificate (chain), leaf first
     "client_key_pem": "...",         # profile 3: its private key (PEM)
     "client_key_password": "..."}    # optional, for an encrypted key
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import os
import socket
import ssl
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from voltlab.clock import wall_now

__all__ = [
    "CA_CERTIFICATE_TYPES",
    "CERTIFICATE_TYPES_16",
    "CERTIFICATE_TYPES_201",
    "CSMS_ROOT_TYPES",
    "HASH_ALGORITHMS",
    "STATION_CERTIFICATE_TYPES",
    "CertificateStore",
    "SecurityConfigError",
    "accept_signed_certificate",
    "basic_auth_header",
    "build_ssl_context",
    "certificate_hash_data",
    "connect_kwargs",
    "describe_connect_error",
    "make_csr",
    "security_profile",
]


class SecurityConfigError(ValueError):
    """The station's security settings cannot work (wrong URL scheme, missing or bad PEM...)."""


# ------------------------------------------------------------------------------ connecting --


def security_profile(security: Mapping[str, Any] | None) -> int:
    """The configured profile, 0 when absent; `SecurityConfigError` outside 0..3."""
    raw = (security or {}).get("profile", 0)
    try:
        profile = int(raw or 0)
    except (TypeError, ValueError):
        raise SecurityConfigError(f"security profile must be 0, 1, 2 or 3, got {raw!r}") from None
    if profile not in (0, 1, 2, 3):
        raise SecurityConfigError(f"security profile must be 0, 1, 2 or 3, got {profile}")
    return profile


def basic_auth_header(identity: str, password: str | bytes) -> dict[str, str]:
    """`Authorization: Basic base64(identity:password)` (OCPP: the user name is the identity)."""
    secret = password if isinstance(password, bytes) else str(password).encode()
    token = base64.b64encode(identity.encode() + b":" + secret).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def connect_kwargs(security: dict[str, Any] | None, identity: str, url: str) -> dict[str, Any]:
    """Connection options under the station's security profile: `additional_headers`, `ssl`.

    profile 0: nothing (ws://); 1: Basic auth header; 2: TLS (wss:// required) validating the
    CSMS certificate and host name against `ca_pem` (system CAs when absent) plus Basic auth;
    3: mutual TLS with `client_cert_pem` / `client_key_pem`, no Basic auth. A wss:// URL under
    profile 0 or 1 still gets a validating TLS context (with `ca_pem` when given).
    Raises `SecurityConfigError` with a sentence fit for the charger state.
    """
    sec: Mapping[str, Any] = security or {}
    profile = security_profile(sec)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("ws", "wss"):
        raise SecurityConfigError(f"the CSMS URL must start with ws:// or wss://, got {url!r}")
    if profile >= 2 and scheme != "wss":
        raise SecurityConfigError(
            f"security profile {profile} needs TLS: the CSMS URL must start with wss://, "
            f"got {url!r}"
        )
    kwargs: dict[str, Any] = {}
    if profile in (1, 2):
        password = sec.get("password")
        if password is None or password in ("", b""):
            raise SecurityConfigError(
                f"security profile {profile} needs a password for HTTP Basic auth"
            )
        kwargs["additional_headers"] = basic_auth_header(identity, password)
    if scheme == "wss":
        cert = key = None
        if profile == 3:
            cert, key = sec.get("client_cert_pem"), sec.get("client_key_pem")
            if not cert or not key:
                raise SecurityConfigError(
                    "security profile 3 needs a client certificate and key "
                    "(client_cert_pem and client_key_pem)"
                )
        kwargs["ssl"] = build_ssl_context(
            ca_pem=sec.get("ca_pem") or None,
            client_cert_pem=cert,
            client_key_pem=key,
            client_key_password=sec.get("client_key_password") if profile == 3 else None,
        )
    return kwargs


def build_ssl_context(
    ca_pem: str | None = None,
    client_cert_pem: str | None = None,
    client_key_pem: str | None = None,
    client_key_password: str | None = None,
) -> ssl.SSLContext:
    """A client TLS context (TLS >= 1.2, certificate and host-name validation) from PEM text.

    Contexts are cached by their inputs: a fleet reconnecting shares one context instead of
    loading the CA bundle per attempt. Treat the returned context as read-only.
    """
    if (client_cert_pem is None) != (client_key_pem is None):
        raise SecurityConfigError("a client certificate needs its key and vice versa")
    if ca_pem is not None:
        _load_certs(ca_pem, "ca_pem")
    if client_cert_pem is not None and client_key_pem is not None:
        certs = _load_certs(client_cert_pem, "client_cert_pem")
        key = _load_key(client_key_pem, client_key_password, "client_key_pem")
        if _spki(key.public_key()) != _spki(certs[0].public_key()):
            raise SecurityConfigError("the client certificate does not match the client key")
    return _cached_context(ca_pem, client_cert_pem, client_key_pem, client_key_password)


@functools.lru_cache(maxsize=64)
def _cached_context(
    ca_pem: str | None,
    client_cert_pem: str | None,
    client_key_pem: str | None,
    client_key_password: str | None,
) -> ssl.SSLContext:
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_pem)
    except ssl.SSLError as exc:
        raise SecurityConfigError(f"cannot load ca_pem: {exc.reason or exc}") from exc
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # OCPP: TLS 1.2 or later
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if client_cert_pem is not None and client_key_pem is not None:
        _load_client_chain(ctx, client_cert_pem, client_key_pem, client_key_password)
    return ctx


def _load_client_chain(
    ctx: ssl.SSLContext, cert_pem: str, key_pem: str, password: str | None
) -> None:
    # ssl only loads key material from files: a private (0600) temp file, removed at once.
    fd, path = tempfile.mkstemp(prefix="voltlab-client-", suffix=".pem")
    try:
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key_pem.strip() + "\n" + cert_pem.strip() + "\n")
        try:
            ctx.load_cert_chain(path, password=password)
        except ssl.SSLError as exc:
            raise SecurityConfigError(
                f"cannot load the client certificate and key: {exc.reason or exc}"
            ) from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _load_certs(pem: str | bytes, what: str) -> list[x509.Certificate]:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise SecurityConfigError(f"{what} is not a valid PEM certificate: {exc}") from None
    if not certs:
        raise SecurityConfigError(f"{what} holds no certificate")
    return certs


def _load_key(pem: str | bytes, password: str | None, what: str) -> Any:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        return serialization.load_pem_private_key(
            data, password=password.encode() if password else None
        )
    except (ValueError, TypeError) as exc:
        raise SecurityConfigError(f"{what} is not a usable PEM private key: {exc}") from None


def _spki(public_key: Any) -> bytes:
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


# -------------------------------------------------------------------- describing failures --

# OpenSSL X509_V_ERR_* codes
_UNKNOWN_ISSUER = {2, 18, 19, 20, 21}
_HOSTNAME_MISMATCH = {62, 64}
_EXPIRED, _NOT_YET_VALID = 10, 9

# ssl.SSLError.reason -> what the operator should know
_TLS_ALERTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("TLSV13_ALERT_CERTIFICATE_REQUIRED", "PEER_DID_NOT_RETURN_A_CERTIFICATE"),
        "TLS handshake failure: the CSMS requires a client certificate (security profile 3)",
    ),
    (
        ("TLSV1_ALERT_UNKNOWN_CA",),
        "TLS handshake failure: the CSMS does not trust our client certificate "
        "(unknown CA: it is not signed by a CA the CSMS accepts)",
    ),
    (
        (
            "SSLV3_ALERT_BAD_CERTIFICATE",
            "SSLV3_ALERT_CERTIFICATE_EXPIRED",
            "SSLV3_ALERT_CERTIFICATE_REVOKED",
            "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
            "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
            "TLSV1_ALERT_DECRYPT_ERROR",
        ),
        "TLS handshake failure: the CSMS rejected our client certificate",
    ),
    (
        (
            "UNSUPPORTED_PROTOCOL",
            "TLSV1_ALERT_PROTOCOL_VERSION",
            "NO_PROTOCOLS_AVAILABLE",
            "WRONG_SSL_VERSION",
        ),
        "TLS handshake failure: no common TLS version (OCPP needs TLS 1.2 or later)",
    ),
    (
        ("NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE", "NO_SUITABLE_SIGNATURE_ALGORITHM"),
        "TLS handshake failure: no common cipher suite with the CSMS",
    ),
    (
        ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG"),
        "TLS handshake failure: the CSMS does not speak TLS on this port (is it a ws:// endpoint?)",
    ),
    (
        ("SSLV3_ALERT_HANDSHAKE_FAILURE",),
        "TLS handshake failure: the CSMS aborted the handshake "
        "(no common cipher, or a client certificate is required)",
    ),
)


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop(0)
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__]
    return seen


def _reason(exc: BaseException) -> str:
    """An exception's own words, or its type when it has none (a bare ConnectionResetError)."""
    text = str(getattr(exc, "strerror", None) or exc or "").strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _text(exc: BaseException) -> str:
    """An exception's message, or its type name when the message is empty."""
    text = str(exc).strip()
    return text if text and text != "()" else type(exc).__name__


def describe_connect_error(exc: Exception, url: str | None = None) -> str:
    """One sentence for a failed connection attempt, for the charger state. It always names a
    cause: an exception without a message is named by its type."""
    chain = _causes(exc)
    over_tls = url is not None and url.lower().startswith("wss:")

    def first(kind: type[BaseException]) -> Any:
        return next((c for c in chain if isinstance(c, kind)), None)

    if (config := first(SecurityConfigError)) is not None:
        return f"security configuration: {_text(config)}"
    if (verify := first(ssl.SSLCertVerificationError)) is not None:
        return _describe_verify(verify)
    if (status := first(InvalidStatus)) is not None:
        return _describe_status(status)
    if (tls := first(ssl.SSLError)) is not None:
        reason = str(getattr(tls, "reason", "") or "")
        if "CERTIFICATE_VERIFY_FAILED" in reason:
            return _describe_verify(tls)
        for reasons, text in _TLS_ALERTS:
            if reason in reasons:
                return f"{text} [{reason}]"
        return f"TLS handshake failure: {reason or _text(tls)}"
    if (invalid := first(InvalidURI)) is not None:
        reason = invalid.msg or "not a valid ws:// or wss:// URI"
        return f"invalid CSMS URL {invalid.uri!r}: {reason}"
    if (gai := first(socket.gaierror)) is not None:
        return f"cannot resolve the CSMS host name: {gai.strerror or _text(gai)}"
    if first(ConnectionRefusedError) is not None:
        return "cannot reach CSMS: connection refused (nothing listens on that host and port)"
    if first(TimeoutError) is not None:
        return "cannot reach CSMS: timed out while connecting"
    if first(InvalidHandshake) is not None:
        lost = first(EOFError) or first(ConnectionResetError) or first(ConnectionAbortedError)
        if lost is not None:
            return (
                "the CSMS closed the connection during the WebSocket handshake (over TLS this "
                "usually means it requires a client certificate or rejected ours: "
                "security profile 3)"
            )
        return f"invalid WebSocket handshake from the CSMS: {_text(first(InvalidHandshake))}"
    lost = first(ConnectionResetError) or first(EOFError) or first(ConnectionAbortedError)
    if lost is not None and over_tls:
        return (
            "TLS handshake failed: the CSMS closed the connection during the TLS handshake "
            f"({_reason(lost)}); does that port speak TLS (wss://), or is it a ws:// endpoint?"
        )
    if lost is not None:
        return f"cannot reach CSMS: the connection was closed while connecting ({_reason(lost)})"
    if (oserr := first(OSError)) is not None:
        return f"cannot reach CSMS: {oserr.strerror or _reason(oserr)}"
    return _reason(exc)


def _describe_verify(err: BaseException) -> str:
    code = getattr(err, "verify_code", None)
    detail = str(getattr(err, "verify_message", "") or getattr(err, "reason", "") or err)
    if code in _HOSTNAME_MISMATCH:
        return (
            "TLS certificate verify failed: hostname mismatch, the CSMS certificate is not "
            f"valid for the host in the CSMS URL ({detail})"
        )
    if code in _UNKNOWN_ISSUER:
        return (
            "TLS certificate verify failed: the CSMS certificate is signed by an unknown CA "
            f"(check the configured CA certificate, ca_pem) ({detail})"
        )
    if code == _EXPIRED:
        return f"TLS certificate verify failed: the CSMS certificate has expired ({detail})"
    if code == _NOT_YET_VALID:
        return f"TLS certificate verify failed: the CSMS certificate is not yet valid ({detail})"
    return f"TLS certificate verify failed: {detail}"


def _describe_status(exc: InvalidStatus) -> str:
    status = exc.response.status_code
    said = ""
    body = exc.response.body or b""
    with contextlib.suppress(UnicodeDecodeError):
        text = body.decode().strip()
        if text and len(text) <= 200 and text.isprintable():
            said = f"; CSMS says: {text}"
    if status == 401:
        return (
            "CSMS refused the connection: 401 Unauthorized (HTTP Basic auth rejected: check "
            f"the identity and the security password{said})"
        )
    if status == 403:
        return f"CSMS refused the connection: 403 Forbidden{said}"
    if status == 404:
        return f"CSMS refused the connection: 404 Not Found (check the CSMS URL path){said}"
    return f"CSMS refused the WebSocket upgrade with HTTP {status}{said}"


# ------------------------------------------------------------------ certificate management --

CERTIFICATE_TYPES_16 = ("CentralSystemRootCertificate", "ManufacturerRootCertificate")
CERTIFICATE_TYPES_201 = (
    "V2GRootCertificate",
    "MORootCertificate",
    "CSMSRootCertificate",
    "ManufacturerRootCertificate",
)
CA_CERTIFICATE_TYPES = tuple(dict.fromkeys(CERTIFICATE_TYPES_16 + CERTIFICATE_TYPES_201))
# The roots that validate the CSMS's TLS certificate, whatever the version calls them.
CSMS_ROOT_TYPES = ("CentralSystemRootCertificate", "CSMSRootCertificate")
# The station's own certificates (SignCertificate / CertificateSigned); 1.6 only knows the first.
STATION_CERTIFICATE_TYPES = ("ChargingStationCertificate", "V2GCertificate")
# GetInstalledCertificateIds (2.0.1) name for the station's V2G certificate chain.
V2G_CHAIN = "V2GCertificateChain"

HASH_ALGORITHMS: dict[str, Any] = {
    "SHA256": hashlib.sha256,
    "SHA384": hashlib.sha384,
    "SHA512": hashlib.sha512,
}


def _bit_string_value(spki_der: bytes) -> bytes:
    """The subjectPublicKey BIT STRING content of a DER SubjectPublicKeyInfo (unused-bits
    octet dropped): what RFC 6960 CertID.issuerKeyHash, and so OCPP, hashes."""

    def header(buf: bytes, pos: int) -> tuple[int, int, int]:
        tag = buf[pos]
        length = buf[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(buf[pos : pos + count], "big")
            pos += count
        return tag, length, pos

    tag, _, pos = header(spki_der, 0)  # SEQUENCE SubjectPublicKeyInfo
    tag2, length, inner = header(spki_der, pos)  # SEQUENCE AlgorithmIdentifier
    tag3, length, pos = header(spki_der, inner + length)  # BIT STRING subjectPublicKey
    if (tag, tag2, tag3) != (0x30, 0x30, 0x03):
        raise ValueError("not a DER SubjectPublicKeyInfo")
    return spki_der[pos + 1 : pos + length]


def certificate_hash_data(
    cert: x509.Certificate, issuer: x509.Certificate | None = None, algorithm: str = "SHA256"
) -> dict[str, str]:
    """OCPP CertificateHashDataType: hash of the DER issuer name, hash of the issuer's public key
    (the subjectPublicKey bits, as in OCSP), serial number in hex without leading zeros.

    `issuer` defaults to the certificate itself (a root is self-signed)."""
    digest = HASH_ALGORITHMS[algorithm]
    issuer_key = (issuer or cert).public_key()
    return {
        "hashAlgorithm": algorithm,
        "issuerNameHash": digest(cert.issuer.public_bytes()).hexdigest(),
        "issuerKeyHash": digest(_bit_string_value(_spki(issuer_key))).hexdigest(),
        "serialNumber": format(cert.serial_number, "x"),
    }


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _self_signed(cert: x509.Certificate) -> bool:
    return _issued_by(cert, cert)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _currently_valid(cert: x509.Certificate, now: dt.datetime | None = None) -> bool:
    now = now or wall_now()
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def make_csr(identity: str, organization: str) -> tuple[str, str]:
    """A fresh EC P-256 key and a CSR for it with CN=identity, O=organization (SignCertificate).

    Returns (csr_pem, key_pem); the key is unencrypted PKCS#8 PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, identity),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii"), key_pem


def accept_signed_certificate(chain_pem: str, key_pem: str) -> bool:
    """CertificateSigned check: the chain parses, its leaf carries the CSR key's public key, every
    certificate is within its validity period and each is signed by the next one."""
    try:
        chain = _load_certs(chain_pem, "certificateChain")
        key = _load_key(key_pem, None, "key")
    except SecurityConfigError:
        return False
    if _spki(chain[0].public_key()) != _spki(key.public_key()):
        return False
    now = wall_now()
    if not all(_currently_valid(cert, now) for cert in chain):
        return False
    return all(_issued_by(cert, issuer) for cert, issuer in zip(chain, chain[1:], strict=False))


class CertificateStore:
    """The certificates on one virtual station, JSON-able through `snapshot()` / `restore()`.

    CA certificates are kept per certificate type (1.6 and 2.0.1 names, see
    `CA_CERTIFICATE_TYPES`). The station's own key pairs live in slots named after
    `STATION_CERTIFICATE_TYPES`; a slot's private key is in the snapshot (this is a simulator).
    """

    def __init__(self, max_certificates: int | None = None) -> None:
        self.max_certificates = max_certificates  # CertificateStoreMaxLength; None: no limit
        self._ca: list[tuple[str, str]] = []  # (certificate type, PEM), in install order
        self._pending: dict[str, str] = {}  # slot -> key PEM awaiting CertificateSigned
        self._station: dict[str, tuple[str, str]] = {}  # slot -> (chain PEM, key PEM)

    # -- CA certificates (InstallCertificate / GetInstalledCertificateIds / DeleteCertificate) --

    def install(self, cert_type: str, pem: str) -> str:
        """Install one CA certificate: "Accepted", "Rejected" (unknown type, not a PEM
        certificate, not a CA, expired) or "Failed" (store full)."""
        if cert_type not in CA_CERTIFICATE_TYPES:
            return "Rejected"
        try:
            certs = _load_certs(pem, "certificate")
        except SecurityConfigError:
            return "Rejected"
        if len(certs) != 1:
            return "Rejected"
        cert = certs[0]
        if not _is_ca(cert) or not _currently_valid(cert):
            return "Rejected"
        fingerprint = cert.fingerprint(hashes.SHA256())
        for kind, existing in self._ca:
            if (
                kind == cert_type
                and _load_certs(existing, "stored")[0].fingerprint(hashes.SHA256()) == fingerprint
            ):
                return "Accepted"  # already there: installing again changes nothing
        if self.max_certificates is not None and len(self._ca) >= self.max_certificates:
            return "Failed"
        self._ca.append((cert_type, _to_pem(cert)))
        return "Accepted"

    def certificates(self, types: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """(type, PEM) of the installed CA certificates, all when `types` is empty or None."""
        wanted = set(types or ())
        return [(kind, pem) for kind, pem in self._ca if not wanted or kind in wanted]

    def csms_ca_pem(self) -> str | None:
        """The installed CSMS roots (1.6 and 2.0.1 names) as one PEM bundle, for `ca_pem`."""
        pems = [pem for kind, pem in self._ca if kind in CSMS_ROOT_TYPES]
        return "".join(pems) or None

    def _issuer_of(self, cert: x509.Certificate, pool: list[x509.Certificate]) -> x509.Certificate:
        # A root is its own issuer; an installed sub-CA's issuer is looked up among the stored
        # certificates. Unknown issuer: fall back to the certificate itself, so the ids stay
        # stable and DeleteCertificate with them still matches.
        if _self_signed(cert):
            return cert
        return next((c for c in pool if c is not cert and _issued_by(cert, c)), cert)

    def _hash_data(
        self, cert: x509.Certificate, pool: list[x509.Certificate], algorithm: str = "SHA256"
    ) -> dict[str, str]:
        return certificate_hash_data(cert, self._issuer_of(cert, pool), algorithm)

    def installed_ids(self, types: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """One {"certificateType", "certificateHashData"} per installed certificate of `types`
        (all when empty/None): the 2.0.1 CertificateHashDataChainType shape; 1.6 takes the
        "certificateHashData" of each. "V2GCertificateChain" lists the station's V2G certificate
        with its sub-CAs as "childCertificateHashData"."""
        wanted = list(types or ())
        pool = [_load_certs(pem, "stored")[0] for _, pem in self._ca]
        out: list[dict[str, Any]] = []
        for (kind, _), cert in zip(self._ca, pool, strict=True):
            if not wanted or kind in wanted:
                out.append(
                    {"certificateType": kind, "certificateHashData": self._hash_data(cert, pool)}
                )
        if (not wanted or V2G_CHAIN in wanted) and "V2GCertificate" in self._station:
            chain = _load_certs(self._station["V2GCertificate"][0], "stored")
            full = chain + pool
            entry: dict[str, Any] = {
                "certificateType": V2G_CHAIN,
                "certificateHashData": self._hash_data(chain[0], full),
            }
            if len(chain) > 1:
                entry["childCertificateHashData"] = [self._hash_data(c, full) for c in chain[1:]]
            out.append(entry)
        return out

    def delete(self, hash_data: Mapping[str, Any]) -> str:
        """DeleteCertificate: "Accepted" (removed), "NotFound", or "Failed" (malformed hash data,
        unsupported hash algorithm, or the station's own certificate, which may not be deleted)."""
        try:
            algorithm = str(hash_data["hashAlgorithm"])
            name_hash = str(hash_data["issuerNameHash"]).lower()
            key_hash = str(hash_data["issuerKeyHash"]).lower()
            serial = str(hash_data["serialNumber"]).lower().lstrip("0") or "0"
        except (KeyError, TypeError):
            return "Failed"
        if algorithm not in HASH_ALGORITHMS:
            return "Failed"

        def matches(cert: x509.Certificate, pool: list[x509.Certificate]) -> bool:
            data = self._hash_data(cert, pool, algorithm)
            return (
                data["issuerNameHash"] == name_hash
                and data["issuerKeyHash"] == key_hash
                and data["serialNumber"] == serial
            )

        pool = [_load_certs(pem, "stored")[0] for _, pem in self._ca]
        for chain_pem, _ in self._station.values():
            leaf = _load_certs(chain_pem, "stored")[0]
            if matches(leaf, _load_certs(chain_pem, "stored") + pool):
                return "Failed"
        keep = [
            entry for entry, cert in zip(self._ca, pool, strict=True) if not matches(cert, pool)
        ]
        if len(keep) == len(self._ca):
            return "NotFound"
        self._ca = keep
        return "Accepted"

    # -- the station's own certificate (SignCertificate / CertificateSigned) --

    def new_csr(
        self, identity: str, organization: str, cert_type: str = "ChargingStationCertificate"
    ) -> str:
        """A CSR for a new key pair in slot `cert_type`; the key waits for CertificateSigned."""
        if cert_type not in STATION_CERTIFICATE_TYPES:
            raise ValueError(
                f"certificate type must be one of {', '.join(STATION_CERTIFICATE_TYPES)}"
            )
        csr_pem, key_pem = make_csr(identity, organization)
        self._pending[cert_type] = key_pem
        return csr_pem

    def certificate_signed(
        self, chain_pem: str, cert_type: str = "ChargingStationCertificate"
    ) -> bool:
        """Install a signed chain if it fits the pending CSR key (or the slot's current key, for
        a renewal with the same key). False: reject it (and report InvalidChargePointCertificate).
        """
        candidates = [self._pending.get(cert_type)]
        if cert_type in self._station:
            candidates.append(self._station[cert_type][1])
        for key_pem in candidates:
            if key_pem and accept_signed_certificate(chain_pem, key_pem):
                chain = "".join(_to_pem(c) for c in _load_certs(chain_pem, "certificateChain"))
                self._station[cert_type] = (chain, key_pem)
                if self._pending.get(cert_type) == key_pem:
                    del self._pending[cert_type]
                return True
        return False

    def client_credentials(
        self, cert_type: str = "ChargingStationCertificate"
    ) -> tuple[str, str] | None:
        """(chain PEM, key PEM) of the station's signed certificate, for profile 3."""
        return self._station.get(cert_type)

    def has_pending_csr(self, cert_type: str = "ChargingStationCertificate") -> bool:
        return cert_type in self._pending

    # -- persistence --

    def snapshot(self) -> dict[str, Any]:
        return {
            "max_certificates": self.max_certificates,
            "ca": [{"type": kind, "pem": pem} for kind, pem in self._ca],
            "pending": dict(self._pending),
            "station": {
                slot: {"chain_pem": chain, "key_pem": key}
                for slot, (chain, key) in self._station.items()
            },
        }

    def restore(self, data: Mapping[str, Any] | None) -> None:
        data = data or {}
        self.max_certificates = data.get("max_certificates", self.max_certificates)
        self._ca = [(str(e["type"]), str(e["pem"])) for e in data.get("ca", [])]
        self._pending = {str(k): str(v) for k, v in (data.get("pending") or {}).items()}
        self._station = {
            str(slot): (str(v["chain_pem"]), str(v["key_pem"]))
            for slot, v in (data.get("station") or {}).items()
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any] | None) -> CertificateStore:
        store = cls()
        store.restore(data)
        return store
