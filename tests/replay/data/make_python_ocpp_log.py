"""How `python_ocpp_station.log` was made: a charge point written with the Python `ocpp` library
(The Mobility House, PyPI `ocpp`, as many simulators and CSMSs are) runs a session against the
strict ocpp-rpc CSMS, with the library's `ocpp` logger writing what it always writes, in a
format with timestamps as deployments configure it. The CSMS starts the session remotely
(RemoteStartTransaction), so the log holds a CSMS CALL too.

    PYTHONPATH=src:tests python3 tests/replay/data/make_python_ocpp_log.py > \
        tests/replay/data/python_ocpp_station.log
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime

import websockets
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from peers.ocpp_rpc_peer import OcppRpcPeer

IDENTITY = "PYCP-1"
ID_TAG = "LOG-TAG-1"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Station(ChargePoint):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.session: asyncio.Task[None] | None = None
        self.done = asyncio.Event()

    @on(Action.remote_start_transaction)
    async def remote_start(self, id_tag: str, connector_id: int = 1, **_: object):
        return call_result.RemoteStartTransaction(status="Accepted")

    @after(Action.remote_start_transaction)
    async def start_after(self, id_tag: str, connector_id: int = 1, **_: object) -> None:
        # Not inside the handler: the library answers one CALL at a time.
        self.session = asyncio.ensure_future(self.charge(id_tag, connector_id))

    async def status(self, connector: int, status: str) -> None:
        await self.call(
            call.StatusNotification(
                connector_id=connector, error_code="NoError", status=status, timestamp=now()
            )
        )

    async def charge(self, id_tag: str, connector: int) -> None:
        await self.call(call.Authorize(id_tag=id_tag))
        started = await self.call(
            call.StartTransaction(
                connector_id=connector, id_tag=id_tag, meter_start=1000, timestamp=now()
            )
        )
        await self.status(connector, "Charging")
        for energy in (1250, 1500):
            await asyncio.sleep(1)
            await self.call(
                call.MeterValues(
                    connector_id=connector,
                    transaction_id=started.transaction_id,
                    meter_value=[
                        {
                            "timestamp": now(),
                            "sampledValue": [
                                {
                                    "value": str(energy),
                                    "measurand": "Energy.Active.Import.Register",
                                    "unit": "Wh",
                                }
                            ],
                        }
                    ],
                )
            )
        await self.call(
            call.StopTransaction(
                meter_stop=1500,
                timestamp=now(),
                transaction_id=started.transaction_id,
                id_tag=id_tag,
                reason="Remote",
            )
        )
        await self.status(connector, "Finishing")
        self.done.set()


async def main() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))
    logger = logging.getLogger("ocpp")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=True) as csms:
        await csms.set_reaction(
            "StatusNotification",
            "RemoteStartTransaction",
            {"idTag": ID_TAG, "connectorId": 1},
            when={"connectorId": 1, "status": "Available"},
            delay=0.2,
        )
        async with websockets.connect(f"{csms.url}/{IDENTITY}", subprotocols=["ocpp1.6"]) as socket:
            station = Station(IDENTITY, socket)
            reader = asyncio.ensure_future(station.start())
            await station.call(
                call.BootNotification(charge_point_model="Replay-1", charge_point_vendor="Log")
            )
            await station.status(0, "Available")
            await station.status(1, "Available")
            await asyncio.wait_for(station.done.wait(), 30)
            reader.cancel()
        assert csms.strict_failures == [], csms.strict_failures


if __name__ == "__main__":
    asyncio.run(main())
