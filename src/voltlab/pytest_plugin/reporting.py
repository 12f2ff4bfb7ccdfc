"""What a failed test's report shows of the lab: each charger's last frames, its findings and
its state; each virtual CPO's findings (added as report sections, printed by pytest with the
failure)."""

from __future__ import annotations

import httpx

from voltlab.client import VoltlabError, models
from voltlab.pytest_plugin.handles import VirtualCharger, VirtualCpo

LINE_CHARS = 400


def _cut(text: str) -> str:
    return text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1] + "…"


def finding_lines(findings: list[models.FindingView]) -> list[str]:
    lines: list[str] = []
    for finding in findings:
        lines.append(f"[{finding.severity}] {finding.rule} at {finding.at}: {finding.title}")
        lines.append(_cut(f"    {finding.detail} ({finding.spec_ref})"))
        for evidence in finding.evidence:
            if isinstance(evidence, models.FrameEvidence):
                arrow = "->" if evidence.direction == "out" else "<-"
                lines.append(_cut(f"    evidence {arrow} {evidence.frame}"))
            else:
                lines.append(
                    _cut(f"    evidence {evidence.method} {evidence.url} -> {evidence.status}")
                )
    return lines


def _state_line(state: models.ChargerView) -> str:
    connectors = ", ".join(
        f"#{c.connector_id} {c.status} tx={c.transaction_id} {c.meter_wh} Wh"
        for c in state.connectors
    )
    return (
        f"connection={state.connection} registration={state.registration} connectors: {connectors}"
    )


def charger_sections(charger: VirtualCharger, frame_count: int) -> list[tuple[str, str]]:
    name = f"voltlab charger {charger.identity} ({charger.id})"
    try:
        frames = charger.frames
        findings = charger.findings
        state = charger.status
    except (VoltlabError, httpx.HTTPError) as exc:
        return [(name, f"could not be read from the lab server: {exc}")]
    shown = frames[-frame_count:]
    frame_text = "\n".join(_cut(str(frame)) for frame in shown) or "(no frames)"
    finding_text = "\n".join(finding_lines(findings)) or "(none)"
    return [
        (f"{name}: state", _state_line(state)),
        (f"{name}: last {len(shown)} of {len(frames)} frames", frame_text),
        (f"{name}: {len(findings)} finding(s)", finding_text),
    ]


def cpo_sections(cpo: VirtualCpo) -> list[tuple[str, str]]:
    name = f"voltlab CPO {cpo.id}"
    try:
        findings = cpo.findings
        status = cpo.client.cpos.status(cpo.id)
    except (VoltlabError, httpx.HTTPError) as exc:
        return [(name, f"could not be read from the lab server: {exc}")]
    finding_text = "\n".join(finding_lines(findings)) or "(none)"
    return [
        (f"{name}: status", f"{status.status} {status.error or ''}".strip()),
        (f"{name}: {len(findings)} finding(s) about the eMSP", finding_text),
    ]
