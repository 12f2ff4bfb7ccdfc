"""OCPP security for virtual stations, version-neutral (1.6 security whitepaper, 2.0.1 blocks A/M).

- `connect_kwargs`: what `StationLink` passes to `websockets.asyncio.client.connect` for security
  profiles 0-3 (HTTP Basic auth, TLS with server-certificate validation, mutual TLS).
- `describe_connect_error`: one human sentence for a failed connect (TLS verify failures, handshake
  alerts, 401 from Basic auth), shown in the charger state instead of a traceback.

Certificates themselves (the store, CSRs, hash data) are in `fleet.model.certificates`, which has no
I/O; the security event names in `ocpp.vocabulary.security_events`.

The `security` dict of a station::

    {"profile": 0|1|2|3,
     "password": "...",              # profiles 1 and 2 (HTTP Basic, user = identity)
     "ca_pem": "-----BEGIN ...",      # wss: CA(s) the CSMS certificate must chain to;
                                      #      system CAs when absent
     "client_cert_pem": "...",        # profile 3: certificate (chain), leaf first
     "client_key_pem": "...",         # profile 3: its private key (PEM)
     "client_key_password": "...",    # optional, for an encrypted key
     "tls_csms_url": "wss://..."}     # the CSMS over TLS after a profile upgrade (default:
                                      # the CSMS URL with wss://)
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import socket
import ssl
import tempfile
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from voltlab.fleet.model.certificates import (
    CertificateError,
    load_certificates,
    load_private_key,
    public_key_der,
)

__all__ = [
    "SecurityConfigError",
    "basic_auth_header",
    "build_ssl_context",
    "connect_kwargs",
    "describe_connect_error",
    "raised_security",
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


def raised_security(
    configured: Mapping[str, Any],
    csms_url: str,
    profile: int,
    *,
    csms_ca_pem: str | None,
    client: tuple[str, str] | None = None,
    to: str | None = None,
    password: str | None = None,
) -> tuple[dict[str, Any], str]:
    """The security settings and CSMS URL to connect with after the CSMS raised the profile to
    `profile` (1.6 Security Whitepaper A05; the configured profile: as configured). From
    profile 2 on the connection is TLS to `tls_csms_url` (default: the CSMS URL with wss://),
    the CSMS certificate judged by the CSMS root certificates it installed (`csms_ca_pem`; the
    configured `ca_pem` when none is), Basic auth with the configured password; profile 3
    adds the station's certificate (configured, or the one the CSMS signed: `client`). `to`:
    the URL a 2.x network profile names, used as it is; `password`: the Basic-auth password
    the CSMS set (2.x BasicAuthPassword, a network profile's), instead of the configured one."""
    if profile == security_profile(configured) and to is None and password is None:
        return dict(configured), csms_url
    raised: dict[str, Any] = {**configured, "profile": profile}
    if password is not None:
        raised["password"] = password
    if profile >= 2:
        raised["ca_pem"] = csms_ca_pem or configured.get("ca_pem")
        _, sep, rest = csms_url.partition("://")
        tls_url = configured.get("tls_csms_url")
        csms_url = str(tls_url) if tls_url else ("wss" + sep + rest if sep else csms_url)
    if to is not None:
        csms_url = to
    if profile == 3 and not configured.get("client_cert_pem") and client is not None:
        raised["client_cert_pem"], raised["client_key_pem"] = client
    return raised, csms_url


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
        if public_key_der(key.public_key()) != public_key_der(certs[0].public_key()):
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


def _load_certs(pem: str, what: str) -> list[x509.Certificate]:
    try:
        return load_certificates(pem, what)
    except CertificateError as exc:
        raise SecurityConfigError(str(exc)) from None


def _load_key(pem: str, password: str | None, what: str) -> Any:
    try:
        return load_private_key(pem, password, what)
    except CertificateError as exc:
        raise SecurityConfigError(str(exc)) from None


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
