"""Provisioning and destruction of a virtual CPO as DBOS workflows.

Every step is idempotent (deterministic ids, insert-if-missing), so a step retried after a
failure, or re-run after a crash between its work and its checkpoint, never duplicates
anything. Each step records its state, attempts and timings in `cpo_steps` for the status
endpoint."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dbos import DBOS

from voltlab import log_context
from voltlab.cpo import steps as cpo_steps
from voltlab.cpo.workflow_services import bound

T = TypeVar("T")

PROVISION_STEPS = (
    "generate_network",
    "create_locations",
    "create_chargers",
    "start_chargers",
    "wait_until_booted",
)
DESTROY_STEPS = ("stop_chargers", "revoke_tokens")
BOOT_WAIT_SECONDS = 120.0

log = logging.getLogger(__name__)


async def _tracked(cpo_id: str, name: str, work: Callable[[], Awaitable[T]]) -> T:
    # The step's log lines, and those of what it starts, name the CPO (stations have their own).
    with log_context.bound(cpo_id=cpo_id):
        log.debug("step %s started", name)
        await asyncio.to_thread(cpo_steps.begin, bound().database, cpo_id, name)
        try:
            result = await work()
        except Exception as exc:
            log.warning("step %s failed: %s: %s", name, type(exc).__name__, exc)
            await asyncio.to_thread(
                cpo_steps.fail, bound().database, cpo_id, name, f"{type(exc).__name__}: {exc}"
            )
            raise
        await asyncio.to_thread(cpo_steps.finish, bound().database, cpo_id, name, None)
        log.debug("step %s done", name)
        return result


@DBOS.step(retries_allowed=True, max_attempts=4, interval_seconds=0.5, backoff_rate=2.0)
async def generate_network_step(cpo_id: str) -> dict[str, Any]:
    provisioner = bound().provisioner
    return await _tracked(cpo_id, "generate_network", lambda: provisioner.generate_network(cpo_id))


@DBOS.step(retries_allowed=True, max_attempts=4, interval_seconds=0.5, backoff_rate=2.0)
async def create_locations_step(cpo_id: str) -> dict[str, Any]:
    provisioner = bound().provisioner
    return await _tracked(cpo_id, "create_locations", lambda: provisioner.create_locations(cpo_id))


@DBOS.step(retries_allowed=True, max_attempts=4, interval_seconds=0.5, backoff_rate=2.0)
async def create_chargers_step(cpo_id: str) -> dict[str, Any]:
    provisioner = bound().provisioner
    return await _tracked(cpo_id, "create_chargers", lambda: provisioner.create_chargers(cpo_id))


@DBOS.step(retries_allowed=True, max_attempts=4, interval_seconds=0.5, backoff_rate=2.0)
async def start_chargers_step(cpo_id: str) -> dict[str, Any]:
    provisioner = bound().provisioner
    return await _tracked(cpo_id, "start_chargers", lambda: provisioner.start_chargers(cpo_id))


@DBOS.step(retries_allowed=True, max_attempts=3, interval_seconds=1.0, backoff_rate=2.0)
async def wait_until_booted_step(cpo_id: str) -> dict[str, Any]:
    provisioner = bound().provisioner
    return await _tracked(
        cpo_id,
        "wait_until_booted",
        lambda: provisioner.wait_until_booted(cpo_id, BOOT_WAIT_SECONDS),
    )


@DBOS.step()
async def set_status_step(cpo_id: str, status: str, error: str | None = None) -> None:
    await asyncio.to_thread(cpo_steps.set_status, bound().database, cpo_id, status, error)


@DBOS.workflow()
async def provision_cpo(cpo_id: str) -> str:
    await set_status_step(cpo_id, "PROVISIONING")
    try:
        await generate_network_step(cpo_id)
        await create_locations_step(cpo_id)
        await create_chargers_step(cpo_id)
        await start_chargers_step(cpo_id)
        await wait_until_booted_step(cpo_id)
    except Exception as exc:  # noqa: BLE001 - recorded as FAILED, visible on the status endpoint
        await set_status_step(cpo_id, "FAILED", f"{type(exc).__name__}: {exc}")
        return "FAILED"
    await set_status_step(cpo_id, "READY")
    return "READY"


@DBOS.step(retries_allowed=True, max_attempts=4, interval_seconds=0.5, backoff_rate=2.0)
async def stop_chargers_step(cpo_id: str) -> dict[str, Any]:
    provisioner = bound().provisioner
    return await _tracked(cpo_id, "stop_chargers", lambda: provisioner.remove_chargers(cpo_id))


@DBOS.step(retries_allowed=True, max_attempts=4, interval_seconds=0.5, backoff_rate=2.0)
async def revoke_tokens_step(cpo_id: str) -> dict[str, Any]:
    provisioner = bound().provisioner
    return await _tracked(cpo_id, "revoke_tokens", lambda: provisioner.revoke_tokens(cpo_id))


@DBOS.workflow()
async def destroy_cpo(cpo_id: str) -> str:
    await set_status_step(cpo_id, "DESTROYING")
    await stop_chargers_step(cpo_id)
    await revoke_tokens_step(cpo_id)
    await set_status_step(cpo_id, "DESTROYED")
    return "DESTROYED"


def provision_workflow_id(cpo_id: str) -> str:
    return f"wfr_provision_{cpo_id}"


def destroy_workflow_id(cpo_id: str) -> str:
    return f"wfr_destroy_{cpo_id}"
