"""The replay as a state machine: what the station sends next, what it answers the CSMS, and
every divergence from the capture (docs/replay.md, "Divergences"). It opens no socket and
reads no clock: the player hands it each event with the time it happened. Sans-I/O.

CSMS CALLs are matched to the capture's by action and order: a CALL of the CSMS takes the
first captured CALL of that action not yet taken (nor given up as missing); it is answered
with that CALL's captured answer, rewritten, or not at all when the capture has none."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from voltlab.ocpp.frames import CALLRESULT
from voltlab.ocpp.vocabulary.timestamps import format_timestamp
from voltlab.replay.capture import CapturedFrame, JsonObject
from voltlab.replay.compare import Difference, compare_payloads, same_error_code
from voltlab.replay.rewrite import IdBindings, first_date_time, id_fields, rewrite_station_payload
from voltlab.replay.script import Exchange, Script

# The divergence kinds, as docs/replay.md lists them.
KINDS = (
    "answer-differs",
    "callerror-instead-of-result",
    "result-instead-of-callerror",
    "callerror-code-differs",
    "no-answer",
    "answer-not-in-capture",
    "call-differs",
    "unexpected-call",
    "missing-call",
    "connection-closed",
    "rpc-violation",
)


@dataclass(frozen=True, slots=True)
class Result:
    """The CSMS answered a CALLRESULT."""

    payload: JsonObject
    text: str


@dataclass(frozen=True, slots=True)
class Error:
    """The CSMS answered a CALLERROR."""

    code: str
    description: str
    text: str


@dataclass(frozen=True, slots=True)
class NoAnswer:
    """Nothing came (a timeout, or the connection ended: `reason`); `text` is a malformed
    answer, if one came instead of a readable one."""

    reason: str
    text: str | None = None


Outcome = Result | Error | NoAnswer


@dataclass(frozen=True, slots=True)
class AnswerResult:
    payload: JsonObject


@dataclass(frozen=True, slots=True)
class AnswerError:
    code: str
    description: str
    details: JsonObject


@dataclass(frozen=True, slots=True)
class AnswerNothing:
    """The captured station never answered: neither does the replay."""


Answer = AnswerResult | AnswerError | AnswerNothing


@dataclass(slots=True)
class Divergence:
    """One way the CSMS did not do what the capture shows, with both frames: `expected` (the
    captured frame, as captured) and `actual` (the CSMS's frame, as it came; None when none
    came). `request`: the station's CALL as sent, for an answer's divergence."""

    kind: str
    exchange: int | None
    action: str
    detail: str
    at: float
    expected: JsonObject | None = None
    actual: JsonObject | None = None
    request: JsonObject | None = None
    differences: list[Difference] = field(default_factory=list)

    def as_json(self) -> JsonObject:
        return {
            "kind": self.kind,
            "exchange": self.exchange,
            "action": self.action,
            "detail": self.detail,
            "at": format_timestamp(self.at),
            "expected": self.expected,
            "actual": self.actual,
            "request": self.request,
            "differences": [difference.as_json() for difference in self.differences],
        }


def captured_view(frame: CapturedFrame) -> JsonObject:
    return {
        "direction": frame.direction,
        "frame": frame.message,
        "line": frame.line,
        "timestamp": None if frame.timestamp is None else format_timestamp(frame.timestamp),
    }


def live_view(direction: str, text: str, at: float) -> JsonObject:
    try:
        frame: Any = json.loads(text)
    except ValueError:
        frame = text  # not JSON: shown as it came
    return {"direction": direction, "frame": frame, "at": format_timestamp(at)}


class ReplayDialogue:
    def __init__(self, script: Script, started_at: float) -> None:
        self.script = script
        self.bindings = IdBindings(id_fields(script.ocpp_version))
        self.shift = _shift(script, started_at)
        self.divergences: list[Divergence] = []
        self._expected = [e for e in script.exchanges if not e.by_station]
        self._taken: set[int] = set()  # CSMS CALLs of the capture that came
        self._given_up: set[int] = set()  # ... reported missing
        self.played = 0
        self.answers_compared = 0
        self.csms_calls_received = 0

    # -- the station's CALLs ---------------------------------------------------------------

    def station_call(self, exchange: Exchange) -> tuple[str, JsonObject]:
        """The captured CALL as the station sends it now: bound ids live, times shifted."""
        self.played += 1
        payload = rewrite_station_payload(exchange.call.payload, self.bindings, self.shift)
        return exchange.call.action, payload

    def answered(
        self, exchange: Exchange, sent_text: str, outcome: Outcome, at: float
    ) -> list[Divergence]:
        """The CSMS's answer to a played CALL, compared with the captured one."""
        judged = self._judge_answer(exchange, outcome)
        if judged is None:
            return []
        kind, detail, differences = judged
        expected = exchange.answer
        text = outcome.text
        return self._record(
            Divergence(
                kind,
                exchange.index,
                exchange.call.action,
                detail,
                at,
                None if expected is None else captured_view(expected),
                None if text is None else live_view("in", text, at),
                live_view("out", sent_text, at),
                differences,
            )
        )

    def _judge_answer(
        self, exchange: Exchange, outcome: Outcome
    ) -> tuple[str, str, list[Difference]] | None:
        expected = exchange.answer
        action = exchange.call.action
        if expected is None:
            if isinstance(outcome, NoAnswer):
                return None
            return "answer-not-in-capture", f"the capture has no answer to this {action}", []
        if isinstance(outcome, NoAnswer):
            return "no-answer", f"{action}: no answer ({outcome.reason})", []
        self.answers_compared += 1
        if isinstance(outcome, Result):
            if expected.kind != CALLRESULT:
                detail = (
                    f"{action}: a CALLRESULT where the capture has CALLERROR {expected.error_code}"
                )
                return "result-instead-of-callerror", detail, []
            differences = compare_payloads(expected.payload, outcome.payload, self.bindings)
            if not differences:
                return None
            text = "; ".join(d.describe() for d in differences[:5])
            return "answer-differs", f"{action}: {text}", differences
        if expected.kind == CALLRESULT:
            detail = (
                f"{action}: CALLERROR {outcome.code} {outcome.description!r} where the capture "
                "has a CALLRESULT"
            )
            return "callerror-instead-of-result", detail, []
        if not same_error_code(expected.error_code, outcome.code):
            detail = f"{action}: CALLERROR {outcome.code}, the capture's {expected.error_code}"
            return "callerror-code-differs", detail, []
        return None

    # -- the CSMS's CALLs ------------------------------------------------------------------

    def csms_called(
        self, action: str, payload: JsonObject, text: str, at: float
    ) -> tuple[Answer, list[Divergence]]:
        """A CALL of the CSMS: matched to the capture's, compared, and what to answer."""
        self.csms_calls_received += 1
        exchange = next(
            (
                e
                for e in self._expected
                if e.call.action == action
                and e.index not in self._taken
                and e.index not in self._given_up
            ),
            None,
        )
        actual = live_view("in", text, at)
        if exchange is None:
            found = Divergence(
                "unexpected-call",
                None,
                action,
                f"the CSMS sent {action}, which the capture does not have (or not this often)",
                at,
                None,
                actual,
            )
            return self._fallback_answer(action), self._record(found)
        self._taken.add(exchange.index)
        differences = compare_payloads(exchange.call.payload, payload, self.bindings)
        divergence = None
        if differences:
            detail = "; ".join(d.describe() for d in differences[:5])
            divergence = Divergence(
                "call-differs",
                exchange.index,
                action,
                f"{action}: {detail}",
                at,
                captured_view(exchange.call),
                actual,
                None,
                differences,
            )
        return self._answer(exchange.answer), self._record(divergence)

    def arrived(self, exchange: Exchange) -> bool:
        return exchange.index in self._taken

    def missing(self, exchange: Exchange, waited: float, at: float) -> list[Divergence]:
        """The CSMS did not send a captured CALL within the wait: given up on."""
        self._given_up.add(exchange.index)
        action = exchange.call.action
        detail = f"the CSMS did not send {action} (waited {waited:.1f} s past its captured time)"
        found = Divergence(
            "missing-call", exchange.index, action, detail, at, captured_view(exchange.call)
        )
        return self._record(found)

    # -- the connection --------------------------------------------------------------------

    def connection_closed(
        self, exchange: Exchange | None, reason: str, at: float
    ) -> list[Divergence]:
        """The connection ended before `exchange` (None: at the end) could be played."""
        expected = None if exchange is None else captured_view(exchange.call)
        action = "" if exchange is None else exchange.call.action
        found = Divergence(
            "connection-closed",
            None if exchange is None else exchange.index,
            action,
            f"the connection ended: {reason}",
            at,
            expected,
        )
        return self._record(found)

    def violation(self, rule: str, detail: str, texts: list[str], at: float) -> list[Divergence]:
        """A rule of OCPP-J the CSMS broke (voltlab.ocpp.findings), seen by the connection."""
        actual = live_view("in", texts[-1], at) if texts else None
        found = Divergence("rpc-violation", None, "", f"{rule}: {detail}", at, None, actual)
        return self._record(found)

    # -- totals ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        script = self.script
        return {
            "exchanges": len(script.exchanges),
            "station_calls": script.station_calls,
            "csms_calls": script.csms_calls,
            "played": self.played,
            "answers_compared": self.answers_compared,
            "csms_calls_received": self.csms_calls_received,
            "unused_lines": len(script.unused),
            "divergences": len(self.divergences),
        }

    # -- plumbing --------------------------------------------------------------------------

    def _record(self, divergence: Divergence | None) -> list[Divergence]:
        if divergence is None:
            return []
        self.divergences.append(divergence)
        return [divergence]

    def _answer(self, captured: CapturedFrame | None) -> Answer:
        if captured is None:
            return AnswerNothing()
        if captured.kind == CALLRESULT:
            return AnswerResult(
                rewrite_station_payload(captured.payload, self.bindings, self.shift)
            )
        description = captured.message[3] if isinstance(captured.message[3], str) else ""
        details = captured.message[4] if isinstance(captured.message[4], dict) else {}
        return AnswerError(captured.error_code, description, details)

    def _fallback_answer(self, action: str) -> Answer:
        """A CALL the capture does not have (or not this often): the station's last captured
        answer to that action keeps the dialogue going; without one, NotSupported."""
        for exchange in reversed(self._expected):
            if exchange.call.action == action and exchange.answer is not None:
                return self._answer(exchange.answer)
        return AnswerError("NotSupported", f"the replayed capture has no answer to {action}", {})


def _shift(script: Script, started_at: float) -> float:
    """Seconds every date-time of the station moves by: the replay's start minus the capture's
    (its first frame's time, else the earliest date-time the station sent; 0 without either)."""
    if script.origin is not None:
        return started_at - script.origin
    earliest = None
    for exchange in script.exchanges:
        if exchange.by_station:
            moment = first_date_time(exchange.call.payload)
            if moment is not None and (earliest is None or moment < earliest):
                earliest = moment
    return 0.0 if earliest is None else started_at - earliest.timestamp()
