"""Station authentication for the built-in CSMS: OCPP security profile 1 (HTTP Basic).

Every virtual-CPO charger gets its own random password at provisioning (`new_station_password`);
the CSMS keeps only its sha256 (`hash_station_password`; a 192-bit random secret needs no slow
hash). At the WebSocket handshake `StationAuthenticator.verify` checks the ``Authorization``
header before anything else happens. Its answer is one bit: a missing or malformed header, a
wrong user name or password, an unknown CPO or an unknown identity are all just "no", and the
work done is the same in every case (a hash is compared even for an unknown identity), so the
refusal tells an attacker nothing about which identities exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# OCPP 2.0.1 BasicAuthPassword and the 1.6 security whitepaper's AuthorizationKey: 16 to 40
# characters of passwordString (letters, digits and *-_=:+|@.). token_urlsafe(24) gives 32
# characters of [A-Za-z0-9_-] carrying 192 random bits.
PASSWORD_BYTES = 24
PASSWORD_MIN_LENGTH = 16
PASSWORD_MAX_LENGTH = 40
MAX_AUTHORIZATION_HEADER = 512  # identity (<= 48 in OCPP 2.x, 255 in 1.6) + password, base64

UNAUTHORIZED_BODY = "authentication required"
WWW_AUTHENTICATE = 'Basic realm="voltlab CSMS", charset="UTF-8"'

# Stands in for the stored hash of an identity that has none, so an unknown identity costs the
# same hash and comparison as a known one.
_ABSENT_HASH = hashlib.sha256(b"voltlab: no such station").hexdigest()

PasswordHashLookup = Callable[[str, str], Awaitable[str | None]]  # (cpo_id, identity) -> hash


def new_station_password() -> str:
    """A fresh profile-1 password: 32 URL-safe characters, 192 random bits."""
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    assert PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH
    return password


def hash_station_password(password: str) -> str:
    return hashlib.sha256(password.encode("utf-8")).hexdigest()


def parse_basic_authorization(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic ...`` header; None when absent or
    malformed (other schemes, bad base64, no colon, not UTF-8, oversized)."""
    if not header or len(header) > MAX_AUTHORIZATION_HEADER:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(":")
    if not colon:
        return None
    return user, password


class StationAuthenticator:
    """Checks a station's Basic credentials against the stored password hash."""

    def __init__(self, password_hash: PasswordHashLookup) -> None:
        self._password_hash = password_hash

    async def verify(self, cpo_id: str, identity: str, authorization: str | None) -> bool:
        """True only for the right identity and password of a station that has a credential.

        A lookup that fails counts as no credential (fail closed).
        """
        stored: str | None
        try:
            stored = await self._password_hash(cpo_id, identity)
        except Exception:
            log.exception("credential lookup failed for %s/%s; refusing it", cpo_id, identity)
            stored = None
        parsed = parse_basic_authorization(authorization)
        user, password = parsed if parsed is not None else ("", "")
        # Every branch hashes and compares: the time taken does not depend on which check fails.
        user_ok = hmac.compare_digest(
            user.encode("utf-8", "surrogatepass"), identity.encode("utf-8", "surrogatepass")
        )
        offered = hash_station_password(password)
        password_ok = hmac.compare_digest(offered, stored or _ABSENT_HASH)
        return parsed is not None and stored is not None and user_ok and password_ok
