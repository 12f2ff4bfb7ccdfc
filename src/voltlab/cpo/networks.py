"""Each virtual CPO's generated network (Locations, Tariffs, chargers and their models).

Generation is deterministic from the CPO row, so a network is computed once per process and
shared by the provisioner (what to create), the roaming bridge (EVSE lookups) and the built-in
CSMS (what a connector can deliver)."""

from __future__ import annotations

from datetime import UTC, datetime

from voltlab.cpo.generator import Network, generate_network, network_fingerprint
from voltlab.cpo.templates import TEMPLATES
from voltlab.fleet.model.catalog import get_model
from voltlab.store.db import Database
from voltlab.store.models import Cpo

# The generated objects' last_updated: fixed, not the creation time, so that the same template,
# seed and party give byte-identical Locations and Tariffs whenever they are created.
NETWORK_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class CpoNetworks:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._networks: dict[str, Network] = {}
        self._models: dict[str, dict[str, str]] = {}  # cpo id -> identity -> model slug

    def cpo(self, cpo_id: str) -> Cpo:
        """The CPO row, detached; LookupError when there is none."""
        with self.database.session() as session:
            cpo = session.get(Cpo, cpo_id)
            if cpo is None:
                raise LookupError(f"CPO {cpo_id} does not exist")
            session.expunge(cpo)
            return cpo

    def network(self, cpo: Cpo) -> Network:
        cached = self._networks.get(cpo.id)
        if cached is not None:
            return cached
        network = generate_network(
            TEMPLATES[cpo.template],
            seed=cpo.seed,
            country_code=cpo.country_code,
            party_id=cpo.party_id,
            name_prefix=cpo.name_prefix,
            overrides=dict(cpo.overrides or {}),
            created_at=NETWORK_EPOCH,
        )
        self._networks[cpo.id] = network
        return network

    def fingerprint(self, cpo: Cpo) -> str:
        """sha256 of the generated Locations and Tariffs (as generated, before live status)."""
        return network_fingerprint(self.network(cpo))

    def connector_max_power_w(self, cpo_id: str, identity: str, connector_id: int) -> float | None:
        """The most a charger's connector can deliver (W), from its catalog model; connector 0
        is the whole station. None for a charger this CPO does not have."""
        models = self._models.get(cpo_id)
        if models is None:
            try:
                network = self.network(self.cpo(cpo_id))
            except LookupError:
                return None
            models = {
                charger.identity: charger.model_slug
                for generated in network.locations
                for charger in generated.chargers
            }
            self._models[cpo_id] = models
        slug = models.get(identity)
        model = get_model(slug) if slug is not None else None
        if model is None:
            return None
        if 1 <= connector_id <= len(model.connectors):
            return float(model.connectors[connector_id - 1].max_power_w)
        return float(model.max_station_power_w)

    def forget_models(self, cpo_id: str) -> None:
        """The CPO's chargers are gone (destroyed): stop answering for them."""
        self._models.pop(cpo_id, None)
