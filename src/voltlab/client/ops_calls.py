"""The calls of commands, virtual CPOs and scenarios (docs/api.md)."""

from __future__ import annotations

from typing import Any, Literal

from voltlab.client import models
from voltlab.client.calls import Call, body_of, segment

Severity = Literal["error", "warning", "info"]
Target = models.CommandTarget | str


def target_of(target: Target) -> models.CommandTarget:
    """A charger id stands for `{"charger_id": id}`."""
    return models.CommandTarget(charger_id=target) if isinstance(target, str) else target


# --- commands -----------------------------------------------------------------------------------


def command(
    slug: str, target: Target, event: models.EventModel | None
) -> Call[models.CommandAccepted]:
    body: dict[str, Any] = {"target": body_of(target_of(target))}
    if event is not None:
        body["event"] = body_of(event)
    return Call("POST", f"/ocpp/commands/{slug}", models.CommandAccepted, body=body)


def list_commands(
    charger_id: str | None = None,
    location_id: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[models.CommandPage]:
    params = {
        "charger_id": charger_id,
        "location_id": location_id,
        "limit": limit,
        "cursor": cursor,
    }
    return Call("GET", "/ocpp/commands", models.CommandPage, params)


def get_command(command_id: str) -> Call[models.CommandView]:
    return Call("GET", f"/ocpp/commands/{segment(command_id)}", models.CommandView)


# --- virtual CPOs -------------------------------------------------------------------------------


def cpo_templates() -> Call[list[models.CpoTemplate]]:
    return Call("GET", "/ocpi/cpos/templates", list[models.CpoTemplate])


def create_cpo(body: models.CpoCreate) -> Call[models.CpoCreated]:
    return Call("POST", "/ocpi/cpos", models.CpoCreated, body=body_of(body))


def list_cpos(limit: int | None = None, cursor: str | None = None) -> Call[models.CpoPage]:
    params = {"limit": limit, "cursor": cursor}
    return Call("GET", "/ocpi/cpos", models.CpoPage, params)


def _cpo(cpo_id: str, tail: str = "") -> str:
    return f"/ocpi/cpos/{segment(cpo_id)}{tail}"


def get_cpo(cpo_id: str) -> Call[models.CpoView]:
    return Call("GET", _cpo(cpo_id), models.CpoView)


def cpo_status(cpo_id: str) -> Call[models.CpoStatusView]:
    return Call("GET", _cpo(cpo_id, "/status"), models.CpoStatusView)


def cpo_report(cpo_id: str) -> Call[models.CpoReport]:
    return Call("GET", _cpo(cpo_id, "/report"), models.CpoReport)


def cpo_traffic(cpo_id: str, limit: int | None = None) -> Call[models.CpoTraffic]:
    params = {"limit": limit}
    return Call("GET", _cpo(cpo_id, "/traffic"), models.CpoTraffic, params)


def delete_cpo(cpo_id: str) -> Call[models.CpoDeletion]:
    return Call("DELETE", _cpo(cpo_id), models.CpoDeletion)


def cpo_findings(
    cpo_id: str,
    rule: str | None = None,
    severity: Severity | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[models.FindingsWithCounts]:
    params = {"rule": rule, "severity": severity, "limit": limit, "cursor": cursor}
    return Call("GET", _cpo(cpo_id, "/findings"), models.FindingsWithCounts, params)


# --- scenarios ----------------------------------------------------------------------------------


def scenario_library() -> Call[models.ScenarioLibrary]:
    return Call("GET", "/scenarios", models.ScenarioLibrary)


def scenario(name: str) -> Call[models.ScenarioSource]:
    path = f"/scenarios/library/{segment(name)}"
    return Call("GET", path, models.ScenarioSource)


def start_run(body: models.RunCreate) -> Call[models.RunAccepted]:
    return Call("POST", "/scenarios/runs", models.RunAccepted, body=body_of(body))


def list_runs(limit: int | None = None) -> Call[models.RunList]:
    return Call("GET", "/scenarios/runs", models.RunList, {"limit": limit})


def _run(run_id: str, tail: str = "") -> str:
    return f"/scenarios/runs/{segment(run_id)}{tail}"


def get_run(run_id: str) -> Call[models.RunView]:
    return Call("GET", _run(run_id), models.RunView)


def run_junit(run_id: str) -> Call[str]:
    return Call("GET", _run(run_id, "/junit"), str)


def run_report(run_id: str) -> Call[str]:
    return Call("GET", _run(run_id, "/report"), str)


# --- replays ------------------------------------------------------------------------------------


def start_replay(body: models.ReplayCreate) -> Call[models.ReplayView]:
    return Call("POST", "/ocpp/replays", models.ReplayView, body=body_of(body))


def list_replays(limit: int | None = None) -> Call[models.ReplayList]:
    return Call("GET", "/ocpp/replays", models.ReplayList, {"limit": limit})


def get_replay(run_id: str) -> Call[models.ReplayView]:
    return Call("GET", f"/ocpp/replays/{segment(run_id)}", models.ReplayView)
