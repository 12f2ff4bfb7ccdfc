"""OCPP 2.0.1 / 2.1 codec for monitoring (functional block N): SetVariableMonitoring,
ClearVariableMonitoring, SetMonitoringBase, SetMonitoringLevel, GetMonitoringReport, and what
the station sends: NotifyMonitoringReport and NotifyEvent. The shapes are the OCA schemas'
(SetMonitoringDataType, SetMonitoringResultType, MonitoringDataType, EventDataType).

A SetVariableMonitoring or ClearVariableMonitoring beyond the station's MonitoringCtrlr
ItemsPerMessage / BytesPerMessage is answered CALLERROR OccurrenceConstraintViolation /
FormatViolation, as the device model's SetVariables rules have it (N04.FR.09, N06)."""

from __future__ import annotations

import json
from typing import Any, NotRequired, TypedDict

from voltlab.fleet.codecs.ocpp201_device_model import (
    ADDITIONAL_INFO_MAX_LENGTH,
    ComponentType,
    ComponentVariableType,
    StatusInfoType,
    VariableType,
    decode_component,
    decode_variable,
    encode_component,
    encode_variable,
)
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.monitoring_messages import (
    ClearVariableMonitoring,
    ClearVariableMonitoringAnswer,
    EventNotice,
    GetMonitoringReport,
    MonitoringAnswer,
    MonitoringReportPage,
    SetMonitoringBase,
    SetMonitoringLevel,
    SetVariableMonitoring,
    SetVariableMonitoringAnswer,
)
from voltlab.fleet.model.device_model_controllers import (
    MONITORING_BYTES_PER_MESSAGE,
    MONITORING_ITEMS_PER_MESSAGE,
)
from voltlab.fleet.model.device_model_types import ReportFilter
from voltlab.fleet.model.device_monitoring import MonitorResult, MonitorSetting
from voltlab.fleet.model.monitors import Monitor, MonitorEvent
from voltlab.ocpp.errors import OcppError
from voltlab.ocpp.versions import OCPP21
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

Payload = dict[str, Any]


class SetMonitoringDataType(TypedDict):
    value: float
    type: str
    severity: int
    component: ComponentType
    variable: VariableType
    id: NotRequired[int]
    transaction: NotRequired[bool]


class SetMonitoringResultType(TypedDict):
    status: str
    type: str
    severity: int
    component: ComponentType
    variable: VariableType
    id: NotRequired[int]
    statusInfo: NotRequired[StatusInfoType]


class VariableMonitoringType(TypedDict):
    id: int
    transaction: bool
    value: float
    type: str
    severity: int
    eventNotificationType: NotRequired[str]  # 2.1


class MonitoringDataType(TypedDict):
    component: ComponentType
    variable: VariableType
    variableMonitoring: list[VariableMonitoringType]


class EventDataType(TypedDict):
    eventId: int
    timestamp: str
    trigger: str
    actualValue: str
    eventNotificationType: str
    component: ComponentType
    variable: VariableType
    cleared: NotRequired[bool]
    transactionId: NotRequired[str]
    variableMonitoringId: NotRequired[int]
    techCode: NotRequired[str]
    techInfo: NotRequired[str]
    severity: NotRequired[int]  # 2.1


def _check_size(action: str, payload: Payload, items: int) -> None:
    if items > MONITORING_ITEMS_PER_MESSAGE:
        raise OcppError(
            "OccurrenceConstraintViolation",
            f"{action} carries {items} items; MonitoringCtrlr.ItemsPerMessage[{action}] is "
            f"{MONITORING_ITEMS_PER_MESSAGE}",
        )
    size = len(json.dumps(payload, separators=(",", ":")).encode())
    if size > MONITORING_BYTES_PER_MESSAGE:
        raise OcppError(
            "FormatViolation",
            f"{action} is {size} bytes; MonitoringCtrlr.BytesPerMessage[{action}] is "
            f"{MONITORING_BYTES_PER_MESSAGE}",
        )


# -- requests ------------------------------------------------------------------------------------


def decode_set_variable_monitoring(payload: Payload) -> SetVariableMonitoring:
    items: list[SetMonitoringDataType] = payload["setMonitoringData"]
    _check_size("SetVariableMonitoring", payload, len(items))
    return SetVariableMonitoring(tuple(_setting(item) for item in items))


def _setting(item: SetMonitoringDataType) -> MonitorSetting:
    return MonitorSetting(
        decode_component(item["component"]),
        decode_variable(item["variable"]),
        item["type"],
        float(item["value"]),
        int(item["severity"]),
        bool(item.get("transaction", False)),
        item.get("id"),
    )


def encode_set_variable_monitoring_answer(answer: SetVariableMonitoringAnswer) -> Payload:
    return {"setMonitoringResult": [_result(result) for result in answer.results]}


