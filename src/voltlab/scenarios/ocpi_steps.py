"""Steps of eMSP scenarios: the system under test is an eMSP registered with a virtual CPO (the
run's `cpo_id`). What it did is read from the CPO (`GET /ocpi/cpos/{id}`: its OCPI peer state;
`GET /ocpi/cpos/{id}/report`: the OCPI traffic per direction, module and answer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from voltlab.scenarios.context import RunContext, StepError, StepFailed
from voltlab.scenarios.format import Scenario, Step
from voltlab.scenarios.gateway import GatewayError

DIRECTIONS = {"from_emsp": "in", "to_emsp": "out"}


def _cpo_id(ctx: RunContext) -> str:
    cpo_id = ctx.cpo_id()
    if cpo_id is None:
        raise StepError("this step needs a CPO: an eMSP target (cpo_id) or a create_cpo step")
    return cpo_id


# What create_cpo asks for unless the step says otherwise (POST /ocpi/cpos).
CPO_DEFAULTS: dict[str, Any] = {"template": "small-urban-ac", "country_code": "NL"}
CPO_FIELDS = ("template", "country_code", "party_id", "ocpi_version", "seed", "overrides")
# The variables create_cpo keeps for later steps.
CAPTURED = ("cpo_id", "token_a", "versions_url")


async def create_cpo(ctx: RunContext, scenario: Scenario, step: Step) -> str:
    """A virtual CPO for the eMSP under test (`POST /ocpi/cpos`), ready within `within`; its id,
    Token A and versions URL kept as ${cpo_id}, ${token_a}, ${versions_url}. A run whose
    target names a cpo_id uses that CPO instead (Token A is then not known: GET never shows
    it)."""
    args = step.args
    within = float(args.get("within", scenario.default_within))
    if ctx.created_cpo is not None:
        raise StepError("this run created its CPO already")
    if ctx.target.cpo_id is not None:
        cpo = await _ready(ctx, ctx.target.cpo_id, within)
        ctx.variables.update(cpo_id=cpo["cpo_id"], versions_url=cpo["ocpi_peer_url"])
        return f"the target's CPO {cpo['cpo_id']} is READY (not created)"
    body: dict[str, Any] = {
        **CPO_DEFAULTS,
        "party_id": "VLS",
        "name_prefix": f"scn-{ctx.run_id[-8:]}",
        "ttl_seconds": 3600,
    }
    body.update({k: ctx.substitute(args[k]) for k in CPO_FIELDS if k in args})
    try:
        created = await ctx.gateway.create_cpo(body)
    except GatewayError as exc:
        raise StepError(str(exc)) from exc
    ctx.created_cpo = {
        "cpo_id": created["cpo_id"],
        "token_a": created["token_a"],
        "ocpi_peer_url": created["ocpi_peer_url"],
        "status_url": created["status_url"],
    }
    ctx.variables.update(
        cpo_id=created["cpo_id"],
        token_a=created["token_a"],
        versions_url=created["ocpi_peer_url"],
    )
    await _ready(ctx, created["cpo_id"], within)
    party = created.get("party") or {}
    return (
        f"CPO {created['cpo_id']} ({body['template']}, {party.get('country_code')}*"
        f"{party.get('party_id')}) READY; versions at {created['ocpi_peer_url']}"
    )


async def _ready(ctx: RunContext, cpo_id: str, within: float) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def attempt() -> dict[str, Any] | None:
        try:
            cpo = await ctx.gateway.cpo(cpo_id)
        except GatewayError as exc:
            raise StepError(str(exc)) from exc
        seen.update(cpo)
        if cpo.get("status") in ("FAILED", "DESTROYING", "DESTROYED"):
            raise StepError(f"CPO {cpo_id} is {cpo.get('status')}: {cpo.get('error')}")
        return cpo if cpo.get("status") == "READY" else None

    cpo = await ctx.poll(within, attempt)
    if cpo is None:
        # Provisioning is the lab's work: not being ready in time is not the eMSP's fault.
        raise StepError(f"CPO {cpo_id} not READY within {within:g} s: {seen.get('status')}")
    return cpo


async def wait_cpo(ctx: RunContext, scenario: Scenario, step: Step) -> str:
    cpo_id = _cpo_id(ctx)
    status = str(step.args.get("status", "READY"))
    registered = step.args.get("registered")
    within = float(step.args.get("within", scenario.default_within))
    seen: dict[str, object] = {}

    async def attempt() -> bool | None:
        try:
            cpo = await ctx.gateway.cpo(cpo_id)
        except GatewayError as exc:
            raise StepError(str(exc)) from exc
        peer = cpo.get("ocpi_peer") or {}
        seen.update(status=cpo.get("status"), registered=peer.get("registered"))
        if cpo.get("status") in ("FAILED", "DESTROYING", "DESTROYED"):
            raise StepError(f"CPO {cpo_id} is {cpo.get('status')}: {cpo.get('error')}")
        ok = cpo.get("status") == status
        return True if ok and (registered is None or peer.get("registered") == registered) else None

    if await ctx.poll(within, attempt) is None:
        if registered and seen.get("status") == status:
            raise StepFailed(
                f"the eMSP did not register with CPO {cpo_id} (credentials handshake with "
                f"Token A) within {within:g} s"
            )
        raise StepFailed(f"CPO {cpo_id} not {status} within {within:g} s: {seen}")
    return f"CPO {cpo_id} {status}" + (", eMSP registered" if registered else "")


def _good(key: str, accept: Sequence[str] | None) -> bool:
    if accept:
        return key in accept
    http, _, ocpi = key.partition("/")
    return http.startswith("2") and ocpi == "1000"


def _describe(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{key} x{n}" for key, n in sorted(counts.items())) or "none"


async def expect_ocpi(ctx: RunContext, scenario: Scenario, step: Step) -> str:
    """At least `at_least` exchanges of `module` in `direction` with a good answer, and none with
    a bad one (an answer outside `accept`; `0/0`: the eMSP did not answer at all)."""
    cpo_id = _cpo_id(ctx)
    args = step.args
    direction = DIRECTIONS[str(args["direction"])]
    module = str(args["module"])
    wanted = int(args.get("at_least", 1))
    accept = args.get("accept")
    within = float(args.get("within", scenario.default_within))
    counts: dict[str, int] = {}
    who = "the eMSP's requests to" if direction == "in" else "the CPO's calls to the eMSP on"

    async def attempt() -> bool | None:
        try:
            report = await ctx.gateway.cpo_report(cpo_id)
        except GatewayError as exc:
            raise StepError(str(exc)) from exc
        counts.clear()
        counts.update((report.get("traffic") or {}).get(direction, {}).get(module, {}))
        bad = {key: n for key, n in counts.items() if not _good(key, accept)}
        if bad and direction == "out":
            raise StepFailed(
                f"{who} {module}: answered {_describe(bad)} (HTTP/OCPI status; 0 = no answer), "
                f"expected {' or '.join(accept) if accept else '2xx/1000'}"
            )
        good = sum(n for key, n in counts.items() if _good(key, accept))
        return True if good >= wanted else None

    if await ctx.poll(within, attempt) is None:
        made = "made no" if not counts else f"made only {_describe(counts)}"
        raise StepFailed(
            f"{who} {module}: {made} within {within:g} s, expected at least {wanted} "
            f"answered {' or '.join(accept) if accept else '2xx/1000'}"
        )
    return f"{module} {args['direction']}: {_describe(counts)}"
