"""The built-in scenario library: YAML files shipped in `scenarios/library/`, validated like any
scenario when listed or run."""

from __future__ import annotations

from functools import cache
from importlib import resources

from voltlab.scenarios.format import Scenario, load


@cache
def library() -> dict[str, Scenario]:
    found: dict[str, Scenario] = {}
    folder = resources.files("voltlab.scenarios") / "library"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml", ".json")):
            scenario = load(entry.read_text(encoding="utf-8"))
            found[scenario.name] = scenario
    return found


def summary(scenario: Scenario) -> dict[str, object]:
    return {
        "name": scenario.name,
        "title": scenario.title,
        "target": scenario.target,
        "description": scenario.description,
        "requires": scenario.requires,
        "versions": list(scenario.versions),
        "params": dict(scenario.params),
        "steps": len(scenario.steps),
    }
