"""The local list's shape, shared by OCPP 1.6 and 2.x: SendLocalList and GetLocalListVersion
carry the same structure in both; only the words differ (`LocalListWords`), so each version's
codec is its words plus these functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.messages import (
    GetLocalListVersion,
    LocalListVersionAnswer,
    SendLocalList,
    SendLocalListAnswer,
)
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.ocpp.vocabulary.authorization import Authorization


@dataclass(frozen=True)
class LocalListWords:
    """How a version spells the list: its version field, an entry's id token and the field
    of an entry's authorization, read by `authorization`."""

    version_field: str
    id_token: Callable[[dict[str, Any]], str]
    info_field: str
    authorization: Callable[[Mapping[str, Any] | None], Authorization]


def decode_send_local_list(words: LocalListWords, payload: dict[str, Any]) -> SendLocalList:
    entries = tuple(
        (words.id_token(entry), _info(words, entry.get(words.info_field)))
        for entry in payload.get("localAuthorizationList") or []
    )
    return SendLocalList(payload[words.version_field], payload["updateType"], entries)


def _info(words: LocalListWords, body: dict[str, Any] | None) -> IdTagInfo | None:
    # No info: the entry removes its id tag (Differential).
    return IdTagInfo(*words.authorization(body)) if body else None


def encode_send_local_list_answer(answer: SendLocalListAnswer) -> dict[str, Any]:
    return {"status": answer.status}


def decode_get_local_list_version(payload: dict[str, Any]) -> GetLocalListVersion:
    return GetLocalListVersion()


def encode_local_list_version_answer(
    words: LocalListWords, answer: LocalListVersionAnswer
) -> dict[str, Any]:
    return {words.version_field: answer.version}


@dataclass(frozen=True)
class LocalListCodec:
    """One version's local-list codec: the shared functions bound to its words."""

    decode_send_local_list: Callable[[dict[str, Any]], SendLocalList]
    encode_send_local_list_answer: Callable[[SendLocalListAnswer], dict[str, Any]]
    decode_get_local_list_version: Callable[[dict[str, Any]], GetLocalListVersion]
    encode_local_list_version_answer: Callable[[LocalListVersionAnswer], dict[str, Any]]

    @classmethod
    def speaking(cls, words: LocalListWords) -> LocalListCodec:
        return cls(
            partial(decode_send_local_list, words),
            encode_send_local_list_answer,
            decode_get_local_list_version,
            partial(encode_local_list_version_answer, words),
        )

    @property
    def requests(self) -> dict[str, RequestCodec]:
        """The CSMS requests this codec reads, by action (codecs/request_codec.py)."""
        return {
            "SendLocalList": RequestCodec(
                self.decode_send_local_list, self.encode_send_local_list_answer
            ),
            "GetLocalListVersion": RequestCodec(
                self.decode_get_local_list_version, self.encode_local_list_version_answer
            ),
        }
