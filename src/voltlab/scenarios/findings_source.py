"""Where scenarios read findings: the one function `read_findings`, kept alone in this module so
the findings of issue 12's first deliverable plug in here and nowhere else.

Findings (rule, severity, title, detail, spec_ref, at, evidence) are recorded per charger in the
`findings` table and served by `GET /ocpp/chargers/{id}/findings` (`{"findings": [...],
"next_cursor": ...}`, filterable by `rule` and `severity`), and per virtual CPO (findings about
an eMSP) by `GET /ocpi/cpos/{id}/findings`. A scenario's chargers are its own,
made by the run, so every finding of theirs was raised during the run (an eMSP run filters out
its CPO's earlier ones). A server without these routes (an older one behind `--server`) answers
404: the findings are then `available=False` and `expect_no_finding` is reported `skipped`,
never passed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from voltlab.scenarios.gateway import Gateway, GatewayError

FINDINGS_PAGE = 200


@dataclass(frozen=True)
class FindingsRead:
    available: bool
    findings: list[dict[str, Any]] = field(default_factory=list)


async def read_findings(
    gateway: Gateway, charger_ids: Sequence[str], cpo_ids: Sequence[str] = ()
) -> FindingsRead:
    """Every finding of these chargers (and virtual CPOs: findings about an eMSP), oldest
    first, each naming its `charger_id` or `cpo_id`."""
    collected: list[dict[str, Any]] = []
    paths = [("charger_id", i, f"/ocpp/chargers/{i}/findings") for i in charger_ids]
    paths += [("cpo_id", i, f"/ocpi/cpos/{i}/findings") for i in cpo_ids]
    for key, ident, path in paths:
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": FINDINGS_PAGE}
            if cursor is not None:
                params["cursor"] = cursor
            page = await gateway.get_optional(path, params)
            if page is None:
                # The route is missing (findings not on this server) or the object is gone.
                return FindingsRead(available=False)
            if not isinstance(page, dict) or not isinstance(page.get("findings"), list):
                raise GatewayError(f"unexpected findings page from {path}: {page!r}")
            collected.extend({key: ident, **item} for item in page["findings"])
            cursor = page.get("next_cursor")
            if not cursor:
                break
    collected.sort(key=lambda item: str(item.get("at") or ""))
    return FindingsRead(available=True, findings=collected)
