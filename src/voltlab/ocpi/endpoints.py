"""The modules our CPO interface offers, as the versions and version-details endpoints list them."""

from __future__ import annotations

from typing import Any

from voltlab.ocpi.core import OcpiCore

# (module identifier, our role as a CPO). Credentials is symmetric; spec examples label it
# SENDER, some peers look for RECEIVER, so both are listed (same URL).
CPO_ENDPOINTS_221: tuple[tuple[str, str], ...] = (
    ("credentials", "SENDER"),
    ("credentials", "RECEIVER"),
    ("locations", "SENDER"),
    ("tariffs", "SENDER"),
    ("sessions", "SENDER"),
    ("cdrs", "SENDER"),
    ("tokens", "RECEIVER"),
    ("commands", "RECEIVER"),
    ("chargingprofiles", "RECEIVER"),
)
CPO_MODULES_211: tuple[str, ...] = (
    "credentials",
    "locations",
    "tariffs",
    "sessions",
    "cdrs",
    "tokens",
    "commands",
)


def versions_list(core: OcpiCore, versions: list[str]) -> list[dict[str, str]]:
    return [{"version": version, "url": core.details_url(version)} for version in versions]


def version_details(core: OcpiCore, version: str) -> dict[str, Any]:
    if version == "2.2.1":
        endpoints: list[dict[str, str]] = [
            {"identifier": module, "role": role, "url": core.module_url(version, module)}
            for module, role in CPO_ENDPOINTS_221
        ]
    else:
        endpoints = [
            {"identifier": module, "url": core.module_url(version, module)}
            for module in CPO_MODULES_211
        ]
    return {"version": version, "endpoints": endpoints}
