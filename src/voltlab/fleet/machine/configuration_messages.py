"""Neutral configuration messages of the station machine: 1.6 ChangeConfiguration and
GetConfiguration over the station's keys, and the 2.x device model (GetVariables,
SetVariables, GetBaseReport, GetReport and the NotifyReport pages that answer a report), and
2.x SetNetworkProfile.

The items (`VariableGet`, `VariableResult`, `ReportItem`, ...) are the device model's own
(`fleet/model/device_model_types.py`); their words (attribute statuses, mutabilities, data
types) too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voltlab.fleet.model.config import ConfigurationEntry, ConfigurationStatus
from voltlab.fleet.model.device_model_types import (
    ReportFilter,
    ReportItem,
    VariableGet,
    VariableResult,
    VariableSet,
)
from voltlab.fleet.model.network_profiles import NetworkProfile

ReportStatus = Literal["Accepted", "Rejected", "NotSupported", "EmptyResultSet"]


@dataclass(frozen=True)
class ChangeConfiguration:
    key: str
    value: str


@dataclass(frozen=True)
class ChangeConfigurationAnswer:
    status: ConfigurationStatus


@dataclass(frozen=True)
class GetConfiguration:
    keys: tuple[str, ...] | None  # None or empty: every key


@dataclass(frozen=True)
class ConfigurationAnswer:
    entries: tuple[ConfigurationEntry, ...]
    unknown: tuple[str, ...]


@dataclass(frozen=True)
class GetVariables:
    items: tuple[VariableGet, ...]


@dataclass(frozen=True)
class SetVariables:
    items: tuple[VariableSet, ...]


@dataclass(frozen=True)
class VariablesAnswer:
    """GetVariables' and SetVariables' results, in the order of the request's items."""

    results: tuple[VariableResult, ...]


@dataclass(frozen=True)
class GetBaseReport:
    request_id: int
    base: str  # FullInventory, ConfigurationInventory, SummaryInventory


@dataclass(frozen=True)
class GetReport:
    request_id: int
    filters: tuple[ReportFilter, ...]
    criteria: tuple[str, ...]  # componentCriteria: Active, Available, Enabled, Problem


@dataclass(frozen=True)
class ReportAnswer:
    status: ReportStatus


@dataclass(frozen=True)
class ReportPage:
    """One NotifyReport of the report `request_id`; `more_follow` on all but the last."""

    request_id: int
    generated_at: float
    seq_no: int
    items: tuple[ReportItem, ...]
    more_follow: bool


@dataclass(frozen=True)
class SetNetworkProfile:
    """2.x SetNetworkProfile (B09); `profile` None: content the station cannot use."""

    slot: int
    profile: NetworkProfile | None


@dataclass(frozen=True)
class SetNetworkProfileAnswer:
    status: Literal["Accepted", "Rejected", "Failed"]
    reason_code: str | None = None


ConfigurationRequest = (
    ChangeConfiguration
    | GetConfiguration
    | GetVariables
    | SetVariables
    | GetBaseReport
    | GetReport
    | SetNetworkProfile
)
ConfigurationAnswerMessage = (
    ChangeConfigurationAnswer
    | ConfigurationAnswer
    | VariablesAnswer
    | ReportAnswer
    | SetNetworkProfileAnswer
)
