"""The dashboard in Chromium (issue 13, acceptance): sign in, create a location of 3 chargers
against the strict ocpp-rpc CSMS from the form, see them turn connected and Available without a
reload, run start-session from the command form, see the connector go Charging, the power chart
rise and StartTransaction / MeterValues arrive in the live frame log, stop it. Every request the
page makes goes to the server (the `page` fixture's host recorder fails the test otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from web.browser_support import HostRecorder, ThreadedCsms, WebServer
from web.dashboard_steps import (
    LIVE_TIMEOUT_MS,
    assert_not_reloaded,
    chart_data,
    mark_document,
    sign_in,
    wait_for_chart,
)

PREFIX = "CP-WEB-"


def charger_id_of(page: Page) -> str:
    """The charger id of the charger page shown (`#/chargers/{id}`)."""
    return page.url.rsplit("/", 1)[1]


def box_matches_chart(page: Page, min_points: int) -> dict[str, float]:
    """Wait (bounded) until the chart has `min_points` samples and connector 1's box shows the
    chart's last energy point (kWh with 3 decimals: within half a Wh); both read at once."""
    handle = page.wait_for_function(
        """(minPoints) => {
        const el = document.querySelector("[data-testid='power-chart']");
        const box = document.querySelector("section[data-connector='1'] [data-field=energy]");
        if (!el || !el.voltlabChart || !box) return false;
        const d = el.voltlabChart.data;
        const n = d[0].length;
        const text = box.textContent.trim();
        if (n < minPoints || !text.endsWith(' kWh')) return false;
        const boxKwh = parseFloat(text);
        const chartKwh = d[2][n - 1];
        return Math.abs(boxKwh - chartKwh) <= 0.0005 + 1e-9
          ? { points: n, box_kwh: boxKwh, chart_kwh: chartKwh } : false;
        }""",
        arg=min_points,
        timeout=LIVE_TIMEOUT_MS,
    )
    found: dict[str, float] = handle.json_value()
    return found


