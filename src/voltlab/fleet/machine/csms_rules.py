"""Rules the station machine applies to its CSMS's behaviour (`voltlab.ocpp.findings`): each
check is O(1), runs where the behaviour happens (a request, an answer) and returns an
`Observe` effect for the driver to record, or None. Nothing is refused here: the station
answers as it always did; the rules only judge."""

from __future__ import annotations

from dataclasses import dataclass, field

from voltlab.fleet.machine.control_messages import RemoteStartRequest, RemoteStopRequest
from voltlab.fleet.machine.effects import Observe
from voltlab.fleet.machine.messages import BootAnswer, CsmsRequestMessage
from voltlab.fleet.model.auth import IdTagInfo

# An interval (seconds) longer than a day is no heartbeat and no retry: a station would
# look dead to the CSMS, or stay unregistered for a day.
MAX_INTERVAL = 86_400
# An Authorize answer counts as the same session's for a transaction starting this soon after.
SESSION_WINDOW = 300.0
# How many of the CSMS's transaction ids a station remembers per connection.
REMEMBERED_IDS = 64
# A status in StartTransaction.conf may say what Authorize could not know yet.
_LATER_STATUSES = frozenset({"ConcurrentTx"})


@dataclass
class CsmsMemory:
    """What the station remembers of its CSMS's answers on this connection."""

    # transactionId (1.6, given by the CSMS) -> the station's local id of that transaction.
    transaction_ids: dict[int | str, int] = field(default_factory=dict)
    # id tag -> (status, parent id tag, when) of the last Authorize answer.
    authorized: dict[str, tuple[str, str | None, float]] = field(default_factory=dict)

    def clear(self) -> None:
        self.transaction_ids.clear()
        self.authorized.clear()


def request_allowed(registration: str | None, message: CsmsRequestMessage) -> Observe | None:
    """OCPP 1.6 §4.2 / 2.0.1 B02, B03: nothing while Rejected; no remote start or stop
    before the station is accepted."""
    if registration == "Accepted":
        return None
    if registration == "Rejected":
        return Observe(
            "csms-call-before-accepted",
            f"the CSMS sent {type(message).__name__} while the station's registration was "
            "Rejected; a CSMS should not initiate any message then",
            "request",
        )
    if isinstance(message, RemoteStartRequest | RemoteStopRequest):
        state = registration or "not answered yet"
        what = "start" if isinstance(message, RemoteStartRequest) else "stop"
        return Observe(
            "csms-call-before-accepted",
            f"the CSMS sent a remote {what} while the BootNotification was {state}; "
            "only an Accepted station takes one",
            "request",
        )
    return None


def boot_interval(answer: BootAnswer) -> Observe | None:
    """The heartbeat interval of an Accepted boot must be positive; any interval beyond a
    day is absurd. (Zero for Pending/Rejected is allowed: the station picks its own.)"""
    interval = answer.interval
    if answer.status == "Accepted" and interval <= 0:
        detail = f"expected a heartbeat interval > 0 with Accepted; came {interval}"
    elif interval < 0 or interval > MAX_INTERVAL:
        what = "heartbeat interval" if answer.status == "Accepted" else "retry interval"
        detail = f"expected a {what} of 0..{MAX_INTERVAL} s; came {interval}"
    else:
        return None
    return Observe("csms-boot-interval", detail, "answer")


def transaction_id_given(
    memory: CsmsMemory, transaction_id: int | str, local_id: int
) -> Observe | None:
    """1.6: the CSMS names transactions, one id per transaction."""
    known = memory.transaction_ids.get(transaction_id)
    if known is not None and known != local_id:
        return Observe(
            "csms-transaction-id-reused",
            f"transactionId {transaction_id} was given to an earlier transaction on this "
            "connection; expected a new id",
            "answer",
        )
    ids = memory.transaction_ids
    ids[transaction_id] = local_id
    if len(ids) > REMEMBERED_IDS:
        del ids[next(iter(ids))]
    return None


def authorize_answered(memory: CsmsMemory, id_tag: str, info: IdTagInfo, now: float) -> None:
    memory.authorized[id_tag] = (info.status, info.parent_id_tag, now)


def start_answered(
    memory: CsmsMemory, id_tag: str | None, info: IdTagInfo | None, now: float
) -> Observe | None:
    """The idTagInfo of a transaction's start against the Authorize answer that let it
    start: a different status (other than ConcurrentTx) or parent is a contradiction."""
    if id_tag is None or info is None:
        return None
    earlier = memory.authorized.pop(id_tag, None)
    if earlier is None or now - earlier[2] > SESSION_WINDOW:
        return None
    status, parent, _ = earlier
    if info.status != status and info.status not in _LATER_STATUSES:
        what = f"status {status}, then {info.status}"
    elif parent and info.parent_id_tag and parent != info.parent_id_tag:
        what = f"parent id tag {parent!r}, then {info.parent_id_tag!r}"
    else:
        return None
    return Observe(
        "csms-id-token-contradiction",
        f"id tag {id_tag!r}: the CSMS's Authorize answer and the transaction's start answer "
        f"disagree ({what})",
        "answer",
    )
