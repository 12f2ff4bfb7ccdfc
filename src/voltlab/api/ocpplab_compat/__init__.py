"""The OCPPLAB SDK's `evcharger/*` routes (PyPI `ocpplab` 0.3.x): a compatibility layer over
voltlab's own model and its one command path (docs/ocpplab-sdk.md lists every decision).

Served by the app, left out of the Gateway API's OpenAPI description: their contract is the
vendor's SDK, and tests/e2e/test_ocpplab_sdk.py checks them through that SDK."""
