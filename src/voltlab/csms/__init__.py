"""The built-in CSMS (OCPP server side) that virtual CPOs connect their chargers to.

Mount `BuiltinCsms.serve` on ``/csms/{cpo_id}/{identity}``; implement `CsmsListener` to hear
about stations and transactions and to authorize id tags. Stations may speak OCPP 1.6, 2.0.1
or 2.1 on that one endpoint; the listener hears them all in the same (1.6) terms.
"""

from voltlab.csms.events import (
    ConnectorView,
    CsmsListener,
    CsmsTransaction,
    IdTagStatus,
    MeterSample,
    NullListener,
    StationView,
)
from voltlab.csms.operations import StationNotConnected
from voltlab.csms.registry import TransactionIds
from voltlab.csms.server import SERVED_VERSIONS, BuiltinCsms

__all__ = [
    "SERVED_VERSIONS",
    "BuiltinCsms",
    "ConnectorView",
    "CsmsListener",
    "CsmsTransaction",
    "IdTagStatus",
    "MeterSample",
    "NullListener",
    "StationNotConnected",
    "StationView",
    "TransactionIds",
]
