"""The steps that act: create chargers, start and stop them, run gateway commands (through
`POST /ocpp/commands/{slug}`, the one command path), cut or kill a station's link, let time
pass, wait for a station state. Each returns a one-line account of what it did."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from voltlab.scenarios.context import ChargerRef, Group, RunContext, StepError, StepFailed
from voltlab.scenarios.format import Scenario, Step
from voltlab.scenarios.gateway import GatewayError
from voltlab.scenarios.match import MISSING, get_path, mismatches

FINAL_COMMAND_STATES = ("succeeded", "failed", "timed_out")


async def create_chargers(ctx: RunContext, scenario: Scenario, step: Step) -> str:
    args = step.args
    name = str(args.get("as", "station"))
    if ctx.target.csms_url is None:
        raise StepError("create_chargers needs a CSMS target (csms_url, ocpp_version)")
    if name in ctx.groups:
        raise StepError(f"chargers named {name!r} exist already in this run")
    count = ctx.substitute(args.get("count", 1))
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
        raise StepError(f"count must be a whole number from 1 to 1000, not {count!r}")
    prefix = f"VL{ctx.run_id[-8:].upper()}-{name.upper().replace('_', '')}-"
    body: dict[str, Any] = {
        "name": f"scenario {scenario.name} {ctx.run_id} {name}",
        "csms_url": ctx.target.csms_url,
        "ocpp_version": ctx.target.ocpp_version,
        "chargers": count,
        "model": str(args.get("model", scenario.default_model)),
        "identity_prefix": prefix,
        "auto_start": bool(args.get("auto_start", True)),
    }
    if "security" in args:
        # An empty value (a parameter left at its default "") leaves the field out.
        security = ctx.substitute(dict(args["security"]))
        body["security"] = {k: v for k, v in security.items() if v not in ("", None)}
    try:
        location = await ctx.gateway.create_location(body)
    except GatewayError as exc:
        raise StepError(str(exc)) from exc
    chargers = [ChargerRef(c["charger_id"], c["identity"]) for c in location["chargers"]]
    ctx.groups[name] = Group(location["location_id"], chargers)
    for charger in chargers:
        ctx.frames.setdefault(charger.charger_id, [])
    identities = ", ".join(c.identity for c in chargers[:3]) + (" ..." if count > 3 else "")
    return f"{count} charger(s) {identities} -> {ctx.target.csms_url} ({ctx.target.ocpp_version})"


async def start_or_stop(ctx: RunContext, step: Step, *, start: bool) -> str:
    group = ctx.group(step.args.get("chargers"))
    for charger in group.chargers:
        if start:
            await ctx.gateway.start_charger(charger.charger_id)
        else:
            await ctx.gateway.stop_charger(charger.charger_id)
    return f"{'started' if start else 'stopped'} {len(group.chargers)} charger(s)"


async def command(
    ctx: RunContext,
    scenario: Scenario,
    step: Step,
    slug: str,
    event: Mapping[str, Any],
) -> str:
    args = step.args
    group = ctx.group(args.get("chargers"))
    body = ctx.substitute(dict(event))
    try:
        accepted = await ctx.gateway.command(
            slug, group.location_id, [c.charger_id for c in group.chargers], body
        )
    except GatewayError as exc:
        raise StepError(str(exc)) from exc
    if accepted["failed"]:
        first = accepted["failed"][0]
        raise StepError(f"{slug} refused for {first['identity']}: {first['error']['message']}")
    ids = [result["command"]["id"] for result in accepted["results"]]
    if not args.get("wait", True):
        return f"{slug} queued for {len(ids)} charger(s)"
    expect = str(args.get("expect", "succeeded"))
    within = float(args.get("within", scenario.default_within))
    records = await asyncio.gather(*(_finished(ctx, command_id, within) for command_id in ids))
    for record in records:
        status = record["status"]
        if expect != "any" and status != expect:
            error = record.get("error") or {}
            why = f": {error.get('code')}: {error.get('message')}" if error else ""
            raise StepFailed(
                f"command {slug} on {record['identity']} ended {status}, expected {expect}{why}"
                f" (result {record.get('result')!r})"
            )
    fields = ctx.substitute(args.get("fields") or {})
    for record in records:
        problems = mismatches(record.get("result"), fields)
        if problems:
            raise StepFailed(
                f"command {slug} on {record['identity']}: result " + "; ".join(problems)
            )
    capture_values(ctx, args.get("capture") or {}, records[0].get("result"), f"{slug}'s result")
    return f"{slug}: " + ", ".join(f"{r['identity']} {r['status']}" for r in records)


async def _finished(ctx: RunContext, command_id: str, within: float) -> dict[str, Any]:
    last: dict[str, Any] = {}

    async def attempt() -> dict[str, Any] | None:
        nonlocal last
        last = await ctx.gateway.command_record(command_id)
        return last if last["status"] in FINAL_COMMAND_STATES else None

    record = await ctx.poll(within, attempt)
    if record is None:
        raise StepFailed(
            f"command {last.get('event_type')} on {last.get('identity')} still "
            f"{last.get('status')} after {within:g} s"
        )
    return record


def capture_values(ctx: RunContext, capture: Mapping[str, str], payload: Any, what: str) -> None:
    for variable, path in capture.items():
        value = get_path(payload, path)
        if value is MISSING:
            raise StepFailed(f"cannot capture {variable}: {what} has no {path}")
        ctx.variables[variable] = value


async def advance_time(ctx: RunContext, step: Step) -> str:
    seconds = float(step.args["seconds"])
    await asyncio.sleep(ctx.real_seconds(seconds))
    return f"{seconds:g} simulated seconds passed ({ctx.real_seconds(seconds):.2f} s real)"


async def wait_state(ctx: RunContext, scenario: Scenario, step: Step) -> str:
    args = step.args
    group = ctx.group(args.get("chargers"))
    within = float(args.get("within", scenario.default_within))
    wanted = {k: args[k] for k in ("connection", "registration", "security_profile") if k in args}
    connector = args.get("connector")
    status = args.get("status")
    seen: dict[str, str] = {}

    async def reached(charger: ChargerRef) -> bool:
        state = await ctx.gateway.charger(charger.charger_id)
        observed = {k: state.get(k) for k in wanted}
        ok = observed == wanted
        error = state.get("last_error")
        if status is not None:
            if connector is None:
                current = state.get("station_status")
            else:
                by_id = {c["connector_id"]: c for c in state.get("connectors", [])}
                current = (by_id.get(connector) or {}).get("status")
            observed["status"] = current
            ok = ok and current == status
        text = ", ".join(f"{k}={v}" for k, v in observed.items())
        seen[charger.identity] = text + (f"; last error: {error}" if error and not ok else "")
        return ok

    async def attempt() -> bool | None:
        results = [await reached(charger) for charger in group.chargers]
        return True if all(results) else None

    if await ctx.poll(within, attempt) is None:
        wanted_text = ", ".join(
            [f"{k}={v}" for k, v in wanted.items()]
            + ([f"status={status}"] if status is not None else [])
        )
        late = [f"{identity} ({text})" for identity, text in seen.items() if text != wanted_text]
        raise StepFailed(f"not {wanted_text} within {within:g} s: " + "; ".join(late or list(seen)))
    return f"{len(group.chargers)} charger(s) reached the state"
