"""OCPP 2.0.1 / 2.1 codec for the local authorization list: SendLocalList and
GetLocalListVersion."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.auth import IdTagInfo
from voltlab.fleet.machine.messages import (
    GetLocalListVersion,
    LocalListVersionAnswer,
    SendLocalList,
    SendLocalListAnswer,
)
from voltlab.ocpp.vocabulary.authorization import authorization_from_2x


def decode_send_local_list(payload: dict[str, Any]) -> SendLocalList:
    entries = tuple(
        (
            e["idToken"]["idToken"],
            IdTagInfo(*authorization_from_2x(e["idTokenInfo"])) if e.get("idTokenInfo") else None,
        )
        for e in payload.get("localAuthorizationList") or []
    )
    return SendLocalList(payload["versionNumber"], payload["updateType"], entries)


def encode_send_local_list_answer(answer: SendLocalListAnswer) -> dict[str, Any]:
    return {"status": answer.status}


def decode_get_local_list_version(payload: dict[str, Any]) -> GetLocalListVersion:
    return GetLocalListVersion()


def encode_local_list_version_answer(answer: LocalListVersionAnswer) -> dict[str, Any]:
    return {"versionNumber": answer.version}
