"""The runner as the station machine's driver: it feeds events to `StationMachine` and
executes the effects it returns with the runner's clock, link and writes. `StationRunner`
mixes this in (docs/station-machine.md, migration steps 1 and 2)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from voltlab.fleet.link import NotConnected
from voltlab.fleet.machine.effects import (
    Answer,
    CancelTimer,
    CancelTransfer,
    Download,
    Effect,
    Persist,
    ReadFrameLog,
    ReportStatus,
    ResetStation,
    SendCall,
    SetTimer,
    Upload,
)
from voltlab.fleet.machine.events import CsmsRequest, GatewayCommand, TimerFired
from voltlab.fleet.machine.messages import (
    CsmsAnswerMessage,
    CsmsRequestMessage,
    GatewayCommandMessage,
)
from voltlab.ocpp.connection import Reply
from voltlab.ocpp.errors import CallErrorReceived, CallTimeout, ConnectionLost, OcppError

if TYPE_CHECKING:
    from voltlab.fleet.runner import StationRunner

log = logging.getLogger(__name__)

# Failures of a CALL to the CSMS that a station lives with (the runner logs them and goes on).
TRANSPORT_ERRORS = (NotConnected, ConnectionLost, CallTimeout, CallErrorReceived, OcppError)


class MachineDriver:
    def answer_request(
        self: StationRunner,
        request: CsmsRequestMessage,
        encode: Callable[[CsmsAnswerMessage], dict[str, Any]],
    ) -> Reply:
        """Handle a decoded CSMS request: the effects before the machine's answer run now, the
        answer goes back encoded by the version's codec, the rest once it is on the wire."""
        effects = self.machine.handle(CsmsRequest(request), self.now())
        for index, effect in enumerate(effects):
            if isinstance(effect, Answer):
                later = effects[index + 1 :]
                after = self.defer(partial(self.execute, later)) if later else None
                return Reply(encode(effect.message), after=after)
            self._execute_at_once(effect)
        raise RuntimeError(f"the station machine did not answer {request!r}")

    async def run_command(self: StationRunner, command: GatewayCommandMessage) -> CsmsAnswerMessage:
        """A gateway command the machine decides on: its effects run in order and its answer
        is the command's result."""
        effects = self.machine.handle(GatewayCommand(command), self.now())
        answer: CsmsAnswerMessage | None = None
        for effect in effects:
            if isinstance(effect, Answer):
                answer = effect.message
            else:
                await self.execute([effect])
        if answer is None:
            raise RuntimeError(f"the station machine did not answer {command!r}")
        return answer

    async def execute(self: StationRunner, effects: Sequence[Effect]) -> None:
        """Execute effects in order; those that talk to the CSMS are awaited one by one."""
        for effect in effects:
            if isinstance(effect, SendCall):
                action, payload = self.adapter.encode_call(effect.message)
                try:
                    await self.link.call(action, payload)
                except TRANSPORT_ERRORS as exc:
                    log.debug("%s: %s not sent: %s", self.identity, action, exc)
            elif isinstance(effect, ReportStatus):
                await self.publish_status()
            elif isinstance(effect, Persist) and effect.write_ahead:
                await self.write_ahead()
            elif isinstance(effect, Download | Upload | ReadFrameLog):
                self.maintenance.start_transfer(effect)
            elif isinstance(effect, CancelTransfer):
                self.maintenance.cancel_transfer(effect.name)
            elif isinstance(effect, ResetStation):
                self.spawn(self.reset(effect.hard))
            else:
                self._execute_at_once(effect)

    def _execute_at_once(self: StationRunner, effect: Effect) -> None:
        if isinstance(effect, SetTimer):
            name = effect.name
            self._set_timer(name, effect.at - self.now(), lambda: self._timer_fired(name))
        elif isinstance(effect, CancelTimer):
            self._cancel_timer(effect.name)
        elif isinstance(effect, Persist) and not effect.write_ahead:
            self.changed()
        else:
            # Sending or awaiting before the answer would hold the CSMS's request open.
            raise RuntimeError(f"{effect!r} cannot run before the answer or without a request")

    async def _timer_fired(self: StationRunner, name: str) -> None:
        await self.execute(self.machine.handle(TimerFired(name), self.now()))
