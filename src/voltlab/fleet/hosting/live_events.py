"""The fleet's live events (`voltlab.live`), made from what the runtime already does: a station
marked changed (`StationWrites.changed`, the link's state, statuses, power, energy) becomes a
`charger` event, a frame a `frame` event (and its meter values `meter` events), a finding a
`finding` event.

Nothing is built while nobody listens: each hook starts with the hub's one-lookup check. A
station's changes within `WINDOW` seconds become one `charger` event with its latest state
(a boot storm changes a station several times in a few milliseconds)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from voltlab.clock import wall_now
from voltlab.fleet.hosting.runtime_api import ChargerSpec
from voltlab.live import LiveEvent, LiveHub, stamp
from voltlab.ocpp.meter_frames import CALL, frame_parts, parse_frame, samples_of_call
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

WINDOW = 0.1  # seconds a charger's changes are gathered before its event is built
ACTIONS_REMEMBERED = 64  # CALL ids per watched charger, to name the action of their answers

LiveStateOf = Callable[[str], dict[str, Any] | None]


def charger_event_body(
    spec: ChargerSpec, live: dict[str, Any], changed_at: datetime
) -> dict[str, Any]:
    """The charger as its GET shows it, live part included. Each connector also carries
    `energy_wh` and `soc` (the names of docs/dashboard.md) beside the GET's `meter_wh` and
    `soc_percent`."""
    connectors = [
        {**conn, "energy_wh": conn.get("meter_wh"), "soc": conn.get("soc_percent")}
        for conn in live.get("connectors", [])
    ]
    return {
        "charger_id": spec.charger_id,
        "identity": spec.identity,
        "location_id": spec.location_id,
        "ocpp_version": spec.ocpp_version,
        "model": spec.model,
        **{key: value for key, value in live.items() if key != "connectors"},
        "connectors": connectors,
        "at": stamp(changed_at),
    }


class FleetLiveEvents:
    def __init__(self, hub: LiveHub, live_state: LiveStateOf) -> None:
        self.hub = hub
        self._live_state = live_state
        self.specs: dict[str, ChargerSpec] = {}
        # Charger -> when its latest change happened (the `at` of its coalesced event).
        self._pending: dict[str, datetime] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._actions: dict[str, dict[str, str]] = {}  # charger -> CALL id -> action

    def hosted(self, spec: ChargerSpec) -> None:
        self.specs[spec.charger_id] = spec

    def forget(self, charger_id: str) -> None:
        self.specs.pop(charger_id, None)
        self._pending.pop(charger_id, None)
        self._actions.pop(charger_id, None)

    # -- charger ------------------------------------------------------------------------------

    def changed(self, charger_id: str) -> None:
        if "fleet" not in self.hub.topics:
            return
        self._pending[charger_id] = wall_now()
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(WINDOW, self._emit)

    def _emit(self) -> None:
        self._timer = None
        pending, self._pending = self._pending, {}
        for charger_id, changed_at in pending.items():
            spec = self.specs.get(charger_id)
            if spec is None or not self.hub.wants_org(spec.org_id, "fleet"):
                continue
            live = self._live_state(charger_id)
            if live is None:
                continue
            body = charger_event_body(spec, live, changed_at)
            self.hub.publish(LiveEvent(spec.org_id, "fleet", "charger", body, key=charger_id))

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- frames and meter values --------------------------------------------------------------

    def frame(self, charger_id: str, ts: float, direction: str, text: str) -> None:
        topics = self.hub.topics
        if not topics or f"charger:{charger_id}" not in topics:
            if self._actions:
                self._actions.pop(charger_id, None)
            return
        spec = self.specs.get(charger_id)
        if spec is None:
            return
        topic = f"charger:{charger_id}"
        frame = parse_frame(text)
        parts = frame_parts(frame)
        action: str | None = None
        message_id: str | None = None
        payload: Any = None
        kind = 0
        if parts is not None:
            kind, message_id, action, payload = parts
            remembered = self._actions.setdefault(charger_id, {})
            if kind == CALL and action is not None:
                remembered[message_id] = action
                if len(remembered) > ACTIONS_REMEMBERED:
                    del remembered[next(iter(remembered))]
            else:
                # An answer: named after the CALL it answers, when that one was seen.
                action = remembered.pop(message_id, None)
        at = stamp()
        body = {
            "charger_id": charger_id,
            "ts": format_timestamp(ts),
            "direction": direction,
            "action": action,
            "message_id": message_id,
            "frame": frame,
            "at": at,
        }
        self.hub.publish(LiveEvent(spec.org_id, topic, "frame", body))
        if direction == "out" and kind == CALL and action is not None:
            for sample in samples_of_call(action, payload):
                meter = {"charger_id": charger_id, **sample.as_json(), "at": at}
                self.hub.publish(LiveEvent(spec.org_id, topic, "meter", meter))

    # -- findings -----------------------------------------------------------------------------

    def finding(self, spec: ChargerSpec, row: dict[str, Any]) -> None:
        if not self.hub.wants_org(spec.org_id, "findings"):
            return
        at = row.get("at")
        body = {**row, "at": stamp(at) if isinstance(at, datetime) else stamp()}
        self.hub.publish(LiveEvent(spec.org_id, "findings", "finding", body))
