"""The installation: health, the cluster's workers, and who the caller is."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from voltlab.api.responses.base import ResponseModel, Role, Timestamp


class WorkerView(ResponseModel):
    """One `voltlab serve` process. The fields from `host` on: `GET /cluster` on PostgreSQL."""

    id: str = Field(examples=["local"])
    role: Literal["all", "api", "fleet"]
    chargers: int = Field(description="how many chargers it hosts")
    heartbeat_age_s: float
    host: str | None = None
    pid: int | None = None
    started_at: Timestamp | None = None
    oldest_lease_age_s: float | None = None
    newest_lease_age_s: float | None = None


class HealthView(ResponseModel):
    """200 with `ok` once the server accepts work; 503 with `starting` before, or `degraded`
    when the database does not answer. The installation's processes once ready."""

    status: Literal["ok", "starting", "degraded"]
    version: str
    database: str = Field(examples=["sqlite"])
    mode: Literal["single", "cluster"] | None = None
    this_worker: str | None = None
    workers: list[WorkerView] | None = None
    unhosted_chargers: int | None = Field(
        default=None, description="cluster: chargers that should run and have no owner now"
    )


class ClusterView(ResponseModel):
    mode: Literal["single", "cluster"]
    this_worker: str
    workers: list[WorkerView]
    unhosted_chargers: int | None = None
    lease_seconds: float | None = None


class MeView(ResponseModel):
    key_id: str
    org_id: str
    org_name: str | None
    role: Role
    can_write: bool
