"""Electric vehicle model: battery, state of charge, how much power it accepts and gives.

AC charging is limited by the on-board charger; DC charging follows a taper above ~80 % SoC,
as real batteries do. An EV that speaks ISO 15118 tells the station its charging needs (the
energy it wants, its current and voltage limits, when it leaves); the others say nothing.

A bidirectional (V2X) EV can also give energy back (OCPP 2.1 bidirectional power transfer,
ISO 15118-20 BPT): up to its rated discharge power, and only while its state of charge is
above the lowest one it allows for cycling (`min_soc_percent`, the bottom of its V2X range);
below that it refuses to discharge, so a discharge can never empty the battery."""

from __future__ import annotations

import random
from dataclasses import dataclass

from voltlab.fleet.model.contracts import ContractCredential


@dataclass(frozen=True)
class EvProfile:
    name: str
    battery_wh: int
    max_ac_w: int  # on-board charger
    max_dc_w: int
    # ISO 15118 high-level communication: the EV states its charging needs (2.x
    # NotifyEVChargingNeeds) and plans its charging from the station's schedule.
    iso15118: bool = False
    max_dc_voltage_v: int = 500  # the battery's highest voltage (a 400 V or an 800 V pack)
    min_ac_current_a: int = 6  # IEC 61851-1: the lowest current a pilot signal may offer
    # Bidirectional power transfer: the most the EV gives back (0: it cannot discharge), and
    # the state-of-charge window it allows for V2X cycling (ISO 15118-20 EVMinimumV2XEnergy /
    # EVMaximumV2XEnergy are the energies to its edges).
    max_discharge_w: int = 0
    v2x_min_soc_percent: float = 20.0
    v2x_max_soc_percent: float = 90.0

    @property
    def bidirectional(self) -> bool:
        return self.max_discharge_w > 0


# The EVs a plug without a named profile draws from (a station's seed picks among them).
EV_PROFILES: tuple[EvProfile, ...] = (
    EvProfile("compact-city", 42_000, 11_000, 50_000),
    EvProfile("family-hatch", 58_000, 11_000, 120_000),
    EvProfile("long-range-sedan", 77_000, 11_000, 150_000),
    EvProfile("premium-suv", 95_000, 22_000, 150_000),
    EvProfile("zoe-like", 52_000, 22_000, 50_000),
)
# EVs that speak ISO 15118, plugged in by name only (a random plug keeps its old draws).
ISO15118_EV_PROFILES: tuple[EvProfile, ...] = (
    EvProfile("iso15118-sedan", 77_000, 11_000, 150_000, iso15118=True, max_dc_voltage_v=470),
    EvProfile("iso15118-800v-suv", 95_000, 22_000, 250_000, iso15118=True, max_dc_voltage_v=850),
)
# Bidirectional EVs (ISO 15118-20 BPT), plugged in by name only: one discharges through a DC
# station (DC_BPT), the other through its on-board charger (AC_BPT).
V2X_EV_PROFILES: tuple[EvProfile, ...] = (
    EvProfile(
        "v2x-dc-crossover",
        64_000,
        11_000,
        100_000,
        iso15118=True,
        max_dc_voltage_v=450,
        max_discharge_w=10_000,
        v2x_min_soc_percent=30.0,
        v2x_max_soc_percent=90.0,
    ),
    EvProfile(
        "v2x-ac-hatch",
        52_000,
        11_000,
        50_000,
        iso15118=True,
        max_discharge_w=11_000,
        v2x_min_soc_percent=20.0,
        v2x_max_soc_percent=80.0,
    ),
)
PROFILES_BY_NAME: dict[str, EvProfile] = {
    profile.name: profile for profile in (*EV_PROFILES, *ISO15118_EV_PROFILES, *V2X_EV_PROFILES)
}

TAPER_START_SOC = 80.0
# Share of the DC peak still accepted at 100 % SoC; the power falls linearly to it.
TAPER_FLOOR = 0.08


