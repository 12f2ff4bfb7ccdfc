"""Credentials tokens (A, B, C): minting, hashing and the `Authorization: Token ...` header."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

TOKEN_A_PREFIX = "a_"
TOKEN_C_PREFIX = "c_"
# OCPI credentials tokens are string(64) of printable non-whitespace ASCII (U+0021..U+007E).
MAX_TOKEN_LENGTH = 64


def mint_token(prefix: str) -> str:
    # 32 random bytes -> 43 urlsafe characters; with the prefix well under 64.
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_valid_token(token: object) -> bool:
    return (
        isinstance(token, str)
        and 0 < len(token) <= MAX_TOKEN_LENGTH
        and all(0x21 <= ord(char) <= 0x7E for char in token)
    )


def authorization_header(token: str, *, base64_encoded: bool) -> str:
    """2.2.1 sends the token Base64-encoded; 2.1.1 (and many 2.2 peers) send it as is."""
    if base64_encoded:
        return "Token " + base64.b64encode(token.encode("utf-8")).decode("ascii")
    return "Token " + token


def header_token_candidates(header: str | None) -> list[str]:
    """The credentials token(s) an Authorization header may carry.

    Both the plain value and its Base64 decoding are candidates: 2.2.1 requires Base64, 2.1.1
    peers send the token as is, and a plain token can itself be valid Base64. The caller looks
    each candidate up; only a token we minted can match, so trying both is safe.
    """
    if not header:
        return []
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value:
        return []
    candidates = [value]
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return candidates
    if is_valid_token(decoded) and decoded != value:
        candidates.append(decoded)
    return candidates
