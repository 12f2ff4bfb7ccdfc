"""A finished run, written for people and for CI: JUnit XML (one testsuite per run, one
testcase per step; failed steps carry <failure>, steps that could not run <error>, steps not
run <skipped>) and a Markdown report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any


def _seconds(step: Mapping[str, Any]) -> str:
    return f"{float(step.get('duration_seconds') or 0.0):.3f}"


def junit_xml(run: Mapping[str, Any]) -> str:
    steps: Sequence[Mapping[str, Any]] = run.get("steps") or []
    name = str(run.get("scenario_name"))
    counts = {
        "tests": len(steps),
        "failures": sum(1 for s in steps if s.get("status") == "failed"),
        "errors": sum(1 for s in steps if s.get("status") == "error"),
        "skipped": sum(1 for s in steps if s.get("status") in ("skipped", "pending")),
    }
    total = sum(float(s.get("duration_seconds") or 0.0) for s in steps)
    suites = ET.Element("testsuites", {k: str(v) for k, v in counts.items()})
    suites.set("name", "voltlab scenarios")
    suites.set("time", f"{total:.3f}")
    suite = ET.SubElement(
        suites,
        "testsuite",
        {
            "name": name,
            **{k: str(v) for k, v in counts.items()},
            "time": f"{total:.3f}",
            # The JUnit schema's timestamp: local date-time, no zone, no fraction (UTC here).
            "timestamp": str(run.get("started_at") or run.get("created_at") or "")[:19],
        },
    )
    properties = ET.SubElement(suite, "properties")
    target = run.get("target") or {}
    for key, value in (
        ("run_id", run.get("run_id")),
        ("verdict", run.get("verdict")),
        ("csms_url", target.get("csms_url")),
        ("ocpp_version", target.get("ocpp_version")),
        ("cpo_id", target.get("cpo_id")),
    ):
        ET.SubElement(properties, "property", {"name": key, "value": str(value)})
    for step in steps:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": f"voltlab.scenarios.{name}",
                "name": str(step.get("name")),
                "time": _seconds(step),
            },
        )
        status, message = step.get("status"), str(step.get("message") or "")
        if status == "failed":
            ET.SubElement(case, "failure", {"message": message, "type": "failed"}).text = message
        elif status == "error":
            ET.SubElement(case, "error", {"message": message, "type": "error"}).text = message
        elif status in ("skipped", "pending"):
            ET.SubElement(case, "skipped", {"message": message or "not run"})
        elif message:
            ET.SubElement(case, "system-out").text = message
    findings = run.get("findings") or []
    if findings:
        lines = [
            f"{f.get('severity')} {f.get('rule')} on {f.get('charger_id')}: {f.get('title')}"
            for f in findings
        ]
        ET.SubElement(suite, "system-out").text = "\n".join(lines)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def _target(target: Mapping[str, Any]) -> str:
    if target.get("cpo_id"):
        return f"the eMSP registered with CPO {target['cpo_id']}"
    return f"{target.get('csms_url')} ({target.get('ocpp_version')})"


_ICON = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(run: Mapping[str, Any]) -> str:
    target = run.get("target") or {}
    verdict = run.get("verdict") or run.get("status")
    lines = [
        f"# Scenario `{run.get('scenario_name')}`: {str(verdict).upper()}",
        "",
        f"- run: `{run.get('run_id')}`",
        f"- target: {_target(target)}",
        f"- started: {run.get('started_at')}, finished: {run.get('finished_at')}",
    ]
    if run.get("message"):
        lines.append(f"- note: {run.get('message')}")
    lines += ["", "| # | step | outcome | seconds | details |", "| --- | --- | --- | --- | --- |"]
    for step in run.get("steps") or []:
        status = str(step.get("status"))
        lines.append(
            f"| {int(step.get('index', 0)) + 1} | {_cell(step.get('name'))} | "
            f"{_ICON.get(status, status)} | {_seconds(step)} | {_cell(step.get('message') or '')} |"
        )
    findings = run.get("findings") or []
    lines += ["", "## Findings", ""]
    if run.get("findings_available") is False:
        lines.append("This server records no findings yet.")
    elif not findings:
        lines.append("None.")
    for finding in findings:
        lines.append(
            f"- **{finding.get('severity')}** `{finding.get('rule')}` on "
            f"{finding.get('charger_id')}: {finding.get('title')}: {finding.get('detail')} "
            f"({finding.get('spec_ref')})"
        )
    return "\n".join(lines) + "\n"
