"""OCPP 2.1's additions to a charging profile's periods (bidirectional power transfer): the
operation mode, the setpoint, the discharge limit, the frequency-watt curve and its baseline,
and a limit that may be left out or be negative. Everything else of a profile is 2.0.1's
(`ocpp201_profiles`, `profile_shape`), read and written with these period functions.

Per-phase values (`limit_L2`, `setpoint_L3`, ...), reactive setpoints, the signal-watt curve,
`preconditioningRequest` and `evseSleep` are accepted and not simulated: the model's
connectors meter their phases as one."""

from __future__ import annotations

from functools import partial
from typing import Any, NotRequired, TypedDict

from voltlab.fleet.codecs import ocpp201_control, ocpp201_profiles
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.model.charging_profile import SchedulePeriod

Payload = dict[str, Any]


class V2XFreqWattPointType(TypedDict):
    frequency: float
    power: float


class ChargingSchedulePeriodType21(TypedDict):
    """The fields of 2.1's ChargingSchedulePeriodType the station simulates."""

    startPeriod: int
    limit: NotRequired[float]
    numberPhases: NotRequired[int]
    operationMode: NotRequired[str]
    setpoint: NotRequired[float]
    dischargeLimit: NotRequired[float]
    v2xBaseline: NotRequired[float]
    v2xFreqWattCurve: NotRequired[list[V2XFreqWattPointType]]


def read_period(period: Payload) -> SchedulePeriod:
    limit = period.get("limit")
    phases = period.get("numberPhases")
    curve = period.get("v2xFreqWattCurve")
    return SchedulePeriod(
        int(period["startPeriod"]),
        None if limit is None else float(limit),
        None if phases is None else int(phases),
        operation_mode=period.get("operationMode"),
        setpoint=_number(period.get("setpoint")),
        discharge_limit=_number(period.get("dischargeLimit")),
        v2x_baseline=_number(period.get("v2xBaseline")),
        freq_watt=None
        if curve is None
        else tuple((float(point["frequency"]), float(point["power"])) for point in curve),
    )


def period_json(period: SchedulePeriod) -> Payload:
    body: ChargingSchedulePeriodType21 = {"startPeriod": period.start_period}
    if period.limit is not None:
        body["limit"] = period.limit
    if period.number_phases is not None:
        body["numberPhases"] = period.number_phases
    if period.operation_mode is not None:
        body["operationMode"] = period.operation_mode
    if period.setpoint is not None:
        body["setpoint"] = period.setpoint
    if period.discharge_limit is not None:
        body["dischargeLimit"] = period.discharge_limit
    if period.v2x_baseline is not None:
        body["v2xBaseline"] = period.v2x_baseline
    if period.freq_watt is not None:
        body["v2xFreqWattCurve"] = [
            {"frequency": frequency, "power": power} for frequency, power in period.freq_watt
        ]
    return dict(body)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


decode_profile = partial(ocpp201_profiles.decode_profile, read_period=read_period)
encode_profiles_report = partial(ocpp201_profiles.encode_profiles_report, write_period=period_json)

# The 2.0.1 requests whose profile 2.1 reads with its own periods (codecs/ocpp21.py).
REPLACED: dict[str, RequestCodec] = {
    "SetChargingProfile": RequestCodec(
        partial(ocpp201_control.decode_set_charging_profile, decode_profile=decode_profile),
        ocpp201_control.encode_control_answer,
    ),
    "RequestStartTransaction": RequestCodec(
        partial(ocpp201_control.decode_request_start, decode_profile=decode_profile),
        ocpp201_control.encode_control_answer,
    ),
}
