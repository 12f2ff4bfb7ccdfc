"""How scenarios read findings (voltlab.scenarios.findings_source), against the contract of
`GET /ocpp/chargers/{id}/findings` (docs/api.md, findings): every page, each finding kept with
its charger; a server without the route makes the check `skipped`, never passed."""

from __future__ import annotations

import httpx
import pytest

from voltlab.scenarios.context import ChargerRef, Group, RunContext, StepFailed, Target
from voltlab.scenarios.expectations import Skipped, expect_no_finding
from voltlab.scenarios.findings_source import read_findings
from voltlab.scenarios.format import Step
from voltlab.scenarios.gateway import Gateway


def finding(ident: str, rule: str, severity: str = "error", at: str = "2026-01-01T00:00:00Z"):
    return {"id": ident, "rule": rule, "severity": severity, "title": f"{rule} title",
            "detail": "expected x, got y", "spec_ref": "OCPP-J 1.6 §4.2.2", "at": at,
            "evidence": []}  # fmt: skip


def server(pages: dict[str, list[dict]]) -> Gateway:
    """Findings of charger `dep-1` served two per page; `dep-2` has none."""
    requests: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        path = request.url.path
        charger = path.split("/")[3]
        if charger not in pages:
            return httpx.Response(404, json={"detail": "Not Found"})
        start = int(request.url.params.get("cursor") or 0)
        items = pages[charger][start : start + 2]
        more = start + 2 < len(pages[charger])
        return httpx.Response(
            200, json={"findings": items, "next_cursor": str(start + 2) if more else None}
        )

    gateway = Gateway(httpx.AsyncClient(transport=httpx.MockTransport(handle), base_url="http://x"))
    gateway.requests = requests  # type: ignore[attr-defined]
    return gateway


async def test_every_page_of_every_charger() -> None:
    found = [finding(f"f{i}", "rpc-invalid-result", at=f"2026-01-01T00:00:0{i}Z") for i in range(5)]
    gateway = server({"dep-1": found[:3], "dep-2": found[3:]})
    read = await read_findings(gateway, ["dep-1", "dep-2"])
    assert read.available
    assert [(f["id"], f["charger_id"]) for f in read.findings] == [
        ("f0", "dep-1"), ("f1", "dep-1"), ("f2", "dep-1"), ("f3", "dep-2"), ("f4", "dep-2"),
    ]  # fmt: skip
    paths = [(r.url.path, r.url.params.get("cursor")) for r in gateway.requests]  # type: ignore[attr-defined]
    assert paths == [
        ("/ocpp/chargers/dep-1/findings", None),
        ("/ocpp/chargers/dep-1/findings", "2"),
        ("/ocpp/chargers/dep-2/findings", None),
    ]


async def test_a_server_without_findings() -> None:
    read = await read_findings(server({}), ["dep-1"])
    assert not read.available and read.findings == []


def context(gateway: Gateway) -> RunContext:
    ctx = RunContext(gateway, Target(csms_url="ws://x/ocpp", ocpp_version="ocpp1.6"), "run-1", 60)
    ctx.groups["station"] = Group("loc-1", [ChargerRef("dep-1", "CP-1")])
    return ctx


async def test_expect_no_finding() -> None:
    gateway = server({"dep-1": [finding("f1", "csms-boot-interval", "warning")]})
    step = Step(0, "expect_no_finding", "no errors", {"severity": "error"})
    assert await expect_no_finding(context(gateway), step) == (
        "no finding of any rule with severity error"
    )
    step = Step(0, "expect_no_finding", "no boot interval", {"rule": "csms-boot-interval"})
    with pytest.raises(StepFailed) as failed:
        await expect_no_finding(context(gateway), step)
    assert str(failed.value) == (
        "1 finding(s) of rule csms-boot-interval: csms-boot-interval title "
        "(expected x, got y; OCPP-J 1.6 §4.2.2)"
    )
    # findings the target had before the run are not the run's
    ctx = context(gateway)
    ctx.earlier_findings = {"f1"}
    assert "no finding" in await expect_no_finding(ctx, step)
    with pytest.raises(Skipped):
        await expect_no_finding(context(server({})), step)
