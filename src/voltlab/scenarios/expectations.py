"""The steps that judge the system under test: a frame arrives, the CSMS answers with a status,
messages come in order, meter values respect a bound, no finding of a rule. A failure says
what was expected and what came, naming the charger, the action and the message id."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voltlab.scenarios.actions import capture_values
from voltlab.scenarios.context import ChargerRef, RunContext, StepFailed
from voltlab.scenarios.findings_source import read_findings
from voltlab.scenarios.format import Scenario, Step
from voltlab.scenarios.match import (
    MISSING,
    Exchange,
    answer_status,
    exchanges,
    get_path,
    meter_samples,
    mismatches,
)


class Skipped(Exception):
    """The step cannot be judged on this server (it is reported `skipped`, never passed)."""


async def _each_charger(
    ctx: RunContext,
    scenario: Scenario,
    step: Step,
    check: Callable[[ChargerRef, list[Exchange]], str | None],
    sender: str,
    action: str | None,
) -> list[str]:
    """Wait until `check` (None: satisfied, else why not) holds for every charger of the step,
    looking at the CALLs `sender` sent since the step's `since` mark."""
    group = ctx.group(step.args.get("chargers"))
    within = float(step.args.get("within", scenario.default_within))
    since = step.args.get("since")
    problems: dict[str, str] = {}

    async def attempt() -> bool | None:
        problems.clear()
        for charger in group.chargers:
            await ctx.refresh(charger.charger_id)
            found = exchanges(ctx.frames_since(charger.charger_id, since), sender, action)
            problem = check(charger, found)
            if problem is not None:
                problems[charger.identity] = problem
        return True if not problems else None

    if await ctx.poll(within, attempt) is None:
        shown = list(problems.items())[:5]
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        by_identity = {c.identity: c for c in group.chargers}
        lines = [f"{who}: {why}{await _link_note(ctx, by_identity[who])}" for who, why in shown]
        raise StepFailed(f"within {within:g} s: " + "; ".join(lines) + more)
    return [charger.identity for charger in group.chargers]


async def _link_note(ctx: RunContext, charger: ChargerRef) -> str:
    """Why a station may have nothing to show: not connected, and the link's last error."""
    state = await ctx.gateway.charger(charger.charger_id)
    if state.get("connection") == "connected" and state.get("registration") == "Accepted":
        return ""
    note = f" (station {state.get('connection')}, registration {state.get('registration')}"
    error = state.get("last_error")
    return note + (f": {error})" if error else ")")


async def expect_frame(ctx: RunContext, scenario: Scenario, step: Step) -> str:
    args = step.args
    sender, action = str(args["from"]), str(args["action"])
    fields: Mapping[str, Any] = ctx.substitute(args.get("fields") or {})
    count = int(args.get("count", 1))
    after = args.get("after_action")
    matched: list[Exchange] = []

    def check(charger: ChargerRef, every: list[Exchange]) -> str | None:
        found = [x for x in every if x.action == action]
        good = [x for x in found if not mismatches(x.payload, fields)]
        who = "the CSMS" if sender == "csms" else "the station"
        if after is not None:
            anchor = next((x for x in every if x.action == after), None)
            if anchor is None:
                return f"{who} sent no {after}, which {action} must follow"
            early = [x for x in good if x.call.id < anchor.call.id]
            good = [x for x in good if x.call.id > anchor.call.id]
            if early and not good:
                return (
                    f"{who} sent {action} {early[0].message_id} before {after} {anchor.message_id}"
                )
        if len(good) >= count:
            matched.append(good[count - 1])
            return None
        if not found:
            return f"{who} sent no {action}"
        closest = min(found, key=lambda x: len(mismatches(x.payload, fields)))
        if good:
            return f"{who} sent {len(good)} matching {action}, expected at least {count}"
        return (
            f"{who} sent {len(found)} {action}, none matching; {action} "
            f"{closest.message_id}: " + "; ".join(mismatches(closest.payload, fields))
        )

    matched.clear()
    identities = await _each_charger(ctx, scenario, step, check, sender, None)
    capture_values(ctx, args.get("capture") or {}, matched[0].payload, action)
    return f"{action} from {sender} seen for {len(identities)} charger(s)"


