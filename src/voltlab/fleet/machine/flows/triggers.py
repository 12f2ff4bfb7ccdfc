"""TriggerMessage (1.6 TriggerMessage and ExtendedTriggerMessage, 2.x TriggerMessage): the
answer first, then what it asked for.

Answer: NotImplemented for a message the station does not trigger (the codec's words say
which), Rejected for a connector (2.x: EVSE) the station does not have; connector 0 is the
station itself, which only a StatusNotification can be about, and only where the station
reports a status of its own (1.6). Then: BootNotification and Heartbeat as registration
sends them, StatusNotification of the connector (all of them, 1.6 with the station's own),
MeterValues sampled now, one TransactionEvent per running transaction (2.x), the firmware
and upload statuses as they stand, or a CSR for the station's certificate or its V2G
certificate (flows/certificates)."""

from __future__ import annotations

from collections.abc import Iterable

from voltlab.fleet.machine.certificate_messages import STATION_CERTIFICATE
from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Answer, Effect, SendCall
from voltlab.fleet.machine.flow import Call, Flow, FlowStepper, no_result
from voltlab.fleet.machine.flows import certificates, metering, registration, status
from voltlab.fleet.machine.flows.maintenance import Maintenance
from voltlab.fleet.machine.flows.sequence import transaction_ref
from voltlab.fleet.machine.maintenance_messages import (
    FirmwareStatusReport,
    LogKind,
    LogStatusReport,
)
from voltlab.fleet.machine.session_messages import ReportStatuses, TransactionTriggered
from voltlab.fleet.machine.trigger_messages import TriggerAnswer, TriggerRequest, TriggerStatus
from voltlab.fleet.model.contracts import V2G_CERTIFICATE
from voltlab.fleet.model.device_model_iso15118 import V2G_INSTALLATION


def trigger_message(
    ctx: FlowContext,
    flows: FlowStepper,
    reg: registration.Registration,
    maintenance: Maintenance,
    request: TriggerRequest,
) -> list[Effect]:
    answer = _answer(ctx, request)
    if answer != "Accepted":
        return [Answer(TriggerAnswer(answer))]
    send = _send(ctx, reg, maintenance, request)
    return [Answer(TriggerAnswer(answer)), *flows.start(send, no_result)]


def _answer(ctx: FlowContext, request: TriggerRequest) -> TriggerStatus:
    connector_id = request.connector_id
    if request.target is None:
        return "NotImplemented"
    if (
        request.target == "SignV2GCertificate"
        and ctx.station.config.get(V2G_INSTALLATION) == "false"
    ):
        return "Rejected"  # ISO15118Ctrlr.V2GCertificateInstallationEnabled
    if connector_id is None or connector_id in ctx.station.connectors:
        return "Accepted"
    station_status = connector_id == 0 and request.target == "StatusNotification"
    # 2.x reports per EVSE only: there the station as a whole has no status to send.
    return "Accepted" if station_status and not ctx.folds_statuses_2x else "Rejected"


def _send(
    ctx: FlowContext,
    reg: registration.Registration,
    maintenance: Maintenance,
    request: TriggerRequest,
) -> Flow[None]:
    target, connector_id = request.target, request.connector_id
    station = ctx.station
    if target in ("BootNotification", "Heartbeat"):
        yield from registration.triggered(reg, station, lambda: ctx.now, target)
    elif target == "StatusNotification":
        ids = (connector_id,) if connector_id is not None else (0, *station.connectors)
        yield from status.report_statuses(ctx, ReportStatuses(again=True, connector_ids=ids))
    elif target == "MeterValues":
        for each in _connectors(ctx, connector_id):
            yield from metering.sample_now(ctx, each, "Trigger")
    elif target == "TransactionEvent":
        for each in _connectors(ctx, connector_id):
            tx = station.connectors[each].transaction
            if tx is not None and tx.transaction_id is not None:
                yield Call(TransactionTriggered(transaction_ref(tx), ctx.now))
    elif target == "FirmwareStatus":
        firmware = maintenance.firmware.reported_status
        request_id = maintenance.firmware.reported_request_id
        yield SendCall(FirmwareStatusReport(firmware, request_id, signed=False))
    elif target in ("DiagnosticsStatus", "LogStatus"):
        kind: LogKind = "diagnostics" if target == "DiagnosticsStatus" else "log"
        upload = maintenance.logs.status_of(kind)
        request_id = maintenance.logs.request_id_of(kind)
        yield SendCall(LogStatusReport(kind, upload, request_id, file_name=""))
    elif target == "SignCertificate":
        # 1.6 SignChargePointCertificate and 2.x SignChargingStationCertificate alike; what the
        # CSMS answers to the SignCertificate changes nothing here.
        yield from certificates.request_certificate(ctx, STATION_CERTIFICATE)
    elif target == "SignV2GCertificate":  # 2.x (1.6: the application note's, plug_and_charge)
        yield from certificates.request_certificate(ctx, V2G_CERTIFICATE)


def _connectors(ctx: FlowContext, connector_id: int | None) -> Iterable[int]:
    """The connector asked about, or every connector when none (or the station) was named."""
    return (connector_id,) if connector_id else tuple(ctx.station.connectors)
