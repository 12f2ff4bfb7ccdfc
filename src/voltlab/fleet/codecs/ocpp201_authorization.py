"""OCPP 2.0.1 / 2.1 codec for Authorize: an idToken out, an idTokenInfo back."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.machine.messages import AuthorizeAnswer, AuthorizeRequest
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.ocpp.vocabulary.authorization import (
    IdToken2x,
    authorization_from_2x,
    id_token_2x,
)


def station_id_token(value: str, token_type: str | None = None) -> IdToken2x:
    """The station's own tokens are the UIDs its RFID reader reports; a Plug & Charge
    contract's is its eMAID (`token_type`)."""
    return id_token_2x(value, token_type or "ISO14443")


def encode_authorize(message: AuthorizeRequest) -> tuple[str, dict[str, Any]]:
    return "Authorize", {"idToken": station_id_token(message.id_tag)}


def decode_authorize_answer(payload: dict[str, Any]) -> AuthorizeAnswer:
    return AuthorizeAnswer(IdTagInfo(*authorization_from_2x(payload.get("idTokenInfo"))))
