"""What goes out of the station machine, to be executed by the driver in the given order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voltlab.fleet.machine.messages import CsmsAnswerMessage, StationMessage


@dataclass(frozen=True)
class Answer:
    """The answer to the CSMS request being handled. Effects before it run before the answer
    is sent; effects after it once it is on the wire."""

    message: CsmsAnswerMessage


@dataclass(frozen=True)
class SendCall:
    """Send a message to the CSMS. With a `call_id` a flow waits for the answer: the driver
    feeds it back as `CallAnswered(call_id, answer)` or `CallFailed(call_id, ...)`."""

    message: StationMessage
    call_id: int | None = None


@dataclass(frozen=True)
class SetTimer:
    """Feed `TimerFired(name)` at the simulated instant `at`; replaces a timer of that name."""

    name: str
    at: float


@dataclass(frozen=True)
class CancelTimer:
    name: str


@dataclass(frozen=True)
class Persist:
    """The station's state changed: store it (now, before what follows, if `write_ahead`)."""

    write_ahead: bool = False


@dataclass(frozen=True)
class ReportStatus:
    """Connector statuses may have changed: report the changes to the CSMS. Until status
    reporting moves into the machine (migration step 3) the driver does it."""


@dataclass(frozen=True)
class AwaitStoredMeter:
    """Wait until the stored meter register has caught up with a reading about to be sent
    (the next regular flush), then feed `Resumed(call_id)`: after a crash the station never
    closes a transaction below a meter value the CSMS saw."""

    call_id: int


@dataclass(frozen=True)
class Fail:
    """The flow ended with an error: raised to whoever started it, once the effects before
    it have run."""

    error: Exception


@dataclass(frozen=True)
class Download:
    """Fetch `location` (HTTP GET, at most `max_bytes`); the driver feeds `DownloadDone(name)`
    or `TransferFailed(name)`. Replaces a transfer of that name."""

    name: str
    location: str
    max_bytes: int


@dataclass(frozen=True)
class Upload:
    """Send `content` to `location` as the file `file_name` (HTTP POST, multipart form field
    `file`); the driver feeds `UploadDone(name)` or `TransferFailed(name)`."""

    name: str
    location: str
    file_name: str
    content: bytes


@dataclass(frozen=True)
class ReadFrameLog:
    """Read the station's last `limit` frames (stored frame log or memory); the driver feeds
    `FrameLogRead(name)` or `TransferFailed(name)`."""

    name: str
    limit: int


@dataclass(frozen=True)
class CancelTransfer:
    """Stop the transfer of that name, if one runs; no event follows."""

    name: str


@dataclass(frozen=True)
class Registered:
    """The CSMS accepted the station on this connection (it was not accepted before): the
    driver delivers what was queued offline, then feeds `QueueDelivered`, on which the
    machine does the rest of what follows a registration (interrupted transactions,
    statuses, sampling)."""


@dataclass(frozen=True)
class Reconnect:
    """Close the connection and connect again (a reset); the driver's link does it."""

    reason: str


@dataclass(frozen=True)
class UseSecurityProfile:
    """Connect with security `profile` from now on (above the configured profile: TLS, the
    CSMS judged by the CSMS root certificates the CSMS installed; Basic auth with the station's
    password up to 2), to `csms_url` (2.x: the network profile's; None: the configured CSMS
    over TLS). `reconnect`: the driver's link closes the connection and connects again at once
    (1.6); otherwise the next connection uses it (2.x: after the Reset the CSMS sends)."""

    profile: int
    csms_url: str | None = None
    reconnect: bool = True
    # The Basic-auth password to use (2.x: the CSMS's BasicAuthPassword or the network
    # profile's); None: the configured one.
    password: str | None = None


@dataclass(frozen=True)
class ResetStation:
    """Reset the station (2.x Reset OnIdle once its last transaction ended; hard after a
    firmware install). Until reset moves into the machine the driver does it. `boot_reason`:
    what the BootNotification after it says (2.x BootReason)."""

    hard: bool
    boot_reason: str = "RemoteReset"


@dataclass(frozen=True)
class Observe:
    """The CSMS broke a rule (`voltlab.ocpp.findings`, by slug): the driver records a finding
    with the frames that show it. `subject` says which: "request", the CSMS request being
    handled; "answer", the CSMS's answer to the call the flow just got back."""

    rule: str
    detail: str
    subject: Literal["request", "answer"]


Effect = (
    Answer
    | SendCall
    | SetTimer
    | CancelTimer
    | Persist
    | ReportStatus
    | AwaitStoredMeter
    | Fail
    | Download
    | Upload
    | ReadFrameLog
    | CancelTransfer
    | Reconnect
    | UseSecurityProfile
    | ResetStation
    | Registered
    | Observe
)
