"""Billing plausibility: the CSMS believes an energy register reading only if it could be true.

A reading (a MeterValues sample, a 1.6 ``meterStop``, a 2.x ``Energy.Active.Import.Register``)
is compared with the last reading of the same transaction the CSMS accepted (the meter start
at first). It is implausible when it

* goes backwards: a meter register only ever advances while charging; or
* implies more energy than the connector can deliver in the time between the two readings:
  ``delta_wh > max_power_w * POWER_MARGIN * (elapsed_s + CLOCK_GRANULARITY_S) / 3600 +
  ROUNDING_WH``. The margin covers meter and power-limit tolerances, the granularity covers
  timestamps truncated to the second at both ends, the rounding covers integer Wh registers.

A reading's timestamp is the station's claim; when the CSMS knows the stations' clock, a
timestamp later than ``now + FUTURE_SKEW_S`` is implausible too (`MeterGuard.from_future`):
such a sample is dropped and such a stop time is replaced by ``now``, so a forged timestamp can
neither stretch the energy allowed nor bill a year of parking time. The connector's maximum
power comes from the layer that knows the network (`MaxPowerLookup`); without it only the
backwards rule applies.

An implausible reading never becomes billing truth: the CSMS keeps the last plausible register,
answers the station normally (a StopTransaction.conf cannot refuse), logs a warning and records
a `RejectedReading` on the transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from voltlab.csms.events import CsmsTransaction
from voltlab.csms.timestamps import Now
from voltlab.ocpp.vocabulary.timestamps import from_epoch

MaxPowerLookup = Callable[[str, str, int], float | None]  # cpo, identity, connector -> W

POWER_MARGIN = 1.1
CLOCK_GRANULARITY_S = 2.0
ROUNDING_WH = 1.0
FUTURE_SKEW_S = 60.0

BACKWARDS = "backwards"
TOO_FAST = "exceeds_max_power"
FUTURE = "future_timestamp"


@dataclass(frozen=True, slots=True)
class Verdict:
    reason: str  # BACKWARDS or TOO_FAST
    detail: str  # one sentence for the log


@dataclass(frozen=True, slots=True)
class MeterGuard:
    """The plausibility rule with its inputs from outside the CSMS.

    ``max_power_w`` answers a connector's maximum power in W (None: unknown, no power bound);
    connector 0 means the station as a whole. ``now`` is the stations' clock (simulated time
    in a fleet), used to cap timestamps; None: timestamps are taken as sent.
    """

    max_power_w: MaxPowerLookup | None = None
    now: Now | None = None

    def judge(self, tx: CsmsTransaction, energy_wh: float, at: datetime) -> Verdict | None:
        """None when ``energy_wh`` at ``at`` is plausible after ``tx``'s last accepted one."""
        reference_wh = tx.last_meter_wh if tx.last_meter_wh is not None else tx.meter_start_wh
        reference_at = tx.last_meter_at or tx.started_at
        if at < reference_at:
            # An earlier instant (a stop's transaction data, a late sample): it must lie
            # between the meter start and the last accepted reading.
            if _below(energy_wh, tx.meter_start_wh) or _below(reference_wh, energy_wh):
                return Verdict(
                    BACKWARDS,
                    f"register {energy_wh:g} Wh at an earlier time is outside "
                    f"{tx.meter_start_wh:g}..{reference_wh:g} Wh",
                )
            return None
        if _below(energy_wh, reference_wh):
            return Verdict(
                BACKWARDS, f"register {energy_wh:g} Wh is below the last one, {reference_wh:g} Wh"
            )
        max_power = self._max_power(tx)
        if max_power is None:
            return None
        claimed = at
        if self.now is not None:
            claimed = min(claimed, from_epoch(self.now() + FUTURE_SKEW_S))
        elapsed_s = max(0.0, (claimed - reference_at).total_seconds())
        allowed_wh = (
            max_power * POWER_MARGIN * (elapsed_s + CLOCK_GRANULARITY_S) / 3600.0 + ROUNDING_WH
        )
        delta_wh = energy_wh - reference_wh
        if delta_wh > allowed_wh:
            return Verdict(
                TOO_FAST,
                f"{delta_wh:g} Wh in {elapsed_s:g} s exceeds {allowed_wh:.1f} Wh, "
                f"the most a {max_power / 1000:g} kW connector can deliver",
            )
        return None

    def from_future(self, at: datetime) -> Verdict | None:
        """A verdict when ``at`` lies beyond the stations' clock (plus the skew allowed)."""
        if self.now is None:
            return None
        latest = from_epoch(self.now() + FUTURE_SKEW_S)
        if at <= latest:
            return None
        return Verdict(FUTURE, f"timestamp {at.isoformat()} is after {latest.isoformat()}")

    def current_time(self) -> datetime | None:
        """The stations' clock now, None when the CSMS does not know it."""
        return None if self.now is None else from_epoch(self.now())

    def power_plausible(self, tx: CsmsTransaction, power_w: float) -> bool:
        max_power = self._max_power(tx)
        return max_power is None or power_w <= max_power * POWER_MARGIN

    def _max_power(self, tx: CsmsTransaction) -> float | None:
        if self.max_power_w is None:
            return None
        value = self.max_power_w(tx.cpo_id, tx.identity, tx.connector_id)
        return None if value is None or value <= 0 else float(value)


def _below(value_wh: float, floor_wh: float) -> bool:
    """``value_wh`` is below ``floor_wh`` by a whole Wh or more. Less is rounding, not a meter
    going backwards: a 1.6 ``meterStop`` is whole Wh after samples with decimals (405 after
    405.3), and kWh values carry three decimals."""
    return floor_wh - value_wh >= ROUNDING_WH - 1e-9
