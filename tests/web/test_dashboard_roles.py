"""The dashboard for a viewer key (issue 13: viewers see no buttons that would change anything),
in a narrow window too; and a scenario run started from the form, followed live to its verdict,
with its JUnit file downloaded."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from web.browser_support import ThreadedCsms, WebServer
from web.dashboard_steps import LIVE_TIMEOUT_MS, sign_in

# The only buttons a viewer may see: they read or navigate, none changes anything.
READ_ONLY_BUTTONS = {
    "Sign out",
    "Previous page",
    "Next page",
    "Show all frames",
    "Download JUnit",
    "Download report",
}


def button_names(page: Page) -> list[str]:
    """The accessible name of every button (a disclosure's <summary> is not one)."""
    return page.get_by_role("button").evaluate_all(
        "buttons => buttons.filter(b => b.tagName !== 'SUMMARY')"
        ".map(b => (b.getAttribute('aria-label') || b.innerText).trim())"
    )


def assert_read_only(page: Page, where: str) -> None:
    writes = sorted(
        name
        for name in button_names(page)
        if name not in READ_ONLY_BUTTONS and not name.startswith("Show chargers of ")
    )
    assert writes == [], f"{where}: a viewer sees buttons that change things: {writes}"
    expect(page.get_by_role("form", name="Command form")).to_have_count(0)


def test_viewer_sees_no_action_buttons(
    page: Page,
    voltlab_server: WebServer,
    csms: ThreadedCsms,
    screenshot: Callable[..., Path],
) -> None:
    admin = {"Authorization": f"Bearer {voltlab_server.admin_key}"}
    created = page.request.post(
        "/ocpp/locations",
        headers=admin,
        data={
            "name": "viewer depot",
            "csms_url": csms.url,
            "ocpp_version": "ocpp1.6",
            "chargers": 2,
            "model": "ac-22kw-2c",
            "identity_prefix": "CP-VIEW-",
        },
    )
    assert created.status == 201, created.text()
    charger_id = created.json()["chargers"][0]["charger_id"]

    sign_in(page, voltlab_server.viewer_key, "viewer")
    rows = page.locator("tr[data-charger]")
    expect(rows).to_have_count(2)
    expect(rows.first.locator("[data-field=connection]")).to_have_text(
        "connected", timeout=LIVE_TIMEOUT_MS
    )
    # What an admin sees on the same page, for contrast, is checked by the fleet test; here
    # there is no select box, no start/stop/delete, no "New location", no command panel.
    expect(page.get_by_role("checkbox")).to_have_count(0)
    assert_read_only(page, "fleet")
    screenshot("viewer-fleet")

    page.get_by_role("link", name="CP-VIEW-001").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("CP-VIEW-001")
    expect(page.get_by_role("region", name="Connector 1")).to_be_visible()
    assert page.url.endswith(f"#/chargers/{charger_id}")
    assert_read_only(page, "charger")
    screenshot("viewer-charger")

    page.get_by_role("link", name="Virtual CPOs").click()
    expect(
        page.get_by_role("region", name="Template gallery").get_by_role("article")
    ).not_to_have_count(0)
    assert_read_only(page, "cpos")

    page.get_by_role("link", name="Scenarios").click()
    expect(page.get_by_role("table", name="Runs")).to_be_visible()
    expect(page.get_by_role("form", name="Start a scenario run")).to_have_count(0)
    assert_read_only(page, "scenarios")

    # A narrow window (a phone): the fleet page fits its width, tables scroll in their box.
    page.set_viewport_size({"width": 390, "height": 800})
    page.get_by_role("link", name="Fleet").click()
    expect(page.locator("tr[data-charger]")).to_have_count(2)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 390px window"
    screenshot("viewer-fleet-narrow")


def test_scenario_run_from_the_form_to_junit(
    page: Page,
    voltlab_server: WebServer,
    csms: ThreadedCsms,
    screenshot: Callable[..., Path],
    tmp_path: Path,
) -> None:
    sign_in(page, voltlab_server.admin_key, "admin")
    page.get_by_role("link", name="Scenarios").click()
    form = page.get_by_role("form", name="Start a scenario run")
    form.get_by_label("Scenario").select_option("boot-storm")
    form.get_by_label("CSMS URL").fill(csms.url)
    form.get_by_label("OCPP version").select_option("ocpp1.6")
    form.get_by_label("Parameter stations").fill("3")
    screenshot("scenarios")
    form.get_by_role("button", name="Start run").click()

    # The run's page follows its steps live to the verdict.
    expect(page.get_by_role("heading", level=1)).to_have_text("boot-storm")
    expect(page.get_by_test_id("run-status")).to_have_text("finished", timeout=60_000)
    expect(page.get_by_test_id("verdict")).to_have_text("verdict: passed")
    steps = page.get_by_role("table", name="Steps").locator("tbody tr")
    expect(steps).not_to_have_count(0)
    for status in steps.locator(".badge").all_inner_texts():
        assert status == "passed"
    run_id = page.url.rsplit("/", 1)[1]
    screenshot("scenario-run")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download JUnit").click()
    download = download_info.value
    assert download.suggested_filename == f"{run_id}.junit.xml"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert suite is not None and suite.get("name") == "boot-storm"
    assert len(suite.findall("testcase")) == steps.count()
    assert suite.get("failures") in ("0", None) and suite.get("errors") in ("0", None)
