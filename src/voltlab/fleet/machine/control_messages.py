"""Neutral CSMS requests that control charging: remote start and stop, and charging profiles
(1.6 RemoteStart/RemoteStopTransaction, 2.x RequestStart/RequestStopTransaction,
Set/ClearChargingProfile and GetCompositeSchedule in both, 2.x GetChargingProfiles and the
ReportChargingProfiles that answer it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voltlab.fleet.model.smart_charging import ChargingProfile, CompositeSchedule

RemoteStartStatus = Literal["Accepted", "Rejected"]
ChargingProfileStatus = Literal["Accepted", "Rejected"]


@dataclass(frozen=True)
class RemoteStartRequest:
    connector_id: int | None  # None: the station chooses
    id_tag: str
    remote_start_id: int | None  # 2.x remoteStartId
    profile: ChargingProfile | None
    # The request carried a profile the codec could not read.
    profile_unreadable: bool = False


@dataclass(frozen=True)
class RemoteStartAnswer:
    status: RemoteStartStatus
    # 2.x: the transaction the cable already opened on the chosen connector.
    transaction_id: str | None = None


@dataclass(frozen=True)
class RemoteStopRequest:
    transaction_id: str | int


@dataclass(frozen=True)
class RemoteStopAnswer:
    status: RemoteStartStatus


@dataclass(frozen=True)
class SetChargingProfile:
    connector_id: int  # 0: the whole station
    profile: ChargingProfile | None  # None: the codec could not read it
    refusal: str | None = None  # why it could not (a 2.x reasonCode)


@dataclass(frozen=True)
class SetChargingProfileAnswer:
    status: str  # Accepted | Rejected (| NotSupported in 1.6)
    reason: str | None = None


@dataclass(frozen=True)
class ClearChargingProfile:
    profile_id: int | None
    connector_id: int | None
    purpose: str | None
    stack_level: int | None


@dataclass(frozen=True)
class ClearChargingProfileAnswer:
    cleared: bool


ResetStatus = Literal["Accepted", "Rejected", "Scheduled"]
# Neutral UnlockConnector answers; 1.6 says NotSupported for UnknownConnector, and has no
# OngoingAuthorizedTransaction (2.0.1 keeps an authorized transaction locked).
UnlockStatus = Literal[
    "Unlocked", "UnlockFailed", "UnknownConnector", "OngoingAuthorizedTransaction"
]


@dataclass(frozen=True)
class ResetRequest:
    hard: bool  # 1.6 Hard (Soft otherwise); 2.x always resets hard
    on_idle: bool = False  # 2.x OnIdle: wait for the running transactions to end
    connector_id: int | None = None  # 2.x evseId: reset that EVSE only


@dataclass(frozen=True)
class ResetAnswer:
    status: ResetStatus


@dataclass(frozen=True)
class UnlockRequest:
    connector_id: int | None  # None: no such connector


@dataclass(frozen=True)
class UnlockAnswer:
    status: UnlockStatus


@dataclass(frozen=True)
class Reset:
    """Gateway command (and what a finished firmware install or a Reset OnIdle leads to).
    `boot_reason`: what the BootNotification after it says (2.x BootReason)."""

    hard: bool
    boot_reason: str = "RemoteReset"


@dataclass(frozen=True)
class Unlock:
    """Gateway command: unlock the connector, stopping its transaction first."""

    connector_id: int


@dataclass(frozen=True)
class GetCompositeSchedule:
    connector_id: int  # 0: the whole station
    duration: int  # seconds from now
    unit: str | None  # "A" or "W"; None: W


@dataclass(frozen=True)
class CompositeScheduleAnswer:
    schedule: CompositeSchedule | None  # None: no such connector (Rejected)


@dataclass(frozen=True)
class GetChargingProfiles:
    """2.x: report the installed profiles that match every criterion given."""

    request_id: int
    connector_id: int | None  # None: every connector; 0: the station-wide profiles
    purpose: str | None
    stack_level: int | None
    profile_ids: tuple[int, ...] | None


@dataclass(frozen=True)
class GetChargingProfilesAnswer:
    found: bool  # False: NoProfiles, and no report follows


@dataclass(frozen=True)
class ChargingProfilesReport:
    """One connector's profiles, answering GetChargingProfiles `request_id`; `more_follow`
    while further reports for the request come after this one (2.x tbc)."""

    request_id: int
    connector_id: int
    profiles: tuple[ChargingProfile, ...]
    more_follow: bool


ControlRequest = (
    RemoteStartRequest
    | RemoteStopRequest
    | SetChargingProfile
    | ClearChargingProfile
    | ResetRequest
    | UnlockRequest
    | GetCompositeSchedule
    | GetChargingProfiles
)
ControlAnswer = (
    RemoteStartAnswer
    | RemoteStopAnswer
    | SetChargingProfileAnswer
    | ClearChargingProfileAnswer
    | ResetAnswer
    | UnlockAnswer
)
# The answers that read the installed profiles back (each has its own encoder).
ProfileQueryAnswer = CompositeScheduleAnswer | GetChargingProfilesAnswer
ControlCommand = Reset | Unlock
# What the control flows send to the CSMS without waiting for the answer.
ControlCall = ChargingProfilesReport
