"""Runs one scenario against a target through the Gateway API: each step in order, its outcome
recorded as it ends (`on_progress`), the run stopped at the first step that fails or errs (the
rest are `skipped`), then the findings of the run's chargers read and the chargers deleted.
Verdict: `error` if a step could not be carried out, else `failed` if one failed, else
`passed`."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from voltlab.clock import monotonic, wall_now
from voltlab.scenarios import actions, expectations, ocpi_steps
from voltlab.scenarios.context import RunContext, StepError, StepFailed, Target
from voltlab.scenarios.expectations import Skipped
from voltlab.scenarios.findings_source import read_findings
from voltlab.scenarios.format import Scenario, Step
from voltlab.scenarios.gateway import Gateway, GatewayError


@dataclass
class StepOutcome:
    index: int
    name: str
    do: str
    status: str = "pending"  # pending | running | passed | failed | error | skipped
    message: str = ""
    started_at: str | None = None
    duration_seconds: float | None = None


@dataclass
class RunResult:
    verdict: str
    steps: list[StepOutcome]
    findings: list[dict[str, Any]]
    findings_available: bool
    chargers: list[dict[str, str]]
    message: str = ""
    created_cpo: dict[str, Any] | None = None
    variables: dict[str, Any] = field(default_factory=dict)

    def steps_json(self) -> list[dict[str, Any]]:
        return [asdict(step) for step in self.steps]


# Called as each step starts and ends: the steps so far, the run's chargers and the CPO the
# run created (None: none).
Progress = Callable[
    [list[StepOutcome], list[dict[str, str]], dict[str, Any] | None], Awaitable[None]
]


async def _execute(ctx: RunContext, scenario: Scenario, step: Step) -> str:
    args = step.args
    match step.do:
        case "create_chargers":
            return await actions.create_chargers(ctx, scenario, step)
        case "start_chargers":
            return await actions.start_or_stop(ctx, step, start=True)
        case "stop_chargers":
            return await actions.start_or_stop(ctx, step, start=False)
        case "command":
            return await actions.command(
                ctx, scenario, step, str(args["command"]), args.get("event") or {}
            )
        case "inject_fault":
            event = {"connector_id": args.get("connector_id", 1), "fault_type": args["fault_type"]}
            return await actions.command(ctx, scenario, step, "inject-fault", event)
        case "partition":
            event = {"duration_seconds": args["seconds"]}
            return await actions.command(ctx, scenario, step, "partition", event)
        case "restart_link":
            return await actions.command(ctx, scenario, step, "restart-link", {})
        case "advance_time":
            return await actions.advance_time(ctx, step)
        case "wait_state":
            return await actions.wait_state(ctx, scenario, step)
        case "expect_frame":
            return await expectations.expect_frame(ctx, scenario, step)
        case "expect_answer":
            return await expectations.expect_answer(ctx, scenario, step)
        case "expect_in_order":
            return await expectations.expect_in_order(ctx, scenario, step)
        case "expect_meter":
            return await expectations.expect_meter(ctx, scenario, step)
        case "expect_no_finding":
            return await expectations.expect_no_finding(ctx, step)
        case "create_cpo":
            return await ocpi_steps.create_cpo(ctx, scenario, step)
        case "wait_cpo":
            return await ocpi_steps.wait_cpo(ctx, scenario, step)
        case "expect_ocpi":
            return await ocpi_steps.expect_ocpi(ctx, scenario, step)
    raise StepError(f"unknown step kind {step.do!r}")


class ScenarioRunner:
    def __init__(
        self,
        gateway: Gateway,
        scenario: Scenario,
        target: Target,
        *,
        run_id: str,
        time_scale: float,
        min_wait: float = 5.0,
        params: Mapping[str, Any] | None = None,
        on_progress: Progress | None = None,
    ) -> None:
        self.scenario = scenario
        self.ctx = RunContext(gateway, target, run_id, time_scale, min_wait)
        self.ctx.variables.update(params if params is not None else scenario.params)
        self.plan = scenario.steps_for(target.ocpp_version)
        self.steps = [StepOutcome(s.index, s.name, s.do) for s in self.plan]
        self._on_progress = on_progress

    def chargers(self) -> list[dict[str, str]]:
        return [
            {"as": name, "charger_id": c.charger_id, "identity": c.identity}
            for name, group in self.ctx.groups.items()
            for c in group.chargers
        ]

    async def _progress(self) -> None:
        if self._on_progress is not None:
            await self._on_progress(self.steps, self.chargers(), self.ctx.created_cpo)

    async def run(self) -> RunResult:
        verdict = "passed"
        if self.ctx.cpo_ids():
            with contextlib.suppress(GatewayError):
                read = await read_findings(self.ctx.gateway, [], self.ctx.cpo_ids())
                self.ctx.earlier_findings = {str(f.get("id")) for f in read.findings}
        for step, outcome in zip(self.plan, self.steps, strict=True):
            if verdict != "passed":
                outcome.status = "skipped"
                outcome.message = "not run: an earlier step did not pass"
                continue
            outcome.status = "running"
            outcome.started_at = wall_now().isoformat().replace("+00:00", "Z")
            await self._progress()
            began = monotonic()
            try:
                await self.ctx.mark(step.name)
                outcome.message = await _execute(self.ctx, self.scenario, step)
                outcome.status = "passed"
            except StepFailed as exc:
                outcome.status, outcome.message, verdict = "failed", str(exc), "failed"
            except Skipped as exc:
                outcome.status, outcome.message = "skipped", str(exc)
            except (StepError, GatewayError) as exc:
                outcome.status, outcome.message, verdict = "error", str(exc), "error"
            outcome.duration_seconds = round(monotonic() - began, 3)
            await self._progress()
        findings_available, findings = await self._findings()
        chargers = self.chargers()
        await self._clean_up()
        return RunResult(
            verdict=verdict,
            steps=self.steps,
            findings=findings,
            findings_available=findings_available,
            chargers=chargers,
            variables=dict(self.ctx.variables),
            created_cpo=self.ctx.created_cpo,
        )

    async def _findings(self) -> tuple[bool, list[dict[str, Any]]]:
        try:
            read = await read_findings(
                self.ctx.gateway, self.ctx.all_charger_ids(), self.ctx.cpo_ids()
            )
        except GatewayError:
            return False, []
        fresh = [f for f in read.findings if str(f.get("id")) not in self.ctx.earlier_findings]
        return read.available, fresh

    async def _clean_up(self) -> None:
        if self.ctx.target.keep:
            return
        for group in self.ctx.groups.values():
            # A failed delete leaves chargers behind; it must not turn a verdict into an error.
            with contextlib.suppress(GatewayError):
                await self.ctx.gateway.delete_location(group.location_id)
        if self.ctx.created_cpo is not None:
            with contextlib.suppress(GatewayError):
                await self.ctx.gateway.delete_cpo(str(self.ctx.created_cpo["cpo_id"]))
