"""OCPI 2.2.1 object builders for generated networks: Tariff, Location, EVSE, Connector.

Pure functions of their arguments (no randomness, no clock) so the generator alone decides
what varies with the seed."""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from voltlab.cpo.countries import EUR_RATES, WHOLE_UNIT_CURRENCIES
from voltlab.cpo.geo import CountryProfile, Site, format_latitude, format_longitude
from voltlab.cpo.templates import TariffTemplate, Template, tariff_id
from voltlab.fleet.model.catalog import ChargerModel, ConnectorSpec

# Catalog connector types use OCPP/vendor spelling; OCPI ConnectorType differs.
OCPI_STANDARD: dict[str, str] = {
    "IEC62196Type2": "IEC_62196_T2",
    "IEC62196Type2Combo": "IEC_62196_T2_COMBO",
    "CHAdeMO": "CHADEMO",
}
# OCPI max_voltage is line-to-neutral for AC_3_PHASE; the catalog gives line-to-line.
_LINE_TO_NEUTRAL: dict[int, int] = {400: 230, 415: 240, 480: 277, 208: 120}


def ocpi_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with Z, seconds precision: the form OCPI examples and our API use."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_price(price_eur: float, currency: str) -> float:
    """A template EUR price in `currency`, rounded half-up the way a price list would be."""
    scaled = Decimal(repr(price_eur)) * Decimal(repr(EUR_RATES.get(currency, 1.0)))
    quantum = Decimal("1") if currency in WHOLE_UNIT_CURRENCIES else Decimal("0.01")
    return float(scaled.quantize(quantum, rounding=ROUND_HALF_UP))


def build_tariff(
    template: Template,
    tariff: TariffTemplate,
    profile: CountryProfile,
    *,
    country_code: str,
    party_id: str,
    last_updated: str,
) -> dict[str, Any]:
    elements = copy.deepcopy(list(tariff.elements))
    for element in elements:
        for component in element["price_components"]:
            component["price"] = local_price(component["price"], profile.currency)
            if profile.vat_percent is not None:
                component["vat"] = profile.vat_percent
    body: dict[str, Any] = {
        "country_code": country_code,
        "party_id": party_id,
        "id": tariff_id(template, tariff),
        "currency": profile.currency,
    }
    if tariff.tariff_type is not None:
        body["type"] = tariff.tariff_type
    body["tariff_alt_text"] = [{"language": "en", "text": tariff.alt_text}]
    body["elements"] = elements
    body["last_updated"] = last_updated
    return body


def tariff_ids_for(template: Template, current_type: str) -> list[str]:
    # Template order puts REGULAR first: consumers that pick one tariff take tariff_ids[0].
    return [tariff_id(template, t) for t in template.tariffs if current_type in t.applies_to]


def connector_format(model: ChargerModel) -> str:
    # DC outlets are always tethered; public AC posts here are sockets (BYO cable).
    return "CABLE" if model.current_type == "DC" else "SOCKET"


def _max_voltage(spec: ConnectorSpec) -> int:
    if spec.power_type == "AC_3_PHASE" and spec.max_voltage_v > 250:
        known = _LINE_TO_NEUTRAL.get(spec.max_voltage_v)
        return known if known is not None else round(spec.max_voltage_v / math.sqrt(3))
    return spec.max_voltage_v


def build_connector(
    model: ChargerModel, spec: ConnectorSpec, tariff_ids: list[str], last_updated: str
) -> dict[str, Any]:
    # One OCPP connector = one OCPI EVSE, so each EVSE has a single connector "1".
    return {
        "id": "1",
        "standard": OCPI_STANDARD[spec.connector_type],
        "format": connector_format(model),
        "power_type": spec.power_type,
        "max_voltage": _max_voltage(spec),
        "max_amperage": spec.max_current_a,
        "max_electric_power": spec.max_power_w,
        "tariff_ids": list(tariff_ids),
        "last_updated": last_updated,
    }


def evse_capabilities(template: Template, model: ChargerModel) -> list[str]:
    capabilities = {"CHARGING_PROFILE_CAPABLE", "REMOTE_START_STOP_CAPABLE", "RFID_READER"}
    if connector_format(model) == "SOCKET":
        capabilities.add("UNLOCK_CAPABLE")
    ad_hoc = any(
        t.tariff_type == "AD_HOC_PAYMENT" and model.current_type in t.applies_to
        for t in template.tariffs
    )
    if ad_hoc:
        # An ad-hoc tariff only makes sense with a payment terminal at the EVSE.
        capabilities.update(
            {"CONTACTLESS_CARD_SUPPORT", "CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE"}
        )
    return sorted(capabilities)


def build_evse(
    *,
    uid: str,
    evse_id: str,
    physical_reference: str,
    capabilities: list[str],
    connector: dict[str, Any],
    latitude: float,
    longitude: float,
    last_updated: str,
) -> dict[str, Any]:
    return {
        "uid": uid,
        "evse_id": evse_id,
        # No charger has reported yet; the CPO flips this on the first StatusNotification.
        "status": "UNKNOWN",
        "capabilities": capabilities,
        "connectors": [connector],
        "coordinates": {
            "latitude": format_latitude(latitude),
            "longitude": format_longitude(longitude),
        },
        "physical_reference": physical_reference[:16],
        "last_updated": last_updated,
    }


def build_location(
    *,
    template: Template,
    profile: CountryProfile,
    site: Site,
    country_code: str,
    party_id: str,
    location_id: str,
    operator_name: str,
    facilities: list[str],
    evses: list[dict[str, Any]],
    last_updated: str,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "country_code": country_code,
        "party_id": party_id,
        "id": location_id,
        "publish": True,
        "name": site.name,
        "address": site.address,
        "city": site.city,
    }
    if site.postal_code is not None:
        body["postal_code"] = site.postal_code
    if site.state is not None:
        body["state"] = site.state
    body.update(
        {
            "country": profile.alpha3,
            "coordinates": {
                "latitude": format_latitude(site.latitude),
                "longitude": format_longitude(site.longitude),
            },
            "parking_type": template.parking_type,
            "evses": evses,
            "operator": {"name": operator_name[:100]},
            "facilities": facilities,
            "time_zone": site.time_zone,
            "opening_times": template.opening_hours.to_ocpi(),
            "charging_when_closed": template.opening_hours.charging_when_closed,
            "last_updated": last_updated,
        }
    )
    return body
