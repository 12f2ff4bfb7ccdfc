"""The scenario API: the library, refusals that name the field, runs stored in the database
(readable after a restart, closed as `error` when their process died), tenancy, reports."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx

from voltlab.api.app import create_app
from voltlab.clock import Clock, wall_now
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.scenarios.library import library
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.scenario_models import ScenarioRun

from .conftest import SCENARIO_TIME_SCALE, Lab, explain

TARGET = {"csms_url": "ws://127.0.0.1:9/ocpp", "ocpp_version": "ocpp1.6"}


async def test_library_listed(lab: Lab) -> None:
    body = (await lab.http.get("/scenarios")).json()
    names = [item["name"] for item in body["scenarios"]]
    assert names == sorted(library()) and len(names) >= 10
    storm = next(item for item in body["scenarios"] if item["name"] == "boot-storm")
    assert storm["versions"] == ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"] and storm["steps"] == 7
    assert storm["target"] == "ocpp"
    anonymous = await lab.http.get("/scenarios", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert storm["params"] == {"stations": 20}
    one = (await lab.http.get("/scenarios/library/boot-storm")).json()
    assert one["scenario"] == library()["boot-storm"].source and one["name"] == "boot-storm"
    assert (await lab.http.get("/scenarios/library/nope")).status_code == 404


async def test_params_set_the_run(lab: Lab) -> None:
    response = await lab.http.post(
        "/scenarios/runs",
        json={"scenario": "boot-storm", "target": {**TARGET, "csms_url": lab.peer.url},
              "params": {"stations": 3}},
    )  # fmt: skip
    assert response.status_code == 202, response.text
    run = await lab.finished(response.json()["run_id"])
    assert run["verdict"] == "passed" and run["params"] == {"stations": 3}, explain(run)
    assert len(run["chargers"]) == 3
    assert len({c["identity"] for c in run["chargers"]}) == 3
    for params, loc in (
        ({"station": 3}, ["body", "params", "station"]),
        ({"stations": "many"}, ["body", "params", "stations"]),
    ):
        refused = await lab.http.post(
            "/scenarios/runs", json={"scenario": "boot-storm", "target": TARGET, "params": params}
        )
        assert refused.status_code == 422, refused.text
        assert [str(part) for part in refused.json()["detail"][0]["loc"]] == loc


async def test_refusals_name_the_field(lab: Lab) -> None:
    async def refused(body: dict) -> list:
        response = await lab.http.post("/scenarios/runs", json=body)
        assert response.status_code == 422, response.text
        return response.json()["detail"]

    detail = await refused({"scenario": "no-such", "target": TARGET})
    assert detail[0]["loc"] == ["body", "scenario"] and "GET /scenarios" in detail[0]["msg"]
    inline = {"name": "x", "steps": [{"do": "advance_time", "seconds": 1}, {"do": "expect_frame"}]}
    detail = await refused({"scenario": inline, "target": TARGET})
    assert detail[0]["loc"][:4] == ["body", "scenario", "steps", "1"]
    assert detail[0]["loc"][4] in ("from", "action")
    assert detail[0]["msg"] == "is required"
    inline = {"name": "x", "steps": [{"do": "advance_time", "seconds": 0}]}
    detail = await refused({"scenario": inline, "target": TARGET})
    assert detail[0]["loc"] == ["body", "scenario", "steps", "0", "seconds"]
    detail = await refused(
        {"scenario": "fault-mid-charge", "target": {**TARGET, "ocpp_version": "ocpp2.1"}}
    )
    assert detail[0]["loc"] == ["body", "target", "ocpp_version"]
    detail = await refused({"scenario": "boot-storm", "target": {**TARGET, "csms_url": "http://x"}})
    assert detail[0]["loc"][:3] == ["body", "target", "csms_url"]
    # an eMSP scenario needs a CPO (its own, made by create_cpo, or the target's), an OCPP one
    # a CSMS
    detail = await refused({"scenario": "emsp-start-session-to-cdr", "target": TARGET})
    assert detail[0]["loc"] == ["body", "target", "cpo_id"]
    no_cpo = {"name": "x", "target": "emsp", "steps": [{"do": "wait_cpo"}]}
    detail = await refused({"scenario": no_cpo, "target": {}})
    assert detail[0]["loc"] == ["body", "target", "cpo_id"]
    detail = await refused({"scenario": "boot-storm", "target": {"cpo_id": "cpo-1"}})
    assert detail[0]["loc"] == ["body", "target", "cpo_id"]
    detail = await refused({"scenario": "boot-storm", "target": {"csms_url": TARGET["csms_url"]}})
    assert detail[0]["loc"] == ["body", "target", "ocpp_version"]


async def test_a_run_is_stored_reported_and_private(lab: Lab, database: Database) -> None:
    inline = {
        "name": "one-boot",
        "steps": [
            {"do": "create_chargers"},
            {"do": "expect_answer", "action": "BootNotification", "status": "Accepted",
             "capture": {"every": "interval"}},
            {"do": "expect_frame", "from": "csms", "action": "Reset", "within": 1},
            {"do": "advance_time", "seconds": 1},
        ],
    }  # fmt: skip
    run_id = await lab.start(inline)
    run = await lab.finished(run_id)
    assert run["verdict"] == "failed", explain(run)
    assert [s["status"] for s in run["steps"]] == ["passed", "passed", "failed", "skipped"]
    assert "the CSMS sent no Reset" in run["steps"][2]["message"]
    assert run["chargers"][0]["identity"].startswith("VL")
    assert run["created_at"].endswith("Z") and run["finished_at"].endswith("Z")
    # the run's chargers are gone, the run is not
    charger_id = run["chargers"][0]["charger_id"]
    assert (await lab.http.get(f"/ocpp/chargers/{charger_id}")).status_code == 404
    with database.session() as session:
        row = session.get(ScenarioRun, run_id)
        assert row is not None and row.verdict == "failed" and row.steps[2]["status"] == "failed"
    junit = await lab.http.get(f"/scenarios/runs/{run_id}/junit")
    assert junit.headers["content-type"].startswith("application/xml")
    suite = ET.fromstring(junit.text).find("testsuite")
    assert suite is not None and suite.get("failures") == "1" and suite.get("skipped") == "1"
    report = await lab.http.get(f"/scenarios/runs/{run_id}/report")
    assert report.headers["content-type"].startswith("text/markdown")
    assert "| 3 | 3. expect_frame | FAIL |" in report.text
    listed = (await lab.http.get("/scenarios/runs")).json()["items"]
    assert [item["run_id"] for item in listed] == [run_id]
    # another org sees nothing
    with database.session() as session:
        other = repo.get_or_create_org(session, "other")
        other_key = repo.add_api_key(session, other.id, "operator")
    foreign = await lab.http.get(
        f"/scenarios/runs/{run_id}", headers={"Authorization": f"Bearer {other_key}"}
    )
    assert foreign.status_code == 404


async def test_runs_survive_a_restart_and_unfinished_ones_end_in_error(
    database: Database, monkeypatch
) -> None:
    monkeypatch.delenv("VOLTLAB_API_KEY", raising=False)
    with database.session() as session:
        org = repo.get_or_create_org(session, "restart")
        key = repo.add_api_key(session, org.id, "viewer")
        session.add(
            ScenarioRun(
                id="run-left-open",
                org_id=org.id,
                scenario_name="boot-storm",
                scenario={"name": "boot-storm", "steps": []},
                target=TARGET,
                status="running",
                steps=[],
                findings=[],
                chargers=[],
                created_at=wall_now(),
            )
        )
    app = create_app(database, FleetRuntime(database, Clock(SCENARIO_TIME_SCALE)))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://voltlab",
            headers={"Authorization": f"Bearer {key}"},
        ) as http,
    ):
        run = (await http.get("/scenarios/runs/run-left-open")).json()
        assert run["status"] == "finished" and run["verdict"] == "error"
        assert run["message"] == "the server stopped during the run"
        # a viewer reads runs but cannot start one
        started = await http.post(
            "/scenarios/runs", json={"scenario": "boot-storm", "target": TARGET}
        )
        assert started.status_code == 403


async def test_a_station_that_cannot_connect_is_named_in_the_failure(lab: Lab) -> None:
    # The strict peer speaks 1.6 and 2.0.1 only: a 2.1 station is refused at the handshake.
    inline = {
        "name": "boot-21",
        "steps": [
            {"do": "create_chargers"},
            {"do": "expect_answer", "action": "BootNotification", "status": "Accepted"},
        ],
    }
    run = await lab.run(inline, "ocpp2.1")
    message = run["steps"][1]["message"]
    assert run["verdict"] == "failed", explain(run)
    assert "the station sent no BootNotification yet (station " in message, message
    assert "registration None: " in message, message  # then the link's last error


async def test_a_finding_fails_the_scenario_that_forbids_it(lab: Lab) -> None:
    """The whole loop: the station's rules record a finding about the CSMS, the scenario reads
    it (GET /ocpp/chargers/{id}/findings) and fails, and the run lists it."""
    await lab.peer.set_boot("Accepted", interval=0)  # a heartbeat interval of 0: 1.6 4.2
    inline = {
        "name": "interval",
        "steps": [
            {"do": "create_chargers"},
            {"do": "wait_state", "registration": "Accepted"},
            {"do": "expect_no_finding", "severity": "error"},
            {"do": "expect_no_finding", "name": "no boot interval finding",
             "rule": "csms-boot-interval"},
        ],
    }  # fmt: skip
    run = await lab.run(inline)
    assert run["verdict"] == "failed", explain(run)
    assert [s["status"] for s in run["steps"]] == ["passed", "passed", "passed", "failed"]
    assert run["steps"][3]["message"].startswith("1 finding(s) of rule csms-boot-interval: ")
    assert run["findings_available"] is True
    [found] = run["findings"]
    assert found["rule"] == "csms-boot-interval" and found["severity"] == "warning"
    assert found["charger_id"] == run["chargers"][0]["charger_id"]
    assert found["evidence"][0]["action"] == "BootNotification"
