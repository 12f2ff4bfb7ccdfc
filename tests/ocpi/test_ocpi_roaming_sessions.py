"""The roaming bridge's Session and CDR pushes on the wire (a fake eMSP on 127.0.0.1), across a
restart of the bridge: 2.2.1 PATCHes carry only new charging periods (sessions module: a
PATCH's periods are added), the authorization_reference given with START_SESSION survives the
restart (it is stored), every last_updated is read from the one injected clock, and the CDR's
periods add up to its total_energy. The same rules against the independent eMSP:
tests/e2e/test_virtual_cpo_ocpi_integrity.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from voltlab.cpo.network_index import EvseRef
from voltlab.cpo.networks import CpoNetworks
from voltlab.cpo.roaming import RoamingBridge
from voltlab.csms.events import CsmsTransaction, MeterSample
from voltlab.ocpi.authorizations import GivenAuthorization

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LOCATION = {
    "id": "L1",
    "address": "1 rue de test",
    "city": "Paris",
    "country": "FRA",
    "coordinates": {"latitude": "48.85", "longitude": "2.35"},
    "time_zone": "Europe/Paris",
}
TOKEN = {
    "country_code": "NL",
    "party_id": "EMS",
    "uid": "TOK1",
    "type": "RFID",
    "contract_id": "NL-EMS-C1",
    "issuer": "eMSP",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2026-01-01T00:00:00Z",
}


class Unplugs:
    """The virtual driver's part: the unplugs the bridge asks for (no fleet here)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, int]] = []

    def later_unplug(self, cpo_id: str, identity: str, connector_id: int) -> None:
        self.asked.append((cpo_id, identity, connector_id))


def bridge_for(harness: Any, clock: list[datetime]) -> RoamingBridge:
    """A RoamingBridge over the harness's OcpiService; network lookups stubbed to one EVSE."""
    networks = CpoNetworks(harness.database)
    bridge = RoamingBridge(harness.database, harness.service, networks, Unplugs())
    cpo = SimpleNamespace(id="cpo-1", country_code="FR", party_id="ABC")
    ref = EvseRef("L1", "FRABC-E1", "FR*ABC*E1", {"id": "1", "standard": "IEC_62196_T2"}, LOCATION)
    bridge.cpo = lambda cpo_id: cpo  # type: ignore[method-assign]
    bridge.evse = lambda cpo_id, identity, connector_id: ref  # type: ignore[method-assign]
    harness.service.use_clock(lambda: clock[0])
    return bridge


def sample(minutes: int, wh: float) -> MeterSample:
    return MeterSample(timestamp=T0 + timedelta(minutes=minutes), energy_wh=wh, power_w=7400.0)


def merge(requests: list[Any]) -> dict[str, Any]:
    """The Session as an eMSP following the 2.2.1 sessions module holds it."""
    merged: dict[str, Any] = {}
    for request in requests:
        if request.method == "PUT":
            merged = dict(request.json)
        else:
            for field, value in request.json.items():
                if field == "charging_periods":
                    merged[field] = list(merged.get(field) or []) + list(value or [])
                else:
                    merged[field] = value
    return merged


def energy(periods: list[dict[str, Any]]) -> float:
    return sum(d["volume"] for p in periods for d in p["dimensions"] if d["type"] == "ENERGY")


async def test_patches_add_periods_and_the_reference_survives_a_restart(
    harness: Any, emsp: Any
) -> None:
    await harness.registered_cpo(emsp)
    clock = [T0 + timedelta(seconds=5)]
    bridge = bridge_for(harness, clock)
    # START_SESSION as the commander records it
    await bridge.remember("cpo-1", GivenAuthorization("TOK1", "COMMAND", TOKEN, "REF-1"))
    tx = CsmsTransaction(
        transaction_id=7,
        cpo_id="cpo-1",
        identity="CP1",
        connector_id=1,
        id_tag="TOK1",
        meter_start_wh=1000.0,
        started_at=T0,
    )
    await bridge.transaction_started("cpo-1", tx)
    for minute, wh in ((1, 1100.0), (2, 1230.0)):
        tx.samples.append(sample(minute, wh))
        tx.last_meter_wh = wh
        clock[0] = T0 + timedelta(minutes=minute, seconds=1)
        await bridge.meter_values("cpo-1", tx, [tx.samples[-1]])

    # A restart: a new bridge, nothing in memory; what the eMSP holds is unknown, so a PUT.
    bridge = bridge_for(harness, clock)
    for minute, wh in ((3, 1360.0), (4, 1490.0)):
        tx.samples.append(sample(minute, wh))
        tx.last_meter_wh = wh
        clock[0] = T0 + timedelta(minutes=minute, seconds=1)
        await bridge.meter_values("cpo-1", tx, [tx.samples[-1]])
    tx.meter_stop_wh, tx.stopped_at = 1550.0, T0 + timedelta(minutes=4, seconds=30)
    clock[0] = T0 + timedelta(minutes=4, seconds=31)
    await bridge.transaction_stopped("cpo-1", tx)
    await harness.service.drain()

    sessions = [r for r in emsp.module_requests() if "/sessions/" in r.path]
    assert [r.method for r in sessions] == ["PUT", "PATCH", "PATCH", "PUT", "PATCH", "PATCH"]
    # Each 2.2.1 PATCH: only the periods the eMSP does not have (1 per sample, 1 at the stop).
    assert [len(r.json.get("charging_periods") or []) for r in sessions] == [0, 1, 1, 3, 1, 1]
    # One clock: every last_updated is the injected clock's reading at that push.
    assert [r.json["last_updated"] for r in sessions] == [
        "2026-03-01T09:00:05Z",
        "2026-03-01T09:01:01Z",
        "2026-03-01T09:02:01Z",
        "2026-03-01T09:03:01Z",
        "2026-03-01T09:04:01Z",
        "2026-03-01T09:04:31Z",
    ]
    # The reference from START_SESSION, in both PUTs (the second one after the restart).
    puts = [r for r in sessions if r.method == "PUT"]
    assert [r.json.get("authorization_reference") for r in puts] == ["REF-1", "REF-1"]
    assert all(r.json["auth_method"] == "COMMAND" for r in puts)

    cdrs = [r for r in emsp.module_requests("POST") if r.path.endswith("/cdrs")]
    assert len(cdrs) == 1
    cdr = cdrs[0].json
    assert cdr["authorization_reference"] == "REF-1" and cdr["auth_method"] == "COMMAND"
    assert cdr["total_energy"] == 0.55
    assert round(energy(cdr["charging_periods"]), 4) == 0.55
    merged = merge(sessions)
    assert merged["charging_periods"] == cdr["charging_periods"]
    assert merged["status"] == "COMPLETED" and merged["kwh"] == 0.55
    # The stop forgot the token's authorization: a later session of TOK1 carries none.
    assert harness.service.given_authorization("cpo-1", "TOK1") is None
