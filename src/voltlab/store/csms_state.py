"""SQL of the built-in CSMS's transactions (issue 14): write a transaction's record and its new
samples, read a station's transactions when it connects, allocate ids in blocks.

The rows' shapes are the CSMS's (`voltlab.csms.tx_records`); this module stores JSON and
numbers and knows nothing of OCPP."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from voltlab.clock import wall_now
from voltlab.store.csms_models import CsmsIdBlock, CsmsTransactionRow, CsmsTransactionSample


def write_transaction(
    session: Session,
    transaction_id: int,
    cpo_id: str,
    identity: str,
    is_open: bool,
    record: dict[str, Any],
    new_samples: list[dict[str, Any]],
) -> None:
    row = session.get(CsmsTransactionRow, transaction_id)
    if row is None:
        row = CsmsTransactionRow(
            transaction_id=transaction_id, cpo_id=cpo_id, identity=identity, samples=0
        )
        session.add(row)
    row.is_open = is_open
    row.record = record
    row.updated_at = wall_now()
    seq = row.samples or 0
    session.add_all(
        CsmsTransactionSample(transaction_id=transaction_id, seq=seq + i, sample=sample)
        for i, sample in enumerate(new_samples)
    )
    row.samples = seq + len(new_samples)


def station_transactions(
    session: Session, cpo_id: str, identity: str, closed_limit: int
) -> list[tuple[int, dict[str, Any], list[dict[str, Any]]]]:
    """(id, record, samples) of the station's open transactions and its `closed_limit` newest
    closed ones (so a resent stop is recognised); samples only for the open ones."""
    station = (CsmsTransactionRow.cpo_id == cpo_id, CsmsTransactionRow.identity == identity)
    open_rows = session.scalars(
        select(CsmsTransactionRow).where(*station, CsmsTransactionRow.is_open)
    ).all()
    closed_rows = session.scalars(
        select(CsmsTransactionRow)
        .where(*station, CsmsTransactionRow.is_open.is_(False))
        .order_by(CsmsTransactionRow.transaction_id.desc())
        .limit(closed_limit)
    ).all()
    found = []
    for row in open_rows:
        samples = list(
            session.scalars(
                select(CsmsTransactionSample.sample)
                .where(CsmsTransactionSample.transaction_id == row.transaction_id)
                .order_by(CsmsTransactionSample.seq)
            )
        )
        found.append((row.transaction_id, dict(row.record), samples))
    found.extend((row.transaction_id, dict(row.record), []) for row in reversed(closed_rows))
    return found


def allocate_ids(session: Session, name: str, count: int, floor: int) -> int:
    """Reserve `count` ids of sequence `name`, none below `floor`; returns the first. The row
    lock serialises processes allocating at the same moment."""
    row = session.scalars(
        select(CsmsIdBlock).where(CsmsIdBlock.name == name).with_for_update()
    ).first()
    if row is None:
        row = CsmsIdBlock(name=name, next_id=floor)
        session.add(row)
        session.flush()  # a concurrent first insert fails here and the caller retries
    first = max(row.next_id, floor)
    row.next_id = first + count
    return first


def delete_cpo_transactions(session: Session, cpo_id: str) -> None:
    ids = select(CsmsTransactionRow.transaction_id).where(CsmsTransactionRow.cpo_id == cpo_id)
    session.execute(
        delete(CsmsTransactionSample).where(CsmsTransactionSample.transaction_id.in_(ids))
    )
    session.execute(delete(CsmsTransactionRow).where(CsmsTransactionRow.cpo_id == cpo_id))
