"""StationMachine: the one entry point of the station's behaviour (docs/station-machine.md).

`handle(event, now)` returns the effects to execute, in order; the machine never reads a
clock, awaits or touches a socket. Flows that wait for the CSMS are generators
(`machine.flow`): the machine keeps them under a call id until the answer comes back as an
event. Migrated so far: reservations, the local list, the authorization cache, DataTransfer,
ChangeAvailability, authorization, registration and heartbeat, sessions (cable, start, stop,
remote start and stop), meter sampling and limits, charging profiles, status reporting, reset
and unlock, firmware and log jobs, certificates, configuration (1.6 keys, the 2.x device
model and its reports), TriggerMessage and GetTransactionStatus; and 2.x's monitoring (the
device model's monitors evaluated after every event that may change the station), display
messages, customer information, costs, network profiles, external limits and ISO 15118 needs;
2.1's bidirectional power transfer (operation modes, external setpoints) and DER control."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from voltlab.fleet.machine import csms_rules
from voltlab.fleet.machine.certificate_messages import CertificateRequest, RequestCertificate
from voltlab.fleet.machine.charging_limit_messages import ClearExternalLimit, SetExternalLimit
from voltlab.fleet.machine.configuration_messages import (
    ChangeConfiguration,
    ConfigurationRequest,
    GetBaseReport,
    GetConfiguration,
    GetReport,
    GetVariables,
    SetNetworkProfile,
    SetVariables,
)
from voltlab.fleet.machine.context import FlowContext, TransactionPoints, random_transaction_id
from voltlab.fleet.machine.control_messages import (
    ClearChargingProfile,
    GetChargingProfiles,
    GetCompositeSchedule,
    RemoteStartRequest,
    RemoteStopRequest,
    Reset,
    ResetRequest,
    SetChargingProfile,
    Unlock,
    UnlockRequest,
)
from voltlab.fleet.machine.customer_messages import CostUpdated, CustomerInformation
from voltlab.fleet.machine.display_requests import DisplayRequest
from voltlab.fleet.machine.effects import Answer, Effect
from voltlab.fleet.machine.events import (
    CallAbandoned,
    CallAnswered,
    CallFailed,
    Connected,
    ConnectFailed,
    CsmsRequest,
    Disconnected,
    DownloadDone,
    Event,
    FrameLogRead,
    GatewayCommand,
    QueueChanged,
    QueueDelivered,
    QueuedStartDelivered,
    Restored,
    Resumed,
    TimerFired,
    TransferFailed,
    UploadDone,
)
from voltlab.fleet.machine.flow import CallFailure, FailureReason, Flow, FlowStepper, no_result
from voltlab.fleet.machine.flows import (
    auth_cache,
    authorization,
    availability,
    cable,
    certificates,
    charging_limits,
    configuration,
    customer_information,
    data_transfer,
    der_control,
    display_messages,
    event_streams,
    local_cost,
    local_list,
    metering,
    monitoring,
    network_profiles,
    offline,
    plug_and_charge,
    profiles,
    registration,
    remote,
    reservations,
    security_profile,
    sessions,
    station_control,
    status,
    triggers,
)
from voltlab.fleet.machine.flows.maintenance import Maintenance
from voltlab.fleet.machine.flows.maintenance_rules import MaintenancePacing
from voltlab.fleet.machine.maintenance_messages import GetLog, UpdateFirmware
from voltlab.fleet.machine.messages import (
    AuthorizeIdTag,
    CancelReservation,
    ChangeAvailability,
    ClearCache,
    ClearLocalList,
    CsmsRequestMessage,
    DataTransfer,
    GatewayCommandMessage,
    GetLocalListVersion,
    ReserveNow,
    SendLocalList,
)
from voltlab.fleet.machine.monitoring_messages import MonitoringRequest
from voltlab.fleet.machine.pnc_messages import WrappedPncRequest
from voltlab.fleet.machine.session_messages import (
    CloseInterrupted,
    EndSession,
    PlugIn,
    RecheckLimits,
    RemoteStart,
    ReportStatuses,
    ResumeSessions,
    SampleNow,
    SessionResult,
    StartTransaction,
    StopTransaction,
    Unplug,
)
from voltlab.fleet.machine.settings import MachineSettings, transaction_points
from voltlab.fleet.machine.stream_messages import StreamRequest
from voltlab.fleet.machine.tariff_messages import TariffRequest
from voltlab.fleet.machine.trigger_messages import GetTransactionStatus, TriggerRequest
from voltlab.fleet.machine.v2x_messages import (
    ClearDERControl,
    Discharge,
    GetDERControl,
    GridConditionChanged,
    SetDERControl,
)
from voltlab.fleet.model.certificates import CsrFactory, make_csr
from voltlab.fleet.model.device_model import DeviceModel
from voltlab.fleet.model.device_monitoring import MonitorEvaluator
from voltlab.fleet.model.station import Station


class UnhandledEvent(TypeError):
    """An event the machine has no flow for: a driver bug, never a CSMS's fault."""


