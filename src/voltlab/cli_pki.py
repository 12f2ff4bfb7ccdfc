"""`voltlab pki v2g DIR`: an ISO 15118 test PKI for Plug & Charge written to DIR
(docs/plug-and-charge.md): the V2G and MO roots and sub-CAs with their keys, and one contract
chain per `--emaid` (for plug-connector's `contract.certificate_chain`). Certificates to test a
CSMS with, never production keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from voltlab.pki.v2g import DEFAULT_OCSP_URL, V2GTestPki

pki_app = typer.Typer(help="Test certificate authorities (ISO 15118 Plug & Charge).")
console = Console()


@pki_app.command("v2g")
def v2g(
    directory: Annotated[Path, typer.Argument(help="where the PEM files go (made if missing)")],
    emaid: Annotated[
        list[str] | None, typer.Option("--emaid", help="a contract for this eMAID (repeatable)")
    ] = None,
    ocsp_url: Annotated[
        str, typer.Option(help="the OCSP responder the certificates name")
    ] = DEFAULT_OCSP_URL,
    days: Annotated[int, typer.Option(min=1, help="validity of the sub-CAs and contracts")] = 365,
) -> None:
    """Write V2G root, CPO sub-CAs 1 and 2, MO root and sub-CAs 1 and 2 (NAME.crt, NAME.key)
    and a contract chain per eMAID (contract-EMAID.pem, its key contract-EMAID.key)."""
    pki = V2GTestPki.generate(ocsp_url=ocsp_url, days=days)
    written = pki.write(directory)
    for each in emaid or ():
        contract = pki.contract(each, days=min(days, 90))
        chain_path, _ = contract.issued.write(directory, f"contract-{each}")
        written[f"contract-{each}"] = chain_path
    for name, path in written.items():
        console.print(f"{name:>24}  {path}", highlight=False)
