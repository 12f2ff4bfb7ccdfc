"""A transaction's messages in sequence: each takes the next 2.x seqNo as it is made."""

from __future__ import annotations

from voltlab.fleet.machine.session_messages import TransactionRef
from voltlab.fleet.model.records import Transaction


def transaction_ref(tx: Transaction) -> TransactionRef:
    """The transaction as its next message names it; takes the next 2.x seqNo."""
    ref = TransactionRef(tx.local_id, tx.connector_id, tx.transaction_id, tx.seq_no)
    tx.seq_no += 1
    return ref
