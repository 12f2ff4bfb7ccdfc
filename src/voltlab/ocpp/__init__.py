"""OCPP-J RPC framing, schema validation and the asyncio RPC connection.

Shared by the virtual stations (client side, ``voltlab.fleet``) and the built-in CSMS
(server side, ``voltlab.csms``).
"""
