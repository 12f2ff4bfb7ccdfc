"""What comes into the station machine. Every event is handled at a `now` the driver passes."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.machine.messages import CsmsRequestMessage, GatewayCommandMessage


@dataclass(frozen=True)
class CsmsRequest:
    """A CSMS request, decoded by the version's codec; its answer is an `Answer` effect."""

    message: CsmsRequestMessage


@dataclass(frozen=True)
class TimerFired:
    """A timer the machine set (`SetTimer`) reached its instant."""

    name: str


@dataclass(frozen=True)
class GatewayCommand:
    """A command from the Gateway API the machine decides on; its `Answer` is the result."""

    message: GatewayCommandMessage


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
Event = CsmsRequest | TimerFired | GatewayCommand | TransferOutcome
