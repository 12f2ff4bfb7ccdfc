"""cpos: seed as bigint

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 11:55:58.446575
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite's INTEGER already stores 64 bits. Changing it there would copy the table (batch
    # mode), and dropping the old one would delete the CPOs' steps (ON DELETE CASCADE).
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("cpos", "seed", existing_type=sa.Integer(), type_=sa.BigInteger())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("cpos", "seed", existing_type=sa.BigInteger(), type_=sa.Integer())
