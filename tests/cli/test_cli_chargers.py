"""`voltlab locations|chargers|cmd|logs` against a live server whose chargers talk to the strict
ocpp-rpc CSMS: each command's output and exit status, and what the server and the CSMS saw."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO

import pytest

from e2e.serve_support import free_port
from web.browser_support import ThreadedCsms

from .conftest import SRC, LiveServer

pytestmark = pytest.mark.xdist_group("cli")

PREFIX = "CLI-T-"


@pytest.fixture(scope="module")
def location(server: LiveServer, csms: ThreadedCsms) -> Iterator[dict]:
    """Two 1.6 chargers at the peer, created through the CLI (the first test's subject)."""
    from typer.testing import CliRunner

    from voltlab.cli import app

    result = CliRunner().invoke(
        app,
        [
            "locations",
            "create",
            "--name",
            "cli depot",
            "--csms-url",
            csms.url,
            "--chargers",
            "2",
            "--identity-prefix",
            PREFIX,
            "--wait",
            "--timeout",
            "30",
            "--json",
        ],
        env=server.env(),
    )
    assert result.exit_code == 0, result.output
    yield json.loads(result.stdout)


def test_locations_create_ls_show(voltlab, server: LiveServer, csms, location) -> None:
    # --wait returned once both chargers were connected and Accepted, as the server says.
    assert [c["identity"] for c in location["chargers"]] == [f"{PREFIX}001", f"{PREFIX}002"]
    for charger in location["chargers"]:
        state = server.get(f"/ocpp/chargers/{charger['charger_id']}").json()
        assert (state["connection"], state["registration"]) == ("connected", "Accepted")
        assert csms.peer.calls(charger["identity"], "BootNotification")
    stored = server.get(f"/ocpp/locations/{location['location_id']}").json()
    assert (stored["name"], stored["charger_count"]) == ("cli depot", 2)

    listed = voltlab("locations", "ls")
    assert listed.exit_code == 0 and location["location_id"] in listed.stdout
    shown = voltlab("locations", "show", location["location_id"])
    assert shown.exit_code == 0
    assert f"{PREFIX}001" in shown.stdout and f"{PREFIX}002" in shown.stdout
    chargers = voltlab("chargers", "ls", "--location", location["location_id"], "--json")
    assert [c["identity"] for c in json.loads(chargers.stdout)["items"]] == [
        f"{PREFIX}001",
        f"{PREFIX}002",
    ]


def test_chargers_stop_and_start(voltlab, server: LiveServer, csms, location) -> None:
    charger_id = location["chargers"][1]["charger_id"]
    identity = f"{PREFIX}002"
    boots = len(csms.peer.calls(identity, "BootNotification"))
    stopped = voltlab("chargers", "stop", identity)  # by identity
    assert stopped.exit_code == 0, stopped.output
    state = server.get(f"/ocpp/chargers/{charger_id}").json()
    assert (state["connection"], state["desired_running"]) == ("stopped", False)

    started = voltlab("chargers", "start", charger_id, "--wait", "--timeout", "30")
    assert started.exit_code == 0, started.output
    assert re.search(rf"{identity}.*connected.*Accepted", started.stdout)
    state = server.get(f"/ocpp/chargers/{charger_id}").json()
    assert (state["connection"], state["registration"]) == ("connected", "Accepted")
    assert len(csms.peer.calls(identity, "BootNotification")) == boots + 1

    shown = voltlab("chargers", "show", charger_id)
    assert shown.exit_code == 0 and "Accepted" in shown.stdout and "IEC62196Type2" in shown.stdout


def test_cmd_start_session_waits_for_success(voltlab, server: LiveServer, csms, location) -> None:
    identity = f"{PREFIX}001"
    event = {"id_tag": "CLI-TAG-1", "connector_id": 1, "duration_seconds": 600}
    sent = voltlab(
        "cmd",
        "start-session",
        "--charger",
        identity,
        "--event",
        json.dumps(event),
        "--wait",
        "--json",
    )
    assert sent.exit_code == 0, sent.output
    body = json.loads(sent.stdout)
    (record,) = body["commands"]
    assert record["status"] == "succeeded" and record["result"]["status"] == "Charging"
    stored = server.get(f"/ocpp/commands/{record['id']}").json()
    assert stored["status"] == "succeeded"
    (start,) = csms.peer.calls(identity, "StartTransaction")
    assert start["idTag"] == "CLI-TAG-1"
    frames = server.get(f"/ocpp/chargers/{record['charger_id']}/messages", limit=200).json()
    assert any(
        item["frame"][0] == 2 and item["frame"][2] == "StartTransaction" for item in frames["items"]
    )

    # The frames, filtered by action; answers are named after the CALL they answer.
    shown = voltlab("logs", identity, "--action", "StartTransaction", "--limit", "200")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.strip().splitlines()
    assert len(lines) == 2, shown.stdout
    assert "CP → CSMS  CALL   StartTransaction" in lines[0] and "CLI-TAG-1" in lines[0]
    assert "CP ← CSMS  RESULT StartTransaction" in lines[1] and '"transactionId"' in lines[1]
    as_json = voltlab("logs", identity, "--json", "--limit", "5")
    items = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert len(items) == 5 and {item["direction"] for item in items} <= {"in", "out"}
    assert [item["id"] for item in items] == sorted(item["id"] for item in items)

    # Coloured by direction when colour is on: CP → CSMS cyan, CP ← CSMS magenta.
    coloured = voltlab(
        "logs",
        identity,
        "--action",
        "StartTransaction",
        "--limit",
        "200",
        env={"FORCE_COLOR": "1"},
    )
    first, second = coloured.stdout.strip().splitlines()
    assert "\x1b[1;36mCP → CSMS" in first and "\x1b[1;35mCP ← CSMS" in second

    stopped = voltlab(
        "cmd", "stop-session", "--charger", identity, "--event", '{"connector_id": 1}', "--wait"
    )
    assert stopped.exit_code == 0, stopped.output
    assert "succeeded" in stopped.stdout
    assert csms.peer.calls(identity, "StopTransaction")


def test_cmd_that_fails_exits_1(voltlab, server: LiveServer, location) -> None:
    # No cable plugged in connector 2: the station refuses, the record ends failed.
    sent = voltlab(
        "cmd",
        "start-transaction",
        "--location",
        location["location_id"],
        "--charger-ids",
        location["chargers"][0]["charger_id"],
        "--event",
        '{"connector_id": 2, "id_tag": "CLI-TAG-2"}',
        "--wait",
    )
    assert sent.exit_code == 1, sent.output
    assert "failed" in sent.stdout and "not_plugged" in sent.stdout
    newest = server.get("/ocpp/commands", location_id=location["location_id"], limit=1).json()
    assert newest["items"][0]["status"] == "failed"


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _until(lines: queue.Queue[str], seen: list[str], pattern: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not any(re.search(pattern, line) for line in seen):
        left = deadline - time.monotonic()
        assert left > 0, f"no line matching {pattern!r} within {timeout} s:\n{''.join(seen)}"
        with contextlib.suppress(queue.Empty):
            seen.append(lines.get(timeout=left))


def test_logs_follow_shows_a_session_live_and_stops_on_ctrl_c(
    server: LiveServer, csms, location
) -> None:
    identity = f"{PREFIX}002"
    env = dict(os.environ) | server.env() | {"PYTHONPATH": str(SRC)}
    follower = subprocess.Popen(
        [sys.executable, "-m", "voltlab", "logs", identity, "--follow", "--limit", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A shell's job: Ctrl-C (SIGINT) reaches it even when this test runs in a background job.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    out: queue.Queue[str] = queue.Queue()
    err: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(follower.stdout, out), daemon=True).start()
    threading.Thread(target=_lines, args=(follower.stderr, err), daemon=True).start()
    printed: list[str] = []
    notes: list[str] = []
    try:
        _until(err, notes, r"^following charger:dep-", 20)
        assert not any("StartTransaction" in line for line in printed)
        with server.http() as http:
            answer = http.post(
                "/ocpp/commands/start-session",
                json={
                    "target": {"charger_id": location["chargers"][1]["charger_id"]},
                    "event": {"id_tag": "CLI-LIVE", "connector_id": 2, "duration_seconds": 600},
                },
            )
        assert answer.status_code == 202, answer.text
        _until(out, printed, r"CP → CSMS  CALL   StartTransaction .*CLI-LIVE", 15)
        _until(out, printed, r"CP ← CSMS  RESULT StartTransaction .*transactionId", 15)
        _until(out, printed, r"CP → CSMS  CALL   StatusNotification .*Charging", 15)
        follower.send_signal(signal.SIGINT)
        code = follower.wait(timeout=10)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait(timeout=5)
    time.sleep(0.1)  # the reader threads hand over the last lines
    while not err.empty():
        notes.append(err.get())
    assert code == 0, "".join(notes)
    assert "stopped following" in "".join(notes)
    assert "Traceback" not in "".join(notes + printed)
    # One line per frame: the overlap of the stored log and the live channel printed once.
    starts = [line for line in printed if "CALL   StartTransaction" in line]
    assert len(starts) == 1, printed


def test_location_wide_command_then_rm(voltlab, server: LiveServer, csms) -> None:
    created = voltlab(
        "locations", "create", "--name", "short-lived", "--csms-url", csms.url,
        "--chargers", "6", "--identity-prefix", "CLI-RM-", "--wait", "--timeout", "30", "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    body = json.loads(created.stdout)
    location_id = body["location_id"]
    ids = [c["charger_id"] for c in body["chargers"]]

    # A whole location (its records followed through the location's command list) ...
    everyone = voltlab("cmd", "cache/reset", "--location", location_id, "--wait", "--json")
    assert everyone.exit_code == 0, everyone.output
    records = json.loads(everyone.stdout)["commands"]
    assert sorted(r["charger_id"] for r in records) == sorted(ids)
    for record in records:
        stored = server.get(f"/ocpp/commands/{record['id']}").json()
        assert (stored["status"], stored["event_type"]) == ("succeeded", "cache_reset")
    # ... and a part of it, --charger-ids as a comma list.
    some = voltlab(
        "cmd", "cache/reset", "--location", location_id, "--charger-ids", f"{ids[0]},{ids[1]}",
        "--json",
    )  # fmt: skip
    assert some.exit_code == 0, some.output
    assert [r["charger_id"] for r in json.loads(some.stdout)["results"]] == ids[:2]

    assert voltlab("chargers", "rm", ids[0]).exit_code == 0
    assert server.get(f"/ocpp/chargers/{ids[0]}").status_code == 404
    removed = voltlab("locations", "rm", location_id)
    assert removed.exit_code == 0, removed.output
    assert server.get(f"/ocpp/locations/{location_id}").status_code == 404
    assert all(server.get(f"/ocpp/chargers/{i}").status_code == 404 for i in ids[1:])


def test_wait_for_chargers_that_never_connect_exits_6(voltlab, server: LiveServer) -> None:
    dead = f"ws://127.0.0.1:{free_port()}/ocpp"  # nothing listens there
    created = voltlab(
        "locations",
        "create",
        "--name",
        "unreachable",
        "--csms-url",
        dead,
        "--wait",
        "--timeout",
        "1",
    )
    assert created.exit_code == 6, created.output
    assert "gave up waiting after 1 s" in created.stderr
    (location,) = [
        item
        for item in server.get("/ocpp/locations", limit=200).json()["items"]
        if item["name"] == "unreachable"
    ]
    assert voltlab("locations", "rm", location["location_id"]).exit_code == 0


def test_bad_input_and_no_server(voltlab, server: LiveServer, location) -> None:
    bad_url = voltlab("locations", "create", "--name", "bad", "--csms-url", "http://x")
    assert bad_url.exit_code == 3
    assert "body.csms_url (--csms-url)" in bad_url.stderr
    names = [loc["name"] for loc in server.get("/ocpp/locations", limit=200).json()["items"]]
    assert "bad" not in names

    charger = location["chargers"][0]["charger_id"]
    bad_event = voltlab(
        "cmd", "start-session", "--charger", charger, "--event", '{"connector_id": "x"}'
    )
    assert bad_event.exit_code == 3
    assert "body.event.connector_id (--event)" in bad_event.stderr
    assert "body.event.id_tag (--event)" in bad_event.stderr
    no_target = voltlab("cmd", "cache/reset")
    assert no_target.exit_code == 3 and "body.target.charger_id (--charger)" in no_target.stderr
    not_json = voltlab("cmd", "cache/reset", "--charger", charger, "--event", "{")
    assert not_json.exit_code == 2 and "--event" in not_json.stderr
    unknown = voltlab("cmd", "start-sesion", "--charger", charger)
    assert unknown.exit_code == 3 and "start-session" in unknown.stderr
    bad_filter = voltlab("chargers", "ls", "--status", "Sleeping")
    assert bad_filter.exit_code == 3 and "query.status (--status)" in bad_filter.stderr
    missing = voltlab("logs", "dep-nope")
    assert missing.exit_code == 3 and "dep-nope" in missing.stderr

    wrong_key = voltlab("chargers", "ls", "--key", "vl_wrong")
    assert wrong_key.exit_code == 3 and "HTTP 401" in wrong_key.stderr
    no_key = voltlab("chargers", "ls", env={"VOLTLAB_KEY": ""})
    assert no_key.exit_code == 2 and "VOLTLAB_KEY" in no_key.stderr

    nobody = f"http://127.0.0.1:{free_port()}"
    for args in (
        ("chargers", "ls"),
        (
            "cpo",
            "create",
            "--template",
            "t",
            "--country-code",
            "FR",
            "--party-id",
            "ABC",
            "--name-prefix",
            "x",
            "--wait",
        ),
    ):
        unreachable = voltlab(*args, "--server", nobody)
        assert unreachable.exit_code == 4, unreachable.output
        assert f"cannot reach the voltlab server at {nobody}: connection refused" in (
            unreachable.stderr
        )
