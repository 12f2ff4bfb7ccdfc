"""Neutral CSMS messages the station machine reads and writes, whatever the OCPP version.

The codecs (`fleet/codecs/`) turn them into a version's actions and payloads. Times are POSIX
seconds on the station's clock; words are the station's (catalog, model), not a version's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voltlab.fleet.machine.certificate_messages import (
    CertificateAnswer,
    CertificateRequest,
    RequestCertificate,
    SignCertificateAnswer,
    SignCertificateRequest,
)
from voltlab.fleet.machine.charging_limit_messages import (
    ChargingLimitCall,
    ChargingLimitCallAnswer,
    ExternalLimitAnswer,
    ExternalLimitCommand,
)
from voltlab.fleet.machine.configuration_messages import (
    ConfigurationAnswerMessage,
    ConfigurationRequest,
    ReportPage,
)
from voltlab.fleet.machine.control_messages import (
    ControlAnswer,
    ControlCall,
    ControlCommand,
    ControlRequest,
    ProfileQueryAnswer,
)
from voltlab.fleet.machine.customer_messages import (
    CustomerAnswer,
    CustomerInformationPage,
    CustomerRequest,
)
from voltlab.fleet.machine.display_requests import (
    DisplayAnswer,
    DisplayMessagesPage,
    DisplayRequest,
)
from voltlab.fleet.machine.maintenance_messages import (
    MaintenanceAnswer,
    MaintenanceCall,
    MaintenanceRequest,
)
from voltlab.fleet.machine.monitoring_messages import (
    MonitoringAnswerMessage,
    MonitoringCall,
    MonitoringRequest,
)
from voltlab.fleet.machine.pnc_messages import PncAnswer, PncCall, WrappedPncRequest
from voltlab.fleet.machine.session_messages import (
    SessionAnswer,
    SessionCommand,
    SessionMessage,
    SessionResult,
)
from voltlab.fleet.machine.stream_messages import (
    OpenStreamAnswer,
    StreamAnswer,
    StreamCall,
    StreamRequest,
)
from voltlab.fleet.machine.tariff_messages import TariffAnswerMessage, TariffCall, TariffRequest
from voltlab.fleet.machine.trigger_messages import (
    GetTransactionStatus,
    TransactionStatusAnswer,
    TriggerAnswer,
    TriggerRequest,
)
from voltlab.fleet.machine.v2x_messages import (
    DERCall,
    DERControlAnswer,
    DERRequest,
    V2XCommand,
    V2XCommandAnswer,
)
from voltlab.fleet.model.auth import IdTagInfo

# ReserveNow's answer words are the same in 1.6 and 2.x.
ReserveStatus = Literal["Accepted", "Faulted", "Occupied", "Rejected", "Unavailable"]
CancelStatus = Literal["Accepted", "Rejected"]
ReservationEndReason = Literal["Expired", "Removed"]


@dataclass(frozen=True)
class ReserveNow:
    """Reserve a connector (0: any connector of the station) for an id tag until `expires_at`."""

    reservation_id: int
    connector_id: int
    id_tag: str
    parent_id_tag: str | None
    expires_at: float
    # The connector type asked for (2.x only), in catalog words; a type no catalog word
    # stands for keeps its wire spelling and so matches no connector.
    connector_type: str | None = None


@dataclass(frozen=True)
class ReserveNowAnswer:
    status: ReserveStatus


@dataclass(frozen=True)
class CancelReservation:
    reservation_id: int


@dataclass(frozen=True)
class CancelReservationAnswer:
    status: CancelStatus


@dataclass(frozen=True)
class ReservationEnded:
    """The station tells the CSMS a reservation ended without being used (2.x
    ReservationStatusUpdate; 1.6 has no message, the connector status says it)."""

    reservation_id: int
    reason: ReservationEndReason


# SendLocalList's words are the same in 1.6 and 2.x.
LocalListUpdate = Literal["Full", "Differential"]
LocalListStatus = Literal["Accepted", "Failed", "NotSupported", "VersionMismatch"]
ClearCacheStatus = Literal["Accepted", "Rejected"]
DataTransferStatus = Literal["Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId"]


@dataclass(frozen=True)
class SendLocalList:
    """Install (Full) or change (Differential) the local authorization list; an entry without
    info removes its id tag (Differential)."""

    version: int
    update_type: LocalListUpdate
    entries: tuple[tuple[str, IdTagInfo | None], ...]


@dataclass(frozen=True)
class SendLocalListAnswer:
    status: LocalListStatus
    # The list's version and size after the request (the gateway command reports them).
    version: int
    size: int


@dataclass(frozen=True)
class GetLocalListVersion:
    pass


@dataclass(frozen=True)
class LocalListVersionAnswer:
    """The list's version; -1 when the list is disabled (1.6 only)."""

    version: int


@dataclass(frozen=True)
class ClearLocalList:
    """Gateway command: empty the local list and set its version back to 0."""


@dataclass(frozen=True)
class ClearLocalListAnswer:
    removed_entries: int


@dataclass(frozen=True)
class ClearCache:
    pass


@dataclass(frozen=True)
class ClearCacheAnswer:
    status: ClearCacheStatus
    cleared_entries: int


