"""How long a virtual CPO lives: read by the service and published by the API's request model
(api/cpo_schemas.py), which must import without the CPO stack."""

from __future__ import annotations

import os

DEFAULT_TTL_SECONDS = 3600
# The smallest ttl_seconds POST /ocpi/cpos accepts. A TTL counts real seconds, so the e2e test
# of TTL expiry lowers it rather than wait a real minute.
MIN_TTL_SECONDS = int(os.environ.get("VOLTLAB_MIN_CPO_TTL_SECONDS", "60"))
