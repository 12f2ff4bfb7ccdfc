"""Steps of eMSP scenarios: the system under test is an eMSP registered with a virtual CPO (the
run's `cpo_id`). What it did is read from the CPO (`GET /ocpi/cpos/{id}`: its OCPI peer state;
`GET /ocpi/cpos/{id}/report`: the OCPI traffic per direction, module and answer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from voltlab.scenarios.context import RunContext, StepError, StepFailed
from voltlab.scenarios.format import Scenario, Step
from voltlab.scenarios.gateway import GatewayError

DIRECTIONS = {"from_emsp": "in", "to_emsp": "out"}


def _cpo_id(ctx: RunContext) -> str:
    if ctx.target.cpo_id is None:
        raise StepError("this step needs an eMSP target (cpo_id)")
    return ctx.target.cpo_id


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
