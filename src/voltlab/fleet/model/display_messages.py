"""Messages the CSMS asks a station to show on its display (OCPP 2.0.1 functional block O,
reused by 2.1): stored by id, valid between their start and end time, tied to a station state
or to one transaction, and ranked by priority for the screen.

Version-neutral and free of I/O: every operation takes `now` (POSIX seconds) from the caller.
The words are OCPP's (MessagePriorityEnumType, MessageStateEnumType, MessageFormatEnumType)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from voltlab.fleet.model.device_model_types import ComponentRef

ALWAYS_FRONT, IN_FRONT, NORMAL_CYCLE = "AlwaysFront", "InFront", "NormalCycle"
PRIORITIES = (ALWAYS_FRONT, IN_FRONT, NORMAL_CYCLE)  # first: shown before the others
CHARGING, FAULTED, IDLE, UNAVAILABLE = "Charging", "Faulted", "Idle", "Unavailable"
STATES = (CHARGING, FAULTED, IDLE, UNAVAILABLE)
FORMATS = ("ASCII", "HTML", "URI", "UTF8")
# Messages one station stores (DisplayMessageCtrlr.DisplayMessages' maxLimit).
CAPACITY = 20


@dataclass(frozen=True, slots=True)
class DisplayMessage:
    id: int
    priority: str
    message_format: str
    content: str
    language: str | None = None
    state: str | None = None  # shown only while the station is in this state
    start: float | None = None
    end: float | None = None
    transaction_id: str | None = None  # shown during that transaction, removed at its end
    display: ComponentRef | None = None  # which display, when the CSMS named one

    def valid_at(self, now: float) -> bool:
        return (self.start is None or self.start <= now) and (self.end is None or now < self.end)

    def snapshot(self) -> dict[str, Any]:
        body = asdict(self)
        body["display"] = None if self.display is None else asdict(self.display)
        return body

    @classmethod
    def restore(cls, body: dict[str, Any]) -> DisplayMessage:
        display = body.get("display")
        fields = {key: value for key, value in body.items() if key != "display"}
        return cls(**fields, display=None if display is None else ComponentRef(**display))


class DisplayMessages:
    """The display messages one station holds, by id."""

    __slots__ = ("_messages", "capacity")

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._messages: dict[int, DisplayMessage] = {}
        self.capacity = capacity

    def __len__(self) -> int:
        return len(self._messages)

    def all(self, now: float) -> list[DisplayMessage]:
        """The messages still stored at `now`, by id (one past its end is gone: O01)."""
        self._expire(now)
        return [self._messages[key] for key in sorted(self._messages)]

    def get(self, message_id: int) -> DisplayMessage | None:
        return self._messages.get(message_id)

    def has_room_for(self, message_id: int) -> bool:
        return message_id in self._messages or len(self._messages) < self.capacity

    def put(self, message: DisplayMessage, now: float) -> None:
        """Store a message; one with the same id is replaced."""
        self._expire(now)
        self._messages[message.id] = message

    def remove(self, message_id: int) -> bool:
        return self._messages.pop(message_id, None) is not None

    def transaction_ended(self, transaction_id: str | int | None) -> list[int]:
        """A message tied to a transaction lives as long as it (O02); returns what went."""
        if transaction_id is None or not self._messages:
            return []
        doomed = [m.id for m in self._messages.values() if m.transaction_id == str(transaction_id)]
        for message_id in doomed:
            del self._messages[message_id]
        return doomed

    def select(
        self,
        now: float,
        ids: Iterable[int] | None = None,
        priority: str | None = None,
        state: str | None = None,
    ) -> list[DisplayMessage]:
        """GetDisplayMessages: the messages matching every criterion given."""
        wanted = None if ids is None else set(ids)
        return [
            message
            for message in self.all(now)
            if (wanted is None or message.id in wanted)
            and (priority is None or message.priority == priority)
            and (state is None or message.state == state)
        ]

    def shown(self, now: float, station_state: str, transaction_ids: set[str]) -> list[int]:
        """What the screen shows now, first to last: messages valid now, for the station's
        state (or any state), for a running transaction (or none); AlwaysFront before InFront
        before NormalCycle, then by id."""
        showing = [
            message
            for message in self.all(now)
            if message.valid_at(now)
            and (message.state is None or message.state == station_state)
            and (message.transaction_id is None or message.transaction_id in transaction_ids)
        ]
        showing.sort(key=lambda m: (PRIORITIES.index(m.priority), m.id))
        return [message.id for message in showing]

    def _expire(self, now: float) -> None:
        expired = [m.id for m in self._messages.values() if m.end is not None and m.end <= now]
        for message_id in expired:
            del self._messages[message_id]

    def snapshot(self) -> list[dict[str, Any]] | None:
        if not self._messages:
            return None
        return [self._messages[key].snapshot() for key in sorted(self._messages)]

    def restore(self, body: list[dict[str, Any]]) -> None:
        self._messages = {}
        for item in body:
            message = DisplayMessage.restore(item)
            self._messages[message.id] = message
