"""Pure codecs per OCPP version: neutral machine messages <-> OCPP payloads."""
