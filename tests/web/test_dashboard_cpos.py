"""The dashboard's virtual CPOs in Chromium (issue 13, acceptance): create a CPO from the
template gallery, see Token A once (and that it opens the OCPI interface), watch the
provisioning timeline reach READY live, open the report and see its charts drawn from the
report's own series."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Page, expect

from web.browser_support import WebServer
from web.dashboard_steps import (
    LIVE_TIMEOUT_MS,
    assert_not_reloaded,
    chart_data,
    mark_document,
    sign_in,
)


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
    # only), so the series may be empty: the charts must then be empty too, not made up.
    cpo_id = page.get_by_role("heading", level=1).inner_text()
    admin = {"Authorization": f"Bearer {voltlab_server.admin_key}"}
    report = page.request.get(f"/ocpi/cpos/{cpo_id}/report", headers=admin).json()
    points = report["series"]["points"]
    expect(page.get_by_test_id("sessions-total")).to_have_text(str(report["sessions"]["total"]))
    starts = [datetime.fromisoformat(p["start"].replace("Z", "+00:00")).timestamp() for p in points]
    for test_id, field in (
        ("sessions-chart", "sessions"),
        ("energy-chart", "energy_kwh"),
        ("revenue-chart", "revenue_incl_vat"),
    ):
        expect(page.get_by_test_id(test_id).locator("canvas")).to_have_count(1)
        assert chart_data(page, test_id) == [starts, [p[field] for p in points]]
    assert_not_reloaded(page)
    screenshot("cpo-report")

    # Token A is not shown again: the gallery page no longer carries it.
    page.get_by_role("link", name="Virtual CPOs", exact=True).click()
    expect(page.get_by_label("Token A")).to_have_count(0)
    expect(page.locator(f"tr[data-cpo='{cpo_id}'] [data-field=status]")).to_have_text("READY")
