"""The dashboard's virtual CPOs in Chromium (issue 13, acceptance): create a CPO from the
template gallery, see Token A once (and that it opens the OCPI interface), watch the
provisioning timeline reach READY live, open the report and see its charts drawn from the
report's own series: empty at first, then, after an independent eMSP registered with Token A
and charged once (OCPI START_SESSION / STOP_SESSION, a CDR pushed), with the session's energy
and revenue."""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from peers.ocpi_emsp_peer import OcpiEmspPeer
from web.browser_support import WebServer
from web.dashboard_steps import (
    LIVE_TIMEOUT_MS,
    assert_not_reloaded,
    chart_data,
    mark_document,
    sign_in,
    wait_for_chart,
)

EMSP_TOKEN = {
    "country_code": "NL",
    "party_id": "WEB",
    "uid": "WEB-TOKEN-1",
    "type": "RFID",
    "contract_id": "NL-WEB-C00000001-X",
    "issuer": "Web eMSP",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2026-01-01T00:00:00Z",
}


async def _emsp_session(peer_url: str, token_a: str) -> dict[str, Any]:
    """An independent eMSP (extrawest-ocpi, tests/peers) registers with Token A, starts a
    session on the CPO's first EVSE (OCPI START_SESSION), stops it once a Session PATCH says it
    charges, and waits for the CDR the CPO pushes. Returns the CDR."""
    async with OcpiEmspPeer(country_code="NL", party_id="WEB") as emsp:
        await emsp.register(peer_url, token_a)
        pages = await emsp.get("locations", follow=True)
        location = pages[0]["body"]["data"][0]
        body = {
            "token": EMSP_TOKEN,
            "location_id": location["id"],
            "evse_uid": location["evses"][0]["uid"],
        }
        start = await emsp.command("START_SESSION", body, command_id="web-start")
        assert start["body"]["data"]["result"] == "ACCEPTED", start
        result = await emsp.wait_for_command_result("web-start", timeout=20)
        assert result["body"]["result"] == "ACCEPTED", result
        put = await emsp.wait_for_received("/ocpi/emsp/2.2.1/sessions", "PUT", timeout=20)
        await emsp.wait_for(
            lambda e: (
                e.get("event") == "received"
                and e.get("method") == "PATCH"
                and "/sessions/" in e.get("path", "")
            ),
            timeout=20,
        )
        stop = await emsp.command(
            "STOP_SESSION", {"session_id": put["body"]["id"]}, command_id="web-stop"
        )
        assert stop["body"]["data"]["result"] == "ACCEPTED", stop
        cdr = await emsp.wait_for_received("/ocpi/emsp/2.2.1/cdrs", "POST", timeout=20)
        assert cdr["ocpi_status"] == 1000, cdr
        found: dict[str, Any] = cdr["body"]
        return found


