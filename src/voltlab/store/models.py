"""SQLAlchemy 2 ORM models: the system of record for orgs, keys, locations, chargers, commands
and the per-charger OCPP frame log. One schema for SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from voltlab.clock import wall_now


class Base(DeclarativeBase):
    pass


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | operator | viewer
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the key
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to recognise a key in lists
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Location(Base):
    __tablename__ = "locations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # loc-…
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    csms_url: Mapped[str] = mapped_column(String(500))
    ocpp_version: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(64))
    identity_prefix: Mapped[str] = mapped_column(String(64))
    security: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    cpo_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)


class Charger(Base):
    __tablename__ = "chargers"
    __table_args__ = (UniqueConstraint("org_id", "identity", name="uq_charger_org_identity"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # dep-…
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[str | None] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    identity: Mapped[str] = mapped_column(String(128))
    csms_url: Mapped[str] = mapped_column(String(500))
    ocpp_version: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(64))
    security: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Whether the charger should be connected; serve restarts those that are.
    desired_running: Mapped[bool] = mapped_column(Boolean, default=False)
    # Station snapshot written by the fleet runtime: configuration, auth cache, local list,
    # connector states, meter registers. Restored on restart.
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)


class Command(Base):
    __tablename__ = "commands"
    __table_args__ = (
        Index("ix_commands_org_created", "org_id", "created_at"),
        # The claim's scan: the open commands, by status (few rows are queued or running).
        Index("ix_commands_status_worker", "status", "worker_id"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # 12 hex chars
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    charger_id: Mapped[str] = mapped_column(String(40), index=True)
    identity: Mapped[str] = mapped_column(String(128))
    location_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    ocpp_version: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    # The worker (`workers.id`) that claimed the command to run it; NULL while no process has.
    # Several processes: a command stays claimable by its charger's owner until one claims it,
    # and a dead worker's claims are handed on or ended (`worker_lost`).
    worker_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Frame(Base):
    __tablename__ = "frames"
    __table_args__ = (Index("ix_frames_charger_id_id", "charger_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    charger_id: Mapped[str] = mapped_column(String(40))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    direction: Mapped[str] = mapped_column(String(3))  # out | in
    frame: Mapped[str] = mapped_column(Text)


class Cpo(Base):
    """A virtual charge point operator: its party, template, provisioning state and lifetime.
    Its OCPI credentials and objects live in the ocpi tables; its locations and chargers are
    ordinary gateway rows tagged with `cpo_id`."""

    __tablename__ = "cpos"
    __table_args__ = (Index("ix_cpos_org_created", "org_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # cpo-…
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    template: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int] = mapped_column(Integer)
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    requested_party_id: Mapped[str] = mapped_column(String(3))
    role: Mapped[str] = mapped_column(String(16), default="CPO")
    name_prefix: Mapped[str] = mapped_column(String(32))
    ocpi_version: Mapped[str] = mapped_column(String(8))
    # Any 64-bit signed seed: BIGINT on PostgreSQL; SQLite's INTEGER already holds 64 bits.
    seed: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ttl_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # PENDING | PROVISIONING | READY | FAILED | DESTROYING | DESTROYED
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    workflow_run_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    destroyed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CpoStep(Base):
    """One provisioning (or destroy) step of a CPO, as the status endpoint shows it."""

    __tablename__ = "cpo_steps"
    __table_args__ = (UniqueConstraint("cpo_id", "name", name="uq_cpo_step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cpo_id: Mapped[str] = mapped_column(ForeignKey("cpos.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|running|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
