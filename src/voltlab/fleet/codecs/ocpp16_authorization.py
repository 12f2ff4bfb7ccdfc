"""OCPP 1.6 codec for Authorize: an idTag out, an idTagInfo back."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.machine.messages import AuthorizeAnswer, AuthorizeRequest
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.ocpp.vocabulary.authorization import authorization_from_16


def encode_authorize(message: AuthorizeRequest) -> tuple[str, dict[str, Any]]:
    return "Authorize", {"idTag": message.id_tag}


def decode_authorize_answer(payload: dict[str, Any]) -> AuthorizeAnswer:
    return AuthorizeAnswer(IdTagInfo(*authorization_from_16(payload.get("idTagInfo"))))
