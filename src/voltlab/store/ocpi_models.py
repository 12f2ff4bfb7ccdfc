"""OCPI tables: per-CPO credentials and peer state, the OCPI objects a CPO serves, the tokens an
eMSP pushed, traffic counters and the push log.

`cpo_id` is a plain indexed column, not a foreign key to `cpos`: the OCPI layer is usable (and
testable) without the gateway rows, and `OcpiService.revoke_cpo` is the explicit teardown.
The tables are created by the migrations (`voltlab.store.schema` lists this module).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from voltlab.clock import wall_now
from voltlab.store.models import Base


class OcpiCredentials(Base):
    """One row per virtual CPO: our party, the tokens, and what we learnt about the eMSP."""

    __tablename__ = "ocpi_credentials"
    cpo_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    business_name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(8))  # the OCPI version this CPO speaks
    # sha256 hex digests; the plaintext of A and C is never stored.
    token_a_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_c_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # Token B stays in clear text: we must present it to the eMSP on every call.
    token_b: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Whether the eMSP accepted Token B Base64-encoded (2.2.1 rule) or only in plain text.
    token_b_base64: Mapped[bool] = mapped_column(Boolean, default=True)
    peer_versions_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    peer_version: Mapped[str | None] = mapped_column(String(8), nullable=True)
    peer_details_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # [{"identifier", "role"?, "url"}] exactly as the eMSP's version details listed them.
    peer_endpoints: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    # [{"role", "party_id", "country_code", "business_details"}] (2.1.1 flat data normalised).
    peer_roles: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    unregistered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)


class OcpiObject(Base):
    """A location, tariff, session or CDR of a CPO, stored in its OCPI 2.2.1 shape."""

    __tablename__ = "ocpi_objects"
    __table_args__ = (
        UniqueConstraint("cpo_id", "kind", "object_id", name="uq_ocpi_object"),
        # Paged GETs filter on (cpo, kind, last_updated range) and order by last_updated, id.
        Index("ix_ocpi_objects_paging", "cpo_id", "kind", "last_updated", "object_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cpo_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))  # location | tariff | session | cdr
    object_id: Mapped[str] = mapped_column(String(64))
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class OcpiReceivedToken(Base):
    """A Token the eMSP pushed to the CPO's tokens receiver endpoint."""

    __tablename__ = "ocpi_tokens"
    __table_args__ = (
        UniqueConstraint(
            "cpo_id", "country_code", "party_id", "uid", "token_type", name="uq_ocpi_token"
        ),
        Index("ix_ocpi_tokens_lookup", "cpo_id", "uid", "token_type"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cpo_id: Mapped[str] = mapped_column(String(40))
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    uid: Mapped[str] = mapped_column(String(36))
    token_type: Mapped[str] = mapped_column(String(16))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OcpiTraffic(Base):
    """Request counters: one row per (cpo, direction, module, HTTP status, OCPI status)."""

    __tablename__ = "ocpi_traffic"
    __table_args__ = (
        UniqueConstraint(
            "cpo_id", "direction", "module", "http_status", "ocpi_status", name="uq_ocpi_traffic"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cpo_id: Mapped[str] = mapped_column(String(40), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    module: Mapped[str] = mapped_column(String(32))
    # 0 stands for "none" (no HTTP answer at all / no OCPI envelope): NULLs would defeat the
    # unique constraint the upsert relies on.
    http_status: Mapped[int] = mapped_column(Integer)
    ocpi_status: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)


class OcpiPush(Base):
    """One push to the eMSP (all its attempts); only the newest rows per CPO are kept."""

    __tablename__ = "ocpi_pushes"
    __table_args__ = (Index("ix_ocpi_pushes_cpo_id", "cpo_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cpo_id: Mapped[str] = mapped_column(String(40))
    module: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(String(1000))
    object_key: Mapped[str] = mapped_column(String(200))
    # pending | succeeded | failed | skipped
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ocpi_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OcpiAuthorization(Base):
    """How the eMSP authorized a Token at this CPO, kept until the session it leads to ends:
    the Token of a START_SESSION or RESERVE_NOW (auth_method COMMAND) or of a real-time
    authorization (AUTH_REQUEST), and the `authorization_reference` the eMSP gave, which the
    Session and the CDR SHALL carry (sessions and CDRs modules). In the database, so a restart
    between the command and the session's end loses none of it. One row per token uid: the
    last value given wins, as the modules ask."""

    __tablename__ = "ocpi_authorizations"
    __table_args__ = (UniqueConstraint("cpo_id", "uid", name="uq_ocpi_authorization"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cpo_id: Mapped[str] = mapped_column(String(40))
    uid: Mapped[str] = mapped_column(String(36))
    auth_method: Mapped[str] = mapped_column(String(16))  # COMMAND | AUTH_REQUEST
    token: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    authorization_reference: Mapped[str | None] = mapped_column(String(36), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)


class OcpiRequest(Base):
    """The recent OCPI requests of a CPO, in and out, one row each (the dashboard's traffic
    view); the counters above keep the totals, this log only the newest
    (`ocpi.traffic.REQUEST_LOG_KEEP` per CPO)."""

    __tablename__ = "ocpi_requests"
    __table_args__ = (Index("ix_ocpi_requests_cpo_id_id", "cpo_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cpo_id: Mapped[str] = mapped_column(String(40))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    method: Mapped[str] = mapped_column(String(8))
    module: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(1000))
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: no answer
    ocpi_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
