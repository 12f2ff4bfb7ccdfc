"""One version's codec for what the station sends, assembled from the version's pure
functions: the dispatch from a neutral message to them is the same for every version, so it
lives here once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from voltlab.fleet.codecs import ocpp16_authorization as authorization16
from voltlab.fleet.codecs import (
    ocpp16_availability,
    ocpp16_configuration,
    ocpp16_control,
    ocpp16_local_list,
    ocpp16_profiles,
    ocpp16_reservations,
    ocpp16_triggers,
    ocpp21,
    ocpp21_sessions,
    ocpp21_streams,
    ocpp21_tariff_stream_calls,
    ocpp21_tariffs,
    ocpp201_availability,
    ocpp201_control,
    ocpp201_customer,
    ocpp201_device_model,
    ocpp201_display,
    ocpp201_local_list,
    ocpp201_monitoring,
    ocpp201_network,
    ocpp201_profiles,
    ocpp201_reservations,
    ocpp201_triggers,
    shared_certificates,
    shared_maintenance,
    shared_registration,
    shared_requests,
)
from voltlab.fleet.codecs import ocpp16_certificates as certificates16
from voltlab.fleet.codecs import ocpp16_maintenance as maintenance16
from voltlab.fleet.codecs import ocpp16_pnc as pnc16
from voltlab.fleet.codecs import ocpp16_registration as registration16
from voltlab.fleet.codecs import ocpp16_sessions as sessions16
from voltlab.fleet.codecs import ocpp201_authorization as authorization201
from voltlab.fleet.codecs import ocpp201_certificates as certificates201
from voltlab.fleet.codecs import ocpp201_maintenance as maintenance201
from voltlab.fleet.codecs import ocpp201_pnc as pnc201
from voltlab.fleet.codecs import ocpp201_registration as registration201
from voltlab.fleet.codecs import ocpp201_sessions as sessions201
from voltlab.fleet.codecs.ocpp201_device_model import encode_report_page
from voltlab.fleet.codecs.ocpp201_notices import NOTICES, decode_notice_answer, encode_notice
from voltlab.fleet.codecs.ocpp201_profiles import encode_profiles_report
from voltlab.fleet.codecs.ocpp201_reservations import encode_reservation_ended
from voltlab.fleet.codecs.request_codec import RequestCodec, extend, join
from voltlab.fleet.machine.certificate_messages import SignCertificateAnswer, SignCertificateRequest
from voltlab.fleet.machine.configuration_messages import ReportPage
from voltlab.fleet.machine.control_messages import ChargingProfilesReport
from voltlab.fleet.machine.events import QueuedStartDelivered
from voltlab.fleet.machine.maintenance_messages import MaintenanceCall
from voltlab.fleet.machine.messages import (
    AuthorizeAnswer,
    AuthorizeRequest,
    BootRequest,
    HeartbeatRequest,
    ReservationEnded,
    StationAnswerMessage,
    StationMessage,
)
from voltlab.fleet.machine.pnc_messages import PNC_CALLS, PncAnswer, PncCall
from voltlab.fleet.machine.session_messages import (
    SESSION_MESSAGES,
    Received,
    SessionAnswer,
    SessionMessage,
)
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

Payload = dict[str, Any]


class AuthorizationCodec(Protocol):
    """What a version's authorization codec module provides."""

    def encode_authorize(self, message: AuthorizeRequest) -> tuple[str, Payload]: ...

    def decode_authorize_answer(self, payload: Payload) -> AuthorizeAnswer: ...


class BootCodec(Protocol):
    """What a version's registration codec module provides (its BootNotification shape)."""

    def encode_boot(self, message: BootRequest) -> tuple[str, Payload]: ...


class CertificateCodec(Protocol):
    """What a version's certificate codec module provides for the station's own calls."""

    def encode_sign_certificate(self, message: SignCertificateRequest) -> tuple[str, Payload]: ...

    def decode_sign_certificate_answer(
        self, message: SignCertificateRequest, payload: Payload
    ) -> SignCertificateAnswer: ...


class PncCodec(Protocol):
    """What a version's Plug & Charge codec module provides (2.x: its messages; 1.6: the
    same wrapped in DataTransfer)."""

    def encode_pnc_call(self, message: PncCall) -> tuple[str, Payload]: ...

    def decode_pnc_answer(self, message: PncCall, payload: Payload) -> PncAnswer: ...


