"""OCPP 2.0.1 / 2.1 codec for what a station reports about limits and an EV's needs:
NotifyChargingLimit, ClearedChargingLimit (K12/K13), NotifyEVChargingNeeds and
NotifyEVChargingSchedule (K15-K17), with the answers the last two bring."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from voltlab.fleet.machine.charging_limit_messages import (
    ChargingLimitCleared,
    ChargingLimitNotice,
    EVChargingNeeds,
    EVChargingNeedsAnswer,
    EVChargingSchedule,
    EVChargingScheduleAnswer,
    PlannedSchedule,
)
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

Payload = dict[str, Any]


class ChargingSchedulePeriodType(TypedDict):
    startPeriod: int
    limit: float
    numberPhases: NotRequired[int]


class ChargingScheduleType(TypedDict):
    id: int
    chargingRateUnit: str
    chargingSchedulePeriod: list[ChargingSchedulePeriodType]
    startSchedule: NotRequired[str]
    duration: NotRequired[int]


def encode_schedule(schedule: PlannedSchedule) -> ChargingScheduleType:
    periods: list[ChargingSchedulePeriodType] = []
    for period in schedule.periods:
        item: ChargingSchedulePeriodType = {
            "startPeriod": period.start_period,
            "limit": period.limit,
        }
        if period.number_phases is not None:
            item["numberPhases"] = period.number_phases
        periods.append(item)
    body: ChargingScheduleType = {
        "id": schedule.schedule_id,
        "chargingRateUnit": schedule.unit,
        "chargingSchedulePeriod": periods,
        "startSchedule": format_timestamp(schedule.start),
    }
    if schedule.duration is not None:
        body["duration"] = schedule.duration
    return body


def encode_charging_limit(notice: ChargingLimitNotice) -> tuple[str, Payload]:
    limit: Payload = {"chargingLimitSource": notice.source}
    if notice.grid_critical is not None:
        limit["isGridCritical"] = notice.grid_critical
    body: Payload = {"chargingLimit": limit}
    if notice.evse_id is not None:
        body["evseId"] = notice.evse_id
    if notice.schedule is not None:
        body["chargingSchedule"] = [encode_schedule(notice.schedule)]
    return "NotifyChargingLimit", body


def encode_limit_cleared(cleared: ChargingLimitCleared) -> tuple[str, Payload]:
    body: Payload = {"chargingLimitSource": cleared.source}
    if cleared.evse_id is not None:
        body["evseId"] = cleared.evse_id
    return "ClearedChargingLimit", body


def encode_ev_charging_needs(needs: EVChargingNeeds) -> tuple[str, Payload]:
    charging: Payload = {"requestedEnergyTransfer": needs.transfer_mode}
    if needs.departure_at is not None:
        charging["departureTime"] = format_timestamp(needs.departure_at)
    if needs.transfer_mode == "DC":
        dc: Payload = {
            "evMaxCurrent": needs.max_current_a,
            "evMaxVoltage": needs.max_voltage_v,
            "energyAmount": needs.energy_wh,
        }
        optional = {
            "evMaxPower": needs.max_power_w,
            "stateOfCharge": needs.soc_percent,
            "evEnergyCapacity": needs.capacity_wh,
            "bulkSoC": needs.bulk_soc_percent,
        }
        dc.update({key: value for key, value in optional.items() if value is not None})
        dc["fullSoC"] = 100
        charging["dcChargingParameters"] = dc
    else:
        charging["acChargingParameters"] = {
            "energyAmount": needs.energy_wh,
            "evMinCurrent": needs.min_current_a or 0,
            "evMaxCurrent": needs.max_current_a,
            "evMaxVoltage": needs.max_voltage_v,
        }
    return "NotifyEVChargingNeeds", {"evseId": needs.evse_id, "chargingNeeds": charging}


def encode_ev_charging_schedule(plan: EVChargingSchedule) -> tuple[str, Payload]:
    return "NotifyEVChargingSchedule", {
        "timeBase": format_timestamp(plan.time_base),
        "evseId": plan.evse_id,
        "chargingSchedule": encode_schedule(plan.schedule),
    }


def decode_ev_charging_needs_answer(payload: Payload) -> EVChargingNeedsAnswer:
    return EVChargingNeedsAnswer(str(payload["status"]))


def decode_ev_charging_schedule_answer(payload: Payload) -> EVChargingScheduleAnswer:
    return EVChargingScheduleAnswer(str(payload["status"]))
