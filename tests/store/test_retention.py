"""`keep_newest`: a log keeps its owner's newest rows and never touches another owner's."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from voltlab.store.db import Database
from voltlab.store.models import Frame
from voltlab.store.retention import keep_newest

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_keep_newest_cuts_one_owner_to_its_newest_rows(database_url: str) -> None:
    database = Database(database_url)
    database.migrate()
    with database.session() as session:
        # Interleaved owners, as a fleet writes them.
        for n in range(30):
            for charger in ("A", "B"):
                session.add(
                    Frame(charger_id=charger, ts=T0, direction="out", frame=f"{charger}{n}")
                )
    with database.session() as session:
        keep_newest(session, Frame.id, Frame.charger_id, "A", 7)
        keep_newest(session, Frame.id, Frame.charger_id, "C", 7)  # no rows: nothing happens
    with database.session() as session:
        kept_a = session.scalars(
            select(Frame.frame).where(Frame.charger_id == "A").order_by(Frame.id)
        ).all()
        kept_b = session.scalars(select(Frame.frame).where(Frame.charger_id == "B")).all()
    assert kept_a == [f"A{n}" for n in range(23, 30)]
    assert len(kept_b) == 30
    database.dispose()
