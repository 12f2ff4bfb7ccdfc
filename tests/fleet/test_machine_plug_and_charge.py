"""Plug & Charge in the station machine and its codecs, without a socket: the offline rules of
C07 (ContractValidationOffline, the local list and cache for the eMAID, an expired contract),
PnCEnabled off, the V2G test PKI's chains as the station judges them, and the Authorize /
Get15118EVCertificate / GetCertificateStatus payloads of both codecs against the OCA schemas
(1.6: the application note's DataTransfer, whose data is a 2.0.1 payload)."""

from __future__ import annotations

import json

import pytest

from voltlab.clock import wall_time
from voltlab.fleet.codecs.station_codec import codec_for
from voltlab.fleet.machine.effects import SendCall
from voltlab.fleet.machine.events import GatewayCommand
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.pnc_messages import (
    CertificateStatusRequest,
    EvCertificateRequest,
    PncAuthorizeAnswer,
    PncAuthorizeRequest,
)
from voltlab.fleet.machine.session_messages import PlugIn
from voltlab.fleet.machine.settings import settings_for
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.certificates import CertificateStore
from voltlab.fleet.model.contracts import (
    CertificateInstallation,
    ContractCredential,
    contract_ocsp_data,
    validate_contract,
)
from voltlab.fleet.model.ev import PROFILES_BY_NAME, ElectricVehicle
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import schema_set
from voltlab.pki.v2g import V2GTestPki

EMAID = "DEVLTC123456789"
T0 = 1_000_000.0


@pytest.fixture(scope="module")
def pki() -> V2GTestPki:
    return V2GTestPki.generate()


def offline_machine(pki: V2GTestPki, **config: str) -> StationMachine:
    """A 2.0.1 station that never connected, with the MO root installed."""
    station = Station("CP-PNC", CATALOG["ac-22kw-2c"], seed=3)
    for key, value in config.items():
        station.config.set_local(key, value)
    machine = StationMachine(station, settings_for("ocpp2.0.1"))
    installed = machine.context.certificates.install(
        "MORootCertificate", pki.mo_root.cert_pem, wall_time()
    )
    assert installed == "Accepted"
    return machine


def plug(machine: StationMachine, chain_pem: str) -> list:
    ev = ElectricVehicle(
        PROFILES_BY_NAME["iso15118-sedan"], 30.0, contract=ContractCredential.from_chain(chain_pem)
    )
    return machine.handle(GatewayCommand(PlugIn(1, ev, wall_time())), T0)


def authorize_calls(effects: list) -> list:
    return [
        e for e in effects if isinstance(e, SendCall) and isinstance(e.message, PncAuthorizeRequest)
    ]


def test_offline_without_contract_validation_nothing_charges(pki) -> None:
    machine = offline_machine(pki, ContractValidationOffline="false")
    effects = plug(machine, pki.contract(EMAID).chain_pem)
    outcome = machine.context.pnc_outcomes[1]
    assert (outcome.decided_by, outcome.authorization) == ("local", "NotAtThisTime")  # C07.FR.07
    assert authorize_calls(effects) == []
    assert machine.station.connectors[1].transaction is None


def test_offline_a_valid_contract_listed_locally_starts(pki) -> None:
    machine = offline_machine(pki)  # ContractValidationOffline, LocalAuthorizeOffline: true
    machine.station.local_list.update(1, "Full", [(EMAID, IdTagInfo("Accepted"))])
    plug(machine, pki.contract(EMAID).chain_pem)
    outcome = machine.context.pnc_outcomes[1]
    assert (outcome.decided_by, outcome.authorization, outcome.contract_check) == (
        "local",
        "Accepted",
        "Valid",
    )
    tx = machine.station.connectors[1].transaction
    assert tx is not None and (tx.id_tag, tx.id_token_type) == (EMAID, "eMAID")


def test_offline_an_unknown_or_expired_contract_does_not_start(pki) -> None:
    unknown = offline_machine(pki)
    plug(unknown, pki.contract(EMAID).chain_pem)
    assert unknown.context.pnc_outcomes[1].authorization == "Unknown"
    assert unknown.station.connectors[1].transaction is None
    expired = offline_machine(pki)
    expired.station.local_list.update(1, "Full", [(EMAID, IdTagInfo("Accepted"))])
    plug(expired, pki.expired_contract(EMAID).chain_pem)
    outcome = expired.context.pnc_outcomes[1]
    assert (outcome.authorization, outcome.certificate_status) == ("Expired", "CertificateExpired")
    assert expired.station.connectors[1].transaction is None


def test_pnc_disabled_leaves_the_ev_waiting_for_an_id_tag(pki) -> None:
    machine = offline_machine(pki, ISO15118PnCEnabled="false")
    plug(machine, pki.contract(EMAID).chain_pem)
    assert machine.context.pnc_outcomes == {}
    assert (
        machine.station.connectors[1].plugged and machine.station.connectors[1].transaction is None
    )


