"""Electric vehicle model: battery, state of charge, how much power it accepts.

AC charging is limited by the on-board charger; DC charging follows a taper above ~80 % SoC,
as real batteries do."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class EvProfile:
    name: str
    battery_wh: int
    max_ac_w: int  # on-board charger
    max_dc_w: int


EV_PROFILES: tuple[EvProfile, ...] = (
    EvProfile("compact-city", 42_000, 11_000, 50_000),
    EvProfile("family-hatch", 58_000, 11_000, 120_000),
    EvProfile("long-range-sedan", 77_000, 11_000, 150_000),
    EvProfile("premium-suv", 95_000, 22_000, 150_000),
    EvProfile("zoe-like", 52_000, 22_000, 50_000),
)

TAPER_START_SOC = 80.0
# Share of the DC peak still accepted at 100 % SoC; the power falls linearly to it.
TAPER_FLOOR = 0.08


class ElectricVehicle:
    def __init__(self, profile: EvProfile, soc_percent: float) -> None:
        self.profile = profile
        self.soc_percent = max(0.0, min(100.0, soc_percent))

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

    def absorb(self, energy_wh: float) -> None:
        self.soc_percent = min(
            100.0, self.soc_percent + 100.0 * energy_wh / self.profile.battery_wh
        )

    def snapshot(self) -> dict[str, object]:
        return {"profile": self.profile.name, "soc_percent": round(self.soc_percent, 3)}

    @classmethod
    def restore(cls, body: dict[str, object]) -> ElectricVehicle:
        by_name = {p.name: p for p in EV_PROFILES}
        profile = by_name.get(str(body.get("profile")), EV_PROFILES[0])
        return cls(profile, float(body.get("soc_percent", 50.0)))  # type: ignore[arg-type]
