"""What the dashboard tests do in the browser more than once (a plain module: `conftest` names
clash across folders): sign in, read a chart's data, wait for a page-side condition."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

# Bounded waits for what the server does live (boots, sessions at time scale 100).
LIVE_TIMEOUT_MS = 20_000


def sign_in(page: Page, key: str, role: str) -> None:
    page.goto("/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_contain_text(role)


def mark_document(page: Page) -> None:
    """Tag the loaded document, so `assert_not_reloaded` can tell a live update from a reload."""
    page.evaluate("window.__voltlabDocument = 'loaded once'")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__voltlabDocument") == "loaded once"


def chart_data(page: Page, test_id: str) -> list[list[Any]]:
    """The arrays a uPlot chart draws (x first), read from the chart element."""
    data = page.evaluate(
        "(id) => { const el = document.querySelector(`[data-testid='${id}']`);"
        " return el && el.voltlabChart ? el.voltlabChart.data : null; }",
        test_id,
    )
    assert data is not None, f"no chart {test_id} on the page"
    return data


def wait_for_chart(page: Page, test_id: str, condition: str) -> None:
    """Wait (bounded) until `condition`, a JavaScript expression of `d` (the chart's data arrays,
    x first), is true."""
    page.wait_for_function(
        f"""() => {{ const el = document.querySelector("[data-testid='{test_id}']");
        if (!el || !el.voltlabChart) return false;
        const d = el.voltlabChart.data; return {condition}; }}""",
        timeout=LIVE_TIMEOUT_MS,
    )
