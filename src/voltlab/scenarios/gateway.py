"""The Gateway API as the scenario runner uses it: every step goes through the public routes
(a command is a `POST /ocpp/commands/{slug}`: command record -> dispatcher -> runtime, the one
path), so a scenario does nothing a user of the API could not do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class GatewayError(RuntimeError):
    """The Gateway API refused a scenario's request: a lab problem (verdict `error`), not one of
    the system under test."""


@dataclass(frozen=True)
class Frame:
    """One frame of a charger's log: `out` = station -> CSMS, `in` = CSMS -> station."""

    id: int
    ts: str
    direction: str
    frame: Any


class Gateway:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def _request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        response = await self._client.request(method, path, json=json, params=params)
        if response.status_code >= 400:
            raise GatewayError(f"{method} {path} answered {response.status_code}: {response.text}")
        return None if response.status_code == 204 else response.json()

    async def get_optional(self, path: str, params: dict[str, Any] | None = None) -> Any | None:
        """GET that answers None on 404 (a route or object that is not there)."""
        response = await self._client.get(path, params=params)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise GatewayError(f"GET {path} answered {response.status_code}: {response.text}")
        return response.json()

    async def create_location(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("POST", "/ocpp/locations", json=body)
        return result

    async def delete_location(self, location_id: str) -> None:
        await self._request("DELETE", f"/ocpp/locations/{location_id}")

    async def charger(self, charger_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/ocpp/chargers/{charger_id}")
        return result

    async def start_charger(self, charger_id: str) -> None:
        await self._request("POST", f"/ocpp/chargers/{charger_id}/start")

    async def stop_charger(self, charger_id: str) -> None:
        await self._request("POST", f"/ocpp/chargers/{charger_id}/stop")

    async def command(
        self, slug: str, location_id: str, charger_ids: list[str], event: dict[str, Any]
    ) -> dict[str, Any]:
        body = {"target": {"location_id": location_id, "charger_ids": charger_ids}, "event": event}
        result: dict[str, Any] = await self._request("POST", f"/ocpp/commands/{slug}", json=body)
        return result

    async def command_record(self, command_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/ocpp/commands/{command_id}")
        return result

    async def cpo(self, cpo_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/ocpi/cpos/{cpo_id}")
        return result

    async def create_cpo(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /ocpi/cpos: 202 with the CPO's id, Token A and versions URL."""
        result: dict[str, Any] = await self._request("POST", "/ocpi/cpos", json=body)
        return result

    async def delete_cpo(self, cpo_id: str) -> None:
        await self._request("DELETE", f"/ocpi/cpos/{cpo_id}")

    async def cpo_report(self, cpo_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/ocpi/cpos/{cpo_id}/report")
        return result

    async def frames(self, charger_id: str, after_id: int = 0) -> list[Frame]:
        """The charger's frames with an id above `after_id`, oldest first."""
        collected: list[Frame] = []
        before: int | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if before is not None:
                params["before"] = before
            page = await self._request(
                "GET", f"/ocpp/chargers/{charger_id}/messages", params=params
            )
            items = page["items"]
            fresh = [item for item in items if item["id"] > after_id]
            collected.extend(
                Frame(item["id"], item["ts"], item["direction"], item["frame"]) for item in fresh
            )
            if len(fresh) < len(items) or page.get("next_before") is None:
                break
            before = page["next_before"]
        collected.reverse()
        return collected
