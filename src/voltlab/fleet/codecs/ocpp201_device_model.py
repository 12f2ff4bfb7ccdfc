"""OCPP 2.0.1 / 2.1 codec for the device model: GetVariables, SetVariables, GetBaseReport,
GetReport and the NotifyReport pages that answer a report. The shapes are the OCA schemas'
(ComponentType, VariableType, GetVariableResultType, SetVariableResultType, ReportDataType);
components and variables are echoed as the CSMS named them."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.configuration_messages import (
    GetBaseReport,
    GetReport,
    GetVariables,
    ReportAnswer,
    ReportPage,
    SetVariables,
    VariablesAnswer,
)
from voltlab.fleet.model.device_model import ACTUAL
from voltlab.fleet.model.device_model_types import (
    ComponentRef,
    ReportFilter,
    ReportItem,
    VariableCharacteristics,
    VariableGet,
    VariableRef,
    VariableResult,
    VariableSet,
)
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

ADDITIONAL_INFO_MAX_LENGTH = 512  # StatusInfoType.additionalInfo


class EVSEType(TypedDict):
    id: int
    connectorId: NotRequired[int]


class ComponentType(TypedDict):
    name: str
    instance: NotRequired[str]
    evse: NotRequired[EVSEType]


class VariableType(TypedDict):
    name: str
    instance: NotRequired[str]


class GetVariableDataType(TypedDict):
    component: ComponentType
    variable: VariableType
    attributeType: NotRequired[str]


class SetVariableDataType(GetVariableDataType):
    attributeValue: str


class ComponentVariableType(TypedDict):
    component: ComponentType
    variable: NotRequired[VariableType]


class StatusInfoType(TypedDict):
    reasonCode: str
    additionalInfo: NotRequired[str]


class VariableResultType(TypedDict):
    """GetVariableResultType and SetVariableResultType (the latter has no attributeValue)."""

    attributeStatus: str
    attributeType: str
    component: ComponentType
    variable: VariableType
    attributeValue: NotRequired[str]
    attributeStatusInfo: NotRequired[StatusInfoType]


class VariableAttributeType(TypedDict):
    type: str
    value: NotRequired[str]
    mutability: str
    persistent: bool
    constant: bool


class VariableCharacteristicsType(TypedDict):
    dataType: str
    supportsMonitoring: bool
    unit: NotRequired[str]
    minLimit: NotRequired[float]
    maxLimit: NotRequired[float]
    valuesList: NotRequired[str]


class ReportDataType(TypedDict):
    component: ComponentType
    variable: VariableType
    variableAttribute: list[VariableAttributeType]
    variableCharacteristics: VariableCharacteristicsType


class NotifyReportRequest(TypedDict):
    requestId: int
    generatedAt: str
    seqNo: int
    reportData: list[ReportDataType]
    tbc: NotRequired[bool]


# -- addressing ------------------------------------------------------------------------------


def decode_component(body: ComponentType) -> ComponentRef:
    evse = body.get("evse")
    return ComponentRef(
        body["name"],
        None if evse is None else evse["id"],
        None if evse is None else evse.get("connectorId"),
        body.get("instance"),
    )


def decode_variable(body: VariableType) -> VariableRef:
    return VariableRef(body["name"], body.get("instance"))


def encode_component(component: ComponentRef) -> ComponentType:
    body: ComponentType = {"name": component.name}
    if component.instance is not None:
        body["instance"] = component.instance
    if component.evse_id is not None:
        evse: EVSEType = {"id": component.evse_id}
        if component.connector_id is not None:
            evse["connectorId"] = component.connector_id
        body["evse"] = evse
    return body


def encode_variable(variable: VariableRef) -> VariableType:
    body: VariableType = {"name": variable.name}
    if variable.instance is not None:
        body["instance"] = variable.instance
    return body


# -- GetVariables / SetVariables ---------------------------------------------------------------


def decode_get_variables(payload: dict[str, Any]) -> GetVariables:
    return GetVariables(tuple(_variable_get(item) for item in payload["getVariableData"]))


def _variable_get(item: GetVariableDataType) -> VariableGet:
    return VariableGet(
        decode_component(item["component"]),
        decode_variable(item["variable"]),
        item.get("attributeType", ACTUAL),
    )


def decode_set_variables(payload: dict[str, Any]) -> SetVariables:
    return SetVariables(tuple(_variable_set(item) for item in payload["setVariableData"]))


def _variable_set(item: SetVariableDataType) -> VariableSet:
    return VariableSet(
        decode_component(item["component"]),
        decode_variable(item["variable"]),
        str(item["attributeValue"]),
        item.get("attributeType", ACTUAL),
    )


def encode_get_variables_answer(answer: VariablesAnswer) -> dict[str, Any]:
    return {"getVariableResult": [_result(result) for result in answer.results]}


def encode_set_variables_answer(answer: VariablesAnswer) -> dict[str, Any]:
    return {"setVariableResult": [_result(result) for result in answer.results]}


def _result(result: VariableResult) -> VariableResultType:
    body: VariableResultType = {
        "attributeStatus": result.status,
        "attributeType": result.attribute_type,
        "component": encode_component(result.component),
        "variable": encode_variable(result.variable),
    }
    if result.value is not None:
        body["attributeValue"] = result.value
    if result.refusal is not None:
        body["attributeStatusInfo"] = {
            "reasonCode": result.refusal.reason_code,
            "additionalInfo": result.refusal.info[:ADDITIONAL_INFO_MAX_LENGTH],
        }
    return body


# -- reports ---------------------------------------------------------------------------------


def decode_get_base_report(payload: dict[str, Any]) -> GetBaseReport:
    return GetBaseReport(payload["requestId"], payload["reportBase"])


def decode_get_report(payload: dict[str, Any]) -> GetReport:
    return GetReport(
        payload["requestId"],
        tuple(_filter(wanted) for wanted in payload.get("componentVariable") or ()),
        tuple(payload.get("componentCriteria") or ()),
    )


def _filter(wanted: ComponentVariableType) -> ReportFilter:
    variable = wanted.get("variable")
    return ReportFilter(
        decode_component(wanted["component"]),
        None if variable is None else decode_variable(variable),
    )


def encode_report_answer(answer: ReportAnswer) -> dict[str, Any]:
    return {"status": answer.status}


def encode_report_page(page: ReportPage) -> tuple[str, dict[str, Any]]:
    body: NotifyReportRequest = {
        "requestId": page.request_id,
        "generatedAt": format_timestamp(page.generated_at),
        "seqNo": page.seq_no,
        "reportData": [report_data(item) for item in page.items],
    }
    if page.more_follow:
        body["tbc"] = True
    return "NotifyReport", dict(body)


def report_data(item: ReportItem) -> ReportDataType:
    attribute: VariableAttributeType = {
        "type": ACTUAL,
        "mutability": item.mutability,
        "persistent": item.persistent,
        "constant": item.constant,
    }
    if item.value is not None:
        attribute["value"] = item.value
    return {
        "component": encode_component(item.component),
        "variable": encode_variable(item.variable),
        "variableAttribute": [attribute],
        "variableCharacteristics": _characteristics(item.characteristics),
    }


def _characteristics(characteristics: VariableCharacteristics) -> VariableCharacteristicsType:
    body: VariableCharacteristicsType = {
        "dataType": characteristics.data_type,
        "supportsMonitoring": characteristics.supports_monitoring,
    }
    if characteristics.unit is not None:
        body["unit"] = characteristics.unit
    if characteristics.min_limit is not None:
        body["minLimit"] = characteristics.min_limit
    if characteristics.max_limit is not None:
        body["maxLimit"] = characteristics.max_limit
    if characteristics.values_list:
        body["valuesList"] = ",".join(characteristics.values_list)
    return body


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "GetVariables": RequestCodec(decode_get_variables, encode_get_variables_answer),
    "SetVariables": RequestCodec(decode_set_variables, encode_set_variables_answer),
    "GetBaseReport": RequestCodec(decode_get_base_report, encode_report_answer),
    "GetReport": RequestCodec(decode_get_report, encode_report_answer),
}
