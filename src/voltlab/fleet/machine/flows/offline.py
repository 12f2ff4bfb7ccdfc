"""What the station holds for the CSMS while it cannot deliver it: the driver's offline queue,
as the driver reports it (`QueueChanged`), and 2.x GetTransactionStatus, answered from it
(OCPP 2.0.1 E14: ongoingIndicator only when a transaction is named; messagesInQueue for that
transaction's messages, or for any when none is named)."""

from __future__ import annotations

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Answer, Effect
from voltlab.fleet.machine.events import QueueChanged
from voltlab.fleet.machine.trigger_messages import GetTransactionStatus, TransactionStatusAnswer


def queue_changed(ctx: FlowContext, event: QueueChanged) -> list[Effect]:
    ctx.offline_queue = event
    return []


def get_transaction_status(ctx: FlowContext, request: GetTransactionStatus) -> list[Effect]:
    queue = ctx.offline_queue
    transaction_id = request.transaction_id
    if transaction_id is None:
        return [Answer(TransactionStatusAnswer(queue.waiting > 0, None))]
    ongoing = ctx.station.find_transaction(transaction_id) is not None
    queued = transaction_id in queue.transaction_ids
    return [Answer(TransactionStatusAnswer(queued, ongoing))]
