"""`BuiltinCsms`: the OCPP server the virtual CPOs' chargers connect to.

One instance serves every CPO of the process. The HTTP layer mounts `serve` on
``/csms/{cpo_id}/{identity}``; the cpo layer implements `CsmsListener` and drives stations
through `call` and the helpers. State is in memory (see `registry`); with a `TransactionStore`
its transactions are in the database too, so a station may reconnect to any process (issue 14,
`persistence.TransactionSync`).

Stations speak OCPP 1.6, 2.0.1 or 2.1 on the same endpoint; the negotiated subprotocol picks
the session class (`Ocpp16Session`, `Ocpp201Session`), and the listener hears the same
events whichever it is.

With ``station_password_hash`` (what the virtual CPOs use) every station authenticates with
OCPP security profile 1 before its WebSocket is accepted; anything else gets one and the same
HTTP 401, whether the identity exists or not. An identity that is connected keeps its
connection: a second one is refused with HTTP 409 (see `_claim`). Energy readings pass the
plausibility rule of `csms.plausibility` before they reach the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from voltlab.clock import wall_time
from voltlab.csms.asgi_socket import StarletteSocket
from voltlab.csms.events import CsmsListener, CsmsTransaction, IdTagStatus, StationView
from voltlab.csms.notify import (
    Notification,
    StationDisconnected,
    StationNotifier,
)
from voltlab.csms.ocpp16 import CHARGE_POINT_ACTIONS, Ocpp16Session
from voltlab.csms.ocpp201 import Ocpp201Session, charging_station_actions
from voltlab.csms.operations import StationNotConnected, StationOperations
from voltlab.csms.persistence import TransactionStore, TransactionSync
from voltlab.csms.plausibility import MaxPowerLookup, MeterGuard
from voltlab.csms.registry import Registry, StationKey, TransactionIds
from voltlab.csms.station_auth import (
    UNAUTHORIZED_BODY,
    WWW_AUTHENTICATE,
    PasswordHashLookup,
    StationAuthenticator,
)
from voltlab.csms.timestamps import Now
from voltlab.log_context import bound
from voltlab.ocpp.connection import Handler, RpcConnection
from voltlab.ocpp.errors import ConnectionLost
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201
from voltlab.ocpp.vocabulary.timestamps import from_epoch

log = logging.getLogger(__name__)

# Subprotocols served. A station offering several gets the first of its list that is served
# here: a client lists its subprotocols in its order of preference (RFC 6455, 1.9).
SERVED_VERSIONS: tuple[str, ...] = (OCPP16, OCPP201, OCPP21)

POLICY_VIOLATION = 1008
PROTOCOL_ERROR = 1002
GOING_AWAY = 1001
CLOSE_TIMEOUT = 5.0  # seconds to hand our close frame to the server
# How long a second connection waits for the identity's current one to finish closing (a
# station that closed its socket and reconnected at once) before it is refused.
DUPLICATE_GRACE = 1.0
DUPLICATE_BODY = "this charging station is already connected"

FrameObserver = Callable[[str, str, str, str], None]  # cpo_id, identity, direction, text


@dataclass(eq=False)
class _Link:
    """One live WebSocket of one station."""

    key: StationKey
    version: str
    socket: StarletteSocket
    rpc: RpcConnection
    reader: asyncio.Task[None] | None = field(default=None)

    async def close(self, code: int, reason: str) -> None:
        # Stop reading first: whatever the ASGI server does after our close frame, this
        # link's serve() returns promptly and its pending calls fail with ConnectionLost.
        if self.reader is not None:
            self.reader.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):  # a dead peer must not stall us
                await self.rpc.close(code, reason)


class BuiltinCsms(StationOperations):
    def __init__(
        self,
        listener: CsmsListener,
        *,
        heartbeat_interval: int = 300,
        is_known_station: Callable[[str, str], Awaitable[bool]] | None = None,
        next_transaction_id: Callable[[], int] | None = None,
        now: Now | None = None,
        call_timeout: float = 30.0,
        authorize_timeout: float = 20.0,
        notify_timeout: float = 60.0,
        on_frame: FrameObserver | None = None,
        station_password_hash: PasswordHashLookup | None = None,
        max_power_w: MaxPowerLookup | None = None,
        station_clock: Now | None = None,
        transactions: TransactionStore | None = None,
    ) -> None:
        """
        ``now`` is the time put on CSMS timestamps (default: the wall clock; pass the fleet
        clock's ``now`` to share its simulated time). ``authorize_timeout`` bounds the
        listener's authorize(); past it the tag is answered Invalid, well inside a station's
        own call timeout. ``notify_timeout`` bounds each notification.

        ``station_password_hash(cpo_id, identity)`` returns the sha256 of a station's profile-1
        password (None: no such station); when given, it replaces ``is_known_station`` and
        every connection must authenticate. ``max_power_w(cpo_id, identity, connector_id)``
        bounds the energy a connector may report; ``station_clock`` is the stations' clock,
        capping the timestamps they claim (see `csms.plausibility`).

        ``transactions`` keeps the transactions in the database (issue 14): written as frames
        change them, read back when a station connects, ids from a shared sequence.
        """
        self.listener = listener
        self.heartbeat_interval = heartbeat_interval
        self.call_timeout = call_timeout
        self.authorize_timeout = authorize_timeout
        self.notify_timeout = notify_timeout
        self._is_known_station = is_known_station
        self._authenticator = (
            StationAuthenticator(station_password_hash)
            if station_password_hash is not None
            else None
        )
        self._now: Now = now or wall_time
        self._on_frame = on_frame
        self._transactions = transactions
        if next_transaction_id is None:
            next_transaction_id = (
                transactions.id_sequence("transaction") if transactions else TransactionIds()
            )
        self.registry = Registry(
            next_transaction_id,
            MeterGuard(max_power_w, station_clock),
            track_changes=transactions is not None,
        )
        # 2.x RequestStartTransaction ids: unique across restarts like transaction ids, so
        # a station's late TransactionEvent never matches a request of a previous run.
        self._remote_start_ids = (
            transactions.id_sequence("remote_start") if transactions else TransactionIds()
        )
        self._sync = (
            TransactionSync(self.registry, transactions, self._notifier, notify_timeout)
            if transactions is not None
            else None
        )
        self._links: dict[StationKey, _Link] = {}
        self._claims: set[StationKey] = set()  # identities between claim and registered link
        self._notifiers: dict[StationKey, StationNotifier] = {}

    # -- WebSocket endpoint -------------------------------------------------------------------

    async def serve(self, websocket: WebSocket, cpo_id: str, identity: str) -> None:
        """Run one station connection until it closes (mount on /csms/{cpo_id}/{identity})."""
        # Every log line of the connection, uvicorn's included, names the CPO and the station.
        with bound(cpo_id=cpo_id, identity=identity):
            await self._serve(websocket, cpo_id, identity)

    async def _serve(self, websocket: WebSocket, cpo_id: str, identity: str) -> None:
        key = (cpo_id, identity)
        try:
            version = await self._handshake(websocket, cpo_id, identity)
        except (WebSocketDisconnect, OSError, RuntimeError):
            log.info("%s/%s left during the handshake", cpo_id, identity)
            self._claims.discard(key)
            return
        if version is None:
            return
        link = self._open_link(key, websocket, version)
        previous = self._links.get(key)  # only ever a link that has already closed
        self._links[key] = link
        self._claims.discard(key)
        record = self.registry.station(cpo_id, identity)
        record.connected = True
        record.registered = False  # until this connection's BootNotification
        record.version = version
        record.connected_at = record.last_seen = self._datetime()
        if self._sync is not None:
            await self._sync.restore(key, self._notifiers.get(key))
        reader = asyncio.get_running_loop().create_task(
            link.rpc.run(), name=f"csms:{cpo_id}/{identity}"
        )
        link.reader = reader
        try:
            if previous is not None:
                # A closed link whose serve() has not finished yet: make sure it stops.
                await previous.close(1000, "")
            # wait() rather than await: a reader cancelled by a replacing connection must
            # end this coroutine normally, not as if serve() itself had been cancelled.
            await asyncio.wait({reader})
        finally:
            if not reader.done():
                reader.cancel()
            if self._links.get(key) is link:
                del self._links[key]
                record.connected = False
                self._notifier(key).push(StationDisconnected())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await link.socket.close(1000, "")

    async def _handshake(self, websocket: WebSocket, cpo_id: str, identity: str) -> str | None:
        """Accept with the negotiated subprotocol; None when the station was turned away.

        On a non-None return the identity is claimed (`_claims`) until serve() registers the
        link. Nothing the station sends is read before it is authenticated and claimed.
        """
        if self._authenticator is not None:
            authorization = websocket.headers.get("authorization")
            if not await self._authenticator.verify(cpo_id, identity, authorization):
                log.warning("%s/%s refused: not authenticated", cpo_id, identity)
                challenge = {"WWW-Authenticate": WWW_AUTHENTICATE}
                await _deny(websocket, 401, UNAUTHORIZED_BODY, challenge)
                return None
        elif not await self._known(cpo_id, identity):
            await _deny(websocket, 404, "unknown charging station")
            return None
        key = (cpo_id, identity)
        if not await self._claim(key):
            log.warning(
                "%s/%s refused: a second connection while the station is connected",
                cpo_id,
                identity,
            )
            await _deny(websocket, 409, DUPLICATE_BODY)
            return None
        try:
            offered = websocket.scope.get("subprotocols") or []
            version = choose_version(offered)
            if version is None:
                # OCPP-J: complete the handshake without a subprotocol, then close at once.
                await websocket.accept()
                await websocket.close(PROTOCOL_ERROR, "no supported OCPP subprotocol offered")
                log.info("%s/%s offered no served subprotocol: %s", cpo_id, identity, offered)
                self._claims.discard(key)
                return None
            await websocket.accept(subprotocol=version)
        except BaseException:
            self._claims.discard(key)
            raise
        return version

    async def _claim(self, key: StationKey) -> bool:
        """Reserve an identity for a new connection; False while another one holds it.

        A live connection is never replaced: an intruder with stolen credentials must not be
        able to push the real station off. A half-open old connection is not a dead end: the
        ASGI server pings every WebSocket (uvicorn: every 20 s, 20 s to answer) and closes one
        that stops answering, after which the station's next attempt is accepted. The ASGI
        interface gives the application no ping of its own to probe the old link sooner.
        A link that is closing already (the station closed it and reconnected at once) gets
        `DUPLICATE_GRACE` seconds to finish.
        """
        link = self._links.get(key)
        if link is not None and not link.rpc.closed and link.reader is not None:
            await asyncio.wait({link.reader}, timeout=DUPLICATE_GRACE)
        link = self._links.get(key)
        if key in self._claims or (link is not None and not link.rpc.closed):
            return False
        self._claims.add(key)
        return True

    def _open_link(self, key: StationKey, websocket: WebSocket, version: str) -> _Link:
        cpo_id, identity = key
        socket = StarletteSocket(websocket)
        handler: Handler
        if version == OCPP16:
            handler = Ocpp16Session(
                cpo_id=cpo_id,
                identity=identity,
                registry=self.registry,
                authorize=lambda id_tag: self._authorize(cpo_id, identity, id_tag),
                emit=self._emitter(key),
                now=self._datetime,
                heartbeat_interval=self.heartbeat_interval,
            ).handle
            actions = CHARGE_POINT_ACTIONS
        else:
            handler = Ocpp201Session(
                cpo_id=cpo_id,
                identity=identity,
                version=version,
                registry=self.registry,
                decide=lambda id_tag: self._decide(cpo_id, identity, id_tag),
                emit=self._emitter(key),
                now=self._datetime,
                heartbeat_interval=self.heartbeat_interval,
            ).handle
            actions = charging_station_actions(version)
        observer = None
        if self._on_frame is not None:
            on_frame = self._on_frame

            def observer(direction: str, text: str) -> None:
                on_frame(cpo_id, identity, direction, text)

        rpc = RpcConnection(
            socket,
            version,
            handler=self._sync.flushing(key, handler) if self._sync is not None else handler,
            on_frame=observer,
            call_timeout=self.call_timeout,
            validate=True,
            supported_actions=actions,
        )
        return _Link(key, version, socket, rpc)

    async def _known(self, cpo_id: str, identity: str) -> bool:
        if self._is_known_station is None:
            return True
        try:
            return bool(await self._is_known_station(cpo_id, identity))
        except Exception:
            log.exception("is_known_station failed for %s/%s; refusing it", cpo_id, identity)
            return False

    # -- listener plumbing --------------------------------------------------------------------

    def _datetime(self) -> datetime:
        return from_epoch(self._now())

    def _notifier(self, key: StationKey) -> StationNotifier:
        notifier = self._notifiers.get(key)
        if notifier is None:
            save = self._transactions.save if self._transactions is not None else None
            notifier = StationNotifier(self.listener, *key, timeout=self.notify_timeout, save=save)
            self._notifiers[key] = notifier
        return notifier

    def _emitter(self, key: StationKey) -> Callable[[Notification], None]:
        notifier = self._notifier(key)
        if self._sync is None:
            return notifier.push
        sync = self._sync

        def emit(note: Notification) -> None:
            sync.flush(key)  # the store first: the listener's pushes follow stored state
            notifier.push(note)

        return emit

    async def _authorize(self, cpo_id: str, identity: str, id_tag: str) -> IdTagStatus:
        """The listener's decision; Invalid when it fails or takes too long (fail closed)."""
        return await self._decide(cpo_id, identity, id_tag) or IdTagStatus.invalid()

    async def _decide(self, cpo_id: str, identity: str, id_tag: str) -> IdTagStatus | None:
        """The listener's decision; None when it fails or takes too long.

        Each protocol says "no decision" in its own words (1.6 Invalid, 2.x Unknown).
        """
        try:
            async with asyncio.timeout(self.authorize_timeout):
                status = await self.listener.authorize(cpo_id, identity, id_tag)
        except TimeoutError:
            log.error("authorize(%s) for %s/%s timed out", id_tag, cpo_id, identity)
            return None
        except Exception:
            log.exception("authorize(%s) for %s/%s failed", id_tag, cpo_id, identity)
            return None
        if not isinstance(status, IdTagStatus):
            log.error("authorize returned %r, not an IdTagStatus", status)
            return None
        return status

    # -- CSMS -> station ----------------------------------------------------------------------

    def is_connected(self, cpo_id: str, identity: str) -> bool:
        link = self._links.get((cpo_id, identity))
        return link is not None and not link.rpc.closed

    async def call(
        self,
        cpo_id: str,
        identity: str,
        action: str,
        payload: dict[str, Any],
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Send a CALL to a station and return its CALLRESULT payload.

        Raises StationNotConnected, OcppError (payload invalid for the schema: nothing was
        sent; or an invalid answer), CallErrorReceived (the station's CALLERROR) or
        CallTimeout.
        """
        link = self._links.get((cpo_id, identity))
        if link is None or link.rpc.closed:
            raise StationNotConnected(f"{identity} of {cpo_id} is not connected to the CSMS")
        try:
            return await link.rpc.call(action, payload, timeout=timeout)
        except ConnectionLost as exc:
            raise StationNotConnected(f"{identity} of {cpo_id} disconnected: {exc}") from exc

    def link_version(self, cpo_id: str, identity: str) -> str | None:
        """The subprotocol of the station's open connection, None when not connected."""
        link = self._links.get((cpo_id, identity))
        return None if link is None else link.version

    def station_transaction_id(self, cpo_id: str, identity: str, transaction_id: int) -> str | None:
        """The 2.x station's own id of one of its transactions (None: not a 2.x one of it)."""
        tx = self.registry.transaction(cpo_id, transaction_id)
        if tx is None or tx.identity != identity:
            return None
        return tx.station_transaction_id

    def next_remote_start_id(self) -> int:
        return self._remote_start_ids()

    # -- introspection ------------------------------------------------------------------------

    def stations(self, cpo_id: str) -> list[StationView]:
        """Every station of a CPO that ever connected since this process started."""
        records = sorted(self.registry.station_records(cpo_id), key=lambda r: r.identity)
        return [self.registry.view(record) for record in records]

    def station(self, cpo_id: str, identity: str) -> StationView | None:
        record = self.registry.find_station(cpo_id, identity)
        return None if record is None else self.registry.view(record)

    def transaction(self, cpo_id: str, transaction_id: int) -> CsmsTransaction | None:
        """An open or recently closed transaction of this CPO (a copy)."""
        tx = self.registry.transaction(cpo_id, transaction_id)
        return None if tx is None else tx.snapshot()

    def find_transaction_by_connector(
        self, cpo_id: str, identity: str, connector_id: int
    ) -> CsmsTransaction | None:
        """The open transaction on a connector (a copy), if any."""
        tx = self.registry.open_on_connector(cpo_id, identity, connector_id)
        return None if tx is None else tx.snapshot()

    def open_transactions(self, cpo_id: str, identity: str) -> list[CsmsTransaction]:
        return [tx.snapshot() for tx in self.registry.open_transactions(cpo_id, identity)]

    def implausible_readings(self, cpo_id: str) -> int:
        """Energy readings of this CPO's stations refused as billing truth since start."""
        return self.registry.rejections[cpo_id]

    # -- lifecycle ----------------------------------------------------------------------------

    async def disconnect(
        self, cpo_id: str, identity: str, *, code: int = 1000, reason: str = ""
    ) -> bool:
        """Close a station's connection (it will reconnect on its own); False if none."""
        link = self._links.get((cpo_id, identity))
        if link is None:
            return False
        await link.close(code, reason)
        return True

    async def forget_cpo(self, cpo_id: str) -> None:
        """Drop a destroyed CPO: close its stations' connections and forget their state."""
        for key, link in list(self._links.items()):
            if key[0] == cpo_id:
                await link.close(GOING_AWAY, "operator removed")
        for key in [k for k in self._notifiers if k[0] == cpo_id]:
            self._notifiers.pop(key).cancel()
        self.registry.forget_cpo(cpo_id)
        if self._transactions is not None:
            await self._transactions.forget_cpo(cpo_id)

    async def idle(self) -> None:
        """Wait until every notification recorded so far has reached the listener."""
        while True:
            busy = [n for n in self._notifiers.values() if not n.is_idle]
            if not busy:
                return
            await asyncio.gather(*(n.idle() for n in busy))

    async def close(self) -> None:
        """Close every station connection (server shutdown); pending notifications drain."""
        links = list(self._links.values())
        await asyncio.gather(
            *(link.close(GOING_AWAY, "CSMS shutting down") for link in links),
            return_exceptions=True,
        )


def choose_version(offered: Sequence[str]) -> str | None:
    """The first subprotocol the station offers that this CSMS serves."""
    for name in offered:
        if name in SERVED_VERSIONS:
            return name
    return None


async def _deny(
    websocket: WebSocket, status: int, body: str, headers: dict[str, str] | None = None
) -> None:
    """Refuse the WebSocket with an HTTP response, before accepting it.

    401 for a station that did not authenticate, 404 for an unknown identity when the CSMS
    runs without authentication (OCPP-J 1.6 section 3.1.1), 409 for a second connection.
    Servers without the ASGI denial-response extension get a close before accept instead
    (which they turn into HTTP 403), with the policy-violation code for those that report it.
    """
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(
            PlainTextResponse(body, status_code=status, headers=headers)
        )
    else:
        await websocket.close(POLICY_VIOLATION, body)
