"""Neutral monitoring messages of the station machine (OCPP 2.0.1 functional block N, reused by
2.1): the CSMS's SetVariableMonitoring, ClearVariableMonitoring, SetMonitoringBase,
SetMonitoringLevel and GetMonitoringReport with their answers, and what the station sends:
the NotifyMonitoringReport pages of a report and NotifyEvent. Monitors, settings, results and
events are the model's (`fleet/model/monitors.py`, `device_monitoring.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voltlab.fleet.model.device_model_types import ReportFilter
from voltlab.fleet.model.device_monitoring import MonitoringData, MonitorResult, MonitorSetting
from voltlab.fleet.model.monitors import MonitorEvent

MonitoringStatus = Literal["Accepted", "Rejected", "NotSupported", "EmptyResultSet"]


@dataclass(frozen=True)
class SetVariableMonitoring:
    settings: tuple[MonitorSetting, ...]


@dataclass(frozen=True)
class SetVariableMonitoringAnswer:
    results: tuple[MonitorResult, ...]


@dataclass(frozen=True)
class ClearVariableMonitoring:
    ids: tuple[int, ...]


@dataclass(frozen=True)
class ClearVariableMonitoringAnswer:
    results: tuple[tuple[int, str], ...]  # (id, Accepted | Rejected | NotFound)


@dataclass(frozen=True)
class SetMonitoringBase:
    base: str  # All, FactoryDefault, HardWiredOnly


@dataclass(frozen=True)
class SetMonitoringLevel:
    severity: int


@dataclass(frozen=True)
class GetMonitoringReport:
    request_id: int
    filters: tuple[ReportFilter, ...]
    criteria: tuple[str, ...]  # ThresholdMonitoring, DeltaMonitoring, PeriodicMonitoring


@dataclass(frozen=True)
class MonitoringAnswer:
    """SetMonitoringBase's, SetMonitoringLevel's and GetMonitoringReport's answer."""

    status: MonitoringStatus


@dataclass(frozen=True)
class MonitoringReportPage:
    """One NotifyMonitoringReport of the report `request_id`; `more_follow` on all but the
    last."""

    request_id: int
    generated_at: float
    seq_no: int
    data: tuple[MonitoringData, ...]
    more_follow: bool


@dataclass(frozen=True)
class EventNotice:
    """One NotifyEvent: events the monitors produced."""

    generated_at: float
    seq_no: int
    events: tuple[MonitorEvent, ...]
    more_follow: bool = False


MonitoringRequest = (
    SetVariableMonitoring
    | ClearVariableMonitoring
    | SetMonitoringBase
    | SetMonitoringLevel
    | GetMonitoringReport
)
MonitoringAnswerMessage = (
    SetVariableMonitoringAnswer | ClearVariableMonitoringAnswer | MonitoringAnswer
)
MonitoringCall = MonitoringReportPage | EventNotice