@dataclass(frozen=True)
class DataTransfer:
    vendor_id: str
    message_id: str | None
    # Any JSON value the CSMS sent (1.6: a string; 2.x: anything); absent is None with
    # has_data False, so that an explicit null is echoed too.
    data: object = None
    has_data: bool = False


@dataclass(frozen=True)
class DataTransferAnswer:
    status: DataTransferStatus
    data: object = None
    has_data: bool = False


# ChangeAvailability's answer words are the same in 1.6 and 2.x.
AvailabilityStatus = Literal["Accepted", "Rejected", "Scheduled"]


@dataclass(frozen=True)
class ChangeAvailability:
    """Make a connector (0: the whole station; 2.x: an EVSE) operative or inoperative."""

    connector_id: int
    operative: bool


@dataclass(frozen=True)
class ChangeAvailabilityAnswer:
    status: AvailabilityStatus


@dataclass(frozen=True)
class AuthorizeRequest:
    """Ask the CSMS whether an id tag may charge (1.6 Authorize idTag, 2.x idToken)."""

    id_tag: str


@dataclass(frozen=True)
class AuthorizeAnswer:
    info: IdTagInfo


AuthorizationSource = Literal["local_list", "cache", "offline", "csms"]


@dataclass(frozen=True)
class AuthorizeIdTag:
    """Gateway command (and the first step of starting a session): decide whether an id tag
    may charge: local list, then cache, then the CSMS, as the configuration allows."""

    id_tag: str


@dataclass(frozen=True)
class AuthorizationDecision:
    """Who answered an authorization question, and what they said."""

    id_tag: str
    info: IdTagInfo
    source: AuthorizationSource

    @property
    def accepted(self) -> bool:
        return self.info.status == "Accepted"


# Registration (BootNotification) and heartbeat; the answer words are the same in 1.6 and 2.x.
RegistrationStatus = Literal["Accepted", "Pending", "Rejected"]


@dataclass(frozen=True)
class BootRequest:
    """BootNotification: who the station is, and why it boots (2.x BootReasonEnumType words:
    PowerUp, RemoteReset, Triggered, ...; 1.6 sends no reason). Full values: the codec cuts
    them to its version's lengths."""

    vendor: str
    model: str
    serial_number: str
    firmware_version: str
    meter_type: str
    reason: str


@dataclass(frozen=True)
class BootAnswer:
    status: RegistrationStatus
    # Accepted: the heartbeat interval; Pending/Rejected: when to boot again (0: the
    # station's own choice). Seconds.
    interval: int
    # The CSMS's clock (POSIX seconds), None when it sent no readable time.
    current_time: float | None


@dataclass(frozen=True)
class HeartbeatRequest:
    pass


@dataclass(frozen=True)
class HeartbeatAnswer:
    current_time: float | None


CsmsRequestMessage = (
    ReserveNow
    | CancelReservation
    | SendLocalList
    | GetLocalListVersion
    | ClearCache
    | DataTransfer
    | ChangeAvailability
    | ControlRequest
    | MaintenanceRequest
    | CertificateRequest
    | ConfigurationRequest
    | TriggerRequest
    | GetTransactionStatus
    | MonitoringRequest
    | DisplayRequest
    | CustomerRequest
    | DERRequest
    | TariffRequest
    | StreamRequest
    | WrappedPncRequest
)
CsmsAnswerMessage = (
    ReserveNowAnswer
    | ChangeAvailabilityAnswer
    | CancelReservationAnswer
    | SendLocalListAnswer
    | LocalListVersionAnswer
    | ClearLocalListAnswer
    | ClearCacheAnswer
    | DataTransferAnswer
    | AuthorizationDecision
    | SessionResult
    | ControlAnswer
    | ProfileQueryAnswer
    | MaintenanceAnswer
    | CertificateAnswer
    | ConfigurationAnswerMessage
    | TriggerAnswer
    | TransactionStatusAnswer
    | MonitoringAnswerMessage
    | DisplayAnswer
    | CustomerAnswer
    | ExternalLimitAnswer
    | DERControlAnswer
    | V2XCommandAnswer
    | TariffAnswerMessage
    | StreamAnswer
)
# Gateway commands the machine decides on; their answer is the command's result.
GatewayCommandMessage = (
    SendLocalList
    | ClearLocalList
    | ClearCache
    | AuthorizeIdTag
    | SessionCommand
    | ControlCommand
    | RequestCertificate
    | ExternalLimitCommand
    | V2XCommand
)
# What the station sends to the CSMS, and the answers a flow waits for.
StationMessage = (
    ReservationEnded
    | AuthorizeRequest
    | BootRequest
    | HeartbeatRequest
    | SessionMessage
    | MaintenanceCall
    | ControlCall
    | ReportPage
    | SignCertificateRequest
    | MonitoringCall
    | DisplayMessagesPage
    | CustomerInformationPage
    | ChargingLimitCall
    | DERCall
    | TariffCall
    | StreamCall
    | PncCall
)
StationAnswerMessage = (
    AuthorizeAnswer
    | BootAnswer
    | HeartbeatAnswer
    | SessionAnswer
    | SignCertificateAnswer
    | ChargingLimitCallAnswer
    | OpenStreamAnswer
    | PncAnswer
)
