"""Tariffs a station holds for local cost calculation (OCPP 2.1 functional block I): the
structure of a tariff (TariffType, in the station's words), the checks a tariff passes before
the station takes it, and the default tariffs installed per EVSE (SetDefaultTariff,
GetTariffs, ClearTariffs).

Version-neutral and free of I/O: every operation that depends on the time takes `now` (POSIX
seconds) from the caller. Pricing a session with a tariff is `tariff_cost`'s."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EVSE_KINDS = ("AC", "DC")
# The price components of a TariffType, in the order CostDetails reports their costs.
COMPONENTS = (
    "fixed_fee",
    "energy",
    "charging_time",
    "idle_time",
    "reservation_fixed",
    "reservation_time",
)
TIME_OF_DAY = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
DATE = re.compile(r"^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
# Default tariffs one station keeps (distinct tariff ids); SetDefaultTariff answers
# TooManyElements beyond.
MAX_TARIFFS = 20


@dataclass(frozen=True, slots=True)
class TaxRate:
    type: str
    tax: float  # percent
    stack: int = 0  # 0: on the net price; n: on top of stack n - 1


@dataclass(frozen=True, slots=True)
class Conditions:
    """TariffConditionsType (energy and time prices) or TariffConditionsFixedType (fixed
    fees, which only use the first eight fields). Times of day as "HH:MM" and dates as
    "YYYY-MM-DD", local time (the station's local time is UTC); energy in Wh, power in W,
    current in A (summed over the phases), durations in seconds."""

    start_time_of_day: str | None = None
    end_time_of_day: str | None = None
    day_of_week: tuple[str, ...] = ()
    valid_from_date: str | None = None
    valid_to_date: str | None = None
    evse_kind: str | None = None
    payment_brand: str | None = None
    payment_recognition: str | None = None
    min_energy: float | None = None
    max_energy: float | None = None
    min_current: float | None = None
    max_current: float | None = None
    min_power: float | None = None
    max_power: float | None = None
    min_time: float | None = None
    max_time: float | None = None
    min_charging_time: float | None = None
    max_charging_time: float | None = None
    min_idle_time: float | None = None
    max_idle_time: float | None = None


@dataclass(frozen=True, slots=True)
class PriceElement:
    """One price of a component: per kWh (energy), per minute (times) or once (fixed)."""

    price: float
    conditions: Conditions | None = None


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """TariffEnergyType, TariffTimeType or TariffFixedType: prices tried in order (the first
    whose conditions hold applies) and the taxes on what they charge."""

    prices: tuple[PriceElement, ...]
    tax_rates: tuple[TaxRate, ...] = ()


@dataclass(frozen=True, slots=True)
class PriceLimit:
    """PriceType of minCost / maxCost."""

    excl_tax: float | None = None
    incl_tax: float | None = None
    tax_rates: tuple[TaxRate, ...] = ()


@dataclass(frozen=True, slots=True)
class TariffText:
    """One MessageContentType of a tariff's description."""

    format: str
    content: str
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Tariff:
    tariff_id: str
    currency: str
    energy: PriceComponent | None = None
    charging_time: PriceComponent | None = None
    idle_time: PriceComponent | None = None
    fixed_fee: PriceComponent | None = None
    reservation_time: PriceComponent | None = None
    reservation_fixed: PriceComponent | None = None
    min_cost: PriceLimit | None = None
    max_cost: PriceLimit | None = None
    valid_from: float | None = None  # POSIX seconds; None: in force at once
    description: tuple[TariffText, ...] = ()

    def components(self) -> Iterator[tuple[str, PriceComponent]]:
        for name in COMPONENTS:
            component: PriceComponent | None = getattr(self, name)
            if component is not None:
                yield name, component

    def elements(self) -> int:
        """The most price elements any one component has (TariffCostCtrlr.MaxElements)."""
        return max((len(c.prices) for _, c in self.components()), default=0)

    def conditions(self) -> Iterator[Conditions]:
        for _, component in self.components():
            for element in component.prices:
                if element.conditions is not None:
                    yield element.conditions

    def snapshot(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def restore(cls, body: dict[str, Any]) -> Tariff:
        values: dict[str, Any] = dict(body)
        for name in COMPONENTS:
            if values.get(name) is not None:
                values[name] = _component(values[name])
        for name in ("min_cost", "max_cost"):
            if values.get(name) is not None:
                limit = dict(values[name])
                limit["tax_rates"] = tuple(TaxRate(**r) for r in limit.get("tax_rates", ()))
                values[name] = PriceLimit(**limit)
        values["description"] = tuple(TariffText(**t) for t in values.get("description", ()))
        return cls(**values)


def _component(body: dict[str, Any]) -> PriceComponent:
    prices = []
    for item in body["prices"]:
        conditions = item.get("conditions")
        if conditions is not None:
            conditions = dict(conditions)
            conditions["day_of_week"] = tuple(conditions.get("day_of_week", ()))
            conditions = Conditions(**conditions)
        prices.append(PriceElement(float(item["price"]), conditions))
    rates = tuple(TaxRate(**rate) for rate in body.get("tax_rates", ()))
    return PriceComponent(tuple(prices), rates)


# -- the checks before a tariff is taken (SetDefaultTariff, ChangeTransactionTariff) ----------

# Conditions the station cannot evaluate: it takes no ad-hoc payments, so it never learns a
# payment brand or recognition.
UNSUPPORTED_CONDITIONS = ("payment_brand", "payment_recognition")


@dataclass(frozen=True, slots=True)
class TariffProblem:
    """Why a tariff is refused: a TariffSetStatus / TariffChangeStatus and a reason code."""

    status: str  # TooManyElements | ConditionNotSupported | Rejected
    reason_code: str
    info: str


def tariff_problem(
    tariff: Tariff, *, max_elements: int, conditions_supported: bool
) -> TariffProblem | None:
    if tariff.elements() > max_elements:
        return TariffProblem(
            "TooManyElements",
            "TooManyElements",
            f"{tariff.elements()} price elements in one component; at most {max_elements}",
        )
    conditions = list(tariff.conditions())
    if conditions and not conditions_supported:
        return TariffProblem(
            "ConditionNotSupported", "UnsupportedParam", "TariffCostCtrlr.ConditionsSupported"
        )
    for condition in conditions:
        for name in UNSUPPORTED_CONDITIONS:
            if getattr(condition, name) is not None:
                return TariffProblem(
                    "ConditionNotSupported", "UnsupportedParam", f"{name}: no ad-hoc payments"
                )
    if not CURRENCY.match(tariff.currency):
        return TariffProblem("Rejected", "InvalidValue", f"currency {tariff.currency!r}")
    for condition in conditions:
        problem = _condition_problem(condition)
        if problem is not None:
            return TariffProblem("Rejected", "InvalidValue", problem)
    return None


def _condition_problem(conditions: Conditions) -> str | None:
    for name in ("start_time_of_day", "end_time_of_day"):
        value = getattr(conditions, name)
        if value is not None and not TIME_OF_DAY.match(value):
            return f"{name} {value!r} is not HH:MM"
    for name in ("valid_from_date", "valid_to_date"):
        value = getattr(conditions, name)
        if value is not None and not DATE.match(value):
            return f"{name} {value!r} is not YYYY-MM-DD"
    if conditions.evse_kind is not None and conditions.evse_kind not in EVSE_KINDS:
        return f"evseKind {conditions.evse_kind!r}"
    unknown = [day for day in conditions.day_of_week if day not in DAYS]
    return f"dayOfWeek {unknown}" if unknown else None


def minutes_of(time_of_day: str | None) -> int | None:
    """ "HH:MM" as minutes after midnight."""
    if time_of_day is None:
        return None
    hours, minutes = time_of_day.split(":")
    return int(hours) * 60 + int(minutes)


# -- default tariffs per EVSE -------------------------------------------------------------------


@dataclass
class InstalledTariff:
    tariff: Tariff
    # The EVSEs it is on, each with the order it was installed there in: of two tariffs valid
    # from the same time on an EVSE, the one installed there later is in force.
    evses: dict[int, int]


@dataclass(frozen=True, slots=True)
class Assignment:
    """One TariffAssignmentType of GetTariffs."""

    tariff: Tariff
    kind: str  # DefaultTariff | DriverTariff
    evse_ids: tuple[int, ...]
    id_tokens: tuple[str, ...] = ()


@dataclass
class Tariffs:
    """The default tariffs of one station, by tariff id, with the EVSEs each is installed
    on. An EVSE may hold several: the one in force is the one valid from the latest time not
    after now (a tariff without `validFrom` is valid from always); a tariff another in force
    after it replaced leaves that EVSE."""

    installed: dict[str, InstalledTariff] = field(default_factory=dict)
    next_order: int = 1

    def install(self, tariff: Tariff, evse_ids: Iterable[int]) -> str:
        """Accepted, DuplicateTariffId (that id with another content) or TooManyElements."""
        found = self.installed.get(tariff.tariff_id)
        if found is not None and found.tariff != tariff:
            return "DuplicateTariffId"
        if found is None:
            if len(self.installed) >= MAX_TARIFFS:
                return "TooManyElements"
            found = self.installed[tariff.tariff_id] = InstalledTariff(tariff, {})
        for evse_id in evse_ids:  # the same tariff on more EVSEs, or again on one
            found.evses[evse_id] = self.next_order
            self.next_order += 1
        return "Accepted"

    def in_force(self, evse_id: int, now: float) -> Tariff | None:
        """The default tariff of an EVSE at `now`."""
        best: tuple[float, int] | None = None
        found: Tariff | None = None
        for entry in self.installed.values():
            order = entry.evses.get(evse_id)
            if order is None or _from(entry) > now:
                continue
            key = (_from(entry), order)
            if best is None or key > best:
                best, found = key, entry.tariff
        return found

    def prune(self, now: float) -> bool:
        """Take the tariffs that can never be in force again off their EVSEs (one valid from
        later, or installed there later, is in force now); True when something changed."""
        changed = False
        evse_ids = {evse for entry in self.installed.values() for evse in entry.evses}
        for evse_id in evse_ids:
            current = self.in_force(evse_id, now)
            if current is None:
                continue
            head = self.installed[current.tariff_id]
            head_key = (_from(head), head.evses[evse_id])
            for entry in self.installed.values():
                order = entry.evses.get(evse_id)
                if entry is not head and order is not None and (_from(entry), order) < head_key:
                    del entry.evses[evse_id]
                    changed = True
        for tariff_id in [k for k, entry in self.installed.items() if not entry.evses]:
            del self.installed[tariff_id]
        return changed

    def assignments(self, evse_id: int | None) -> list[Assignment]:
        """The default tariffs on `evse_id` (None: any EVSE), each with the EVSEs it is on, in
        the order they were first installed."""
        found = []
        for entry in sorted(self.installed.values(), key=lambda e: min(e.evses.values())):
            if evse_id is None or evse_id in entry.evses:
                evse_ids = tuple(sorted(entry.evses))
                found.append(Assignment(entry.tariff, "DefaultTariff", evse_ids))
        return found

    def clear(
        self, tariff_ids: tuple[str, ...] | None, evse_id: int | None
    ) -> list[tuple[str | None, str]]:
        """ClearTariffs: (tariff id, Accepted | NoTariff) per tariff; no ids: every tariff
        (on `evse_id` if given); none found: [(None, NoTariff)]. A tariff cleared from some
        of its EVSEs stays on the others; a running transaction keeps pricing with its own
        copy."""
        if tariff_ids is None:
            tariff_ids = tuple(a.tariff.tariff_id for a in self.assignments(evse_id))
            if not tariff_ids:
                return [(None, "NoTariff")]
        results: list[tuple[str | None, str]] = []
        for tariff_id in tariff_ids:
            entry = self.installed.get(tariff_id)
            if entry is None or (evse_id is not None and evse_id not in entry.evses):
                results.append((tariff_id, "NoTariff"))
                continue
            if evse_id is None:
                entry.evses.clear()
            else:
                del entry.evses[evse_id]
            if not entry.evses:
                del self.installed[tariff_id]
            results.append((tariff_id, "Accepted"))
        return results

    def snapshot(self) -> dict[str, Any]:
        return {
            "installed": [
                {
                    "tariff": entry.tariff.snapshot(),
                    "evses": [[evse, order] for evse, order in sorted(entry.evses.items())],
                }
                for entry in self.installed.values()
            ],
            "next_order": self.next_order,
        }

    def restore(self, body: dict[str, Any]) -> None:
        self.installed = {}
        for item in body.get("installed", []):
            tariff = Tariff.restore(item["tariff"])
            evses = {int(evse): int(order) for evse, order in item.get("evses", [])}
            self.installed[tariff.tariff_id] = InstalledTariff(tariff, evses)
        self.next_order = int(body.get("next_order", 1))


def _from(entry: InstalledTariff) -> float:
    valid_from = entry.tariff.valid_from
    return float("-inf") if valid_from is None else valid_from