class StationMachine:
    def __init__(
        self,
        station: Station,
        settings: MachineSettings,
        *,
        points: TransactionPoints | None = None,
        new_transaction_id: Callable[[], str] = random_transaction_id,
        pacing: MaintenancePacing | None = None,
        make_csr: CsrFactory = make_csr,
    ) -> None:
        self.station = station
        self.settings = settings
        station.v2x.enabled = settings.bidirectional  # 2.1 only
        self.maintenance = Maintenance(station, pacing or MaintenancePacing())
        self.registration = registration.Registration()
        self.context = FlowContext(
            station,
            points if points is not None else transaction_points(station, settings),
            station_names_transactions=settings.station_names_transactions,
            default_transaction_measurands=settings.default_transaction_measurands,
            profile_rules=settings.profile_rules,
            folds_statuses_2x=settings.folds_statuses_2x,
            reports_charging_limits=settings.reports_charging_limits,
            network_profiles=settings.network_profiles,
            bidirectional=settings.bidirectional,
            local_cost=settings.local_cost,
            new_transaction_id=new_transaction_id,
            registration=self.registration,
            make_csr=make_csr,
        )
        self.flows = FlowStepper()
        self.device_model = DeviceModel(station)
        # 2.x: the monitors are evaluated after the events that may change the station.
        self.monitoring: MonitorEvaluator | None = None
        if settings.monitors_device_model:
            self.monitoring = MonitorEvaluator(self.device_model)

    @property
    def online(self) -> bool:
        """Connected and accepted by the CSMS."""
        return self.registration.online

    def handle(self, event: Event, now: float) -> list[Effect]:
        effects = self._handle(event, now)
        if self.monitoring is not None and type(event) in monitoring.MONITORED_AFTER:
            monitoring.add_events(self.context, self.monitoring, event, effects)
        return effects

    def _handle(self, event: Event, now: float) -> list[Effect]:
        self.context.now = now
        # The answers that resume a flow first: a meter sample brings two of them.
        if type(event) is CallAnswered:
            return self.flows.resume(event.call_id, event.answer)
        if type(event) is Resumed:
            return self.flows.resume(event.call_id, None)
        if registration.owns(event):
            confirmed: list[Effect] = []
            if type(event) is Connected:
                self.context.csms.clear()
                if self.settings.network_profiles:
                    confirmed = network_profiles.connected(self.context)
                else:
                    confirmed = security_profile.connected(self.context)
            elif type(event) is Disconnected:
                confirmed = security_profile.disconnected(self.context)
            return confirmed + registration.handle(
                self.registration, self.station, self.flows, event, lambda: self.context.now
            )
        if isinstance(event, CsmsRequest):
            observed = csms_rules.request_allowed(self.registration.status, event.message)
            message = event.message
            if isinstance(message, CertificateRequest | WrappedPncRequest):  # wall time: X.509
                effects = plug_and_charge.request(
                    self.context, self.flows, message, event.wall_time
                )
            elif isinstance(message, ChangeConfiguration) and message.key == security_profile.KEY:
                ctx, wall_time = self.context, event.wall_time
                effects = security_profile.change_security_profile(ctx, message.value, wall_time)
            elif isinstance(message, SetVariables) and network_profiles.sets_priority(message):
                effects = network_profiles.set_variables(
                    self.context, message, event.wall_time, self._set_variables
                )
            else:
                effects = self._request(event.message, now)
            if observed is not None:
                effects.insert(0, observed)
            return effects
        if isinstance(event, GatewayCommand):
            return self._command(event.message, now, from_csms=False)
        if isinstance(event, CallAnswered):
            return self.flows.resume(event.call_id, event.answer)
        if isinstance(event, CallFailed):
            reason = cast(FailureReason, event.reason)
            return self.flows.resume(event.call_id, CallFailure(reason, event.detail))
        if isinstance(event, Resumed):
            return self.flows.resume(event.call_id, None)
        if isinstance(event, CallAbandoned):
            self.flows.abandon(event.call_id)
            return []
        if isinstance(event, QueueDelivered):
            return self.flows.start(self._following_registration(), no_result)
        if isinstance(event, QueuedStartDelivered):
            flow = sessions.queued_start_delivered(self.context, event)
            return self.flows.start(flow, no_result)
        if isinstance(event, TimerFired):
            return self._timer(event.name, now)
        if isinstance(event, DownloadDone | UploadDone | FrameLogRead | TransferFailed):
            return self.maintenance.transfer_outcome(event, now)
        if isinstance(event, QueueChanged):
            return offline.queue_changed(self.context, event)
        if isinstance(event, Restored):
            return self._restored(now)
        if isinstance(event, ConnectFailed):
            if not self.settings.network_profiles:
                return []
            return network_profiles.connect_failed(self.context)
        raise UnhandledEvent(f"no flow handles {event!r}")

    def _timer(self, name: str, now: float) -> list[Effect]:
        self.context.timers.pop(name, None)
        prefix, _, connector = name.partition(":")
        if prefix == "sample":  # the most frequent timer of a charging fleet
            return self.flows.start(metering.sample_due(self.context, int(connector)), no_result)
        if reservations.owns_timer(name):
            return reservations.timer_fired(
                self.station, name, now, reports_ends=self.settings.reports_reservation_ends
            )
        if self.maintenance.owns_timer(name):
            return self.maintenance.timer_fired(name, now)
        if prefix == "limit":
            return self.flows.start(self._limit_due(int(connector)), no_result)
        if name == profiles.PROFILES_TIMER:  # a profile's period or a DER control's window
            return profiles.limits_changed(self.context) + der_control.alarm_changes(self.context)
        if prefix == "cable":
            return self.flows.start(cable.cable_timeout(self.context, int(connector)), no_result)
        if name == security_profile.FALLBACK_TIMER:
            return security_profile.fall_back(self.context)
        if prefix == "monitor" and self.monitoring is not None:
            if self.settings.event_streams and event_streams.streams_monitor(self.context, name):
                return event_streams.sample_due(self.context, self.monitoring, name)
            return monitoring.periodic_due(self.context, self.monitoring, name)
        if prefix == "cost":  # 2.1 running cost
            running = local_cost.running_cost_due(self.context, int(connector))
            return self.flows.start(running, no_result)
        if prefix == "stream":  # 2.1 periodic event stream
            return event_streams.frame_due(self.context, name)
        raise UnhandledEvent(f"no flow owns the timer {name!r}")

    def _limit_due(self, connector_id: int) -> Flow[None]:
        tx = self.station.connector(connector_id).transaction
        if tx is None:
            return
        self.station.advance(self.context.now)
        reason = metering.limit_reached(self.context, tx)
        if reason is None:
            yield from metering.schedule_limit(self.context, tx)  # power changed meanwhile
            return
        # Neutral reasons; the 1.6 codec says Local, 2.x the precise limit.
        yield from cable.end_session(self.context, connector_id, reason)

    def _request(self, message: CsmsRequestMessage, now: float) -> list[Effect]:
        if isinstance(message, ReserveNow):
            return reservations.reserve_now(
                self.station, message, now, reports_ends=self.settings.reports_reservation_ends
            )
        if isinstance(message, CancelReservation):
            return reservations.cancel_reservation(self.station, message)
        if isinstance(message, GetLocalListVersion):
            return local_list.get_local_list_version(
                self.station, message, hides_disabled_list=self.settings.hides_disabled_local_list
            )
        if isinstance(message, ChangeAvailability):
            return availability.change_availability(self.station, message, now)
        if isinstance(message, DataTransfer):
            return data_transfer.data_transfer(message)
        if isinstance(message, SendLocalList | ClearCache):
            return self._command(message, now, from_csms=True)
        if isinstance(message, RemoteStartRequest):
            return remote.remote_start_request(self.context, self.flows, message)
        if isinstance(message, RemoteStopRequest):
            return remote.remote_stop_request(self.context, self.flows, message)
        if isinstance(message, SetChargingProfile):
            rules = self.settings.profile_rules
            return profiles.set_charging_profile(self.context, message, profile_rules=rules)
        if isinstance(message, ClearChargingProfile):
            return profiles.clear_charging_profile(self.context, message)
        if isinstance(message, GetCompositeSchedule):
            return profiles.get_composite_schedule(self.context, message)
        if isinstance(message, GetChargingProfiles):
            return profiles.get_charging_profiles(self.context, message)
        if isinstance(message, ResetRequest):
            return station_control.reset_request(self.context, self.flows, message)
        if isinstance(message, UnlockRequest):
            keeps = self.settings.unlock_keeps_authorized_transaction
            unlock = station_control.unlock_request(self.context, message, keeps_authorized=keeps)
            return self.flows.start(unlock, _answer)
        if isinstance(message, UpdateFirmware | GetLog):
            return self.maintenance.request(message, now)
        if isinstance(message, TriggerRequest):
            return triggers.trigger_message(
                self.context, self.flows, self.registration, self.maintenance, message
            )
        if isinstance(message, GetTransactionStatus):
            return offline.get_transaction_status(self.context, message)
        if isinstance(message, ConfigurationRequest):
            return self._configuration(message)
        return self._request_2x(message)

    def _request_2x(self, message: CsmsRequestMessage) -> list[Effect]:
        """The requests 2.x added: monitoring, display messages, customer data, cost; and
        2.1's tariffs, periodic event streams and DER control."""
        ctx = self.context
        if isinstance(message, MonitoringRequest):
            effects = monitoring.request(ctx, self.device_model, self.flows, message)
            if self.settings.event_streams:
                effects += event_streams.after_monitoring(ctx, self.flows, message, effects)
            return effects
        if isinstance(message, TariffRequest):
            return local_cost.request(ctx, message)
        if isinstance(message, StreamRequest):
            return event_streams.request(ctx, message)
        if isinstance(message, DisplayRequest):
            return display_messages.request(ctx, self.flows, message)
        if isinstance(message, CustomerInformation):
            return customer_information.customer_information(ctx, self.flows, message)
        if isinstance(message, CostUpdated):
            return customer_information.cost_updated(ctx, message)
        if isinstance(message, SetDERControl | GetDERControl | ClearDERControl):
            return der_control.request(ctx, self.flows, message)
        raise UnhandledEvent(f"no flow handles {message!r}")  # certificates: see `handle`

    def _configuration(self, message: ConfigurationRequest) -> list[Effect]:
        ctx, model = self.context, self.device_model
        if isinstance(message, ChangeConfiguration):
            return configuration.change_configuration(ctx, message, self._key_changed)
        if isinstance(message, GetConfiguration):
            return configuration.get_configuration(ctx, message)
        if isinstance(message, GetVariables):
            return configuration.get_variables(ctx, model, message)
        if isinstance(message, SetVariables):
            return self._set_variables(message)
        if isinstance(message, SetNetworkProfile):
            return network_profiles.set_network_profile(ctx, message)
        if isinstance(message, GetBaseReport):
            return configuration.get_base_report(ctx, model, self.flows, message)
        if isinstance(message, GetReport):
            return configuration.get_report(ctx, model, self.flows, message)
        raise UnhandledEvent(f"no flow handles {message!r}")

    def _set_variables(self, message: SetVariables) -> list[Effect]:
        return configuration.set_variables(self.device_model, message, self._key_changed)

    def _key_changed(self, key: str) -> list[Effect]:
        """What follows a configuration change (the heartbeat's interval; 2.x: the next
        connection's Basic-auth password)."""
        effects = registration.configuration_changed(
            self.registration, self.station, key, self.context.now
        )
        if key == network_profiles.PASSWORD_KEY and self.settings.network_profiles:
            effects.append(network_profiles.use_slot(self.context, self.station.network.active))
        return effects

    def _command(
        self, message: GatewayCommandMessage, now: float, *, from_csms: bool
    ) -> list[Effect]:
        """What the CSMS and the gateway may both ask for, decided the same way (except that
        the gateway's cache reset clears a disabled cache too, as it always did)."""
        if isinstance(message, SendLocalList):
            return local_list.send_local_list(self.station, message)
        if isinstance(message, ClearLocalList):
            return local_list.clear_local_list(self.station, message)
        if isinstance(message, ClearCache):
            return auth_cache.clear_cache(
                self.station,
                message,
                needs_enabled_cache=from_csms and self.settings.clear_cache_needs_enabled_cache,
            )
        if isinstance(message, AuthorizeIdTag):
            flow = authorization.authorize(
                self.station, message.id_tag, now, online=self.online, memory=self.context.csms
            )
            return self.flows.start(flow, _answer)
        if isinstance(message, Unlock):
            return self.flows.start(
                station_control.unlock(self.context, message.connector_id), _answer
            )
        if isinstance(message, RequestCertificate):
            request = certificates.request_certificate(self.context, message.cert_type)
            return self.flows.start(request, _answer)
        if isinstance(message, SetExternalLimit):
            return charging_limits.set_external_limit(self.context, message)
        if isinstance(message, ClearExternalLimit):
            return charging_limits.clear_external_limit(self.context, message)
        if isinstance(message, Discharge):
            return der_control.discharge(self.context, message)
        if isinstance(message, GridConditionChanged):
            return der_control.grid_condition_changed(self.context)
        return self.flows.start(self._session_flow(message), _session_result)

    def _session_flow(self, message: GatewayCommandMessage) -> Flow[Any]:
        ctx = self.context
        if isinstance(message, StartTransaction):
            return sessions.start_transaction(ctx, message)
        if isinstance(message, StopTransaction):
            return sessions.stop_transaction(
                ctx, message.connector_id, message.reason, message.id_tag
            )
        if isinstance(message, EndSession):
            return cable.end_session(ctx, message.connector_id, message.reason)
        if isinstance(message, PlugIn):
            return cable.plug_in(ctx, message)
        if isinstance(message, Unplug):
            return cable.unplug(ctx, message.connector_id)
        if isinstance(message, RemoteStart):
            return cable.remote_start(ctx, message)
        if isinstance(message, SampleNow):
            return metering.sample_now(ctx, message.connector_id, message.context)
        if isinstance(message, RecheckLimits):
            return self._recheck_limits()
        if isinstance(message, ResumeSessions):
            return self._resume_sessions()
        if isinstance(message, CloseInterrupted):
            return sessions.close_interrupted(ctx)
        if isinstance(message, Reset):
            return station_control.reset(ctx, message.hard, message.boot_reason)
        if isinstance(message, ReportStatuses):
            return status.report_statuses(ctx, message)
        raise UnhandledEvent(f"no flow handles {message!r}")

    def _following_registration(self) -> Flow[None]:
        """What follows a registration once the offline queue went out, as one flow: close
        what a restart interrupted, report every status again, resume sampling."""
        if not self.online:
            return  # the connection went away meanwhile; the next registration does it
        yield from sessions.close_interrupted(self.context)
        yield from status.report_statuses(self.context, _EVERY_STATUS)
        yield from self._resume_sessions()

    def _restored(self, now: float) -> list[Effect]:
        """Arm again what ran on timers before the restart (see `Restored`)."""
        settings = self.settings
        effects = reservations.restored(
            self.station, now, reports_ends=settings.reports_reservation_ends
        )
        change = self.station.next_limit_change(now)
        if change is not None:  # a profile's next period: the limits follow it
            effects.insert(0, self.context.set_timer(profiles.PROFILES_TIMER, change + 0.001))
        if self.monitoring is not None:
            effects[:0] = monitoring.arm_periodic(self.context)
        return effects

    def _recheck_limits(self) -> Flow[None]:
        for tx in self.station.transactions():
            yield from metering.schedule_limit(self.context, tx)

    def _resume_sessions(self) -> Flow[None]:
        for tx in self.station.transactions():
            yield from metering.schedule_sampling(self.context, tx.connector_id)
            yield from metering.schedule_limit(self.context, tx)
            yield from local_cost.schedule_running_cost(self.context, tx)


_EVERY_STATUS = ReportStatuses(again=True)


def _answer(result: Any) -> list[Effect]:
    return [Answer(result)]


def _session_result(result: Any) -> list[Effect]:
    return [Answer(SessionResult(result))]
