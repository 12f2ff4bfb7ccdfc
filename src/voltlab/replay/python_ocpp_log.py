"""The log of the Python `ocpp` library (The Mobility House, PyPI `ocpp`): its `ChargePoint`
class, used on both sides of the wire by CSMSs and charger simulators alike (Home Assistant's
OCPP integration among them), logs every frame on the `ocpp` logger at INFO:

    <identity>: send <frame>
    <identity>: receive message <frame>

after whatever prefix the logging configuration writes (`INFO:ocpp:` with
`logging.basicConfig`, `2024-06-13 15:06:51,116 INFO [ocpp] ` with a timestamp). The grammar
read here (docs/replay.md):

    line    = [time] [prefix] identity ": " verb " " frame
    verb    = "send" | "receive message"
    frame   = the JSON text of an OCPP-J array, possibly continued on the next lines
              (a peer's pretty-printed frame is logged as it came)
    time    = at the start of the line, optionally in "[": YYYY-MM-DD, "T" or " ",
              HH:MM:SS, optional "." or "," fraction, optional "Z" / ±HH:MM / ±HHMM
              (a time without a zone is read as UTC; only differences between lines count)

Other lines are ignored. Which side wrote the log is read from its CALLs: a CALL of an
action only a station sends (BootNotification, Heartbeat, StatusNotification, ...) that the
writer *sent* makes the writer the station; one it *received*, the CSMS. Sans-I/O."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from voltlab.ocpp.frames import CALL
from voltlab.replay.capture import (
    MAX_LINE_CHARS,
    Capture,
    CapturedFrame,
    CaptureInvalid,
    Direction,
    SkippedFrame,
    frame_problem,
)

FORMAT = "python-ocpp-log"
# Requests only a station sends, in 1.6 (with the security whitepaper), 2.0.1 or 2.1, as the
# built-in CSMS lists them (csms.ocpp16, csms.ocpp201; not imported: they bring the CSMS's
# asyncio and clock into these pure rules). DataTransfer goes both ways.
STATION_ACTIONS: frozenset[str] = frozenset(
    {
        # 1.6
        "Authorize",
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
        # 2.0.1
        "ClearedChargingLimit",
        "Get15118EVCertificate",
        "GetCertificateStatus",
        "NotifyChargingLimit",
        "NotifyCustomerInformation",
        "NotifyDisplayMessages",
        "NotifyEVChargingNeeds",
        "NotifyEVChargingSchedule",
        "NotifyEvent",
        "NotifyMonitoringReport",
        "NotifyReport",
        "PublishFirmwareStatusNotification",
        "ReportChargingProfiles",
        "ReservationStatusUpdate",
        "TransactionEvent",
        # 2.1
        "BatterySwap",
        "ClosePeriodicEventStream",
        "GetCertificateChainStatus",
        "NotifyDERAlarm",
        "NotifyDERStartStop",
        "NotifyPriorityCharging",
        "NotifySettlement",
        "OpenPeriodicEventStream",
        "PullDynamicScheduleUpdate",
        "ReportDERControl",
        "VatNumberValidation",
    }
)
# A frame pretty-printed over more lines than this is not one the library logged.
MAX_CONTINUATION_LINES = 500

ENTRY = re.compile(
    r"(?:^|(?<=[\s:\]]))(?P<identity>[^\s:\[\]]+): (?P<verb>send|receive message) (?P<rest>.*)$"
)
TIME = re.compile(
    r"^\[?(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:[.,](?P<fraction>\d{1,9}))?(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)
_decoder = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class LogEntry:
    line: int
    timestamp: float | None
    identity: str
    sent: bool  # the writer sent it ("send"), or received it ("receive message")
    message: Any


def looks_like_python_ocpp_log(text: str) -> bool:
    """Whether any of the first lines is an entry of this grammar."""
    return any(ENTRY.search(line) for line in text.splitlines()[:200])


def parse_python_ocpp_log(text: str, identity: str | None = None) -> Capture:
    """The session of `identity` (or of the log's only station) in the log's order."""
    entries = list(_entries(text.splitlines()))
    if not entries:
        raise CaptureInvalid(
            "no line of the form '<identity>: send <frame>' or '<identity>: receive message "
            "<frame>' (the Python ocpp library's log)"
        )
    stations = sorted({entry.identity for entry in entries})
    if identity is None:
        if len(stations) > 1:
            raise CaptureInvalid(
                f"the log holds {len(stations)} stations ({', '.join(stations[:10])}): "
                "give `identity` to choose one",
                field="identity",
            )
        identity = stations[0]
    elif identity not in stations:
        raise CaptureInvalid(
            f"the log has no frame of station {identity!r} (it has {', '.join(stations[:10])})",
            field="identity",
        )
    mine = [entry for entry in entries if entry.identity == identity]
    writer_is_station = _writer_is_station(mine)
    frames: list[CapturedFrame] = []
    skipped: list[SkippedFrame] = []
    for entry in mine:
        problem = frame_problem(entry.message)
        if problem is not None:
            skipped.append(SkippedFrame(entry.line, problem))
            continue
        direction: Direction = "out" if entry.sent == writer_is_station else "in"
        frames.append(CapturedFrame(entry.line, entry.timestamp, direction, entry.message))
    return Capture(FORMAT, tuple(frames), identity, None, tuple(skipped))


def _entries(lines: list[str]) -> Iterator[LogEntry]:
    index = 0
    while index < len(lines):
        line = lines[index]
        number = index + 1
        index += 1
        if len(line) > MAX_LINE_CHARS:
            raise CaptureInvalid(f"longer than {MAX_LINE_CHARS} characters", number)
        match = ENTRY.search(line)
        if match is None:
            continue
        text = match["rest"]
        message, error = _decode(text)
        taken = 0
        # A frame the peer pretty-printed goes on over the next lines, up to the next entry.
        while error is not None and taken < MAX_CONTINUATION_LINES and index + taken < len(lines):
            following = lines[index + taken]
            if ENTRY.search(following) or TIME.match(following):
                break
            taken += 1
            text += "\n" + following
            message, error = _decode(text)
        if error is not None:
            raise CaptureInvalid(f"the frame is not JSON: {error}", number)
        index += taken
        yield LogEntry(
            number, _line_time(line, number), match["identity"], match["verb"] == "send", message
        )


def _decode(text: str) -> tuple[Any, str | None]:
    try:
        message, _ = _decoder.raw_decode(text.strip())
    except ValueError as exc:
        return None, str(exc)
    return message, None


def _line_time(line: str, number: int) -> float | None:
    match = TIME.match(line)
    if match is None:
        return None
    fraction = (match["fraction"] or "")[:6]
    zone = match["zone"] or ""
    if zone == "Z":
        zone = "+00:00"
    elif zone and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    text = f"{match['date']}T{match['time']}" + (f".{fraction:0<6}" if fraction else "") + zone
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CaptureInvalid(f"{text!r} is not a valid time", number) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _writer_is_station(entries: list[LogEntry]) -> bool:
    """Votes of the CALLs whose action only a station sends; the majority decides."""
    station = csms = 0
    for entry in entries:
        message = entry.message
        if not (isinstance(message, list) and len(message) == 4 and message[0] == CALL):
            continue
        if message[2] in STATION_ACTIONS:
            station, csms = (station + 1, csms) if entry.sent else (station, csms + 1)
    if station == csms:
        raise CaptureInvalid(
            "cannot tell which side wrote the log: it has no CALL that only a station sends "
            "(BootNotification, Heartbeat, StatusNotification, ...)"
            if station == 0
            else f"cannot tell which side wrote the log: {station} station CALLs were sent "
            f"and {csms} received",
        )
    return station > csms
