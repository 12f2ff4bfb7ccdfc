"""Every model the client sends or reads, from the one place the server takes them too.

Requests are the server's own request models (voltlab/api/schemas.py, command_events.py,
cpo_schemas.py, scenario_schemas.py); responses are the models the server declares in its
OpenAPI document (voltlab/api/responses/). Both are plain pydantic modules: importing them
loads no fleet, store or web framework. The rest of the client refers to models only through
this module, so a model can be switched here and nowhere else; tests/client/test_drift.py
compares them with a live server's /openapi.json."""

from __future__ import annotations

from voltlab.api.bounds import EvProfileName, LimitSource
from voltlab.api.command_events import (
    AuthListEntry,
    AuthorizeIdTagEvent,
    ChargingLimitEvent,
    ClearFaultEvent,
    CommandTarget,
    ConfigurationEvent,
    ConnectorEvent,
    DischargeEvent,
    EventModel,
    EvRequestsEnergyEvent,
    InjectFaultEvent,
    LocalAuthListEvent,
    NoFields,
    PartitionEvent,
    PlugConnectorEvent,
    PowerUpdateEvent,
    ProxyMessageEvent,
    StartSessionEvent,
    StartTransactionEvent,
    StationOrConnectorEvent,
    StopSessionEvent,
    StopTransactionEvent,
)
from voltlab.api.contract_events import ContractEvent
from voltlab.api.cpo_schemas import CpoCreate
from voltlab.api.replay_schemas import ReplayCreate
from voltlab.api.responses.chargers import (
    ChargerConfigurationView,
    ChargerModelView,
    ChargerPage,
    ChargerView,
    Configuration2xView,
    Configuration16View,
    ConnectorView,
    FleetSummary,
    FramePage,
    FrameView,
    LocationDetail,
    LocationPage,
    LocationView,
    MeterSeries,
)
from voltlab.api.responses.commands import (
    CommandAccepted,
    CommandPage,
    CommandStatus,
    CommandView,
)
from voltlab.api.responses.cpos import (
    CpoCreated,
    CpoDeletion,
    CpoPage,
    CpoReport,
    CpoStatus,
    CpoStatusView,
    CpoTemplate,
    CpoTraffic,
    CpoView,
)
from voltlab.api.responses.errors import ErrorBody, ValidationErrorBody, ValidationProblem
from voltlab.api.responses.findings import (
    ChargerFindings,
    FindingsWithCounts,
    FindingView,
    FrameEvidence,
    HttpEvidence,
)
from voltlab.api.responses.replays import ReplayList, ReplayView
from voltlab.api.responses.scenarios import (
    RunAccepted,
    RunList,
    RunView,
    ScenarioLibrary,
    ScenarioSource,
)
from voltlab.api.responses.system import ClusterView, HealthView, MeView
from voltlab.api.scenario_schemas import RunCreate, RunTarget
from voltlab.api.schemas import ChargerCreate, LocationCreate, SecurityIn
from voltlab.ocpp.vocabulary.connector_status import FaultType
from voltlab.ocpp.vocabulary.stop_reasons import StopReason

__all__ = [
    "AuthListEntry",
    "AuthorizeIdTagEvent",
    "ChargerConfigurationView",
    "ChargingLimitEvent",
    "ContractEvent",
    "DischargeEvent",
    "ChargerCreate",
    "ChargerFindings",
    "ChargerModelView",
    "ChargerPage",
    "ChargerView",
    "ClearFaultEvent",
    "ClusterView",
    "CommandAccepted",
    "CommandPage",
    "CommandStatus",
    "CommandTarget",
    "CommandView",
    "Configuration16View",
    "Configuration2xView",
    "ConfigurationEvent",
    "ConnectorEvent",
    "ConnectorView",
    "CpoCreate",
    "CpoCreated",
    "CpoDeletion",
    "CpoPage",
    "CpoReport",
    "CpoStatus",
    "CpoStatusView",
    "CpoTemplate",
    "CpoTraffic",
    "CpoView",
    "ErrorBody",
    "EvProfileName",
    "EvRequestsEnergyEvent",
    "EventModel",
    "FaultType",
    "FindingView",
    "FindingsWithCounts",
    "FleetSummary",
    "FrameEvidence",
    "FramePage",
    "FrameView",
    "HealthView",
    "HttpEvidence",
    "InjectFaultEvent",
    "LimitSource",
    "LocalAuthListEvent",
    "LocationCreate",
    "LocationDetail",
    "LocationPage",
    "LocationView",
    "MeView",
    "MeterSeries",
    "NoFields",
    "PartitionEvent",
    "PlugConnectorEvent",
    "PowerUpdateEvent",
    "ProxyMessageEvent",
    "ReplayCreate",
    "ReplayList",
    "ReplayView",
    "RunAccepted",
    "RunCreate",
    "RunList",
    "RunTarget",
    "RunView",
    "ScenarioLibrary",
    "ScenarioSource",
    "SecurityIn",
    "StartSessionEvent",
    "StartTransactionEvent",
    "StationOrConnectorEvent",
    "StopReason",
    "StopSessionEvent",
    "StopTransactionEvent",
    "ValidationErrorBody",
    "ValidationProblem",
]
