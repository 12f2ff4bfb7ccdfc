"""OCPP 2.1 adapter: the 2.0.1 translation on the 2.1 schemas and framing.

2.1 keeps the 2.0.1 shapes of the messages a station needs for provisioning, authorization and
transactions (it adds optional fields), so the 2.0.1 adapter serves with the version changed;
the RPC layer validates against the 2.1 schemas and speaks the 2.1 framing."""

from __future__ import annotations

from voltlab.fleet.adapters.ocpp201 import Ocpp201Adapter
from voltlab.ocpp.versions import OCPP21


class Ocpp21Adapter(Ocpp201Adapter):
    version = OCPP21
