"""Security profiles 1, 2 and 3 with real voltlab stations (1.6 and 2.0.1) against the npm
ocpp-rpc CSMS configured for each (its TLS server with a CA this test makes); wrong
credentials are refused and reported in the charger state, without a crash loop."""

from __future__ import annotations

import asyncio

import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer
from peers.test_ca import CertAuthority
from support import wait_until
from voltlab.fleet.hosting.runtime_api import ChargerSpec


@pytest.fixture(scope="module")
def ca() -> CertAuthority:
    return CertAuthority.generate("voltlab wire-test CA")


@pytest.fixture(scope="module")
def stranger_ca() -> CertAuthority:
    return CertAuthority.generate("not our CA")


async def start(runtime, peer, identity, version, security):
    charger_id = f"dep-{identity}"
    await runtime.start_charger(
        ChargerSpec(charger_id, "org", identity, peer.url, version, "ac-7kw-1c", security=security)
    )
    return runtime.runner(charger_id)


@pytest.mark.parametrize("version", ["ocpp1.6", "ocpp2.0.1"])
async def test_profile_1_basic_auth(runtime, version):
    async with OcppRpcPeer(protocols=(version,), basic_auth="*:correct-horse-1") as peer:
        good = await start(
            runtime, peer, "SP1-OK", version, {"profile": 1, "password": "correct-horse-1"}
        )
        await wait_until(lambda: good.link.online)
        bad = await start(
            runtime, peer, "SP1-BAD", version, {"profile": 1, "password": "wrong-password"}
        )
        await wait_until(lambda: bad.link.last_error is not None)
        state = bad.live_state()
        assert (
            state["connection"] in ("disconnected", "connecting") and state["registration"] is None
        )
        assert "401" in state["last_error"]
        attempts = len(peer.events_of("upgrade_rejected", "SP1-BAD"))
        # Exponential backoff (1, 2, 4 ... 60 simulated s; 100x clock): one real second is
        # 100 station seconds, a handful of attempts, not the hundreds of a crash loop.
        await asyncio.sleep(1.0)
        await peer.sync()
        assert len(peer.events_of("upgrade_rejected", "SP1-BAD")) <= attempts + 8
        assert peer.calls("SP1-BAD", "BootNotification") == []


@pytest.mark.parametrize("version", ["ocpp1.6", "ocpp2.0.1"])
async def test_profile_2_tls_with_ca(runtime, ca, stranger_ca, tmp_path, version):
    cert, key = ca.issue_server().write(tmp_path, "server")
    async with OcppRpcPeer(
        protocols=(version,), tls_cert=cert, tls_key=key, basic_auth="*:tls-pass-22"
    ) as peer:
        assert peer.url.startswith("wss://")
        good = await start(
            runtime,
            peer,
            "SP2-OK",
            version,
            {"profile": 2, "password": "tls-pass-22", "ca_pem": ca.cert_pem},
        )
        await wait_until(lambda: good.link.online)
        assert peer.events_of("connected", "SP2-OK")[0]["tls"]["protocol"] in ("TLSv1.2", "TLSv1.3")
        bad = await start(
            runtime,
            peer,
            "SP2-BAD",
            version,
            {"profile": 2, "password": "tls-pass-22", "ca_pem": stranger_ca.cert_pem},
        )
        await wait_until(lambda: bad.link.last_error is not None)
        assert "certificate verify failed" in bad.live_state()["last_error"]
        assert peer.calls("SP2-BAD", "BootNotification") == []


@pytest.mark.parametrize("version", ["ocpp1.6", "ocpp2.0.1"])
async def test_profile_3_mutual_tls(runtime, ca, stranger_ca, tmp_path, version):
    cert, key = ca.issue_server().write(tmp_path, "server")
    ca_path = ca.write(tmp_path, "ca")
    async with OcppRpcPeer(
        protocols=(version,), tls_cert=cert, tls_key=key, tls_ca=ca_path, require_client_cert=True
    ) as peer:
        client = ca.issue_client("SP3-OK")
        good = await start(
            runtime,
            peer,
            "SP3-OK",
            version,
            {
                "profile": 3,
                "ca_pem": ca.cert_pem,
                "client_cert_pem": client.cert_pem,
                "client_key_pem": client.key_pem,
            },
        )
        await wait_until(lambda: good.link.online)
        connected = peer.events_of("connected", "SP3-OK")[0]
        assert connected["tls"]["authorized"] is True
        foreign = stranger_ca.issue_client("SP3-BAD")
        bad = await start(
            runtime,
            peer,
            "SP3-BAD",
            version,
            {
                "profile": 3,
                "ca_pem": ca.cert_pem,
                "client_cert_pem": foreign.cert_pem,
                "client_key_pem": foreign.key_pem,
            },
        )
        await wait_until(lambda: bad.link.last_error is not None)
        assert bad.live_state()["connection"] != "connected"
        assert peer.calls("SP3-BAD", "BootNotification") == []
        await peer.sync()
        assert peer.strict_failures == []
