"""`voltlab pki v2g DIR --emaid E`: the ISO 15118 test PKI on disk, as a user takes it to a CSMS
under test; the contract chain it writes is one a station with the written MO root installed
judges Valid, and its keys are private files."""

from __future__ import annotations

import stat

from cryptography import x509
from typer.testing import CliRunner

from voltlab.cli import app
from voltlab.clock import wall_time
from voltlab.fleet.model.certificates import CertificateStore
from voltlab.fleet.model.contracts import ContractCredential, validate_contract


def test_pki_v2g_writes_roots_sub_cas_and_a_contract(tmp_path) -> None:
    result = CliRunner().invoke(app, ["pki", "v2g", str(tmp_path), "--emaid", "DEVLTC123456789"])
    assert result.exit_code == 0, result.output
    chain = (tmp_path / "contract-DEVLTC123456789.crt").read_text()
    assert ContractCredential.from_chain(chain).emaid == "DEVLTC123456789"
    store = CertificateStore()
    assert (
        store.install("MORootCertificate", (tmp_path / "mo_root.crt").read_text(), wall_time())
        == "Accepted"
    )
    assert validate_contract(store, chain, wall_time()) == "Valid"
    secc_issuer = x509.load_pem_x509_certificate((tmp_path / "cpo_sub_ca2.crt").read_bytes())
    v2g_root = x509.load_pem_x509_certificate((tmp_path / "v2g_root.crt").read_bytes())
    sub1 = x509.load_pem_x509_certificate((tmp_path / "cpo_sub_ca1.crt").read_bytes())
    secc_issuer.verify_directly_issued_by(sub1)
    sub1.verify_directly_issued_by(v2g_root)
    for key in tmp_path.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
