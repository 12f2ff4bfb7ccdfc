"""The systems under test of this example, as a team would have them in its own repository:
`CentralSystem`, a small OCPP 1.6J CSMS (the PyPI `ocpp` library on `websockets`), and `Emsp`,
the eMSP side of an OCPI 2.2.1 credentials handshake."""

from systems_under_test.csms import CentralSystem, Transaction
from systems_under_test.emsp import Emsp

__all__ = ["CentralSystem", "Emsp", "Transaction"]
