"""How `voltlab serve` writes its log: text or JSON lines, one handler on the root logger that
voltlab's loggers, uvicorn's (given no configuration of its own) and DBOS's all write through.

The standard library's logging with a JSON formatter, not structlog: every module logs through
`logging.getLogger(__name__)`, and so do uvicorn, SQLAlchemy and DBOS; one formatter on the
root logger covers them all without a second logging API or a dependency. What a line is about
(charger id, identity, command id, CPO id) comes from `voltlab.log_context`, read when the line
is formatted, in the code that logged it.

A JSON line: `ts` (UTC, ISO 8601, milliseconds), `level`, `logger`, `message`, the bound
fields that are set, `exc_info` (the traceback) when there is one, and for uvicorn's access
lines `client`, `method`, `path`, `http_version`, `status`."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from voltlab import log_context

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error", "critical")
# Libraries that say too much below WARNING (SQLAlchemy logs every statement at INFO once its
# logger allows it, httpx every request): they keep WARNING whatever --log-level says.
QUIET_LIBRARIES = (
    "sqlalchemy",
    "alembic",
    "httpx",
    "httpcore",
    "websockets",
    "asyncio",
    "aiosqlite",
    "dbos",
    "multipart",
    "picows",  # a line per WebSocket connection at INFO: ten thousand at a fleet's boot
)
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(log_context.current())
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            # uvicorn: '%s - "%s %s HTTP/%s" %d' % (client, method, path, version, status)
            line.update(zip(ACCESS_FIELDS, args, strict=True))
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`2026-01-02 03:04:05,678 INFO voltlab.x: message [charger_id=... identity=...]`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = log_context.current()
        if not fields:
            return text
        bound = " ".join(f"{name}={value}" for name, value in fields.items())
        head, newline, rest = text.partition("\n")  # after the message, before a traceback
        return f"{head} [{bound}]{newline}{rest}"


class LogLines(io.StringIO):
    """A text stream whose lines become log records (WARNING, of `logger`): what the CLI
    prints through rich under `serve --log-format json`."""

    def __init__(self, logger: str) -> None:
        super().__init__()
        self._log = logging.getLogger(logger)
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            if line.strip():
                self._log.warning("%s", line.rstrip())
        return len(text)


def configure_logging(log_format: str = "text", level: str = "info") -> None:
    """Send every log record to stderr in `log_format` (text, json) from `level` on.
    Uncaught exceptions (main thread and others) and warnings are logged too, so in JSON every
    line the process writes is a JSON object."""
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}")
    if level.lower() not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    numeric = logging.getLevelName(level.upper())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    # DBOS adds a console handler of its own unless its logger has one: give it ours.
    dbos = logging.getLogger("dbos")
    for old in list(dbos.handlers):
        dbos.removeHandler(old)
    dbos.addHandler(handler)
    dbos.propagate = False
    # uvicorn's loggers have no handlers when it is given no logging configuration: they
    # reach the root's. Its access lines follow --log-level like the rest.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(numeric)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_exception


def _log_uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    logging.getLogger("voltlab").critical("uncaught exception", exc_info=(kind, error, traceback))


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    error = args.exc_value if args.exc_value is not None else args.exc_type()
    logging.getLogger("voltlab").error(
        "uncaught exception in thread %s",
        name,
        exc_info=(args.exc_type, error, args.exc_traceback),
    )
