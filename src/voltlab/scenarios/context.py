"""What a run's steps share: the Gateway, the chargers each `as` name stands for, the frames
fetched so far, the marks where steps began, captured variables, and the run's notion of time
(scenario seconds are simulated seconds; waits last `seconds / time_scale` real seconds, never
less than `min_wait` so a loaded machine does not fail a scenario a fast one passes)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from voltlab.clock import monotonic
from voltlab.scenarios.gateway import Frame, Gateway

T = TypeVar("T")

POLL_SECONDS = 0.1  # real seconds between two looks at the Gateway while waiting


class StepFailed(Exception):
    """The system under test did not do what the step expects (verdict `failed`)."""


class StepError(Exception):
    """The scenario or the lab could not carry out the step (verdict `error`)."""


@dataclass(frozen=True)
class Target:
    """A CSMS (`csms_url`, `ocpp_version`) or a virtual CPO an eMSP registered with
    (`cpo_id`)."""

    csms_url: str | None = None
    ocpp_version: str | None = None
    cpo_id: str | None = None
    keep: bool = False  # keep the chargers after the run (default: delete them)


@dataclass(frozen=True)
class ChargerRef:
    charger_id: str
    identity: str


@dataclass
class Group:
    location_id: str
    chargers: list[ChargerRef]


@dataclass
class RunContext:
    gateway: Gateway
    target: Target
    run_id: str
    time_scale: float
    min_wait: float = 5.0
    groups: dict[str, Group] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, list[Frame]] = field(default_factory=dict)  # charger id -> oldest first
    marks: dict[str, dict[str, int]] = field(default_factory=dict)  # step name -> frame ids
    # Findings the target's CPO held before the run (an eMSP run's CPO is not the run's own).
    earlier_findings: set[str] = field(default_factory=set)
    current_step: str = ""
    # The CPO `create_cpo` made (cpo_id, token_a, ocpi_peer_url, status_url); deleted after
    # the run unless the target says keep.
    created_cpo: dict[str, Any] | None = None

    # -- chargers -------------------------------------------------------------------------------

    def group(self, ref: str | None) -> Group:
        name = ref or "station"
        if name not in self.groups:
            known = ", ".join(sorted(self.groups)) or "none yet"
            raise StepError(f"no chargers named {name!r} (create_chargers as: ...; known: {known})")
        return self.groups[name]

    def all_charger_ids(self) -> list[str]:
        return [c.charger_id for group in self.groups.values() for c in group.chargers]

    def cpo_id(self) -> str | None:
        """The run's CPO: the target's, or the one `create_cpo` made."""
        if self.target.cpo_id is not None:
            return self.target.cpo_id
        return None if self.created_cpo is None else str(self.created_cpo["cpo_id"])

    def cpo_ids(self) -> list[str]:
        cpo_id = self.cpo_id()
        return [cpo_id] if cpo_id else []

    # -- time -----------------------------------------------------------------------------------

    def real_seconds(self, simulated: float) -> float:
        return simulated / self.time_scale

    def wait_seconds(self, simulated: float) -> float:
        return max(self.min_wait, self.real_seconds(simulated))

    async def poll(self, simulated: float, attempt: Callable[[], Awaitable[T | None]]) -> T | None:
        """Call `attempt` until it returns something other than None or the wait is over (then
        one last attempt); None when it never did."""
        deadline = monotonic() + self.wait_seconds(simulated)
        while True:
            outcome = await attempt()
            if outcome is not None:
                return outcome
            if monotonic() >= deadline:
                return await attempt()
            await asyncio.sleep(POLL_SECONDS)

    # -- frames ---------------------------------------------------------------------------------

    async def refresh(self, charger_id: str) -> list[Frame]:
        known = self.frames.setdefault(charger_id, [])
        after = known[-1].id if known else 0
        known.extend(await self.gateway.frames(charger_id, after))
        return known

    async def mark(self, step_name: str) -> None:
        """Remember, for every charger, the last frame before this step began."""
        self.current_step = step_name
        marks = {}
        for charger_id in self.all_charger_ids():
            frames = await self.refresh(charger_id)
            marks[charger_id] = frames[-1].id if frames else 0
        self.marks[step_name] = marks

    def frames_since(self, charger_id: str, since: str | None) -> list[Frame]:
        frames = self.frames.get(charger_id, [])
        if since is None or since == "run":
            return frames
        step = self.current_step if since == "step" else since
        if step not in self.marks:
            raise StepError(f"since: no earlier step named {since!r}")
        after = self.marks[step].get(charger_id, 0)
        return [frame for frame in frames if frame.id > after]

    # -- variables ------------------------------------------------------------------------------

    def substitute(self, value: Any) -> Any:
        """`${name}` in strings -> a captured variable (a whole-string reference keeps its
        type: `"${tx}"` -> 17)."""
        if isinstance(value, str):
            whole = _VARIABLE.fullmatch(value)
            if whole:
                return self._variable(whole.group(1))
            return _VARIABLE.sub(lambda m: str(self._variable(m.group(1))), value)
        if isinstance(value, Mapping):
            return {k: self.substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        return value

    def _variable(self, name: str) -> Any:
        if name not in self.variables:
            raise StepError(f"${{{name}}} was not captured by an earlier step")
        return self.variables[name]


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
