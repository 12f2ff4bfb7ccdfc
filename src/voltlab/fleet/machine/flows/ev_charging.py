"""An ISO 15118 EV's needs and plan (OCPP 2.0.1 K15-K17; reused by 2.1).

The EV states its needs once its transaction runs (NotifyEVChargingNeeds: the energy to a full
battery, its current and voltage limits, when it leaves), and plans its charging from each
TxProfile the CSMS installs on its connector (NotifyEVChargingSchedule: the profile's limits
capped by what the EV, the connector and the external limits allow, until the EV leaves, or
for a day without a departure time). An EV without ISO 15118 says nothing. A bidirectional EV
on a 2.1 station adds its V2X parameters (its charge and discharge power, the energies to the
edges of its V2X range), with which the CSMS plans a discharge."""

from __future__ import annotations

from voltlab.fleet.machine.charging_limit_messages import (
    EVChargingNeeds,
    EVChargingSchedule,
    PlannedPeriod,
    PlannedSchedule,
)
from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Effect, SendCall
from voltlab.fleet.machine.v2x_messages import V2XNeeds
from voltlab.fleet.model.charging_profile import TX_PROFILE, WATT, ChargingProfile
from voltlab.fleet.model.ev import TAPER_START_SOC
from voltlab.fleet.model.records import Connector, Transaction
from voltlab.fleet.model.station import AC_PHASE_VOLTAGE

# How far an EV plans without a departure time.
PLAN_WITHOUT_DEPARTURE_S = 86_400


def ev_charging_needs(ctx: FlowContext, tx: Transaction) -> list[Effect]:
    """What an ISO 15118 EV asks for once its transaction runs (nothing for another EV)."""
    if not ctx.reports_charging_limits:
        return []
    conn = ctx.station.connectors[tx.connector_id]
    ev = conn.ev
    if ev is None or not ev.profile.iso15118:
        return []
    profile = ev.profile
    energy = round(ev.energy_to_full_wh)
    if conn.dc:
        needs = EVChargingNeeds(
            tx.connector_id,
            "DC",
            ev.departure_at,
            energy,
            # The current at which its power limit meets its voltage limit.
            max_current_a=round(profile.max_dc_w / profile.max_dc_voltage_v),
            max_voltage_v=profile.max_dc_voltage_v,
            max_power_w=profile.max_dc_w,
            soc_percent=round(ev.soc_percent),
            capacity_wh=profile.battery_wh,
            bulk_soc_percent=round(TAPER_START_SOC),
            v2x=_v2x_needs(ctx, conn),
        )
    else:
        phases = ctx.station.phases(tx.connector_id)
        needs = EVChargingNeeds(
            tx.connector_id,
            "AC_three_phase" if phases == 3 else "AC_single_phase",
            ev.departure_at,
            energy,
            max_current_a=round(profile.max_ac_w / (AC_PHASE_VOLTAGE * max(phases, 1))),
            max_voltage_v=round(AC_PHASE_VOLTAGE),
            min_current_a=profile.min_ac_current_a,
            v2x=_v2x_needs(ctx, conn),
        )
    return [SendCall(needs)]


def _v2x_needs(ctx: FlowContext, conn: Connector) -> V2XNeeds | None:
    """What a bidirectional EV adds on a 2.1 station (None: it only charges, or no V2X)."""
    ev = conn.ev
    if not ctx.bidirectional or ev is None or not ev.profile.bidirectional:
        return None
    profile = ev.profile
    rating = conn.spec.max_power_w
    charge = min(profile.max_dc_w if conn.dc else profile.max_ac_w, rating)
    to_full = round(ev.energy_to_soc_wh(100.0))
    return V2XNeeds(
        "DC_BPT" if conn.dc else "AC_BPT",
        max_charge_power_w=charge,
        max_discharge_power_w=min(profile.max_discharge_w, rating),
        target_energy_wh=to_full,
        min_energy_wh=round(ev.energy_to_soc_wh(ev.min_soc_percent)),
        max_energy_wh=to_full,
        min_v2x_energy_wh=round(ev.energy_to_soc_wh(profile.v2x_min_soc_percent)),
        max_v2x_energy_wh=round(ev.energy_to_soc_wh(profile.v2x_max_soc_percent)),
    )


def ev_charging_schedule(
    ctx: FlowContext, connector_id: int, profile: ChargingProfile
) -> list[Effect]:
    """The plan an ISO 15118 EV makes from a TxProfile just installed on its connector."""
    station = ctx.station
    if not ctx.reports_charging_limits or profile.purpose != TX_PROFILE or connector_id == 0:
        return []
    conn = station.connectors.get(connector_id)
    if conn is None or conn.ev is None or conn.transaction is None:
        return []
    ev = conn.ev
    if not ev.profile.iso15118:
        return []
    if ctx.bidirectional and ev.profile.bidirectional:
        # A V2X EV on a 2.1 station asked for ISO 15118-20 dynamic control (its needs say
        # DynamicControl): it follows the station's setpoints and plans no schedule.
        return []
    now = ctx.now
    horizon = PLAN_WITHOUT_DEPARTURE_S
    if ev.departure_at is not None and ev.departure_at > now:
        horizon = max(1, int(ev.departure_at - now))
    # What the EV can take now, the connector's rating, and the external limits cap the plan.
    caps = [float(conn.spec.max_power_w), ev.profile.max_dc_w if conn.dc else ev.profile.max_ac_w]
    for limited in (connector_id, 0):
        external = station.external_limits.limit_w(limited)
        if external is not None:
            caps.append(external)
    composite = station.profiles.composite_schedule(
        connector_id,
        now,
        horizon,
        WATT,
        tx_started_at=conn.transaction.started_at,
        phases=station.phases(connector_id),
        max_w=min(caps),
    )
    periods = tuple(
        PlannedPeriod(item["start_period"], float(item["limit"] or 0.0), item["number_phases"])
        for item in composite["periods"]
    )
    schedule_id = profile.schedule_id if profile.schedule_id is not None else profile.id
    schedule = PlannedSchedule(schedule_id, now, horizon, WATT, periods)
    return [SendCall(EVChargingSchedule(connector_id, now, schedule))]
