"""One method per gateway command (COMMAND_KINDS in voltlab/api/command_events.py), shared by
the sync client (returning a `CommandBatch`) and the async one (an awaitable of an
`AsyncCommandBatch`). Each sends `POST /ocpp/commands/{slug}`; the batch's `wait()` polls the
records until they are final."""

from __future__ import annotations

from typing import Generic, TypeVar

from voltlab.client import models
from voltlab.client.ops_calls import Target

R = TypeVar("R")


class CommandMethods(Generic[R]):
    def send(self, slug: str, target: Target, event: models.EventModel | None = None) -> R:
        """Any command by its slug (e.g. "start-session"); the typed methods below call it."""
        raise NotImplementedError

    def proxy_message(self, target: Target, event: models.ProxyMessageEvent) -> R:
        return self.send("proxy-message", target, event)

    def configuration(self, target: Target, event: models.ConfigurationEvent) -> R:
        return self.send("configuration", target, event)

    def cache_reset(self, target: Target) -> R:
        return self.send("cache/reset", target)

    def local_auth_list(self, target: Target, event: models.LocalAuthListEvent) -> R:
        return self.send("local-auth-list", target, event)

    def clear_local_auth_list(self, target: Target) -> R:
        return self.send("clear-local-auth-list", target)

    def inject_fault(self, target: Target, event: models.InjectFaultEvent) -> R:
        return self.send("inject-fault", target, event)

    def clear_fault(self, target: Target, event: models.ClearFaultEvent) -> R:
        return self.send("clear-fault", target, event)

    def plug_connector(self, target: Target, event: models.PlugConnectorEvent) -> R:
        return self.send("plug-connector", target, event)

    def unplug_connector(self, target: Target, event: models.ConnectorEvent) -> R:
        return self.send("unplug-connector", target, event)

    def unlock_connector(self, target: Target, event: models.ConnectorEvent) -> R:
        return self.send("unlock-connector", target, event)

    def start_transaction(self, target: Target, event: models.StartTransactionEvent) -> R:
        return self.send("start-transaction", target, event)

    def stop_transaction(self, target: Target, event: models.StopTransactionEvent) -> R:
        return self.send("stop-transaction", target, event)

    def start_session(self, target: Target, event: models.StartSessionEvent) -> R:
        return self.send("start-session", target, event)

    def stop_session(self, target: Target, event: models.StopSessionEvent) -> R:
        return self.send("stop-session", target, event)

    def authorize_id_tag(self, target: Target, event: models.AuthorizeIdTagEvent) -> R:
        return self.send("authorize-id-tag", target, event)

    def ev_requests_energy(self, target: Target, event: models.EvRequestsEnergyEvent) -> R:
        return self.send("ev-requests-energy", target, event)

    def ev_stops_energy(self, target: Target, event: models.ConnectorEvent) -> R:
        return self.send("ev-stops-energy", target, event)

    def power_update(self, target: Target, event: models.PowerUpdateEvent) -> R:
        return self.send("power-update", target, event)

    def partition(self, target: Target, event: models.PartitionEvent) -> R:
        return self.send("partition", target, event)

    def restart_link(self, target: Target) -> R:
        return self.send("restart-link", target)

    def set_charging_limit(self, target: Target, event: models.ChargingLimitEvent) -> R:
        return self.send("set-charging-limit", target, event)

    def clear_charging_limit(self, target: Target, event: models.StationOrConnectorEvent) -> R:
        return self.send("clear-charging-limit", target, event)

    def discharge(self, target: Target, event: models.DischargeEvent) -> R:
        return self.send("discharge", target, event)
