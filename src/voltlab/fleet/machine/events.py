"""What comes into the station machine. Every event is handled at a `now` the driver passes."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.machine.messages import (
    CsmsRequestMessage,
    GatewayCommandMessage,
    StationAnswerMessage,
)
from voltlab.fleet.model.auth import IdTagInfo


@dataclass(frozen=True)
class CsmsRequest:
    """A CSMS request, decoded by the version's codec; its answer is an `Answer` effect.

    `wall_time`: the real-world time (POSIX seconds) the request came in, which the driver
    passes with every request. Certificate validity is judged by it (TLS peers and the CSMS
    judge real X.509 certificates by the wall clock), never by the simulated `now`; a
    certificate request without it is a driver bug."""

    message: CsmsRequestMessage
    wall_time: float | None = None


@dataclass(frozen=True)
class TimerFired:
    """A timer the machine set (`SetTimer`) reached its instant."""

    name: str


@dataclass(frozen=True)
class GatewayCommand:
    """A command from the Gateway API the machine decides on; its `Answer` is the result."""

    message: GatewayCommandMessage


@dataclass(frozen=True)
class CallAnswered:
    """The CSMS answered the call a flow waits for (`SendCall.call_id`), decoded by the codec."""

    call_id: int
    answer: StationAnswerMessage


@dataclass(frozen=True)
class CallFailed:
    """The call a flow waits for brought no answer (see `flow.FailureReason`)."""

    call_id: int
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class CallAbandoned:
    """The call or wait a flow waits for will never come back: the driver's task that ran it
    was cancelled (the connection closed under it, the station stopped). The flow is closed,
    so what it holds (the status report in progress) is let go."""

    call_id: int


@dataclass(frozen=True)
class Resumed:
    """What a flow waited for besides a CSMS answer (`AwaitStoredMeter`) is done."""

    call_id: int


@dataclass(frozen=True)
class QueuedStartDelivered:
    """A StartTransaction queued offline reached the CSMS (1.6): the transaction known by its
    provisional id gets the CSMS's id, and the tag's info is learnt."""

    provisional_id: int
    transaction_id: int
    id_tag: str
    info: IdTagInfo | None


@dataclass(frozen=True)
class DownloadDone:
    """A `Download` effect fetched its file."""

    name: str
    content: bytes


@dataclass(frozen=True)
class UploadDone:
    """An `Upload` effect's file was accepted (HTTP 2xx)."""

    name: str


@dataclass(frozen=True)
class FrameLogRead:
    """A `ReadFrameLog` effect's lines, oldest first, each starting with its timestamp."""

    name: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class TransferFailed:
    """A `Download`, `Upload` or `ReadFrameLog` failed; `retryable` is False when trying
    again cannot help (a file over the size limit)."""

    name: str
    reason: str
    retryable: bool = True


TransferOutcome = DownloadDone | UploadDone | FrameLogRead | TransferFailed


@dataclass(frozen=True)
class Connected:
    """The link opened a WebSocket to the CSMS; nothing is sent on it yet. The machine
    boots (registration is per connection)."""


@dataclass(frozen=True)
class ConnectFailed:
    """The link tried to connect and could not (refused, TLS, HTTP 401, no subprotocol): a
    2.x station counts the attempts against its network profile (B10)."""


@dataclass(frozen=True)
class Disconnected:
    """The connection is gone. Calls still on their way fail by themselves (`CallFailed`)."""


@dataclass(frozen=True)
class ConfigurationChanged:
    """The gateway changed a configuration value: what depends on it follows
    (HeartbeatInterval: the heartbeat timer). A CSMS's ChangeConfiguration or SetVariables
    is a request of its own, whose flow does the same."""

    key: str


@dataclass(frozen=True)
class QueueChanged:
    """What the offline queue holds changed (the driver stores and drains it): how many
    transaction messages wait in it, and the ids of the transactions they belong to as the
    CSMS knows them. The machine answers GetTransactionStatus from it."""

    waiting: int
    transaction_ids: frozenset[str]


@dataclass(frozen=True)
class QueueDelivered:
    """After a registration (`Registered`), what was queued offline went out (or nothing
    was queued): the machine does what follows a registration on this connection: closes the
    transactions a restart interrupted, reports every status, resumes sampling."""


@dataclass(frozen=True)
class Restored:
    """The station was built from its stored state (another process hosted it before): what
    ran on the machine's timers is armed again (reservation expiries, the next period
    boundary of its charging profiles), and what fell due meanwhile happens now."""


@dataclass(frozen=True)
class Rebooting:
    """The station is about to restart (Reset): its next BootNotification says `reason`."""

    reason: str


Event = (
    CsmsRequest
    | TimerFired
    | GatewayCommand
    | CallAnswered
    | CallFailed
    | CallAbandoned
    | Resumed
    | QueuedStartDelivered
    | TransferOutcome
    | Connected
    | ConnectFailed
    | Disconnected
    | ConfigurationChanged
    | QueueChanged
    | QueueDelivered
    | Restored
    | Rebooting
)