def _result(result: MonitorResult) -> SetMonitoringResultType:
    setting = result.setting
    body: SetMonitoringResultType = {
        "status": result.status,
        "type": setting.type,
        "severity": setting.severity,
        "component": encode_component(setting.component),
        "variable": encode_variable(setting.variable),
    }
    if result.id is not None:
        body["id"] = result.id
    if result.refusal is not None:
        body["statusInfo"] = {
            "reasonCode": result.refusal.reason_code,
            "additionalInfo": result.refusal.info[:ADDITIONAL_INFO_MAX_LENGTH],
        }
    return body


def decode_clear_variable_monitoring(payload: Payload) -> ClearVariableMonitoring:
    ids: list[int] = payload["id"]
    _check_size("ClearVariableMonitoring", payload, len(ids))
    return ClearVariableMonitoring(tuple(int(monitor_id) for monitor_id in ids))


def encode_clear_variable_monitoring_answer(answer: ClearVariableMonitoringAnswer) -> Payload:
    return {
        "clearMonitoringResult": [
            {"id": monitor_id, "status": status} for monitor_id, status in answer.results
        ]
    }


def decode_set_monitoring_base(payload: Payload) -> SetMonitoringBase:
    return SetMonitoringBase(str(payload["monitoringBase"]))


def decode_set_monitoring_level(payload: Payload) -> SetMonitoringLevel:
    return SetMonitoringLevel(int(payload["severity"]))


def decode_get_monitoring_report(payload: Payload) -> GetMonitoringReport:
    wanted: list[ComponentVariableType] = payload.get("componentVariable") or []
    filters = tuple(
        ReportFilter(
            decode_component(item["component"]),
            decode_variable(item["variable"]) if "variable" in item else None,
        )
        for item in wanted
    )
    return GetMonitoringReport(
        int(payload["requestId"]), filters, tuple(payload.get("monitoringCriteria") or ())
    )


def encode_monitoring_answer(answer: MonitoringAnswer) -> Payload:
    return {"status": answer.status}


# -- what the station sends --------------------------------------------------------------------


def encode_report_page(page: MonitoringReportPage, version: str) -> tuple[str, Payload]:
    body: Payload = {
        "requestId": page.request_id,
        "seqNo": page.seq_no,
        "generatedAt": format_timestamp(page.generated_at),
        "monitor": [
            MonitoringDataType(
                component=encode_component(data.component),
                variable=encode_variable(data.variable),
                variableMonitoring=[_monitor(item, version) for item in data.monitors],
            )
            for data in page.data
        ],
    }
    if page.more_follow:
        body["tbc"] = True
    return "NotifyMonitoringReport", body


def _monitor(monitor: Monitor, version: str) -> VariableMonitoringType:
    body: VariableMonitoringType = {
        "id": monitor.id,
        "transaction": monitor.transaction,
        "value": monitor.value,
        "type": monitor.type,
        "severity": monitor.severity,
    }
    if version == OCPP21:  # 2.1 names the kind of monitor in the report too
        body["eventNotificationType"] = monitor.kind
    return body


def encode_event_notice(notice: EventNotice, version: str) -> tuple[str, Payload]:
    body: Payload = {
        "generatedAt": format_timestamp(notice.generated_at),
        "seqNo": notice.seq_no,
        "eventData": [_event(event, version) for event in notice.events],
    }
    if notice.more_follow:
        body["tbc"] = True
    return "NotifyEvent", body


def _event(event: MonitorEvent, version: str) -> EventDataType:
    body: EventDataType = {
        "eventId": event.event_id,
        "timestamp": format_timestamp(event.timestamp),
        "trigger": event.trigger,
        "actualValue": event.actual_value,
        "eventNotificationType": event.notification_type,
        "component": encode_component(event.component),
        "variable": encode_variable(event.variable),
        "variableMonitoringId": event.monitor_id,
    }
    if event.cleared is not None:
        body["cleared"] = event.cleared
    if event.transaction_id is not None:
        body["transactionId"] = event.transaction_id
    if event.tech_code is not None:
        body["techCode"] = event.tech_code[:50]
    if event.tech_info is not None:
        body["techInfo"] = event.tech_info[:500]
    if version == OCPP21:
        body["severity"] = event.severity
    return body


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "SetVariableMonitoring": RequestCodec(
        decode_set_variable_monitoring, encode_set_variable_monitoring_answer
    ),
    "ClearVariableMonitoring": RequestCodec(
        decode_clear_variable_monitoring, encode_clear_variable_monitoring_answer
    ),
    "SetMonitoringBase": RequestCodec(decode_set_monitoring_base, encode_monitoring_answer),
    "SetMonitoringLevel": RequestCodec(decode_set_monitoring_level, encode_monitoring_answer),
    "GetMonitoringReport": RequestCodec(decode_get_monitoring_report, encode_monitoring_answer),
}
