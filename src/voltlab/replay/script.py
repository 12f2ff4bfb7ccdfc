"""The replay's script: the capture's CALLs in order, each paired with its captured answer and
placed in time (seconds after the capture's first frame), and the OCPP version it speaks.
Sans-I/O."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.ocpp.errors import OcppError
from voltlab.ocpp.frames import CALL
from voltlab.ocpp.schemas import schema_set
from voltlab.ocpp.versions import SUPPORTED_VERSIONS
from voltlab.replay.capture import Capture, CapturedFrame, CaptureInvalid, SkippedFrame


@dataclass(frozen=True, slots=True)
class Exchange:
    """A captured CALL and its captured answer (None: it was never answered). The station's
    CALLs ("out") are played; the CSMS's ("in") are expected, and answered when they come."""

    index: int
    call: CapturedFrame
    answer: CapturedFrame | None
    offset: float  # seconds after the capture's first frame

    @property
    def by_station(self) -> bool:
        return self.call.direction == "out"


@dataclass(frozen=True, slots=True)
class Script:
    exchanges: tuple[Exchange, ...]
    ocpp_version: str
    origin: float | None  # the capture's first time (POSIX seconds); None without times
    # Lines the replay does not use: the capture's skipped frames, and answers to no CALL.
    unused: tuple[SkippedFrame, ...]

    @property
    def station_calls(self) -> int:
        return sum(1 for exchange in self.exchanges if exchange.by_station)

    @property
    def csms_calls(self) -> int:
        return len(self.exchanges) - self.station_calls

    @property
    def span(self) -> float:
        """Seconds from the capture's first frame to its last CALL."""
        return self.exchanges[-1].offset if self.exchanges else 0.0


def detect_version(capture: Capture) -> str | None:
    """The version whose OCA schemas accept the most of the station's CALLs (the oldest on a
    tie: a 2.0.1 capture is mostly valid 2.1); None when no version accepts any."""
    calls = [f for f in capture.frames if f.kind == CALL and f.direction == "out"]
    best, best_score = None, 0
    for version in SUPPORTED_VERSIONS:
        schemas = schema_set(version)
        score = 0
        for frame in calls:
            if frame.action not in schemas.actions:
                continue
            try:
                schemas.validate_request(frame.action, frame.payload)
            except OcppError:
                continue
            score += 1
        if score > best_score:
            best, best_score = version, score
    return best


def build_script(capture: Capture, ocpp_version: str) -> Script:
    """Pair every CALL with the first later answer of the other side with its message id;
    raise CaptureInvalid when there is no CALL to play."""
    exchanges: list[Exchange] = []
    answers: dict[int, CapturedFrame] = {}
    waiting: dict[tuple[str, str], int] = {}  # (direction of the CALL, message id) -> index
    unused = list(capture.skipped)
    origin = next((f.timestamp for f in capture.frames if f.timestamp is not None), None)
    offset = 0.0
    for frame in capture.frames:
        if frame.timestamp is not None and origin is not None:
            # Never backwards: a capture's order is its dialogue's, a clock step is not.
            offset = max(offset, frame.timestamp - origin)
        if frame.kind == CALL:
            index = len(exchanges)
            exchanges.append(Exchange(index, frame, None, offset))
            waiting[(frame.direction, frame.message_id)] = index
            continue
        caller = "in" if frame.direction == "out" else "out"
        index_or_none = waiting.pop((caller, frame.message_id), None)
        if index_or_none is None:
            unused.append(SkippedFrame(frame.line, "an answer to no CALL of the capture"))
            continue
        answers[index_or_none] = frame
    if not exchanges:
        raise CaptureInvalid("the capture has no CALL to replay")
    paired = tuple(Exchange(e.index, e.call, answers.get(e.index), e.offset) for e in exchanges)
    unused.sort(key=lambda skipped: skipped.line)
    return Script(paired, ocpp_version, origin, tuple(unused))