class SessionCodec(Protocol):
    """What a version's session codec module provides."""

    def encode_session_call(self, message: SessionMessage) -> tuple[str, Payload]: ...

    def decode_session_answer(self, message: SessionMessage, payload: Payload) -> SessionAnswer: ...

    def queued_session_answer(self, message: SessionMessage, payload: Payload) -> SessionAnswer:
        """What a flow goes on with when its transaction message was queued offline."""
        ...

    def offline_variant(self, payload: Payload) -> Payload:
        """A transaction message as it is queued offline."""
        ...

    def queued_transaction(self, action: str, payload: Payload) -> str | None:
        """The id (as the CSMS knows it) of the transaction a queued message belongs to."""
        ...

    def queued_delivered(
        self, action: str, payload: Payload, answer: Payload
    ) -> QueuedStartDelivered | None:
        """What the machine learns when a message queued offline is delivered."""
        ...


@dataclass(frozen=True)
class StationCodec:
    version: str
    authorization: AuthorizationCodec
    boot: BootCodec
    sessions: SessionCodec
    certificates: CertificateCodec
    pnc: PncCodec
    encode_maintenance: Callable[[MaintenanceCall], tuple[str, Payload]]
    # None: the version has no message for a reservation that ended (1.6).
    encode_reservation_ended: Callable[[ReservationEnded], tuple[str, Payload]] | None = None
    # None: the version has no GetChargingProfiles to report on (1.6).
    encode_profiles_report: Callable[[ChargingProfilesReport], tuple[str, Payload]] | None = None
    # None: the version has no device model to report (1.6).
    encode_report_page: Callable[[ReportPage], tuple[str, Payload]] | None = None
    # None: the version lacks 2.x's monitoring, display, customer and limit messages (1.6).
    encode_notice: Callable[[StationMessage], tuple[str, Payload]] | None = None
    # The messages `encode_notice` says, and how their answers read (2.1 adds some).
    notices: tuple[type, ...] = NOTICES
    decode_notice_answer: Callable[[StationMessage, Payload], StationAnswerMessage] = (
        decode_notice_answer
    )
    # The CSMS requests the version's station answers, by action.
    requests: Mapping[str, RequestCodec] = field(default_factory=dict)
    # 2.1: local cost reports and periodic event streams (None: the version has none), and
    # the actions sent as SEND (never answered).
    encode_tariff_stream_call: Callable[[StationMessage], tuple[str, Payload]] | None = None
    unconfirmed: frozenset[str] = frozenset()

    def encode_call(self, message: StationMessage) -> tuple[str, Payload]:
        if isinstance(message, AuthorizeRequest):
            return self.authorization.encode_authorize(message)
        if isinstance(message, BootRequest):
            return self.boot.encode_boot(message)
        if isinstance(message, HeartbeatRequest):
            return shared_registration.encode_heartbeat(message)
        if isinstance(message, SESSION_MESSAGES):
            return self.sessions.encode_session_call(message)
        if isinstance(message, MaintenanceCall):
            return self.encode_maintenance(message)
        if isinstance(message, SignCertificateRequest):
            return self.certificates.encode_sign_certificate(message)
        if isinstance(message, PNC_CALLS):
            return self.pnc.encode_pnc_call(message)
        if isinstance(message, ReservationEnded) and self.encode_reservation_ended is not None:
            return self.encode_reservation_ended(message)
        if isinstance(message, ChargingProfilesReport) and self.encode_profiles_report is not None:
            return self.encode_profiles_report(message)
        if isinstance(message, ReportPage) and self.encode_report_page is not None:
            return self.encode_report_page(message)
        if isinstance(message, self.notices) and self.encode_notice is not None:
            return self.encode_notice(message)
        tariff_stream = self.encode_tariff_stream_call
        if isinstance(message, ocpp21_tariff_stream_calls.TARIFF_STREAM_CALLS) and tariff_stream:
            return tariff_stream(message)
        raise TypeError(f"OCPP {self.version} has no message for {message!r}")

    def decode_answer(self, message: StationMessage, payload: Payload) -> StationAnswerMessage:
        if isinstance(message, AuthorizeRequest):
            return self.authorization.decode_authorize_answer(payload)
        if isinstance(message, BootRequest | HeartbeatRequest):
            return shared_registration.decode_answer(message, payload)
        if isinstance(message, SESSION_MESSAGES):
            return self.sessions.decode_session_answer(message, payload)
        if isinstance(message, SignCertificateRequest):
            return self.certificates.decode_sign_certificate_answer(message, payload)
        if isinstance(message, PNC_CALLS):
            return self.pnc.decode_pnc_answer(message, payload)
        if isinstance(message, ReportPage):
            return Received()  # NotifyReportResponse carries nothing
        if isinstance(message, self.notices):
            return self.decode_notice_answer(message, payload)
        if isinstance(message, ocpp21_tariff_stream_calls.TARIFF_STREAM_CALLS):
            return ocpp21_tariff_stream_calls.decode_answer(message, payload)
        raise TypeError(f"no flow waits for the answer to {message!r}")

    def queued_answer(self, message: StationMessage, payload: Payload) -> StationAnswerMessage:
        if not isinstance(message, SESSION_MESSAGES):
            raise TypeError(f"{message!r} is not a transaction message")
        return self.sessions.queued_session_answer(message, payload)

    def offline_variant(self, payload: Payload) -> Payload:
        return self.sessions.offline_variant(payload)

    def queued_delivered(
        self, action: str, payload: Payload, answer: Payload
    ) -> QueuedStartDelivered | None:
        return self.sessions.queued_delivered(action, payload, answer)

    def queued_transaction(self, action: str, payload: Payload) -> str | None:
        return self.sessions.queued_transaction(action, payload)


