"""Five tests of a CSMS (and of an eMSP's OCPI handshake), written with voltlab's fixtures, and a
sixth that fails on purpose to show what a failure report carries (set VOLTLAB_EXAMPLE_FAIL=1)."""

from __future__ import annotations

import os

import httpx
import pytest

from systems_under_test import CentralSystem, Emsp
from systems_under_test.emsp import ocpi_headers


def test_boot_is_accepted(csms: CentralSystem, virtual_charger) -> None:
    charger = virtual_charger(csms_url=csms.url, ocpp_version="ocpp1.6", model="ac-22kw-2c")

    answer = charger.wait_for_frame(action="BootNotification", direction="in", timeout=15)
    assert answer.kind == "result"
    assert answer.payload["status"] == "Accepted"
    assert answer.payload["interval"] == 300
    charger.wait_accepted()
    # The CSMS's side: it saw the station boot, and every connector report Available.
    assert csms.booted == [charger.identity]
    charger.wait_for_status("Available", connector_id=2)
    assert charger.findings == []


@pytest.mark.voltlab(time_scale=120)
def test_session_stops_at_its_energy_target(csms: CentralSystem, virtual_charger) -> None:
    charger = virtual_charger(csms_url=csms.url)
    charger.wait_accepted()

    charger.start_session(id_tag="TAG-ENERGY", connector_id=1, target_energy_kwh=0.5)

    stop = charger.wait_for_frame(action="StopTransaction", direction="out", timeout=40)
    start = charger.wait_for_frame(action="StartTransaction", direction="out")
    delivered_wh = stop.payload["meterStop"] - start.payload["meterStart"]
    assert 500 <= delivered_wh <= 600, delivered_wh
    # What the CSMS recorded agrees with what the station sent.
    transaction = csms.transactions[stop.payload["transactionId"]]
    assert transaction.id_tag == "TAG-ENERGY"
    assert transaction.energy_wh == delivered_wh
    assert transaction.meter_values, "no MeterValues reached the CSMS during the session"
    assert charger.findings == []


def test_remote_stop_ends_the_transaction(csms: CentralSystem, virtual_charger) -> None:
    charger = virtual_charger(csms_url=csms.url)
    charger.wait_accepted()
    charger.start_session(id_tag="TAG-REMOTE", connector_id=1)
    charger.wait_for_status("Charging", connector_id=1)
    transaction = csms.open_transaction(charger.identity)
    assert transaction is not None

    assert csms.remote_stop(charger.identity, transaction.transaction_id) == "Accepted"

    request = charger.wait_for_frame(action="RemoteStopTransaction", direction="in")
    assert request.payload == {"transactionId": transaction.transaction_id}
    stop = charger.wait_for_frame(action="StopTransaction", direction="out", after=request)
    assert stop.payload["reason"] == "Remote"
    assert transaction.stop_reason == "Remote"
    assert charger.findings == []


def test_fault_mid_charge_stops_the_session(csms: CentralSystem, virtual_charger) -> None:
    charger = virtual_charger(csms_url=csms.url)
    charger.wait_accepted()
    charger.start_session(id_tag="TAG-FAULT", connector_id=1)
    charging = charger.wait_for_frame(
        action="StatusNotification",
        direction="out",
        kind="call",
        where=lambda f: f.payload["status"] == "Charging",
    )

    charger.inject_fault("GroundFault", connector_id=1)

    faulted = charger.wait_for_frame(
        action="StatusNotification",
        direction="out",
        kind="call",
        after=charging,
        where=lambda f: f.payload["status"] == "Faulted",
    )
    assert faulted.payload["errorCode"] == "GroundFailure"
    stop = charger.wait_for_frame(action="StopTransaction", direction="out", after=charging)
    transaction = csms.transactions[stop.payload["transactionId"]]
    assert transaction.meter_stop_wh is not None
    assert (charger.identity, 1, "Faulted", "GroundFailure") in csms.statuses
    assert charger.findings == []


def test_emsp_registers_with_the_virtual_cpo(emsp: Emsp, virtual_cpo) -> None:
    cpo = virtual_cpo(template="small-urban-ac", seed=7, overrides={"locations": 1})
    with httpx.Client(timeout=10) as http:
        versions = http.get(cpo.versions_url, headers=ocpi_headers(cpo.token_a)).json()["data"]
        details_url = next(v["url"] for v in versions if v["version"] == "2.2.1")
        details = http.get(details_url, headers=ocpi_headers(cpo.token_a)).json()["data"]
        urls = {(e["identifier"], e["role"]): e["url"] for e in details["endpoints"]}

        answer = http.post(
            urls["credentials", "SENDER"],
            headers=ocpi_headers(cpo.token_a),
            json=emsp.credentials(),
        ).json()

        assert answer["status_code"] == 1000, answer
        token_c = answer["data"]["token"]
        # The CPO called the eMSP back with Token B during the handshake.
        assert ("GET", "/ocpi/versions", True) in emsp.calls
        # Token C now opens the CPO's modules: one location (the override), as generated.
        locations = http.get(urls["locations", "SENDER"], headers=ocpi_headers(token_c)).json()
        assert locations["status_code"] == 1000, locations
        assert len(locations["data"]) == 1
    assert cpo.info.ocpi_peer.registered
    assert cpo.findings == []


@pytest.mark.skipif(
    os.environ.get("VOLTLAB_EXAMPLE_FAIL") != "1",
    reason="fails on purpose to show the report; VOLTLAB_EXAMPLE_FAIL=1 runs it",
)
def test_deliberately_failing_shows_frames_and_findings(
    csms: CentralSystem, virtual_charger
) -> None:
    # A CSMS misconfigured to accept stations with a heartbeat interval of 0 seconds.
    csms.heartbeat_interval = 0
    charger = virtual_charger(csms_url=csms.url)
    charger.wait_accepted()
    charger.wait_for_frame(action="StatusNotification", direction="in")

    assert charger.findings == [], "the charger found fault with the CSMS"
