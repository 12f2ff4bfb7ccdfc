"""Logs that keep only their newest rows per owner (a charger's frames, a CPO's OCPI pushes
and requests): one way to cut them, so each log states only what it keeps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session


def keep_newest(
    session: Session,
    row_id: InstrumentedAttribute[int],
    owner_column: InstrumentedAttribute[Any],
    owner: object,
    keep: int,
) -> None:
    """Delete `owner`'s rows but the `keep` newest (by the increasing `row_id`)."""
    cutoff = session.scalar(
        select(row_id).where(owner_column == owner).order_by(row_id.desc()).offset(keep).limit(1)
    )
    if cutoff is not None:
        session.execute(delete(row_id.class_).where(owner_column == owner, row_id <= cutoff))