def test_cpo_from_gallery_to_ready_and_report_charts(
    page: Page, voltlab_server: WebServer, screenshot: Callable[..., Path]
) -> None:
    sign_in(page, voltlab_server.admin_key, "admin")
    page.get_by_role("link", name="Virtual CPOs").click()
    gallery = page.get_by_role("region", name="Template gallery")
    expect(gallery.get_by_role("article")).not_to_have_count(0)
    # The gallery shows each template's caps as the API lists them.
    templates = page.request.get(
        "/ocpi/cpos/templates", headers={"Authorization": f"Bearer {voltlab_server.admin_key}"}
    ).json()
    urban = next(t for t in templates if t["slug"] == "small-urban-ac")
    card = gallery.get_by_role("article", name=f"Template {urban['title']}")
    expect(card).to_contain_text(
        f"Up to {urban['caps']['locations']} locations × "
        f"{urban['caps']['chargers_per_location']} chargers"
    )
    screenshot("cpo-gallery")

    card.get_by_role("button", name=f"Create a CPO from {urban['title']}").click()
    form = page.get_by_role("form", name=f"New CPO: {urban['title']}")
    # Above the template's cap: refused in the form, nothing sent.
    form.get_by_label("Locations", exact=True).fill(str(urban["caps"]["locations"] + 1))
    form.get_by_role("button", name="Create CPO").click()
    expect(form.get_by_role("alert")).to_contain_text(f"from 1 to {urban['caps']['locations']}")
    form.get_by_label("Party id").fill("WEB")
    form.get_by_label("Name prefix").fill("web")
    form.get_by_label("Locations", exact=True).fill("1")
    form.get_by_label("Chargers per location").fill("2")
    mark_document(page)
    form.get_by_role("button", name="Create CPO").click()

    # Token A, once, with a copy button; it opens the CPO's OCPI versions endpoint.
    token_field = page.get_by_label("Token A")
    expect(token_field).to_have_value(re.compile(r"^\S{20,}$"))
    expect(page.get_by_role("button", name="Copy Token A")).to_be_visible()
    token = token_field.input_value()
    peer_url = page.get_by_label("OCPI versions URL").input_value()
    # As an eMSP calls it (OCPI 2.2.1: the token Base64-encoded, request and correlation ids).
    versions = page.request.get(
        peer_url,
        headers={
            "Authorization": "Token " + base64.b64encode(token.encode()).decode(),
            "X-Request-ID": str(uuid.uuid4()),
            "X-Correlation-ID": str(uuid.uuid4()),
        },
    )
    assert versions.status == 200, versions.text()
    assert versions.json()["status_code"] == 1000
    expect(page.get_by_text("curl -X POST")).to_be_visible()
    screenshot("cpo-created")

    # The provisioning timeline follows the workflow live until READY.
    page.get_by_role("link", name=re.compile("Follow provisioning")).click()
    expect(page.get_by_test_id("cpo-status")).to_have_text("READY", timeout=LIVE_TIMEOUT_MS)
    timeline = page.get_by_role("list", name="Provisioning timeline")
    expect(timeline.get_by_role("listitem")).to_have_count(5)
    for step in timeline.get_by_role("listitem").all():
        expect(step.locator(".badge")).to_have_text("done")
    assert_not_reloaded(page)

    # The report's charts draw the report's own series (sessions, energy and revenue per time
    # bucket). A CPO without an eMSP has no session yet (its CSMS authorizes the eMSP's tokens
    # only): the charts are empty, not made up.
    cpo_id = page.get_by_role("heading", level=1).inner_text()
    admin = {"Authorization": f"Bearer {voltlab_server.admin_key}"}
    empty = page.request.get(f"/ocpi/cpos/{cpo_id}/report", headers=admin).json()
    assert empty["sessions"]["total"] == 0
    expect(page.get_by_test_id("sessions-total")).to_have_text("0")
    assert_report_charts(page, empty["series"]["points"])
    screenshot("cpo-report-empty")

    # An eMSP registers with Token A and charges once on one of the CPO's chargers (OCPI
    # START_SESSION / STOP_SESSION) until the CPO pushed its CDR. The eMSP's client is async:
    # it runs on a loop of its own thread, as the synchronous browser test waits.
    with ThreadPoolExecutor(1) as pool:
        cdr = pool.submit(asyncio.run, _emsp_session(peer_url, token)).result(timeout=90)
    assert cdr["total_energy"] > 0 and cdr["total_cost"]["incl_vat"] > 0

    # The report now has the session: reopen it (hash routes, no document reload).
    page.get_by_role("link", name="Virtual CPOs", exact=True).click()
    page.locator(f"tr[data-cpo='{cpo_id}']").get_by_role("link").first.click()
    report = page.request.get(f"/ocpi/cpos/{cpo_id}/report", headers=admin).json()
    assert report["sessions"]["total"] == 1 and report["cdrs"]["total"] == 1
    expect(page.get_by_test_id("sessions-total")).to_have_text("1", timeout=LIVE_TIMEOUT_MS)
    points = report["series"]["points"]
    assert_report_charts(page, points)
    assert any(p["energy_kwh"] > 0 for p in points)
    assert any(p["revenue_incl_vat"] > 0 for p in points)
    assert sum(p["sessions"] for p in points) == 1
    assert sum(p["energy_kwh"] for p in points) == pytest.approx(cdr["total_energy"], abs=0.001)
    assert_not_reloaded(page)
    screenshot("cpo-report")

    # Token A is not shown again: the gallery page no longer carries it.
    page.get_by_role("link", name="Virtual CPOs", exact=True).click()
    expect(page.get_by_label("Token A")).to_have_count(0)
    expect(page.locator(f"tr[data-cpo='{cpo_id}'] [data-field=status]")).to_have_text("READY")


def assert_report_charts(page: Page, points: list[dict[str, Any]]) -> None:
    """Each chart of the report draws exactly the report's series: x the buckets' starts, y the
    field it charts."""
    starts = [datetime.fromisoformat(p["start"].replace("Z", "+00:00")).timestamp() for p in points]
    for test_id, field in (
        ("sessions-chart", "sessions"),
        ("energy-chart", "energy_kwh"),
        ("revenue-chart", "revenue_incl_vat"),
    ):
        expect(page.get_by_test_id(test_id).locator("canvas")).to_have_count(1)
        wait_for_chart(page, test_id, f"d[0].length === {len(points)}")
        assert chart_data(page, test_id) == [starts, [p[field] for p in points]]
