"""Customer information (OCPP 2.0.1 N09/N10, reused by 2.1): what the station holds about one
customer reported and/or cleared (`fleet/model/customer_information.py` says what that is),
then sent as NotifyCustomerInformation pages of at most 512 characters; and CostUpdated (I03),
the running cost the CSMS computed for a transaction, kept on it."""

from __future__ import annotations

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.customer_messages import (
    CostUpdated,
    CostUpdatedAnswer,
    CustomerInformation,
    CustomerInformationAnswer,
    CustomerInformationPage,
)
from voltlab.fleet.machine.effects import Answer, Effect, Persist
from voltlab.fleet.machine.flow import Call, CallFailure, Flow, FlowStepper, no_result
from voltlab.fleet.model.customer_information import clear_customer, customer_report

DATA_PER_PAGE = 512  # NotifyCustomerInformation.data is a string of at most 512 characters
NO_DATA = "The station holds no data about this customer."


def customer_information(
    ctx: FlowContext, flows: FlowStepper, request: CustomerInformation
) -> list[Effect]:
    if not request.report and not request.clear:
        return [
            Answer(
                CustomerInformationAnswer(
                    "Rejected", "InvalidValue", "neither report nor clear was asked for"
                )
            )
        ]
    if not request.customer.named:
        # N09: one of idToken, customerCertificate, customerIdentifier names the customer.
        return [
            Answer(
                CustomerInformationAnswer(
                    "Invalid", "MissingParam", "no idToken, customerIdentifier or certificate"
                )
            )
        ]
    station = ctx.station
    lines = customer_report(station, request.customer, ctx.now) if request.report else []
    cleared = clear_customer(station, request.customer) if request.clear else []
    data = "\n".join(lines + cleared) or NO_DATA
    pages = _pages(ctx, request.request_id, data)
    effects: list[Effect] = [Persist()] if cleared else []
    return [*effects, Answer(CustomerInformationAnswer("Accepted")), *flows.start(pages, no_result)]


def _pages(ctx: FlowContext, request_id: int, data: str) -> Flow[None]:
    generated_at = ctx.now
    chunks = [data[start : start + DATA_PER_PAGE] for start in range(0, len(data), DATA_PER_PAGE)]
    for seq_no, chunk in enumerate(chunks):
        more = seq_no < len(chunks) - 1
        answer = yield Call(CustomerInformationPage(request_id, generated_at, seq_no, chunk, more))
        if isinstance(answer, CallFailure):
            return


def cost_updated(ctx: FlowContext, request: CostUpdated) -> list[Effect]:
    """Kept on the transaction the CSMS names (the station's own view shows it); a cost for
    a transaction the station does not run changes nothing."""
    tx = ctx.station.find_transaction(request.transaction_id)
    if tx is None:
        return [Answer(CostUpdatedAnswer())]
    tx.total_cost = request.total_cost
    return [Persist(), Answer(CostUpdatedAnswer())]
