"""What a log line is about: the charger, its identity, the command and the CPO, bound in
context variables by the code paths that act for them, and read by the log formatter
(`voltlab.api.log_output`) for every line written while they are bound.

Bound where the work starts, and inherited from there by what it starts (asyncio copies the
context into each task, timer and protocol callback):
- a hosted station's own tasks start in `station_context` (fleet/driver/station_tasks.py):
  its connection, its CSMS's requests, its timers;
- a gateway command's task binds its command and charger (fleet/hosting/dispatcher.py);
- the built-in CSMS binds the CPO and the identity for each station connection
  (csms/server.py), a CPO's provisioning steps their CPO (cpo/workflows.py), an OCPI request
  its caller's CPO (ocpi/web.py) and a push its CPO (ocpi/push.py).

Imports nothing of voltlab: every layer may bind."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

charger_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "voltlab_charger_id", default=None
)
identity: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "voltlab_identity", default=None
)
command_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "voltlab_command_id", default=None
)
cpo_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("voltlab_cpo_id", default=None)

# In the order a log line shows them.
FIELDS: tuple[tuple[str, contextvars.ContextVar[str | None]], ...] = (
    ("charger_id", charger_id),
    ("identity", identity),
    ("command_id", command_id),
    ("cpo_id", cpo_id),
)
_BY_NAME = dict(FIELDS)


def bind(**fields: str | None) -> None:
    """Bind `fields` (names of `FIELDS`) in the current context: for the rest of the current
    task, and in what it starts from now on. A task's own context ends with it; code that is
    not a task of its own uses `bound`."""
    for name, value in fields.items():
        _BY_NAME[name].set(value)


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """Bind `fields` for the `with` block only (a worker thread or a shared task)."""
    tokens = [(_BY_NAME[name], _BY_NAME[name].set(value)) for name, value in fields.items()]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


def station_context(charger: str, station_identity: str) -> contextvars.Context:
    """The context a hosted station's task starts in: the current one (as asyncio would copy
    it) naming the station, and no command: a task a command starts (a session's metering)
    outlives the command."""
    context = contextvars.copy_context()
    context.run(_name_station, charger, station_identity)
    return context


def _name_station(charger: str, station_identity: str) -> None:
    charger_id.set(charger)
    identity.set(station_identity)
    command_id.set(None)


def current() -> dict[str, str]:
    """The fields bound here, by name (only those that are)."""
    return {name: value for name, variable in FIELDS if (value := variable.get()) is not None}
