"""Baseline: the schema of the last release without migrations (voltlab 0.1.0, whose tables came
from SQLAlchemy's `create_all`).

On an empty database it creates every table. On a database that release made (tables, no
`alembic_version`) it creates only the tables it lacks, as `create_all` did at every start, and
keeps the others with their rows; `voltlab.store.migrate` then checks the result against the
models before committing.

Revision ID: 0001
Revises:
Create Date: 2026-12-07 08:57:56.454606
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _missing(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing("clock_state"):
        op.create_table(
            "clock_state",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("simulated", sa.Float(), nullable=False),
            sa.Column("wall", sa.Float(), nullable=False),
            sa.Column("time_scale", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if _missing("csms_station_credentials"):
        op.create_table(
            "csms_station_credentials",
            sa.Column("cpo_id", sa.String(length=40), nullable=False),
            sa.Column("identity", sa.String(length=128), nullable=False),
            sa.Column("password_hash", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("cpo_id", "identity"),
        )
    if _missing("findings"):
        op.create_table(
            "findings",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("charger_id", sa.String(length=40), nullable=True),
            sa.Column("location_id", sa.String(length=40), nullable=True),
            sa.Column("cpo_id", sa.String(length=40), nullable=True),
            sa.Column("rule", sa.String(length=64), nullable=False),
            sa.Column("severity", sa.String(length=8), nullable=False),
            sa.Column("title", sa.String(length=200), nullable=False),
            sa.Column("detail", sa.Text(), nullable=False),
            sa.Column("spec_ref", sa.String(length=300), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("evidence", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("findings", schema=None) as batch_op:
            batch_op.create_index(
                "ix_findings_charger_at", ["charger_id", "at", "id"], unique=False
            )
            batch_op.create_index("ix_findings_cpo_at", ["cpo_id", "at", "id"], unique=False)
            batch_op.create_index(
                "ix_findings_location_at", ["location_id", "at", "id"], unique=False
            )

    if _missing("frames"):
        op.create_table(
            "frames",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("charger_id", sa.String(length=40), nullable=False),
            sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
            sa.Column("direction", sa.String(length=3), nullable=False),
            sa.Column("frame", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("frames", schema=None) as batch_op:
            batch_op.create_index("ix_frames_charger_id_id", ["charger_id", "id"], unique=False)

    if _missing("ocpi_authorizations"):
        op.create_table(
            "ocpi_authorizations",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("cpo_id", sa.String(length=40), nullable=False),
            sa.Column("uid", sa.String(length=36), nullable=False),
            sa.Column("auth_method", sa.String(length=16), nullable=False),
            sa.Column("token", sa.JSON(), nullable=True),
            sa.Column("authorization_reference", sa.String(length=36), nullable=True),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("cpo_id", "uid", name="uq_ocpi_authorization"),
        )
    if _missing("ocpi_credentials"):
        op.create_table(
            "ocpi_credentials",
            sa.Column("cpo_id", sa.String(length=40), nullable=False),
            sa.Column("country_code", sa.String(length=2), nullable=False),
            sa.Column("party_id", sa.String(length=3), nullable=False),
            sa.Column("business_name", sa.String(length=100), nullable=False),
            sa.Column("version", sa.String(length=8), nullable=False),
            sa.Column("token_a_hash", sa.String(length=64), nullable=False),
            sa.Column("token_c_hash", sa.String(length=64), nullable=True),
            sa.Column("token_b", sa.String(length=255), nullable=True),
            sa.Column("token_b_base64", sa.Boolean(), nullable=False),
            sa.Column("peer_versions_url", sa.String(length=500), nullable=True),
            sa.Column("peer_version", sa.String(length=8), nullable=True),
            sa.Column("peer_details_url", sa.String(length=500), nullable=True),
            sa.Column("peer_endpoints", sa.JSON(), nullable=True),
            sa.Column("peer_roles", sa.JSON(), nullable=True),
            sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("unregistered_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("revoked", sa.Boolean(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("cpo_id"),
            sa.UniqueConstraint("token_a_hash"),
            sa.UniqueConstraint("token_c_hash"),
        )
    if _missing("ocpi_objects"):
        op.create_table(
            "ocpi_objects",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("cpo_id", sa.String(length=40), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("object_id", sa.String(length=64), nullable=False),
            sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
            sa.Column("body", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("cpo_id", "kind", "object_id", name="uq_ocpi_object"),
        )
        with op.batch_alter_table("ocpi_objects", schema=None) as batch_op:
            batch_op.create_index(
                "ix_ocpi_objects_paging",
                ["cpo_id", "kind", "last_updated", "object_id"],
                unique=False,
            )

    if _missing("ocpi_pushes"):
        op.create_table(
            "ocpi_pushes",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("cpo_id", sa.String(length=40), nullable=False),
            sa.Column("module", sa.String(length=32), nullable=False),
            sa.Column("method", sa.String(length=8), nullable=False),
            sa.Column("url", sa.String(length=1000), nullable=False),
            sa.Column("object_key", sa.String(length=200), nullable=False),
            sa.Column("outcome", sa.String(length=16), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("http_status", sa.Integer(), nullable=True),
            sa.Column("ocpi_status", sa.Integer(), nullable=True),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("ocpi_pushes", schema=None) as batch_op:
            batch_op.create_index("ix_ocpi_pushes_cpo_id", ["cpo_id", "id"], unique=False)

    if _missing("ocpi_requests"):
        op.create_table(
            "ocpi_requests",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("cpo_id", sa.String(length=40), nullable=False),
            sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
            sa.Column("direction", sa.String(length=3), nullable=False),
            sa.Column("method", sa.String(length=8), nullable=False),
            sa.Column("module", sa.String(length=32), nullable=False),
            sa.Column("url", sa.String(length=1000), nullable=False),
            sa.Column("http_status", sa.Integer(), nullable=True),
            sa.Column("ocpi_status", sa.Integer(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("ocpi_requests", schema=None) as batch_op:
            batch_op.create_index("ix_ocpi_requests_cpo_id_id", ["cpo_id", "id"], unique=False)

    if _missing("ocpi_tokens"):
        op.create_table(
            "ocpi_tokens",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("cpo_id", sa.String(length=40), nullable=False),
            sa.Column("country_code", sa.String(length=2), nullable=False),
            sa.Column("party_id", sa.String(length=3), nullable=False),
            sa.Column("uid", sa.String(length=36), nullable=False),
            sa.Column("token_type", sa.String(length=16), nullable=False),
            sa.Column("body", sa.JSON(), nullable=False),
            sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint(
                "cpo_id", "country_code", "party_id", "uid", "token_type", name="uq_ocpi_token"
            ),
        )
        with op.batch_alter_table("ocpi_tokens", schema=None) as batch_op:
            batch_op.create_index(
                "ix_ocpi_tokens_lookup", ["cpo_id", "uid", "token_type"], unique=False
            )

    if _missing("ocpi_traffic"):
        op.create_table(
            "ocpi_traffic",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("cpo_id", sa.String(length=40), nullable=False),
            sa.Column("direction", sa.String(length=3), nullable=False),
            sa.Column("module", sa.String(length=32), nullable=False),
            sa.Column("http_status", sa.Integer(), nullable=False),
            sa.Column("ocpi_status", sa.Integer(), nullable=False),
            sa.Column("count", sa.Integer(), nullable=False),
            sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint(
                "cpo_id",
                "direction",
                "module",
                "http_status",
                "ocpi_status",
                name="uq_ocpi_traffic",
            ),
        )
        with op.batch_alter_table("ocpi_traffic", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_ocpi_traffic_cpo_id"), ["cpo_id"], unique=False)

    if _missing("orgs"):
        op.create_table(
            "orgs",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("name", sa.String(length=120), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("name"),
        )
    if _missing("queued_messages"):
        op.create_table(
            "queued_messages",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("charger_id", sa.String(length=40), nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("action", sa.String(length=64), nullable=False),
            sa.Column("payload", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("queued_messages", schema=None) as batch_op:
            batch_op.create_index(
                "ix_queued_messages_charger_seq", ["charger_id", "seq"], unique=True
            )

    if _missing("scenario_runs"):
        op.create_table(
            "scenario_runs",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("org_id", sa.String(length=40), nullable=False),
            sa.Column("scenario_name", sa.String(length=100), nullable=False),
            sa.Column("scenario", sa.JSON(), nullable=False),
            sa.Column("target", sa.JSON(), nullable=False),
            sa.Column("params", sa.JSON(), nullable=False),
            sa.Column("status", sa.String(length=20), nullable=False),
            sa.Column("verdict", sa.String(length=20), nullable=True),
            sa.Column("steps", sa.JSON(), nullable=False),
            sa.Column("findings", sa.JSON(), nullable=False),
            sa.Column("findings_available", sa.Boolean(), nullable=True),
            sa.Column("chargers", sa.JSON(), nullable=False),
            sa.Column("message", sa.Text(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("scenario_runs", schema=None) as batch_op:
            batch_op.create_index(
                "ix_scenario_runs_org_created", ["org_id", "created_at"], unique=False
            )

    if _missing("api_keys"):
        op.create_table(
            "api_keys",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("org_id", sa.String(length=40), nullable=False),
            sa.Column("role", sa.String(length=16), nullable=False),
            sa.Column("key_hash", sa.String(length=64), nullable=False),
            sa.Column("prefix", sa.String(length=16), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
            sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("key_hash"),
        )
        with op.batch_alter_table("api_keys", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_api_keys_org_id"), ["org_id"], unique=False)

    if _missing("commands"):
        op.create_table(
            "commands",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("org_id", sa.String(length=40), nullable=False),
            sa.Column("charger_id", sa.String(length=40), nullable=False),
            sa.Column("identity", sa.String(length=128), nullable=False),
            sa.Column("location_id", sa.String(length=40), nullable=True),
            sa.Column("event_type", sa.String(length=40), nullable=False),
            sa.Column("ocpp_version", sa.String(length=16), nullable=False),
            sa.Column("payload", sa.JSON(), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("result", sa.JSON(), nullable=True),
            sa.Column("error", sa.JSON(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("commands", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_commands_charger_id"), ["charger_id"], unique=False
            )
            batch_op.create_index(
                batch_op.f("ix_commands_location_id"), ["location_id"], unique=False
            )
            batch_op.create_index("ix_commands_org_created", ["org_id", "created_at"], unique=False)

    if _missing("cpos"):
        op.create_table(
            "cpos",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("org_id", sa.String(length=40), nullable=False),
            sa.Column("template", sa.String(length=64), nullable=False),
            sa.Column("template_version", sa.Integer(), nullable=False),
            sa.Column("country_code", sa.String(length=2), nullable=False),
            sa.Column("party_id", sa.String(length=3), nullable=False),
            sa.Column("requested_party_id", sa.String(length=3), nullable=False),
            sa.Column("role", sa.String(length=16), nullable=False),
            sa.Column("name_prefix", sa.String(length=32), nullable=False),
            sa.Column("ocpi_version", sa.String(length=8), nullable=False),
            sa.Column("seed", sa.Integer(), nullable=False),
            sa.Column("overrides", sa.JSON(), nullable=False),
            sa.Column("ttl_seconds", sa.Integer(), nullable=True),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("workflow_run_id", sa.String(length=80), nullable=True),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
            sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("cpos", schema=None) as batch_op:
            batch_op.create_index("ix_cpos_org_created", ["org_id", "created_at"], unique=False)

    if _missing("locations"):
        op.create_table(
            "locations",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("org_id", sa.String(length=40), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("csms_url", sa.String(length=500), nullable=False),
            sa.Column("ocpp_version", sa.String(length=16), nullable=False),
            sa.Column("model", sa.String(length=64), nullable=False),
            sa.Column("identity_prefix", sa.String(length=64), nullable=False),
            sa.Column("security", sa.JSON(), nullable=True),
            sa.Column("cpo_id", sa.String(length=40), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("locations", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_locations_cpo_id"), ["cpo_id"], unique=False)
            batch_op.create_index(batch_op.f("ix_locations_org_id"), ["org_id"], unique=False)

    if _missing("chargers"):
        op.create_table(
            "chargers",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("org_id", sa.String(length=40), nullable=False),
            sa.Column("location_id", sa.String(length=40), nullable=True),
            sa.Column("identity", sa.String(length=128), nullable=False),
            sa.Column("csms_url", sa.String(length=500), nullable=False),
            sa.Column("ocpp_version", sa.String(length=16), nullable=False),
            sa.Column("model", sa.String(length=64), nullable=False),
            sa.Column("security", sa.JSON(), nullable=True),
            sa.Column("desired_running", sa.Boolean(), nullable=False),
            sa.Column("state", sa.JSON(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["location_id"], ["locations.id"], ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("org_id", "identity", name="uq_charger_org_identity"),
        )
        with op.batch_alter_table("chargers", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_chargers_location_id"), ["location_id"], unique=False
            )
            batch_op.create_index(batch_op.f("ix_chargers_org_id"), ["org_id"], unique=False)

    if _missing("cpo_steps"):
        op.create_table(
            "cpo_steps",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("cpo_id", sa.String(length=40), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.Column("detail", sa.JSON(), nullable=True),
            sa.ForeignKeyConstraint(["cpo_id"], ["cpos.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("cpo_id", "name", name="uq_cpo_step"),
        )
        with op.batch_alter_table("cpo_steps", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_cpo_steps_cpo_id"), ["cpo_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cpo_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cpo_steps_cpo_id"))

    op.drop_table("cpo_steps")
    with op.batch_alter_table("chargers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chargers_org_id"))
        batch_op.drop_index(batch_op.f("ix_chargers_location_id"))

    op.drop_table("chargers")
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_locations_org_id"))
        batch_op.drop_index(batch_op.f("ix_locations_cpo_id"))

    op.drop_table("locations")
    with op.batch_alter_table("cpos", schema=None) as batch_op:
        batch_op.drop_index("ix_cpos_org_created")

    op.drop_table("cpos")
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.drop_index("ix_commands_org_created")
        batch_op.drop_index(batch_op.f("ix_commands_location_id"))
        batch_op.drop_index(batch_op.f("ix_commands_charger_id"))

    op.drop_table("commands")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_org_id"))

    op.drop_table("api_keys")
    with op.batch_alter_table("scenario_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_scenario_runs_org_created")

    op.drop_table("scenario_runs")
    with op.batch_alter_table("queued_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_queued_messages_charger_seq")

    op.drop_table("queued_messages")
    op.drop_table("orgs")
    with op.batch_alter_table("ocpi_traffic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ocpi_traffic_cpo_id"))

    op.drop_table("ocpi_traffic")
    with op.batch_alter_table("ocpi_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_ocpi_tokens_lookup")

    op.drop_table("ocpi_tokens")
    with op.batch_alter_table("ocpi_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_ocpi_requests_cpo_id_id")

    op.drop_table("ocpi_requests")
    with op.batch_alter_table("ocpi_pushes", schema=None) as batch_op:
        batch_op.drop_index("ix_ocpi_pushes_cpo_id")

    op.drop_table("ocpi_pushes")
    with op.batch_alter_table("ocpi_objects", schema=None) as batch_op:
        batch_op.drop_index("ix_ocpi_objects_paging")

    op.drop_table("ocpi_objects")
    op.drop_table("ocpi_credentials")
    op.drop_table("ocpi_authorizations")
    with op.batch_alter_table("frames", schema=None) as batch_op:
        batch_op.drop_index("ix_frames_charger_id_id")

    op.drop_table("frames")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_location_at")
        batch_op.drop_index("ix_findings_cpo_at")
        batch_op.drop_index("ix_findings_charger_at")

    op.drop_table("findings")
    op.drop_table("csms_station_credentials")
    op.drop_table("clock_state")
