"""Neutral display-message messages of the station machine (OCPP 2.0.1 functional block O,
reused by 2.1): SetDisplayMessage, GetDisplayMessages, ClearDisplayMessage with their answers,
and the NotifyDisplayMessages pages that answer GetDisplayMessages. The messages themselves
are the model's (`fleet/model/display_messages.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voltlab.fleet.model.display_messages import DisplayMessage


@dataclass(frozen=True)
class SetDisplayMessage:
    message: DisplayMessage


@dataclass(frozen=True)
class SetDisplayMessageAnswer:
    status: Literal[
        "Accepted",
        "NotSupportedMessageFormat",
        "Rejected",
        "NotSupportedPriority",
        "NotSupportedState",
        "UnknownTransaction",
    ]
    reason_code: str | None = None
    info: str = ""


@dataclass(frozen=True)
class GetDisplayMessages:
    request_id: int
    ids: tuple[int, ...] | None
    priority: str | None
    state: str | None


@dataclass(frozen=True)
class ClearDisplayMessage:
    message_id: int


@dataclass(frozen=True)
class DisplayMessagesAnswer:
    """GetDisplayMessages' and ClearDisplayMessage's answer."""

    status: Literal["Accepted", "Unknown"]


@dataclass(frozen=True)
class DisplayMessagesPage:
    """One NotifyDisplayMessages of the request `request_id`."""

    request_id: int
    messages: tuple[DisplayMessage, ...]
    more_follow: bool


DisplayRequest = SetDisplayMessage | GetDisplayMessages | ClearDisplayMessage
DisplayAnswer = SetDisplayMessageAnswer | DisplayMessagesAnswer