def test_the_test_pki_chains_as_the_station_judges_them(pki) -> None:
    machine = offline_machine(pki)
    store = machine.context.certificates
    contract = pki.contract(EMAID)
    assert validate_contract(store, contract.chain_pem, wall_time()) == "Valid"
    assert validate_contract(store, pki.expired_contract(EMAID).chain_pem, wall_time()) == "Expired"
    other = V2GTestPki.generate()  # an MO chain of a root the station does not hold
    assert (
        validate_contract(store, other.contract(EMAID).chain_pem, wall_time()) == "IssuerNotFound"
    )
    forged = contract.issued.cert_pem + other.mo_sub_ca2.cert_pem + pki.mo_sub_ca1.cert_pem
    assert validate_contract(store, forged, wall_time()) == "InvalidSignature"
    data = contract_ocsp_data(store, contract.chain_pem)
    assert data == pki.contract_ocsp_data(contract)
    assert [d["serialNumber"] for d in data] == [
        format(c.serial_number, "x")
        for c in (contract.cert, pki.mo_sub_ca2.cert, pki.mo_sub_ca1.cert)
    ]
    assert ContractCredential.from_chain(contract.chain_pem).emaid == EMAID  # the CN


@pytest.mark.parametrize("version", ["ocpp2.0.1", "ocpp2.1"])
def test_2x_payloads_fit_the_schemas(pki, version) -> None:
    codec, schemas = codec_for(version), schema_set(version)
    contract = pki.contract(EMAID)
    hash_data = tuple(pki.contract_ocsp_data(contract))
    calls = [
        PncAuthorizeRequest(EMAID, None, hash_data),
        PncAuthorizeRequest(EMAID, contract.chain_pem, ()),
        EvCertificateRequest("Update", "AAEC", "urn:iso:15118:2:2013:MsgDef"),
        CertificateStatusRequest(hash_data[0]),
    ]
    for call in calls:
        action, payload = codec.encode_call(call)
        schemas.validate_request(action, payload)
    answer = codec.decode_answer(
        calls[0],
        {"idTokenInfo": {"status": "Blocked"}, "certificateStatus": "CertificateRevoked"},
    )
    assert isinstance(answer, PncAuthorizeAnswer) and not answer.accepted
    assert (answer.token_status, answer.certificate_status) == ("Blocked", "CertificateRevoked")


def test_16_wraps_them_in_the_application_notes_data_transfer(pki) -> None:
    codec, schemas16, schemas201 = (
        codec_for("ocpp1.6"),
        schema_set("ocpp1.6"),
        schema_set("ocpp2.0.1"),
    )
    contract = pki.contract(EMAID)
    call = PncAuthorizeRequest(EMAID, None, tuple(pki.contract_ocsp_data(contract)))
    action, payload = codec.encode_call(call)
    schemas16.validate_request(action, payload)
    assert (action, payload["vendorId"], payload["messageId"]) == (
        "DataTransfer",
        "org.openchargealliance.iso15118pnc",
        "Authorize",
    )
    schemas201.validate_request("Authorize", json.loads(payload["data"]))
    inner = {"idTokenInfo": {"status": "Accepted"}, "certificateStatus": "Accepted"}
    accepted = codec.decode_answer(call, {"status": "Accepted", "data": json.dumps(inner)})
    assert isinstance(accepted, PncAuthorizeAnswer) and accepted.accepted
    # A CSMS that does not speak the note: no Authorize answer inside, no charging.
    for refusal in ({"status": "UnknownVendorId"}, {"status": "Accepted", "data": "{}"}):
        refused = codec.decode_answer(call, refusal)
        assert isinstance(refused, PncAuthorizeAnswer) and not refused.accepted


def test_contracts_and_ocsp_responses_survive_the_snapshot(pki) -> None:
    """A restarted station keeps the plugged EV's contract (with what it asks for first) and
    the OCSP responses of its V2G chain: both ride in the snapshot it always wrote."""
    installation = CertificateInstallation("Update", "AAEC")
    contract = ContractCredential.from_chain(pki.contract(EMAID).chain_pem, None, installation)
    ev = ElectricVehicle(PROFILES_BY_NAME["iso15118-sedan"], 42.0, contract=contract)
    again = ElectricVehicle.restore(json.loads(json.dumps(ev.snapshot())))
    assert again.contract == contract
    store = CertificateStore()
    store.ocsp["name:key:1a"] = "MAMKAQA="
    assert CertificateStore.from_snapshot(json.loads(json.dumps(store.snapshot()))).ocsp == {
        "name:key:1a": "MAMKAQA="
    }
