"""A 2.x station's network connection profiles (OCPP 2.0.1 B09/B10, A05): the connection data
the CSMS stored per configuration slot (SetNetworkProfile), the order the station tries them in
(OCPPCommCtrlr.NetworkConfigurationPriority), the slot it uses now and how many connection
attempts that slot has failed (against NetworkProfileConnectionAttempts).

Slot 1 is the connection the station was configured with until the CSMS sets slot 1 itself;
the CSMS URL of that configured connection is the driver's to know (an empty `csms_url`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONFIGURED_SLOT = 1
# The configuration slots a station has (OCPPCommCtrlr.NetworkConfigurationPriority's
# valuesList); SetNetworkProfile for another is refused.
SLOTS = tuple(range(1, 9))


@dataclass(frozen=True, slots=True)
class NetworkProfile:
    """Where and how securely to connect. `csms_url` empty: the configured CSMS URL."""

    csms_url: str
    security_profile: int
    # 2.1 NetworkConnectionProfileType may carry the Basic-auth password for this connection.
    basic_auth_password: str | None = None


class NetworkProfiles:
    __slots__ = ("slots", "priority", "active", "failed_attempts", "configured_profile")

    def __init__(self, configured_profile: int = 0) -> None:
        self.slots: dict[int, NetworkProfile] = {}
        self.priority: tuple[int, ...] = (CONFIGURED_SLOT,)
        self.active = CONFIGURED_SLOT
        self.failed_attempts = 0
        self.configured_profile = configured_profile

    def profile(self, slot: int) -> NetworkProfile | None:
        found = self.slots.get(slot)
        if found is None and slot == CONFIGURED_SLOT:
            return NetworkProfile("", self.configured_profile)
        return found

    def known(self, slot: int) -> bool:
        return self.profile(slot) is not None

    def next_slot(self) -> int:
        """The slot after the active one in the priority order (the first after the last)."""
        order = self.priority
        if self.active not in order:
            return order[0]
        return order[(order.index(self.active) + 1) % len(order)]

    def drop_below(self, security_profile: int) -> tuple[int, ...]:
        """Take the slots below `security_profile` out of the priority order (a profile is
        never lowered again once a connection confirmed it); returns those removed."""
        kept = tuple(
            slot
            for slot in self.priority
            if (found := self.profile(slot)) is not None
            and found.security_profile >= security_profile
        )
        removed = tuple(slot for slot in self.priority if slot not in kept)
        if kept:
            self.priority = kept
        return removed

    def snapshot(self) -> dict[str, Any] | None:
        if not self.slots and self.priority == (CONFIGURED_SLOT,) and self.active == 1:
            return None
        return {
            "slots": {
                str(slot): {
                    "csms_url": profile.csms_url,
                    "security_profile": profile.security_profile,
                    "basic_auth_password": profile.basic_auth_password,
                }
                for slot, profile in self.slots.items()
            },
            "priority": list(self.priority),
            "active": self.active,
        }

    def restore(self, body: dict[str, Any]) -> None:
        self.slots = {
            int(slot): NetworkProfile(
                str(item["csms_url"]),
                int(item["security_profile"]),
                item.get("basic_auth_password"),
            )
            for slot, item in body.get("slots", {}).items()
        }
        priority = tuple(int(slot) for slot in body.get("priority", [CONFIGURED_SLOT]))
        self.priority = tuple(slot for slot in priority if self.known(slot)) or (CONFIGURED_SLOT,)
        active = int(body.get("active", CONFIGURED_SLOT))
        self.active = active if self.known(active) else self.priority[0]