def test_fleet_location_session_chart_and_frame_log(
    page: Page,
    voltlab_server: WebServer,
    csms: ThreadedCsms,
    host_recorder: HostRecorder,
    screenshot: Callable[..., Path],
) -> None:
    sign_in(page, voltlab_server.admin_key, "admin")
    screenshot("signed-in")
    mark_document(page)

    # Create a location of 3 chargers against the strict CSMS, from the form.
    page.get_by_role("button", name="New location").click()
    form = page.get_by_role("form", name="New location")
    form.get_by_label("Name", exact=True).fill("web depot")
    form.get_by_label("CSMS URL").fill(csms.url)
    form.get_by_label("OCPP version").select_option("ocpp1.6")
    form.get_by_label("Number of chargers").fill("3")
    form.get_by_label("Model").select_option("ac-22kw-2c")
    form.get_by_label("Identity prefix").fill(PREFIX)
    form.get_by_role("button", name="Create location").click()
    expect(page.get_by_role("status").filter(has_text="web depot")).to_contain_text("3 charger(s)")

    # The three rows turn connected / Accepted / Available as the stations boot: live events,
    # no reload (the document keeps its mark).
    identities = [f"{PREFIX}{n:03d}" for n in (1, 2, 3)]
    for identity in identities:
        row = page.locator(f"tr[data-charger='{identity}']")
        expect(row.locator("[data-field=connection]")).to_have_text(
            "connected", timeout=LIVE_TIMEOUT_MS
        )
        expect(row.locator("[data-field=registration]")).to_have_text("Accepted")
        for connector in (1, 2):
            expect(row.locator(f"[data-connector='{connector}']")).to_have_text(
                f"{connector} Available", timeout=LIVE_TIMEOUT_MS
            )
    assert_not_reloaded(page)
    # The counts by state come from the fleet summary and follow the boots.
    expect(page.locator("[data-count-of='by_connection:connected']")).to_have_text(
        "connected 3", timeout=LIVE_TIMEOUT_MS
    )
    screenshot("fleet")

    # The search narrows the table (server-side filter).
    page.get_by_label("Search identity").fill("002")
    expect(page.locator("tr[data-charger]")).to_have_count(1)
    expect(page.locator("tr[data-charger]")).to_have_attribute("data-charger", f"{PREFIX}002")
    page.get_by_label("Search identity").fill("")
    expect(page.locator("tr[data-charger]")).to_have_count(3)

    # The charger page: start a session from the command form.
    page.get_by_role("link", name=identities[0]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(identities[0])
    connector = page.get_by_role("region", name="Connector 1")
    expect(connector.locator("[data-field=status]")).to_have_text("Available")
    panel = page.get_by_role("form", name="Command form")

    # The configuration table is the station's (GET .../configuration), not model defaults:
    # a key changed by the `configuration` command shows its new value live.
    configuration = page.get_by_role("table", name="Configuration")
    light = configuration.locator("tr[data-key='LightIntensity'] [data-field=value]")
    expect(light).to_have_text("100")
    expect(
        configuration.locator("tr[data-key='AuthorizationKey'] [data-field=value]")
    ).to_have_text("(write-only)")
    page.get_by_label("Search configuration").fill("lightint")
    expect(configuration.locator("tbody tr")).to_have_count(1)
    panel.get_by_label("Command").select_option("configuration")
    panel.get_by_label("Key", exact=True).fill("LightIntensity")
    panel.get_by_label("Value", exact=True).fill("42")
    panel.get_by_role("button", name="Send configuration").click()
    expect(light).to_have_text("42", timeout=LIVE_TIMEOUT_MS)
    # The value the CSMS reads is the one the page shows.
    got = csms.run(csms.peer.call(identities[0], "GetConfiguration", {"key": ["LightIntensity"]}))
    assert got["configurationKey"][0]["value"] == "42"
    screenshot("charger-configuration")
    page.get_by_label("Search configuration").fill("")
    panel.get_by_label("Command").select_option("start-session")
    # The form checks the API's own schema before sending: an empty id tag is refused here.
    panel.get_by_label("Connector Id").fill("0")
    panel.get_by_role("button", name="Send start-session").click()
    expect(panel.get_by_text("required")).to_be_visible()
    expect(panel.get_by_text("at least 1")).to_be_visible()
    panel.get_by_label("Id Tag").fill("EV-WEB-0001")
    panel.get_by_label("Connector Id").fill("1")
    panel.get_by_label("Duration Seconds").fill("3600")
    panel.get_by_role("button", name="Send start-session").click()
    status_table = page.get_by_role("table", name="Command status")
    expect(status_table.locator("[data-field=status]").first).to_have_text(
        "succeeded", timeout=LIVE_TIMEOUT_MS
    )

    # The connector goes Charging, the chart's power rises and energy grows, live.
    expect(connector.locator("[data-field=status]")).to_have_text(
        "Charging", timeout=LIVE_TIMEOUT_MS
    )
    wait_for_chart(
        page,
        "power-chart",
        "d[0].length >= 3 && Math.max(...d[1]) > 0 && d[2][d[2].length - 1] > d[2][0]",
    )
    times, power_kw, energy_kwh = chart_data(page, "power-chart")
    assert times == sorted(times)
    assert 0 < max(power_kw) <= 22.0  # the connector's rating, ac-22kw-2c
    assert energy_kwh[-1] > energy_kwh[0]

    # The connector box follows every sample and says what the chart says: the session's
    # energy (register minus the transaction's meter start), in kWh, as its last point.
    first = box_matches_chart(page, min_points=len(times))
    later = box_matches_chart(page, min_points=first["points"] + 3)
    assert later["box_kwh"] > first["box_kwh"] > 0
    # Session energy, not the register: the chart's line starts near zero, at the meter start.
    series = page.request.get(
        f"/ocpp/chargers/{charger_id_of(page)}/meter-series",
        headers={"Authorization": f"Bearer {voltlab_server.admin_key}"},
    ).json()
    assert series["meter_start_wh"] is not None
    assert [p["session_energy_wh"] for p in series["points"][:3]] == [
        round(p["energy_wh"] - series["meter_start_wh"], 3) for p in series["points"][:3]
    ]
    starts = csms.peer.calls(identities[0], "StartTransaction")
    assert series["meter_start_wh"] == starts[-1]["meterStart"]

    # StartTransaction and MeterValues arrive in the frame log as they go over the wire.
    frames = page.get_by_role("table", name="Frame log")
    expect(
        frames.locator("tr[data-action='StartTransaction'][data-direction='out']")
    ).not_to_have_count(0)
    expect(frames.locator("tr[data-action='MeterValues']").first).to_be_visible(
        timeout=LIVE_TIMEOUT_MS
    )
    # The frame the page shows is the one the CSMS received.
    started = csms.peer.calls(identities[0], "StartTransaction")
    assert started and started[-1]["idTag"] == "EV-WEB-0001"
    # Filter by action, then the pretty JSON of the frame.
    page.get_by_label("Filter by action").select_option("StartTransaction")
    expect(frames.locator("tbody tr")).not_to_have_count(0)
    for action in frames.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)"
    ):
        assert action == "StartTransaction"
    frames.locator("tr[data-direction='out'] summary").first.click()
    expect(frames.locator("tr[data-direction='out'] pre").first).to_contain_text(
        '"idTag": "EV-WEB-0001"'
    )
    page.get_by_label("Filter by action").select_option("")
    assert_not_reloaded(page)
    screenshot("charger-charging")

    # Stop it from the form: the transaction ends, the connector is free again.
    panel.get_by_label("Command").select_option("stop-session")
    panel.get_by_label("Connector Id").fill("1")
    panel.get_by_role("button", name="Send stop-session").click()
    expect(
        status_table.locator("tr").filter(has_text="stop_session").locator("[data-field=status]")
    ).to_have_text("succeeded", timeout=LIVE_TIMEOUT_MS)
    expect(connector.locator("[data-field=status]")).to_have_text(
        "Available", timeout=LIVE_TIMEOUT_MS
    )
    expect(
        frames.locator("tr[data-action='StopTransaction'][data-direction='out']")
    ).not_to_have_count(0, timeout=LIVE_TIMEOUT_MS)
    assert csms.peer.calls(identities[0], "StopTransaction")
    screenshot("charger-stopped")

    # Every request went to the server: the page, its assets, the API and the live channel.
    paths = {urlsplit(url).path for url in host_recorder.seen}
    assert "/" in paths and "/events" in paths
    assert any(path.endswith("/vendor/uplot/uPlot.esm.js") for path in paths)
    assert host_recorder.outside() == []
