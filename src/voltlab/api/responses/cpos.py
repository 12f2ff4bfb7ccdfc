"""Virtual CPOs: the 202 of `POST /ocpi/cpos` (the seed's shape), the CPO, its provisioning
status, its report and its OCPI traffic, and the template gallery."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from voltlab.api.responses.base import ResponseModel, Timestamp

CpoStatus = Literal["PENDING", "PROVISIONING", "READY", "FAILED", "DESTROYING", "DESTROYED"]


class PartyView(ResponseModel):
    """The OCPI party the CPO occupies."""

    country_code: str = Field(examples=["FR"])
    party_id: str = Field(examples=["ABC"])
    role: str = Field(examples=["CPO"])


class CredentialsPayload(ResponseModel):
    token: str
    url: str


class RoamHelper(ResponseModel):
    """What an eMSP needs for the credentials handshake, ready to paste."""

    credentials_payload: CredentialsPayload
    curl_snippet: str


class CpoCreated(ResponseModel):
    """202 of `POST /ocpi/cpos`: Token A (shown here only) and where to follow provisioning."""

    cpo_id: str
    party: PartyView
    name_prefix: str
    template: str
    template_version: int
    token_a: str = Field(description="Token A; returned here only, never on GET")
    ocpi_peer_url: str = Field(description="the OCPI versions endpoint the eMSP calls")
    status_url: str = Field(description="GET here to follow provisioning")
    destroy_url: str
    roam_helper: RoamHelper | None
    workflow_run_id: str | None = Field(description="opaque; include it in bug reports")
    status: CpoStatus
    expires_at: Timestamp | None


class PeerParty(ResponseModel):
    country_code: str
    party_id: str


class OcpiPeerView(ResponseModel):
    """The eMSP registered with the CPO (the credentials handshake), if any."""

    registered: bool
    awaiting_registration: bool = Field(description="Token A is live: the eMSP may register")
    revoked: bool
    version: str | None
    peer_version: str | None
    peer_versions_url: str | None
    peer_party: PeerParty | None
    peer_roles: list[dict[str, Any]] = Field(description="the eMSP's OCPI CredentialsRoles")
    endpoints: list[dict[str, Any]] = Field(description="the eMSP's OCPI endpoints")
    registered_at: Timestamp | None


class CpoView(ResponseModel):
    """`GET /ocpi/cpos/{cpo_id}`: never shows Token A."""

    cpo_id: str
    party: PartyView
    requested_party_id: str | None = Field(description="the party id asked for, if mangled")
    name_prefix: str
    template: str
    template_version: int
    ocpi_version: Literal["2.2.1", "2.1.1"]
    seed: int | None
    network_fingerprint: str | None = Field(description="same seed + template: same value")
    overrides: dict[str, int] | None
    status: CpoStatus
    error: str | None
    ocpi_peer_url: str
    ocpi_peer: OcpiPeerView
    location_ids: list[str]
    charger_ids: list[str]
    workflow_run_id: str | None
    ttl_seconds: int | None
    expires_at: Timestamp | None
    created_at: Timestamp | None
    ready_at: Timestamp | None
    destroyed_at: Timestamp | None
    findings: int = Field(description="findings about its eMSP the CPO recorded")


class CpoPage(ResponseModel):
    items: list[CpoView]
    next_cursor: str | None


class ProvisioningStep(ResponseModel):
    name: str
    state: Literal["pending", "running", "done", "failed"]
    attempts: int
    started_at: Timestamp | None
    finished_at: Timestamp | None
    duration_seconds: float | None
    last_error: str | None


class CpoStatusView(ResponseModel):
    cpo_id: str
    status: CpoStatus
    error: str | None
    workflow_run_id: str | None
    created_at: Timestamp | None
    ready_at: Timestamp | None
    destroyed_at: Timestamp | None
    expires_at: Timestamp | None
    steps: list[ProvisioningStep]


class CpoDeletion(ResponseModel):
    """202 of `DELETE /ocpi/cpos/{cpo_id}`: destruction runs; follow `status_url`."""

    cpo_id: str
    status: CpoStatus
    status_url: str


class ProvisioningSummary(ResponseModel):
    created_at: Timestamp | None
    ready_at: Timestamp | None
    seconds_to_ready: float | None
    destroyed_at: Timestamp | None
    steps: list[ProvisioningStep]


class NetworkSummary(ResponseModel):
    locations: int
    chargers: int
    chargers_connected: int
    evses: int
    connectors: int
    chargers_by_model: dict[str, int]


class TrafficTotals(ResponseModel):
    in_: int = Field(alias="in")
    out: int


class TrafficSummary(ResponseModel):
    """Requests per direction, module and "<HTTP status>/<OCPI status>" (0: none)."""

    in_: dict[str, dict[str, int]] = Field(alias="in", description="the eMSP called the CPO")
    out: dict[str, dict[str, int]] = Field(description="the CPO called the eMSP")
    totals: TrafficTotals


class SessionCounts(ResponseModel):
    total: int
    by_status: dict[str, int]


class CdrCounts(ResponseModel):
    total: int


class Revenue(ResponseModel):
    currency: str | None
    excl_vat: float
    incl_vat: float


class SeriesPoint(ResponseModel):
    start: Timestamp
    sessions: int
    energy_kwh: float
    revenue_excl_vat: float
    revenue_incl_vat: float


class ReportSeries(ResponseModel):
    bucket_seconds: int
    currency: str | None
    points: list[SeriesPoint]


class CpoReport(ResponseModel):
    cpo_id: str
    status: CpoStatus
    party: PartyView
    template: str
    template_version: int
    provisioning: ProvisioningSummary
    network: NetworkSummary
    ocpi_peer: OcpiPeerView
    traffic: TrafficSummary
    sessions: SessionCounts
    cdrs: CdrCounts
    energy_kwh: float
    revenue: Revenue
    series: ReportSeries


class OcpiRequestView(ResponseModel):
    id: int
    ts: Timestamp
    direction: Literal["in", "out"]
    method: str
    module: str
    url: str
    status_code: int | None
    ocpi_status_code: int | None


class CpoTraffic(ResponseModel):
    cpo_id: str
    items: list[OcpiRequestView]
    totals: TrafficTotals


class CountDefaults(ResponseModel):
    locations: int
    chargers_per_location: int


class TemplateModel(ResponseModel):
    slug: str
    weight: int | float
    vendor: str
    model: str
    current_type: Literal["AC", "DC"]
    max_power_w: int
    connectors: int


class TemplateTariff(ResponseModel):
    id: str
    type: str | None = Field(description="OCPI TariffType")
    applies_to: list[Literal["AC", "DC"]]
    alt_text: str
    currency_basis: str
    summary: list[str]
    dimensions: list[str]


class CpoTemplate(ResponseModel):
    """One template of the gallery: what a CPO made from it looks like and costs."""

    slug: str = Field(examples=["small-urban-ac"])
    title: str
    description: str
    template_version: int
    defaults: CountDefaults
    caps: CountDefaults
    max_chargers: int
    parking_type: str
    opening_times: dict[str, Any] = Field(description="OCPI Hours")
    facilities: list[str]
    models: list[TemplateModel]
    tariffs: list[TemplateTariff]
