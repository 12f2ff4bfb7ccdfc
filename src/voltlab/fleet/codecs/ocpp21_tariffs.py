"""OCPP 2.1 codec for local cost calculation (functional block I): SetDefaultTariff,
GetTariffs, ClearTariffs and ChangeTransactionTariff (TariffType in, TariffAssignmentType
out), and the TransactionEvent that reports a running cost or a changed tariff."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from voltlab.fleet.codecs.ocpp21_cost_details import encode_cost_details
from voltlab.fleet.codecs.ocpp201_device_model import ADDITIONAL_INFO_MAX_LENGTH
from voltlab.fleet.codecs.ocpp201_sessions import transaction_event
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.tariff_messages import (
    ChangeTransactionTariff,
    ClearTariffs,
    ClearTariffsAnswer,
    CostReport,
    GetTariffs,
    SetDefaultTariff,
    TariffAnswer,
    TariffsAnswer,
)
from voltlab.fleet.model.tariffs import (
    Conditions,
    PriceComponent,
    PriceElement,
    PriceLimit,
    Tariff,
    TariffText,
    TaxRate,
)
from voltlab.ocpp.vocabulary.timestamps import format_timestamp, parse_timestamp

Payload = dict[str, Any]

# TariffConditionsType's fields as the model names them.
CONDITION_FIELDS = {
    "startTimeOfDay": "start_time_of_day",
    "endTimeOfDay": "end_time_of_day",
    "validFromDate": "valid_from_date",
    "validToDate": "valid_to_date",
    "evseKind": "evse_kind",
    "paymentBrand": "payment_brand",
    "paymentRecognition": "payment_recognition",
    "minEnergy": "min_energy",
    "maxEnergy": "max_energy",
    "minCurrent": "min_current",
    "maxCurrent": "max_current",
    "minPower": "min_power",
    "maxPower": "max_power",
    "minTime": "min_time",
    "maxTime": "max_time",
    "minChargingTime": "min_charging_time",
    "maxChargingTime": "max_charging_time",
    "minIdleTime": "min_idle_time",
    "maxIdleTime": "max_idle_time",
}
# TariffType's components, and the field that prices each element.
COMPONENT_FIELDS = {
    "energy": ("energy", "priceKwh"),
    "chargingTime": ("charging_time", "priceMinute"),
    "idleTime": ("idle_time", "priceMinute"),
    "fixedFee": ("fixed_fee", "priceFixed"),
    "reservationTime": ("reservation_time", "priceMinute"),
    "reservationFixed": ("reservation_fixed", "priceFixed"),
}


class StatusInfoType(TypedDict):
    reasonCode: str
    additionalInfo: NotRequired[str]


class TariffAssignmentType(TypedDict):
    tariffId: str
    tariffKind: str
    validFrom: NotRequired[str]
    evseIds: NotRequired[list[int]]
    idTokens: NotRequired[list[str]]


# -- TariffType -> Tariff ---------------------------------------------------------------------


def _rates(items: list[Payload] | None) -> tuple[TaxRate, ...]:
    return tuple(
        TaxRate(str(r["type"]), float(r["tax"]), int(r.get("stack", 0))) for r in items or ()
    )


def _conditions(body: Payload | None) -> Conditions | None:
    if body is None:
        return None
    values: dict[str, Any] = {
        name: body[key] for key, name in CONDITION_FIELDS.items() if key in body
    }
    values["day_of_week"] = tuple(body.get("dayOfWeek", ()))
    return Conditions(**values)


def _component(body: Payload, price_field: str) -> PriceComponent:
    prices = tuple(
        PriceElement(float(item[price_field]), _conditions(item.get("conditions")))
        for item in body["prices"]
    )
    return PriceComponent(prices, _rates(body.get("taxRates")))


def _limit(body: Payload | None) -> PriceLimit | None:
    if body is None:
        return None
    excl, incl = body.get("exclTax"), body.get("inclTax")
    return PriceLimit(
        None if excl is None else float(excl),
        None if incl is None else float(incl),
        _rates(body.get("taxRates")),
    )


def decode_tariff(body: Payload) -> Tariff:
    components = {
        name: _component(body[key], price_field)
        for key, (name, price_field) in COMPONENT_FIELDS.items()
        if key in body
    }
    valid_from = body.get("validFrom")
    return Tariff(
        tariff_id=str(body["tariffId"]),
        currency=str(body["currency"]),
        min_cost=_limit(body.get("minCost")),
        max_cost=_limit(body.get("maxCost")),
        valid_from=None if valid_from is None else parse_timestamp(valid_from),
        description=tuple(
            TariffText(str(t["format"]), str(t["content"]), t.get("language"))
            for t in body.get("description", ())
        ),
        **components,
    )


# -- the requests ---------------------------------------------------------------------------------


def decode_set_default_tariff(payload: Payload) -> SetDefaultTariff:
    return SetDefaultTariff(int(payload["evseId"]), decode_tariff(payload["tariff"]))


def decode_get_tariffs(payload: Payload) -> GetTariffs:
    return GetTariffs(int(payload["evseId"]))


def decode_clear_tariffs(payload: Payload) -> ClearTariffs:
    ids = payload.get("tariffIds")
    evse_id = payload.get("evseId")
    return ClearTariffs(
        None if ids is None else tuple(str(i) for i in ids),
        None if evse_id is None else int(evse_id),
    )


def decode_change_transaction_tariff(payload: Payload) -> ChangeTransactionTariff:
    return ChangeTransactionTariff(str(payload["transactionId"]), decode_tariff(payload["tariff"]))


def _status_info(reason_code: str, info: str) -> StatusInfoType:
    body: StatusInfoType = {"reasonCode": reason_code}
    if info:
        body["additionalInfo"] = info[:ADDITIONAL_INFO_MAX_LENGTH]
    return body


def encode_tariff_answer(answer: TariffAnswer) -> Payload:
    body: Payload = {"status": answer.status}
    if answer.reason_code is not None:
        body["statusInfo"] = _status_info(answer.reason_code, answer.info)
    return body


def encode_tariffs_answer(answer: TariffsAnswer) -> Payload:
    body: Payload = {"status": answer.status}
    if answer.reason_code is not None:
        body["statusInfo"] = _status_info(answer.reason_code, answer.info)
    assignments: list[TariffAssignmentType] = []
    for assignment in answer.assignments:
        item: TariffAssignmentType = {
            "tariffId": assignment.tariff.tariff_id,
            "tariffKind": assignment.kind,
        }
        if assignment.tariff.valid_from is not None:
            item["validFrom"] = format_timestamp(assignment.tariff.valid_from)
        if assignment.evse_ids:
            item["evseIds"] = list(assignment.evse_ids)
        if assignment.id_tokens:
            item["idTokens"] = list(assignment.id_tokens)
        assignments.append(item)
    if assignments:
        body["tariffAssignments"] = assignments
    return body


def encode_clear_tariffs_answer(answer: ClearTariffsAnswer) -> Payload:
    results: list[Payload] = []
    for tariff_id, status in answer.results:
        item: Payload = {"status": status}
        if tariff_id is not None:
            item["tariffId"] = tariff_id
        if status == "Rejected" and answer.reason_code is not None:
            item["statusInfo"] = _status_info(answer.reason_code, answer.info)
        results.append(item)
    return {"clearTariffsResult": results}


# -- what the station sends -----------------------------------------------------------------------


def encode_cost_report(report: CostReport) -> tuple[str, Payload]:
    """A TransactionEvent Updated with the cost so far (RunningCost, TariffChanged)."""
    return transaction_event(
        "Updated",
        report.trigger,
        report.tx,
        report.sent_at,
        {"tariffId": report.tariff_id},
        costDetails=encode_cost_details(report.details),
    )


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "SetDefaultTariff": RequestCodec(decode_set_default_tariff, encode_tariff_answer),
    "GetTariffs": RequestCodec(decode_get_tariffs, encode_tariffs_answer),
    "ClearTariffs": RequestCodec(decode_clear_tariffs, encode_clear_tariffs_answer),
    "ChangeTransactionTariff": RequestCodec(decode_change_transaction_tariff, encode_tariff_answer),
}
