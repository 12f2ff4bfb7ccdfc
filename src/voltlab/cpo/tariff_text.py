"""Human-readable one-liners for OCPI tariff elements, for the template gallery and reports.

Kept apart from the OCPI objects themselves: OCPI's tariff_alt_text must not repeat prices
that `elements` already carry, so these strings never go into a Tariff."""

from __future__ import annotations

from typing import Any

_DAY_ABBREVIATIONS: dict[str, str] = {
    "MONDAY": "Mon",
    "TUESDAY": "Tue",
    "WEDNESDAY": "Wed",
    "THURSDAY": "Thu",
    "FRIDAY": "Fri",
    "SATURDAY": "Sat",
    "SUNDAY": "Sun",
}
_WEEK_ORDER: tuple[str, ...] = tuple(_DAY_ABBREVIATIONS)


def _number(value: float) -> str:
    return f"{value:g}"


def _days(days: list[str]) -> str:
    ordered = [d for d in _WEEK_ORDER if d in days]
    indexes = [_WEEK_ORDER.index(d) for d in ordered]
    contiguous = indexes == list(range(indexes[0], indexes[0] + len(indexes))) if indexes else False
    if contiguous and len(ordered) > 2:
        return f"{_DAY_ABBREVIATIONS[ordered[0]]}-{_DAY_ABBREVIATIONS[ordered[-1]]}"
    return ", ".join(_DAY_ABBREVIATIONS[d] for d in ordered)


def describe_component(component: dict[str, Any], currency: str) -> str:
    dimension = component["type"]
    price = f"{component['price']:.2f} {currency}"
    step = int(component.get("step_size", 1) or 1)
    if dimension == "FLAT":
        return f"{price} per session"
    if dimension == "ENERGY":
        billed = f", billed per {step} Wh" if step > 1 else ""
        return f"{price}/kWh{billed}"
    label = "charging time" if dimension == "TIME" else "idle time"
    billed = f", billed per {step} s" if step > 1 else ""
    return f"{price}/h {label}{billed}"


def describe_restrictions(restrictions: dict[str, Any] | None) -> list[str]:
    if not restrictions:
        return []
    parts: list[str] = []
    start, end = restrictions.get("start_time"), restrictions.get("end_time")
    if start or end:
        parts.append(f"{start or '00:00'}-{end or '24:00'}")
    if restrictions.get("day_of_week"):
        parts.append(_days(list(restrictions["day_of_week"])))
    if restrictions.get("start_date") or restrictions.get("end_date"):
        first, last = restrictions.get("start_date", "…"), restrictions.get("end_date", "…")
        parts.append(f"{first} to {last}")
    texts = {
        "min_kwh": "from {} kWh",
        "max_kwh": "below {} kWh",
        "min_power": "at {} kW or more",
        "max_power": "below {} kW",
        "min_current": "at {} A or more",
        "max_current": "below {} A",
    }
    for key, text in texts.items():
        if restrictions.get(key) is not None:
            parts.append(text.format(_number(float(restrictions[key]))))
    if restrictions.get("min_duration") is not None:
        parts.append(f"after {_number(restrictions['min_duration'] / 60)} min")
    if restrictions.get("max_duration") is not None:
        parts.append(f"first {_number(restrictions['max_duration'] / 60)} min")
    if restrictions.get("reservation"):
        parts.append(f"reservation ({restrictions['reservation']})")
    return parts


def describe_element(element: dict[str, Any], currency: str) -> str:
    components = "; ".join(describe_component(c, currency) for c in element["price_components"])
    conditions = describe_restrictions(element.get("restrictions"))
    return f"{components} ({', '.join(conditions)})" if conditions else components
