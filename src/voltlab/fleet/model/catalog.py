"""Charger model catalog: what a virtual charging station is (vendor, firmware, connectors, power).

BootNotification fields and the station's power limits come from here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConnectorSpec:
    connector_type: str  # IEC62196Type2 / IEC62196Type2Combo (CCS2) / CHAdeMO (OCPI names)
    power_type: str  # AC_3_PHASE / AC_1_PHASE / DC
    max_power_w: int
    max_voltage_v: int
    max_current_a: int


@dataclass(frozen=True)
class ChargerModel:
    slug: str
    vendor: str
    model: str
    firmware_version: str
    current_type: str  # AC | DC
    phases: int  # 1 or 3 for AC, 0 for DC
    max_station_power_w: int  # shared by all connectors
    connectors: tuple[ConnectorSpec, ...]
    default_config: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["connectors"] = [
            {"connector_id": i + 1, **asdict(c)} for i, c in enumerate(self.connectors)
        ]
        return body


_TYPE2_AC22 = ConnectorSpec("IEC62196Type2", "AC_3_PHASE", 22_000, 400, 32)

CATALOG: dict[str, ChargerModel] = {
    m.slug: m
    for m in (
        ChargerModel(
            slug="ac-7kw-1c",
            vendor="Voltlab",
            model="HomeBox 7",
            firmware_version="1.4.2",
            current_type="AC",
            phases=1,
            max_station_power_w=7_400,
            connectors=(ConnectorSpec("IEC62196Type2", "AC_1_PHASE", 7_400, 230, 32),),
            default_config={"MeterValueSampleInterval": "60"},
        ),
        ChargerModel(
            slug="ac-22kw-2c",
            vendor="Voltlab",
            model="StreetPost 22 Duo",
            firmware_version="2.1.0",
            current_type="AC",
            phases=3,
            max_station_power_w=44_000,
            connectors=(_TYPE2_AC22, _TYPE2_AC22),
            default_config={"MeterValueSampleInterval": "60"},
        ),
        ChargerModel(
            slug="dc-50kw-ccs-chademo",
            vendor="Voltlab",
            model="RapidCube 50",
            firmware_version="3.0.7",
            current_type="DC",
            phases=0,
            # One power stage: both outlets share 50 kW.
            max_station_power_w=50_000,
            connectors=(
                ConnectorSpec("IEC62196Type2Combo", "DC", 50_000, 500, 125),
                ConnectorSpec("CHAdeMO", "DC", 50_000, 500, 125),
            ),
            default_config={"MeterValueSampleInterval": "30"},
        ),
        ChargerModel(
            slug="dc-150kw-2ccs",
            vendor="Voltlab",
            model="HyperPillar 150",
            firmware_version="4.2.1",
            current_type="DC",
            phases=0,
            max_station_power_w=300_000,
            connectors=(
                ConnectorSpec("IEC62196Type2Combo", "DC", 150_000, 920, 250),
                ConnectorSpec("IEC62196Type2Combo", "DC", 150_000, 920, 250),
            ),
            default_config={"MeterValueSampleInterval": "30"},
        ),
    )
}

DEFAULT_MODEL = "ac-22kw-2c"


def get_model(slug: str) -> ChargerModel | None:
    return CATALOG.get(slug)
