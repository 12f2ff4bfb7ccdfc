"""An immutable snapshot of a CPO's OCPI link (our party, registration, the eMSP's endpoints).

Handlers and push jobs work from this snapshot, never from ORM rows, so nothing crosses thread
or session boundaries with lazy state attached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voltlab.ocpi.envelope import format_datetime
from voltlab.store.ocpi_models import OcpiCredentials

# Which role of the eMSP's endpoint we call per module (2.2.1 details carry a role per endpoint):
# the CPO pushes to the eMSP's receivers and asks the eMSP's tokens sender for authorization.
PEER_ROLE_FOR_MODULE: dict[str, str] = {
    "locations": "RECEIVER",
    "tariffs": "RECEIVER",
    "sessions": "RECEIVER",
    "cdrs": "RECEIVER",
    "tokens": "SENDER",
    "commands": "SENDER",
    "credentials": "RECEIVER",
}


@dataclass(frozen=True)
class CpoLink:
    cpo_id: str
    country_code: str
    party_id: str
    business_name: str
    version: str
    registered: bool
    revoked: bool
    token_b: str | None
    token_b_base64: bool
    peer_versions_url: str | None
    peer_version: str | None
    peer_endpoints: tuple[dict[str, Any], ...]
    peer_roles: tuple[dict[str, Any], ...]
    registered_at: datetime | None

    @classmethod
    def from_row(cls, row: OcpiCredentials) -> CpoLink:
        return cls(
            cpo_id=row.cpo_id,
            country_code=row.country_code,
            party_id=row.party_id,
            business_name=row.business_name,
            version=row.version,
            registered=row.token_c_hash is not None,
            revoked=bool(row.revoked),
            token_b=row.token_b,
            token_b_base64=bool(row.token_b_base64),
            peer_versions_url=row.peer_versions_url,
            peer_version=row.peer_version,
            peer_endpoints=tuple(row.peer_endpoints or ()),
            peer_roles=tuple(row.peer_roles or ()),
            registered_at=row.registered_at,
        )

    @property
    def can_push(self) -> bool:
        return self.registered and not self.revoked and bool(self.token_b)

    def peer_party(self) -> tuple[str, str] | None:
        """(country_code, party_id) of the eMSP: its EMSP role if it listed one, else the
        first role it gave."""
        if not self.peer_roles:
            return None
        chosen = next(
            (role for role in self.peer_roles if str(role.get("role", "")).upper() == "EMSP"),
            self.peer_roles[0],
        )
        country, party = chosen.get("country_code"), chosen.get("party_id")
        if isinstance(country, str) and isinstance(party, str):
            return country, party
        return None

    def endpoint(self, module: str) -> str | None:
        """The eMSP's URL for `module`, preferring the role we need to talk to."""
        wanted_role = PEER_ROLE_FOR_MODULE.get(module)
        fallback: str | None = None
        for entry in self.peer_endpoints:
            if entry.get("identifier") != module or not isinstance(entry.get("url"), str):
                continue
            role = entry.get("role")
            if role is None or role == wanted_role:
                return str(entry["url"])
            # An endpoint with the "wrong" role is still better than nothing for odd peers
            # that label everything RECEIVER.
            fallback = fallback or str(entry["url"])
        return fallback

    def state(self) -> dict[str, Any]:
        party = self.peer_party()
        return {
            "registered": self.registered,
            # Token A is live: the eMSP may (re)run the credentials handshake.
            "awaiting_registration": not self.registered and not self.revoked,
            "revoked": self.revoked,
            "version": self.version,
            "peer_version": self.peer_version,
            "peer_versions_url": self.peer_versions_url,
            "peer_party": (
                {"country_code": party[0], "party_id": party[1]} if party is not None else None
            ),
            "peer_roles": list(self.peer_roles),
            "endpoints": list(self.peer_endpoints),
            "registered_at": (
                format_datetime(self.registered_at) if self.registered_at is not None else None
            ),
        }
