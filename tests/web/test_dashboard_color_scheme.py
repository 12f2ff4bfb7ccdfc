"""Dark and light follow the system setting (issue 13): the same page under each
`prefers-color-scheme` draws a dark or a light background, with readable text on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page

from web.browser_support import WebServer
from web.dashboard_steps import sign_in


def luminance(css_color: str) -> float:
    """Relative luminance (WCAG 2) of an `rgb(...)`/`rgba(...)` colour as getComputedStyle
    gives it."""
    parts = css_color[css_color.index("(") + 1 : css_color.index(")")].split(",")
    channels = []
    for value in parts[:3]:
        c = float(value) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def settle(page: Page) -> None:
    """Wait for the CSS transitions a scheme change starts (Pico fades colours over 0.2 s)."""
    page.evaluate("() => Promise.all(document.getAnimations().map((a) => a.finished))")


def colors(page: Page) -> tuple[float, float]:
    # Pico paints the page's background on the root element; the body is transparent.
    background, text = page.evaluate(
        "() => [getComputedStyle(document.documentElement).backgroundColor,"
        " getComputedStyle(document.body).color]"
    )
    return luminance(background), luminance(text)


def test_the_dashboard_follows_the_system_color_scheme(
    page: Page, voltlab_server: WebServer, screenshot: Callable[..., Path]
) -> None:
    page.emulate_media(color_scheme="light")
    sign_in(page, voltlab_server.admin_key, "admin")
    settle(page)
    light_background, light_text = colors(page)
    screenshot("light")

    page.emulate_media(color_scheme="dark")  # the system setting changes; no reload
    settle(page)
    dark_background, dark_text = colors(page)
    screenshot("dark")

    assert light_background > 0.8, "light scheme: the background is not light"
    assert dark_background < 0.1, "dark scheme: the background is not dark"
    # Text stays readable in both: WCAG contrast ratio of at least 4.5.
    for background, text in ((light_background, light_text), (dark_background, dark_text)):
        high, low = max(background, text), min(background, text)
        assert (high + 0.05) / (low + 0.05) >= 4.5
