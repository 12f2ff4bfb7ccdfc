"""What the durable workflow steps act on.

DBOS workflows and steps are module-level functions that DBOS calls (and calls again after a
crash) with their recorded arguments only, so the objects they act on cannot be passed in:
the composition root binds them here when the durable engine starts."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.cpo.provisioner import Provisioner
from voltlab.store.db import Database


@dataclass(frozen=True)
class WorkflowServices:
    database: Database  # the CPO status and step bookkeeping (cpo.steps)
    provisioner: Provisioner  # the work behind each provisioning and destroy step


_bound: WorkflowServices | None = None


def bind(services: WorkflowServices | None) -> None:
    global _bound
    _bound = services


def bound() -> WorkflowServices:
    if _bound is None:
        raise RuntimeError("the durable engine is not running")
    return _bound
