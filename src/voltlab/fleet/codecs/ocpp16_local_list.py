"""OCPP 1.6 codec for the local authorization list: SendLocalList and GetLocalListVersion."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.auth import IdTagInfo
from voltlab.fleet.machine.messages import (
    GetLocalListVersion,
    LocalListVersionAnswer,
    SendLocalList,
    SendLocalListAnswer,
)
from voltlab.ocpp.vocabulary.authorization import authorization_from_16


def decode_send_local_list(payload: dict[str, Any]) -> SendLocalList:
    entries = tuple(
        (
            e["idTag"],
            IdTagInfo(*authorization_from_16(e["idTagInfo"])) if e.get("idTagInfo") else None,
        )
        for e in payload.get("localAuthorizationList") or []
    )
    return SendLocalList(payload["listVersion"], payload["updateType"], entries)


def encode_send_local_list_answer(answer: SendLocalListAnswer) -> dict[str, Any]:
    return {"status": answer.status}


def decode_get_local_list_version(payload: dict[str, Any]) -> GetLocalListVersion:
    return GetLocalListVersion()


def encode_local_list_version_answer(answer: LocalListVersionAnswer) -> dict[str, Any]:
    return {"listVersion": answer.version}