# Versions with a codec; the API refuses the others with a clear 422.
AVAILABLE_VERSIONS: tuple[str, ...] = (OCPP16, OCPP201, OCPP21)

REQUESTS_16 = join(
    ocpp16_control.REQUESTS,
    ocpp16_profiles.REQUESTS,
    ocpp16_availability.REQUESTS,
    ocpp16_configuration.REQUESTS,
    ocpp16_local_list.REQUESTS,
    ocpp16_reservations.REQUESTS,
    ocpp16_triggers.REQUESTS,
    maintenance16.REQUESTS,
    certificates16.REQUESTS,
    pnc16.REQUESTS,
    shared_requests.CLEAR_CACHE,
    shared_maintenance.REQUESTS,
    shared_certificates.REQUESTS,
)
REQUESTS_2X = join(
    ocpp201_control.REQUESTS,
    ocpp201_triggers.REQUESTS,
    ocpp201_profiles.REQUESTS,
    ocpp201_availability.REQUESTS,
    ocpp201_device_model.REQUESTS,
    ocpp201_monitoring.REQUESTS,
    ocpp201_display.REQUESTS,
    ocpp201_customer.REQUESTS,
    ocpp201_network.REQUESTS,
    ocpp201_local_list.REQUESTS,
    ocpp201_reservations.REQUESTS,
    maintenance201.REQUESTS,
    certificates201.REQUESTS,
    shared_requests.REQUESTS,
    shared_maintenance.REQUESTS,
    shared_certificates.REQUESTS,
)

# 2.1: 2.0.1's requests, those whose 2.1 fields 2.0.1 lacks read anew (the periods' V2X
# fields; SetVariableMonitoring with its event stream), and 2.1's own (DER control, local
# cost, the periodic event streams').
_STREAMS_REPLACED = {a: c for a, c in ocpp21_streams.REQUESTS.items() if a in REQUESTS_2X}
_STREAMS_ADDED = {a: c for a, c in ocpp21_streams.REQUESTS.items() if a not in REQUESTS_2X}
REQUESTS_21 = extend(
    REQUESTS_2X,
    replaced=join(ocpp21.REPLACED, _STREAMS_REPLACED),
    added=join(ocpp21.ADDED, ocpp21_tariffs.REQUESTS, _STREAMS_ADDED),
)


class UnsupportedVersion(ValueError):
    pass


def codec_for(version: str) -> StationCodec:
    if version not in AVAILABLE_VERSIONS:
        raise UnsupportedVersion(f"OCPP version {version!r} is not available yet")
    if version == OCPP16:
        return StationCodec(
            version,
            authorization16,
            registration16,
            sessions16,
            certificates16,
            pnc16,
            maintenance16.encode_call,
            requests=REQUESTS_16,
        )
    maintenance = partial(maintenance201.encode_call, version=version)
    if version == OCPP21:
        return StationCodec(
            version,
            authorization201,
            registration201,
            ocpp21_sessions,
            certificates201,
            pnc201,
            maintenance,
            encode_reservation_ended,
            ocpp21.encode_profiles_report,
            encode_report_page,
            ocpp21.encode_notice_21,
            ocpp21.NOTICES_21,
            ocpp21.decode_notice_answer_21,
            requests=REQUESTS_21,
            encode_tariff_stream_call=ocpp21_tariff_stream_calls.encode_call,
            unconfirmed=ocpp21_tariff_stream_calls.UNCONFIRMED,
        )
    return StationCodec(
        version,
        authorization201,
        registration201,
        sessions201,
        certificates201,
        pnc201,
        maintenance,
        encode_reservation_ended,
        encode_profiles_report,
        encode_report_page,
        partial(encode_notice, version=version),
        requests=REQUESTS_2X,
    )
