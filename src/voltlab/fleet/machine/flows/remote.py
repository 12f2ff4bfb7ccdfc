"""The CSMS starts and stops charging: answered at once, the start (authorize, then start or
wait for a cable) or the stop follows the answer on the wire."""

from __future__ import annotations

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.control_messages import (
    RemoteStartAnswer,
    RemoteStartRequest,
    RemoteStopAnswer,
    RemoteStopRequest,
)
from voltlab.fleet.machine.effects import Answer, Effect, Observe
from voltlab.fleet.machine.flow import FlowStepper, no_result
from voltlab.fleet.machine.flows.cable import choose_remote_connector, remote_start
from voltlab.fleet.machine.flows.sessions import stop_transaction
from voltlab.fleet.machine.session_messages import RemoteStart


def remote_start_request(
    ctx: FlowContext, flows: FlowStepper, request: RemoteStartRequest
) -> list[Effect]:
    named = request.connector_id
    unknown = named is not None and named not in ctx.station.connectors
    connector_id = choose_remote_connector(ctx, request.connector_id, request.id_tag)
    # A profile that comes with a remote start is for its transaction: a TxProfile.
    profile = request.profile
    refused = request.profile_unreadable or (profile is not None and profile.purpose != "TxProfile")
    if connector_id is None or refused:
        if unknown:
            detail = (
                f"a remote start on connector/EVSE {request.connector_id}; the station has "
                f"{', '.join(str(c) for c in ctx.station.connectors if c) or 'none'}"
            )
            return [
                Observe("csms-unknown-connector", detail, "request"),
                Answer(RemoteStartAnswer("Rejected")),
            ]
        return [Answer(RemoteStartAnswer("Rejected"))]
    open_tx = ctx.station.connectors[connector_id].transaction
    opened = None
    if open_tx is not None and open_tx.transaction_id is not None:
        opened = str(open_tx.transaction_id)
    command = RemoteStart(connector_id, request.id_tag, request.remote_start_id, request.profile)
    return [
        Answer(RemoteStartAnswer("Accepted", opened)),
        *flows.start(remote_start(ctx, command), no_result),
    ]


def remote_stop_request(
    ctx: FlowContext, flows: FlowStepper, request: RemoteStopRequest
) -> list[Effect]:
    tx = ctx.station.find_transaction(request.transaction_id)
    if tx is None:
        return [Answer(RemoteStopAnswer("Rejected"))]
    flow = stop_transaction(ctx, tx.connector_id, "Remote")
    return [Answer(RemoteStopAnswer("Accepted")), *flows.start(flow, no_result)]
