"""Plug & Charge through the Gateway API's one command path (docs/plug-and-charge.md):
`plug-connector` with a contract of the V2G test PKI on a 2.0.1 charger whose roots the strict
ocpp-rpc CSMS installed; the command's result and the frames say what came of it, and a body
the API cannot take is a 422 naming the field."""

from __future__ import annotations

from voltlab.pki.v2g import V2GTestPki

from .conftest import Gateway

EMAID = "DE-VLT-C12345678-9"


async def test_plug_connector_with_a_contract_over_http(gateway: Gateway) -> None:
    gw, pki = gateway, V2GTestPki.generate()
    location = await gw.location(chargers=1, version="ocpp2.0.1", prefix="PNC-E2E-")
    [charger] = location["chargers"]
    ident, target = charger["identity"], {"charger_id": charger["charger_id"]}
    for kind, root in (("V2GRootCertificate", pki.v2g_root), ("MORootCertificate", pki.mo_root)):
        installed = await gw.peer.call(
            ident, "InstallCertificate", {"certificateType": kind, "certificate": root.cert_pem}
        )
        assert installed == {"status": "Accepted"}
    contract = {"certificate_chain": pki.contract(EMAID).chain_pem}
    [record] = await gw.command("plug-connector", target, {"connector_id": 1, "contract": contract})
    result = record["result"]
    assert result["ev"]["profile"] == "iso15118-sedan"
    assert result["ev"]["contract"] == {"emaid": EMAID}
    assert (result["plug_and_charge"]["authorization"], result["plug_and_charge"]["charging"]) == (
        "Accepted",
        True,
    )
    [authorize] = gw.peer.calls(ident, "Authorize")
    assert authorize["idToken"] == {"idToken": EMAID, "type": "eMAID"}
    started = gw.peer.calls(ident, "TransactionEvent")[0]
    assert started["idToken"] == {"idToken": EMAID, "type": "eMAID"}
    assert started["transactionInfo"]["transactionId"] == result["transaction_id"]
    await gw.command("stop-session", target, {"connector_id": 1})
    # A chain that holds no certificate fails on the station; a bad eMAID is a 422.
    bad_chain = {"certificate_chain": "not a certificate"}
    [failed] = await gw.command(
        "plug-connector", target, {"connector_id": 1, "contract": bad_chain}, expect="failed"
    )
    assert failed["error"]["code"] == "invalid_contract"
    response = await gw.post(
        "/ocpp/commands/plug-connector",
        {
            "target": target,
            "event": {"connector_id": 1, "contract": {**contract, "emaid": "has space"}},
        },
    )
    assert response.status_code == 422
    assert "emaid" in response.text
    await gw.peer.sync()
    assert gw.peer.strict_failures == []
