"""The built-in CSMS (OCPP server side) that virtual CPOs connect their chargers to.

Mount `BuiltinCsms.serve` on ``/csms/{cpo_id}/{identity}``; implement `CsmsListener` to hear
about stations and transactions and to authorize id tags. Stations may speak OCPP 1.6, 2.0.1
or 2.1 on that one endpoint; the listener hears them all in the same (1.6) terms.
"""
