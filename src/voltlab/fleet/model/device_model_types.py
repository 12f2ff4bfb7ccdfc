"""What the 2.x device model (`fleet/model/device_model.py`) reads and answers, in no version's
shapes: components and variables addressed as the CSMS wrote them (`ComponentRef`,
`VariableRef`; resolved case-insensitively), so that an answer names them as they were asked
for; each read or write's result; report items with their characteristics. The 2.x codec
turns them into GetVariableResultType, SetVariableResultType and ReportDataType."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ComponentRef:
    """A component as named on the wire: None where the CSMS left a part out."""

    name: str
    evse_id: int | None = None
    connector_id: int | None = None
    instance: str | None = None


@dataclass(frozen=True)
class VariableRef:
    name: str
    instance: str | None = None


@dataclass(frozen=True)
class VariableGet:
    component: ComponentRef
    variable: VariableRef
    attribute_type: str = "Actual"


@dataclass(frozen=True)
class VariableSet:
    component: ComponentRef
    variable: VariableRef
    value: str
    attribute_type: str = "Actual"


@dataclass(frozen=True)
class Refusal:
    """Why a variable was not read or set: a 2.x reason code (at most 20 characters) and a
    sentence for people."""

    reason_code: str
    info: str


@dataclass(frozen=True)
class VariableResult:
    """One read or write: Accepted (with the value when read), RebootRequired, Rejected,
    UnknownComponent, UnknownVariable or NotSupportedAttributeType."""

    component: ComponentRef
    variable: VariableRef
    attribute_type: str
    status: str
    value: str | None = None
    refusal: Refusal | None = None


@dataclass(frozen=True)
class ReportFilter:
    """GetReport componentVariable: a component (an absent EVSE matches every EVSE) and
    optionally one variable of it."""

    component: ComponentRef
    variable: VariableRef | None = None


@dataclass(frozen=True)
class VariableCharacteristics:
    data_type: str
    unit: str | None
    min_limit: float | None
    max_limit: float | None
    values_list: tuple[str, ...]
    supports_monitoring: bool


@dataclass(frozen=True)
class ReportItem:
    """One variable of one component instance with its Actual attribute."""

    component: ComponentRef
    variable: VariableRef
    value: str | None  # None: write-only, never reported
    mutability: str
    persistent: bool
    constant: bool
    characteristics: VariableCharacteristics
