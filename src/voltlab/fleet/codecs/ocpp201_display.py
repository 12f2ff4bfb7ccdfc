"""OCPP 2.0.1 / 2.1 codec for display messages (functional block O): SetDisplayMessage,
GetDisplayMessages, ClearDisplayMessage and the NotifyDisplayMessages pages (MessageInfoType,
MessageContentType). 2.1's additions (the QRCODE format, the Suspended and Discharging states)
are read as they come: the station answers NotSupported* for what it does not show."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from voltlab.fleet.codecs.ocpp201_device_model import (
    ADDITIONAL_INFO_MAX_LENGTH,
    ComponentType,
    decode_component,
    encode_component,
)
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.display_requests import (
    ClearDisplayMessage,
    DisplayMessagesAnswer,
    DisplayMessagesPage,
    GetDisplayMessages,
    SetDisplayMessage,
    SetDisplayMessageAnswer,
)
from voltlab.fleet.model.display_messages import DisplayMessage
from voltlab.ocpp.vocabulary.timestamps import format_timestamp, parse_timestamp

Payload = dict[str, Any]


class MessageContentType(TypedDict):
    format: str
    content: str
    language: NotRequired[str]


class MessageInfoType(TypedDict):
    id: int
    priority: str
    message: MessageContentType
    state: NotRequired[str]
    startDateTime: NotRequired[str]
    endDateTime: NotRequired[str]
    transactionId: NotRequired[str]
    display: NotRequired[ComponentType]


def _time(text: str | None) -> float | None:
    return None if text is None else parse_timestamp(text)


def decode_message_info(info: MessageInfoType) -> DisplayMessage:
    content = info["message"]
    display = info.get("display")
    return DisplayMessage(
        id=int(info["id"]),
        priority=info["priority"],
        message_format=content["format"],
        content=content["content"],
        language=content.get("language"),
        state=info.get("state"),
        start=_time(info.get("startDateTime")),
        end=_time(info.get("endDateTime")),
        transaction_id=info.get("transactionId"),
        display=None if display is None else decode_component(display),
    )


def encode_message_info(message: DisplayMessage) -> MessageInfoType:
    content: MessageContentType = {"format": message.message_format, "content": message.content}
    if message.language is not None:
        content["language"] = message.language
    body: MessageInfoType = {"id": message.id, "priority": message.priority, "message": content}
    if message.state is not None:
        body["state"] = message.state
    if message.start is not None:
        body["startDateTime"] = format_timestamp(message.start)
    if message.end is not None:
        body["endDateTime"] = format_timestamp(message.end)
    if message.transaction_id is not None:
        body["transactionId"] = message.transaction_id
    if message.display is not None:
        body["display"] = encode_component(message.display)
    return body


def decode_set_display_message(payload: Payload) -> SetDisplayMessage:
    return SetDisplayMessage(decode_message_info(payload["message"]))


def encode_set_display_message_answer(answer: SetDisplayMessageAnswer) -> Payload:
    body: Payload = {"status": answer.status}
    if answer.reason_code is not None:
        body["statusInfo"] = {
            "reasonCode": answer.reason_code,
            "additionalInfo": answer.info[:ADDITIONAL_INFO_MAX_LENGTH],
        }
    return body


def decode_get_display_messages(payload: Payload) -> GetDisplayMessages:
    ids = payload.get("id")
    return GetDisplayMessages(
        int(payload["requestId"]),
        None if ids is None else tuple(int(message_id) for message_id in ids),
        payload.get("priority"),
        payload.get("state"),
    )


def decode_clear_display_message(payload: Payload) -> ClearDisplayMessage:
    return ClearDisplayMessage(int(payload["id"]))


def encode_display_messages_answer(answer: DisplayMessagesAnswer) -> Payload:
    return {"status": answer.status}


def encode_display_messages_page(page: DisplayMessagesPage) -> tuple[str, Payload]:
    body: Payload = {
        "requestId": page.request_id,
        "messageInfo": [encode_message_info(message) for message in page.messages],
    }
    if page.more_follow:
        body["tbc"] = True
    return "NotifyDisplayMessages", body


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "SetDisplayMessage": RequestCodec(
        decode_set_display_message, encode_set_display_message_answer
    ),
    "GetDisplayMessages": RequestCodec(decode_get_display_messages, encode_display_messages_answer),
    "ClearDisplayMessage": RequestCodec(
        decode_clear_display_message, encode_display_messages_answer
    ),
}
