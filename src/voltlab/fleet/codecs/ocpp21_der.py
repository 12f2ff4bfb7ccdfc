"""OCPP 2.1 codec for DER control (functional block R): SetDERControl, GetDERControl and
ClearDERControl with their answers, and what the station sends: ReportDERControl (a report's
pages) and NotifyDERAlarm.

A control's setting travels in the request field its control type names (`fixedPFAbsorb` for
FixedPFAbsorb, `curve` for the curve types, ...); the station keeps it as it came and reports
it back in ReportDERControl's matching list, with the `isDefault` / `isSuperseded` it has now.
A SetDERControl without the setting its type needs is answered Rejected (reasonCode
MissingParam): the request is well-formed OCPP, the control it describes is not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.v2x_messages import (
    ClearDERControl,
    DERAlarm,
    DERControlAnswer,
    DERControlReport,
    GetDERControl,
    SetDERControl,
)
from voltlab.fleet.model.der_controls import LIMIT_MAX_DISCHARGE, DerControl
from voltlab.ocpp.vocabulary.timestamps import format_timestamp, parse_timestamp

Payload = dict[str, Any]

# The request field each control type's setting travels in; every other type is a curve.
SETTING_FIELDS: dict[str, str] = {
    "EnterService": "enterService",
    "FreqDroop": "freqDroop",
    "FixedPFAbsorb": "fixedPFAbsorb",
    "FixedPFInject": "fixedPFInject",
    "FixedVar": "fixedVar",
    "Gradients": "gradient",
    "LimitMaxDischarge": "limitMaxDischarge",
}
CURVE_FIELD = "curve"
# ReportDERControl's list for each setting field, and the name of the setting in its items.
REPORT_ITEMS: dict[str, tuple[str, str]] = {
    "curve": ("curve", "curve"),
    "enterService": ("enterService", "enterService"),
    "fixedPFAbsorb": ("fixedPFAbsorb", "fixedPF"),
    "fixedPFInject": ("fixedPFInject", "fixedPF"),
    "fixedVar": ("fixedVar", "fixedVar"),
    "freqDroop": ("freqDroop", "freqDroop"),
    "gradient": ("gradient", "gradient"),
    "limitMaxDischarge": ("limitMaxDischarge", "limitMaxDischarge"),
}
# Items of these lists carry no isDefault / isSuperseded (EnterServiceGetType, GradientGetType).
_BARE_ITEMS = frozenset({"enterService", "gradient"})
REASON_MISSING_SETTING = "MissingParam"


class StatusInfoType(TypedDict):
    reasonCode: str
    additionalInfo: NotRequired[str]


class DERControlResponse(TypedDict):
    """SetDERControlResponse, GetDERControlResponse and ClearDERControlResponse."""

    status: str
    statusInfo: NotRequired[StatusInfoType]
    supersededIds: NotRequired[list[str]]


class NotifyDERAlarmRequest(TypedDict):
    controlType: str
    timestamp: str
    gridEventFault: NotRequired[str]
    alarmEnded: NotRequired[bool]


def setting_field(control_type: str) -> str:
    return SETTING_FIELDS.get(control_type, CURVE_FIELD)


# -- requests ------------------------------------------------------------------------------------


def decode_set_der_control(payload: Payload) -> SetDERControl:
    control_type = str(payload["controlType"])
    setting: Mapping[str, Any] | None = payload.get(setting_field(control_type))
    refusal = None if setting is not None else REASON_MISSING_SETTING
    body: Mapping[str, Any] = setting or {}
    start = body.get("startTime")
    duration = body.get("duration")
    pct = body.get("pctMaxDischargePower") if control_type == LIMIT_MAX_DISCHARGE else None
    control = DerControl(
        control_id=str(payload["controlId"]),
        control_type=control_type,
        is_default=bool(payload["isDefault"]),
        priority=int(body.get("priority", 0)),
        start=None if start is None else parse_timestamp(start),
        duration=None if duration is None else float(duration),
        setting=dict(body),
        pct_max_discharge=None if pct is None else float(pct),
    )
    return SetDERControl(control, refusal)


def decode_get_der_control(payload: Payload) -> GetDERControl:
    return GetDERControl(
        int(payload["requestId"]),
        payload.get("isDefault"),
        payload.get("controlType"),
        payload.get("controlId"),
    )


def decode_clear_der_control(payload: Payload) -> ClearDERControl:
    return ClearDERControl(
        bool(payload["isDefault"]), payload.get("controlType"), payload.get("controlId")
    )


def encode_der_answer(answer: DERControlAnswer) -> DERControlResponse:
    body: DERControlResponse = {"status": answer.status}
    if answer.reason is not None:
        body["statusInfo"] = {"reasonCode": answer.reason}
    if answer.superseded_ids:
        body["supersededIds"] = list(answer.superseded_ids)
    return body


# -- what the station sends ------------------------------------------------------------------------


def encode_report(report: DERControlReport) -> tuple[str, Payload]:
    body: Payload = {"requestId": report.request_id}
    for control in report.controls:
        field = setting_field(control.control_type)
        listed, named = REPORT_ITEMS[field]
        item: Payload = {"id": control.control_id}
        if field == CURVE_FIELD:
            item["curveType"] = control.control_type
        if field not in _BARE_ITEMS:
            item["isDefault"] = control.is_default
            item["isSuperseded"] = control.superseded
        item[named] = dict(control.setting)
        body.setdefault(listed, []).append(item)
    if report.more_follow:
        body["tbc"] = True
    return "ReportDERControl", body


def encode_alarm(alarm: DERAlarm) -> tuple[str, Payload]:
    body: NotifyDERAlarmRequest = {
        "controlType": alarm.control_type,
        "timestamp": format_timestamp(alarm.at),
    }
    if alarm.grid_event is not None:
        body["gridEventFault"] = alarm.grid_event
    if alarm.ended:
        body["alarmEnded"] = True
    return "NotifyDERAlarm", dict(body)


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "SetDERControl": RequestCodec(decode_set_der_control, encode_der_answer),
    "GetDERControl": RequestCodec(decode_get_der_control, encode_der_answer),
    "ClearDERControl": RequestCodec(decode_clear_der_control, encode_der_answer),
}
