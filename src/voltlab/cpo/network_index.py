"""Where a charger's connectors sit in a CPO's OCPI network: identity + connector id <->
location, EVSE and connector, and the tariff that applies. Built from the (deterministic)
generated network and cached per CPO."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voltlab.cpo.generator import Network


@dataclass(frozen=True)
class EvseRef:
    location_id: str
    evse_uid: str
    evse_id: str | None
    connector: dict[str, Any]
    location: dict[str, Any]

    @property
    def tariff_id(self) -> str | None:
        ids = self.connector.get("tariff_ids") or []
        return ids[0] if ids else None


class NetworkIndex:
    def __init__(self, network: Network) -> None:
        self.by_station: dict[tuple[str, int], EvseRef] = {}
        self.by_evse: dict[tuple[str, str], tuple[str, int]] = {}
        for generated in network.locations:
            location = generated.location
            evses = {evse["uid"]: evse for evse in location.get("evses", [])}
            for charger in generated.chargers:
                for index, evse_uid in enumerate(charger.evse_uids, start=1):
                    evse = evses.get(evse_uid)
                    if evse is None:
                        continue
                    connector = (evse.get("connectors") or [{}])[0]
                    ref = EvseRef(
                        location["id"], evse_uid, evse.get("evse_id"), connector, location
                    )
                    self.by_station[(charger.identity, index)] = ref
                    self.by_evse[(location["id"], evse_uid)] = (charger.identity, index)

    def evse(self, identity: str, connector_id: int) -> EvseRef | None:
        return self.by_station.get((identity, connector_id))

    def station(self, location_id: str, evse_uid: str) -> tuple[str, int] | None:
        return self.by_evse.get((location_id, evse_uid))

    def evses_of(self, location_id: str) -> list[tuple[str, tuple[str, int]]]:
        return [(uid, st) for (loc, uid), st in self.by_evse.items() if loc == location_id]
