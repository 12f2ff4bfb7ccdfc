"""The last reading of the fleet's simulated clock, one row, so that a restarted process
continues simulated time instead of starting it again at the wall clock (see
`voltlab.clock.resumed_origin`). Written with every fleet flush that carries frames or
snapshots, and at shutdown. The table is created by the migrations (`voltlab.store.schema`
lists this module)."""

from __future__ import annotations

from sqlalchemy import Float, Integer, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from voltlab.clock import ClockReading
from voltlab.store.models import Base

ROW_ID = 1  # the one row


class ClockState(Base):
    __tablename__ = "clock_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    simulated: Mapped[float] = mapped_column(Float)  # POSIX seconds of simulated time
    wall: Mapped[float] = mapped_column(Float)  # POSIX seconds of real time, same instant
    time_scale: Mapped[float] = mapped_column(Float)


def load_clock_reading(session: Session) -> ClockReading | None:
    row = session.get(ClockState, ROW_ID)
    if row is None:
        return None
    return ClockReading(simulated=row.simulated, wall=row.wall, time_scale=row.time_scale)


def save_clock_reading(session: Session, reading: ClockReading) -> None:
    """Insert or replace the row (in the caller's transaction)."""
    row = session.get(ClockState, ROW_ID)
    if row is None:
        session.add(
            ClockState(
                id=ROW_ID,
                simulated=reading.simulated,
                wall=reading.wall,
                time_scale=reading.time_scale,
            )
        )
    else:
        row.simulated, row.wall, row.time_scale = (
            reading.simulated,
            reading.wall,
            reading.time_scale,
        )


def update_clock_reading(session: Session, reading: ClockReading) -> None:
    """One UPDATE of the existing row, for the fleet's regular flush (the row was saved at
    start, so the flush costs no read)."""
    session.execute(
        update(ClockState)
        .where(ClockState.id == ROW_ID)
        .values(simulated=reading.simulated, wall=reading.wall, time_scale=reading.time_scale)
    )
