"""The station's findings about its CSMS (`voltlab.ocpp.findings`): the RPC connection's
observer, the recorder of the machine's `Observe` effects, and the CSMS's answer times.

Every rule hands an `Observation` to `record`, which the fleet's runtime binds to its
write-behind writer (`FleetWriter.finding`): recording costs an append, never a write on the
station's path. Evidence for the machine's observations is the frame the station holds at
that moment: the CSMS request being handled (`CURRENT_CALL`, set by the RPC connection for
the task answering it) or the last CALL and its answer (`RpcConnection.last_exchange`)."""

from __future__ import annotations

from collections.abc import Callable

from voltlab.fleet.machine.effects import Observe
from voltlab.ocpp.connection import CURRENT_CALL
from voltlab.ocpp.findings import FrameEvidence, Observation
from voltlab.ocpp.response_times import ActionTimes, ResponseTimes

Record = Callable[[Observation], None]
Exchange = Callable[[], tuple[str, str, str, str] | None]
Timed = Callable[[str, float], None]  # every answer time, by action (the fleet's metrics)


class StationFindings:
    """One station's rules about its CSMS outside the machine (an `RpcObserver`)."""

    __slots__ = ("_record", "_exchange", "_timed", "times", "_times_shown")

    def __init__(
        self, record: Record, exchange: Exchange, slow_answer_s: float, timed: Timed | None = None
    ) -> None:
        self._record = record
        self._exchange = exchange  # the last CALL and its answer on the open connection
        self._timed = timed
        self.times = ResponseTimes(slow_answer_s)
        # The last `response_times` and the answers it covered: a page of chargers shows
        # every station's, mostly between two of its answers (no sorting then).
        self._times_shown: tuple[int, dict[str, dict[str, float | int]]] | None = None

    # -- RpcObserver --------------------------------------------------------------------------

    def violation(self, observation: Observation) -> None:
        self._record(observation)

    def answered(self, action: str, seconds: float) -> None:
        if self._timed is not None:
            self._timed(action, seconds)
        if self.times.add(action, seconds):
            p95 = self.times.p95(action)
            threshold = self.times.threshold
            self._record(
                Observation(
                    "csms-slow-responses",
                    f"{action}: expected p95 of the answer times <= {threshold * 1000:g} ms; "
                    f"came {p95 * 1000:.0f} ms",
                )
            )

    # -- the machine's observations -----------------------------------------------------------

    def observe(self, effect: Observe) -> None:
        evidence: tuple[FrameEvidence, ...] = ()
        if effect.subject == "request":
            current = CURRENT_CALL.get()
            if current is not None:
                message_id, action, text = current
                evidence = (FrameEvidence("in", action, message_id, text),)
        else:
            exchange = self._exchange()
            if exchange is not None:
                message_id, action, call, answer = exchange
                evidence = (
                    FrameEvidence("out", action, message_id, call),
                    FrameEvidence("in", action, message_id, answer),
                )
        self._record(Observation(effect.rule, effect.detail, evidence))

    def response_times(self) -> dict[str, dict[str, float | int]]:
        """Per action: answers counted, p50, p95 and max in milliseconds (the inner mappings
        are shared with the next caller until an answer comes: read them, do not change
        them)."""
        answers = self.times.answers()
        shown = self._times_shown
        if shown is None or shown[0] != answers:
            summary = {action: _ms(times) for action, times in self.times.summary().items()}
            shown = self._times_shown = (answers, summary)
        return dict(shown[1])


def _ms(times: ActionTimes) -> dict[str, float | int]:
    return {
        "count": times.count,
        "p50_ms": round(times.p50 * 1000, 1),
        "p95_ms": round(times.p95 * 1000, 1),
        "max_ms": round(times.max * 1000, 1),
    }
