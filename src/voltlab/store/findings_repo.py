"""Reading and writing findings (`finding_models.FindingRecord`): a batch insert for the
fleet's writer, keyset pages and counts for the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from voltlab.store.finding_models import FindingRecord


@dataclass(frozen=True)
class FindingFilter:
    """Whose findings (exactly one of the three ids) and which (rule, severity)."""

    charger_id: str | None = None
    location_id: str | None = None
    cpo_id: str | None = None
    rule: str | None = None
    severity: str | None = None

    def where(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.charger_id is not None:
            clauses.append(FindingRecord.charger_id == self.charger_id)
        if self.location_id is not None:
            clauses.append(FindingRecord.location_id == self.location_id)
        if self.cpo_id is not None:
            clauses.append(FindingRecord.cpo_id == self.cpo_id)
        if not clauses:
            raise ValueError("a finding filter names a charger, a location or a CPO")
        if self.rule is not None:
            clauses.append(FindingRecord.rule == self.rule)
        if self.severity is not None:
            clauses.append(FindingRecord.severity == self.severity)
        return clauses


def insert_findings(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (dicts of `FindingRecord`'s columns) in one statement."""
    if rows:
        session.connection().execute(insert(cast(Table, FindingRecord.__table__)), list(rows))


def finding_page(
    session: Session, which: FindingFilter, limit: int, after: tuple[datetime, str] | None
) -> tuple[list[FindingRecord], bool]:
    """Oldest first, `limit` rows after the key `(at, id)`; and whether more follow."""
    query = select(FindingRecord).where(*which.where())
    if after is not None:
        at, finding_id = after
        query = query.where(
            or_(
                FindingRecord.at > at,
                and_(FindingRecord.at == at, FindingRecord.id > finding_id),
            )
        )
    rows = list(
        session.scalars(query.order_by(FindingRecord.at, FindingRecord.id).limit(limit + 1))
    )
    return rows[:limit], len(rows) > limit


def counts_by_rule(session: Session, which: FindingFilter) -> dict[str, int]:
    rows = session.execute(
        select(FindingRecord.rule, func.count())
        .where(*which.where())
        .group_by(FindingRecord.rule)
        .order_by(FindingRecord.rule)
    ).all()
    return {rule: count for rule, count in rows}


def counts_by_charger(session: Session, charger_ids: Sequence[str]) -> dict[str, int]:
    """How many findings each charger has (chargers without any are left out)."""
    counts: dict[str, int] = {}
    for start in range(0, len(charger_ids), 500):
        chunk = list(charger_ids[start : start + 500])
        rows = session.execute(
            select(FindingRecord.charger_id, func.count())
            .where(FindingRecord.charger_id.in_(chunk))
            .group_by(FindingRecord.charger_id)
        ).all()
        counts.update({cid: count for cid, count in rows if cid is not None})
    return counts


def count_for_cpo(session: Session, cpo_id: str) -> int:
    """How many findings about the eMSP of this virtual CPO were recorded."""
    count = session.scalar(
        select(func.count()).select_from(FindingRecord).where(FindingRecord.cpo_id == cpo_id)
    )
    return int(count or 0)


def delete_charger_findings(session: Session, charger_ids: Sequence[str]) -> None:
    for start in range(0, len(charger_ids), 500):
        chunk = list(charger_ids[start : start + 500])
        session.execute(delete(FindingRecord).where(FindingRecord.charger_id.in_(chunk)))
