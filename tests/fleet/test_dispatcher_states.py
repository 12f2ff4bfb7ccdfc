"""CommandDispatcher against a real store: a command waiting behind another on its charger is
still `queued`, it is `running` (stored) before it acts, an outcome is stored at the timeout
even when the command does not let go, and a restart ends `running` leftovers as
`interrupted` and runs the `queued` ones once their charger is ready."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from voltlab.fleet.hosting import dispatcher as dispatcher_module
from voltlab.fleet.hosting.dispatcher import CommandDispatcher
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.models import Command


class FakeRunner:
    """Stands in for a StationRunner: the test's commands only look at `calls`."""

    def __init__(self) -> None:
        self.calls: list[str] = []


def _commands(database: Database, rows: list[tuple[str, str, str]]) -> None:
    """(command id, charger id, status) rows, event type `probe`, in creation order."""
    with database.session() as session:
        org = repo.get_or_create_org(session, "dispatch")
        for command_id, charger_id, status in rows:
            session.add(
                Command(
                    id=command_id,
                    org_id=org.id,
                    charger_id=charger_id,
                    identity=f"CP-{charger_id}",
                    event_type="probe",
                    ocpp_version="ocpp1.6",
                    payload={"name": command_id},
                    status=status,
                )
            )
            session.flush()


def _status(database: Database) -> dict[str, tuple[str, Any]]:
    with database.session() as session:
        rows = session.execute(select(Command.id, Command.status, Command.error)).all()
    return {command_id: (status, error) for command_id, status, error in rows}


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> dict[str, asyncio.Event]:
    """A `probe` command that blocks until its gate opens (the gate named like the command)."""
    gates: dict[str, asyncio.Event] = {}

    async def run(runner: FakeRunner, payload: dict[str, Any]) -> dict[str, Any]:
        name = payload["name"]
        runner.calls.append(name)
        gate = gates.setdefault(name, asyncio.Event())
        await gate.wait()
        return {"done": name}

    monkeypatch.setitem(dispatcher_module.COMMANDS, "probe", run)
    return gates


async def _until(predicate, timeout: float = 5.0) -> None:  # noqa: ANN001
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_waiting_command_is_queued_until_its_turn(
    database: Database, probe: dict[str, asyncio.Event]
) -> None:
    runner = FakeRunner()
    _commands(database, [("c1", "dep-1", "queued"), ("c2", "dep-1", "queued")])
    dispatcher = CommandDispatcher(database, lambda _: runner)  # type: ignore[arg-type,return-value]
    dispatcher.submit("c1")
    dispatcher.submit("c2")
    await _until(lambda: runner.calls == ["c1"])
    # c1 acts only once `running` is stored; c2 waits behind it and says so
    assert _status(database)["c1"][0] == "running"
    assert _status(database)["c2"][0] == "queued"
    probe.setdefault("c1", asyncio.Event()).set()
    await _until(lambda: runner.calls == ["c1", "c2"])
    assert _status(database)["c2"][0] == "running"
    probe.setdefault("c2", asyncio.Event()).set()
    await dispatcher.drain()
    assert {k: v[0] for k, v in _status(database).items()} == {"c1": "succeeded", "c2": "succeeded"}


async def test_a_command_that_ignores_cancellation_is_recorded_at_its_timeout(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()

    async def stubborn(runner: FakeRunner, payload: dict[str, Any]) -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # refuses to stop

    monkeypatch.setitem(dispatcher_module.COMMANDS, "probe", stubborn)
    _commands(database, [("c1", "dep-1", "queued")])
    dispatcher = CommandDispatcher(database, lambda _: FakeRunner())  # type: ignore[arg-type,return-value]
    dispatcher.timeout = 0.2
    dispatcher.submit("c1")
    await _until(lambda: _status(database)["c1"][0] == "timed_out", timeout=3.0)
    assert _status(database)["c1"][1]["code"] == "timed_out"
    release.set()
    await dispatcher.drain()


async def test_recover_ends_running_as_interrupted_and_runs_queued_when_ready(
    database: Database, probe: dict[str, asyncio.Event]
) -> None:
    runner = FakeRunner()
    _commands(
        database,
        [("r1", "dep-1", "running"), ("q1", "dep-1", "queued"), ("q2", "dep-2", "queued")],
    )
    ready = asyncio.Event()
    waited: list[str] = []

    async def gate(charger_id: str) -> None:
        waited.append(charger_id)
        await ready.wait()

    dispatcher = CommandDispatcher(database, lambda _: runner)  # type: ignore[arg-type,return-value]
    assert await dispatcher.recover(gate) == (1, 2)
    status = _status(database)
    assert status["r1"] == ("failed", status["r1"][1])
    assert status["r1"][1]["code"] == "interrupted"
    await _until(lambda: sorted(waited) == ["dep-1", "dep-2"])
    assert runner.calls == [] and status["q1"][0] == "queued"  # nothing before the charger is back
    # submitted twice (a restart racing an API submit) still runs once
    dispatcher.submit("q1")
    ready.set()
    for name in ("q1", "q2"):
        probe.setdefault(name, asyncio.Event()).set()
    await dispatcher.drain()
    assert sorted(runner.calls) == ["q1", "q2"]
    assert {k: v[0] for k, v in _status(database).items()} == {
        "r1": "failed",
        "q1": "succeeded",
        "q2": "succeeded",
    }