class ElectricVehicle:
    def __init__(
        self,
        profile: EvProfile,
        soc_percent: float,
        departure_at: float | None = None,
        contract: ContractCredential | None = None,
        *,
        min_soc_percent: float | None = None,
    ) -> None:
        self.profile = profile
        self.soc_percent = max(0.0, min(100.0, soc_percent))
        # When the driver leaves (POSIX seconds), as an ISO 15118 EV tells the station.
        self.departure_at = departure_at
        # The lowest state of charge the EV discharges to (the driver may ask for more
        # reserve than its V2X range's bottom, never for less).
        floor = profile.v2x_min_soc_percent
        self.min_soc_percent = floor if min_soc_percent is None else max(floor, min_soc_percent)
        # Plug & Charge: the contract an ISO 15118 EV authorizes with (flows/plug_and_charge).
        self.contract = contract

    @classmethod
    def random(cls, rng: random.Random) -> ElectricVehicle:
        profile = rng.choice(EV_PROFILES)
        return cls(profile, round(rng.uniform(10.0, 60.0), 1))

    @property
    def full(self) -> bool:
        return self.soc_percent >= 100.0

    def acceptance_w(self, dc: bool) -> float:
        """Power the battery takes right now."""
        if self.full:
            return 0.0
        if not dc:
            # On-board chargers hold their power almost to the end, then drop sharply.
            if self.soc_percent >= 97.0:
                return self.profile.max_ac_w * 0.3
            return float(self.profile.max_ac_w)
        if self.soc_percent <= TAPER_START_SOC:
            return float(self.profile.max_dc_w)
        progress = (self.soc_percent - TAPER_START_SOC) / (100.0 - TAPER_START_SOC)
        share = 1.0 - (1.0 - TAPER_FLOOR) * progress
        return self.profile.max_dc_w * share

    @property
    def energy_to_full_wh(self) -> float:
        return self.profile.battery_wh * (100.0 - self.soc_percent) / 100.0

    def absorb(self, energy_wh: float) -> None:
        self.soc_percent = min(
            100.0, self.soc_percent + 100.0 * energy_wh / self.profile.battery_wh
        )

    # -- discharging (V2X) --------------------------------------------------------------------

    @property
    def dischargeable_wh(self) -> float:
        """Energy the EV may still give before it reaches its lowest state of charge."""
        if not self.profile.bidirectional:
            return 0.0
        return max(0.0, self.soc_percent - self.min_soc_percent) * self.profile.battery_wh / 100.0

    def discharge_w(self) -> float:
        """Power the EV gives right now at most (0: it cannot, or its reserve is reached)."""
        if self.dischargeable_wh <= 0.0:
            return 0.0
        return float(self.profile.max_discharge_w)

    def release(self, energy_wh: float) -> float:
        """Give `energy_wh` from the battery, never below the lowest state of charge; returns
        what was given."""
        given = max(0.0, min(energy_wh, self.dischargeable_wh))
        self.soc_percent = max(0.0, self.soc_percent - 100.0 * given / self.profile.battery_wh)
        return given

    def energy_to_soc_wh(self, soc_percent: float) -> float:
        """Energy from the current state of charge to `soc_percent` (negative: above it)."""
        return self.profile.battery_wh * (soc_percent - self.soc_percent) / 100.0

    def snapshot(self) -> dict[str, object]:
        body: dict[str, object] = {
            "profile": self.profile.name,
            "soc_percent": round(self.soc_percent, 3),
        }
        if self.departure_at is not None:
            body["departure_at"] = self.departure_at
        if self.min_soc_percent != self.profile.v2x_min_soc_percent:
            body["min_soc_percent"] = self.min_soc_percent
        if self.contract is not None:
            body["contract"] = self.contract.snapshot()
        return body

    @classmethod
    def restore(cls, body: dict[str, object]) -> ElectricVehicle:
        profile = PROFILES_BY_NAME.get(str(body.get("profile")), EV_PROFILES[0])
        departure = body.get("departure_at")
        reserve = body.get("min_soc_percent")
        contract = body.get("contract")
        return cls(
            profile,
            float(body.get("soc_percent", 50.0)),  # type: ignore[arg-type]
            None if departure is None else float(departure),  # type: ignore[arg-type]
            ContractCredential.restore(contract) if isinstance(contract, dict) else None,
            min_soc_percent=None if reserve is None else float(reserve),  # type: ignore[arg-type]
        )
