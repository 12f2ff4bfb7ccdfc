"""OCPP 1.6 codec for configuration: ChangeConfiguration and GetConfiguration (KeyValue
entries; a write-only key is listed without its value)."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.configuration_messages import (
    ChangeConfiguration,
    ChangeConfigurationAnswer,
    ConfigurationAnswer,
    GetConfiguration,
)
from voltlab.fleet.model.config import ConfigurationEntry


class KeyValue(TypedDict):
    key: str
    readonly: bool
    value: NotRequired[str]


class GetConfigurationConf(TypedDict):
    configurationKey: list[KeyValue]
    unknownKey: NotRequired[list[str]]


def decode_change_configuration(payload: dict[str, Any]) -> ChangeConfiguration:
    return ChangeConfiguration(payload["key"], payload["value"])


def encode_change_configuration_answer(answer: ChangeConfigurationAnswer) -> dict[str, Any]:
    return {"status": answer.status}


def decode_get_configuration(payload: dict[str, Any]) -> GetConfiguration:
    keys = payload.get("key")
    return GetConfiguration(None if keys is None else tuple(keys))


def _key_value(entry: ConfigurationEntry) -> KeyValue:
    body: KeyValue = {"key": entry.key, "readonly": entry.readonly}
    if entry.value is not None:
        body["value"] = entry.value
    return body


def encode_configuration_answer(answer: ConfigurationAnswer) -> GetConfigurationConf:
    body: GetConfigurationConf = {"configurationKey": [_key_value(e) for e in answer.entries]}
    if answer.unknown:
        body["unknownKey"] = list(answer.unknown)
    return body


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "ChangeConfiguration": RequestCodec(
        decode_change_configuration, encode_change_configuration_answer
    ),
    "GetConfiguration": RequestCodec(decode_get_configuration, encode_configuration_answer),
}
