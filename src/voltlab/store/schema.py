"""The whole schema voltlab's migrations produce: every table module imported, so that
`METADATA` holds all of them. The migrations' environment compares against it (autogenerate)
and the tests check that the migrations' result equals it."""

from __future__ import annotations

from sqlalchemy import MetaData

# Tables declared in their own modules join Base.metadata when imported.
from voltlab.store import (  # noqa: F401
    clock_state,
    cluster_models,
    csms_models,
    finding_models,
    ocpi_models,
    outbox_models,
    queue_models,
    replay_models,
    scenario_models,
)
from voltlab.store.models import Base

METADATA: MetaData = Base.metadata
