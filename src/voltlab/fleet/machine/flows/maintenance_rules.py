"""What the maintenance flows decide without I/O: which locations this lab may reach, whether a
signing certificate is a PEM X.509 certificate, the version an installed image reports, and
the pacing of the simulated steps (simulated seconds)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_ALLOWED_HOSTS = frozenset({"127.0.0.1"})
MAX_FIRMWARE_BYTES = 50 * 1024 * 1024
FIRMWARE_VERSION_MAX_LENGTH = 50  # BootNotification firmwareVersion, 1.6 and 2.0.1
RECENT_LINES = 500  # frame log lines a diagnostics upload carries

_VERSION_IN_NAME = re.compile(r"\d+(?:\.\d+)+(?:-[0-9A-Za-z]+)?")
_PEM_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----(?P<body>[A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----"
)


@dataclass(frozen=True)
class MaintenancePacing:
    """How long the simulated steps take, in simulated seconds, and what may be fetched."""

    download_seconds: float = 5.0
    verify_seconds: float = 2.0
    install_seconds: float = 10.0
    collect_seconds: float = 2.0
    upload_seconds: float = 3.0
    max_firmware_bytes: int = MAX_FIRMWARE_BYTES
    allowed_hosts: frozenset[str] = DEFAULT_ALLOWED_HOSTS


def location_problem(
    location: str, allowed_hosts: frozenset[str] = DEFAULT_ALLOWED_HOSTS
) -> str | None:
    """Why this lab will not fetch from or upload to `location`, or None if it may. A CSMS
    cannot point a virtual station at the outside world."""
    try:
        parts = urlsplit(location)
        host = parts.hostname
    except ValueError as exc:
        return f"malformed location {location!r}: {exc}"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        scheme = parts.scheme or "(none)"
        return f"scheme {scheme!r} is not supported; use http:// or https://"
    if host is None or host not in allowed_hosts:
        hosts = ", ".join(sorted(allowed_hosts))
        return f"host {host!r} is not reachable from the lab (allowed: {hosts})"
    return None


def certificate_problem(signing_certificate: str | None) -> str | None:
    """Why `signing_certificate` is not a PEM X.509 certificate (chain), or None if it is.

    Checks the PEM armour, the base64 and the outer DER structure (a certificate SEQUENCE that
    starts with the tbsCertificate SEQUENCE). The signature itself is not verified
    cryptographically: the lab has no firmware signing key infrastructure to verify against."""
    if not signing_certificate or not signing_certificate.strip():
        return "no signing certificate"
    blocks = list(_PEM_CERTIFICATE.finditer(signing_certificate))
    if not blocks:
        return "signing certificate is not PEM (no BEGIN/END CERTIFICATE block)"
    for index, block in enumerate(blocks, start=1):
        compact = "".join(block.group("body").split())
        try:
            der = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            return f"certificate {index}: invalid base64"
        if not _is_der_certificate(der):
            return f"certificate {index}: not a DER-encoded X.509 certificate"
    return None


def signature_problem(signature: str | None, signing_certificate: str | None) -> str | None:
    if signature is None or not signature.strip():
        return "no firmware signature"
    return certificate_problem(signing_certificate)


def _is_der_certificate(der: bytes) -> bool:
    if len(der) < 4 or der[0] != 0x30:
        return False
    length_byte = der[1]
    if length_byte < 0x80:
        header, length = 2, length_byte
    else:
        count = length_byte & 0x7F
        if count == 0 or count > 4 or len(der) < 2 + count:
            return False
        header, length = 2 + count, int.from_bytes(der[2 : 2 + count], "big")
    return header + length == len(der) and header < len(der) and der[header] == 0x30


def firmware_version_from(location: str, content: bytes) -> str:
    """The version a station reports after installing this image: the dotted version in the
    file name if there is one (fw-1.5.0.bin -> 1.5.0), else the file's stem plus a short hash
    of its content, so two different images never report the same version."""
    digest = hashlib.sha256(content).hexdigest()
    file_name = unquote(urlsplit(location).path.rsplit("/", 1)[-1])
    match = _VERSION_IN_NAME.search(file_name)
    if match:
        version = match.group(0)
    elif file_name:
        stem = file_name.split(".", 1)[0] or "firmware"
        version = f"{stem}-{digest[:8]}"
    else:
        version = digest[:12]
    return version[:FIRMWARE_VERSION_MAX_LENGTH]