async def expect_answer(ctx: RunContext, scenario: Scenario, step: Step) -> str:
    args = step.args
    action = str(args["action"])
    status = args.get("status")
    statuses = [status] if isinstance(status, str) else list(status or [])
    fields: Mapping[str, Any] = ctx.substitute(args.get("fields") or {})
    which = str(args.get("which", "any"))
    chosen: list[Exchange] = []

    def verdict(exchange: Exchange) -> str | None:
        if exchange.error is not None:
            code, text = exchange.error
            return f"answered {action} {exchange.message_id} with CALLERROR {code} ({text})"
        result = exchange.result
        got = answer_status(result)
        if statuses and got not in statuses:
            wanted = " or ".join(repr(s) for s in statuses)
            return f"answered {action} {exchange.message_id} with status {got!r}, expected {wanted}"
        problems = mismatches(result, fields)
        if problems:
            return f"answer to {action} {exchange.message_id}: " + "; ".join(problems)
        return None

    def check(charger: ChargerRef, found: list[Exchange]) -> str | None:
        if not found:
            return f"the station sent no {action} yet"
        if which in ("first", "last"):
            found = [found[0] if which == "first" else found[-1]]
        if which != "any":
            for exchange in found:
                if not exchange.answered:
                    return f"no answer to {action} {exchange.message_id}"
                problem = verdict(exchange)
                if problem is not None and which in ("all", "first"):
                    # A later answer cannot undo this one: fail now, not at the deadline.
                    raise StepFailed(f"{charger.identity}: the CSMS {problem}")
                if problem is not None:
                    return "the CSMS " + problem
            chosen.append(found[-1])
            return None
        answered = [x for x in found if x.answered]
        if not answered:
            return f"no answer to {action} {found[0].message_id}"
        problems = [verdict(x) for x in answered]
        for exchange, problem in zip(answered, problems, strict=True):
            if problem is None:
                chosen.append(exchange)
                return None
        return "the CSMS " + str(problems[-1])

    identities = await _each_charger(ctx, scenario, step, check, "station", action)
    if chosen:
        capture_values(ctx, args.get("capture") or {}, chosen[0].result, f"the answer to {action}")
    return f"the CSMS answered {action} as expected for {len(identities)} charger(s)"


async def expect_in_order(ctx: RunContext, scenario: Scenario, step: Step) -> str:
    args = step.args
    paths: Mapping[str, str] = args["timestamps"]
    last = args.get("last")

    def check(charger: ChargerRef, found: list[Exchange]) -> str | None:
        wanted = [x for x in found if x.action in paths]
        if not wanted:
            return f"the station sent none of {', '.join(paths)}"
        previous: tuple[str, Exchange] | None = None
        for exchange in wanted:
            stamp = get_path(exchange.payload, paths[exchange.action])
            if stamp is MISSING:
                return f"{exchange.action} {exchange.message_id} has no {paths[exchange.action]}"
            if previous is not None and str(stamp) < previous[0]:
                earlier = previous[1]
                return (
                    f"{exchange.action} {exchange.message_id} ({stamp}) was sent after "
                    f"{earlier.action} {earlier.message_id} ({previous[0]})"
                )
            previous = (str(stamp), exchange)
        if last is not None and wanted[-1].action != last:
            return f"{last} is not the last: {wanted[-1].action} {wanted[-1].message_id} came after"
        unanswered = [x for x in wanted if not x.answered]
        if unanswered:
            return f"{unanswered[0].action} {unanswered[0].message_id} was never answered"
        return None

    await _each_charger(ctx, scenario, step, check, "station", None)
    return "in order and answered: " + ", ".join(paths)


async def expect_meter(ctx: RunContext, scenario: Scenario, step: Step) -> str:
    args = step.args
    measurand = str(args.get("measurand", "Power.Active.Import"))
    at_most, at_least = args.get("at_most"), args.get("at_least")
    needed = int(args.get("samples", 1))
    tolerance = 0.01  # rounding of the station's reported values

    def check(charger: ChargerRef, found: list[Exchange]) -> str | None:
        samples = meter_samples(found, measurand)
        for sample in samples:
            if at_most is not None and sample.value > float(at_most) * (1 + tolerance):
                return (
                    f"{measurand} {sample.value:g} at {sample.timestamp} (message "
                    f"{sample.message_id}) is above {float(at_most):g}"
                )
            if at_least is not None and sample.value < float(at_least) * (1 - tolerance):
                return (
                    f"{measurand} {sample.value:g} at {sample.timestamp} (message "
                    f"{sample.message_id}) is below {float(at_least):g}"
                )
        if len(samples) < needed:
            return f"{len(samples)} {measurand} sample(s), expected at least {needed}"
        return None

    await _each_charger(ctx, scenario, step, check, "station", None)
    return f"{measurand} within bounds"


async def expect_no_finding(ctx: RunContext, step: Step) -> str:
    rule, severity = step.args.get("rule"), step.args.get("severity")
    chargers = (
        [c.charger_id for c in ctx.group(step.args["chargers"]).chargers]
        if "chargers" in step.args
        else ctx.all_charger_ids()
    )
    cpos = [] if "chargers" in step.args else ctx.cpo_ids()
    read = await read_findings(ctx.gateway, chargers, cpos)
    if not read.available:
        raise Skipped("this server records no findings yet (GET /ocpp/chargers/{id}/findings)")
    hits = [
        f
        for f in read.findings
        if str(f.get("id")) not in ctx.earlier_findings
        and (rule is None or f.get("rule") == rule)
        and (severity is None or f.get("severity") == severity)
    ]
    if hits:
        first = hits[0]
        raise StepFailed(
            f"{len(hits)} finding(s) of rule {first.get('rule')}: {first.get('title')} "
            f"({first.get('detail')}; {first.get('spec_ref')})"
        )
    what = f"rule {rule}" if rule else "any rule"
    return f"no finding of {what}" + (f" with severity {severity}" if severity else "")
