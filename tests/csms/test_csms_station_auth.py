"""Station authentication in the built-in CSMS (OCPP security profile 1) and the refusal of a
second connection for a connected identity.

Units: Basic header parsing, password shape, the verifier. On the wire: an independent
station (npm `ocpp-rpc`, strict mode) authenticates with its password and works; a raw
`websockets` attacker gets the same 401 for no credentials, a wrong password, a wrong user, an
unknown identity and an unknown CPO, and 409 with the right password while the real station
is connected, which keeps working.
"""

from __future__ import annotations

import asyncio
import base64
import string

import pytest
from csms_support import (  # noqa: F401 - the *_fixture names register fixtures
    CPO,
    LiveCsms,
    RawStation,
    RecordingListener,
    live_fixture,
    start_csms_fixture,
    wait_until,
)
from ocpp_rpc_station import OcppRpcStation
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from voltlab.csms.server import BuiltinCsms
from voltlab.csms.station_auth import (
    UNAUTHORIZED_BODY,
    StationAuthenticator,
    hash_station_password,
    new_station_password,
    parse_basic_authorization,
)
from voltlab.fleet.driver.security import basic_auth_header

PASSWORDS = {
    (CPO, "CP-REAL"): "correct-horse-battery-staple-0001",
    (CPO, "CS-RPC"): "another-station-password-00002",
}


async def stored_hash(cpo_id: str, identity: str) -> str | None:
    password = PASSWORDS.get((cpo_id, identity))
    return None if password is None else hash_station_password(password)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- units ------------------------------------------------------------------------------------


def test_parse_basic_authorization():
    assert parse_basic_authorization(basic("CP-1", "pw:with:colons")) == ("CP-1", "pw:with:colons")
    assert parse_basic_authorization("basic " + basic("a", "b")[6:]) == ("a", "b")
    for bad in (
        None,
        "",
        "Basic",
        "Basic ",
        "Bearer abc",
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Basic " + "A" * 600,
    ):
        assert parse_basic_authorization(bad) is None, bad


def test_station_passwords_are_long_random_and_valid_ocpp_passwords():
    passwords = {new_station_password() for _ in range(50)}
    assert len(passwords) == 50
    allowed = set(string.ascii_letters + string.digits + "*-_=:+|@.")  # passwordString
    for password in passwords:
        assert 16 <= len(password) <= 40  # BasicAuthPassword / AuthorizationKey
        assert set(password) <= allowed
    assert hash_station_password("x") != "x" and len(hash_station_password("x")) == 64


async def test_verifier_answers_one_bit():
    verify = StationAuthenticator(stored_hash).verify
    good = PASSWORDS[(CPO, "CP-REAL")]
    assert await verify(CPO, "CP-REAL", basic("CP-REAL", good))
    assert not await verify(CPO, "CP-REAL", None)
    assert not await verify(CPO, "CP-REAL", "Basic ???")
    assert not await verify(CPO, "CP-REAL", basic("CP-REAL", good + "x"))
    assert not await verify(CPO, "CP-REAL", basic("CS-RPC", good))  # user is not the identity
    assert not await verify(CPO, "CP-GHOST", basic("CP-GHOST", good))
    assert not await verify("cpo-other", "CP-REAL", basic("CP-REAL", good))

    async def broken(cpo_id: str, identity: str) -> str | None:
        raise RuntimeError("store down")

    assert not await StationAuthenticator(broken).verify(CPO, "CP-REAL", basic("CP-REAL", good))


# -- on the wire ------------------------------------------------------------------------------


async def refusal(url: str, authorization: str | None) -> tuple[int, bytes, dict[str, str]]:
    headers = None if authorization is None else {"Authorization": authorization}
    with pytest.raises(InvalidStatus) as caught:
        async with connect(url, subprotocols=["ocpp1.6"], additional_headers=headers):  # type: ignore[list-item]
            pass
    response = caught.value.response
    return response.status_code, bytes(response.body), dict(response.headers)


@pytest.fixture
async def secured(start_csms) -> LiveCsms:
    return await start_csms(station_password_hash=stored_hash)


async def test_every_unauthenticated_handshake_gets_the_same_401(secured: LiveCsms):
    good = PASSWORDS[(CPO, "CP-REAL")]
    url = f"{secured.url}/CP-REAL"
    answers = [
        await refusal(url, None),
        await refusal(url, "Basic %%%"),
        await refusal(url, basic("CP-REAL", good[:-1])),
        await refusal(url, basic("CS-RPC", PASSWORDS[(CPO, "CS-RPC")])),
        await refusal(f"{secured.url}/CP-GHOST", basic("CP-GHOST", good)),
        await refusal(f"{secured.url}/CP-GHOST", None),
        await refusal(f"{secured.base_url}/cpo-unknown/CP-REAL", basic("CP-REAL", good)),
    ]
    for status, body, headers in answers:
        assert status == 401
        assert body == UNAUTHORIZED_BODY.encode() == answers[0][1]
        assert headers["www-authenticate"].startswith("Basic realm=")
    # Refused before anything was processed: the CSMS has no record of any of them.
    assert secured.csms.stations(CPO) == []
    assert secured.csms.stations("cpo-unknown") == []
    assert secured.listener.heard == []


async def test_an_authenticated_duplicate_is_refused_and_the_real_station_keeps_working(
    secured: LiveCsms,
):
    password = PASSWORDS[(CPO, "CP-REAL")]
    url = f"{secured.url}/CP-REAL"
    real = RawStation(
        await connect(
            url,
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=basic_auth_header("CP-REAL", password),
        )
    )
    assert (await real.boot())["status"] == "Accepted"

    async def duplicate() -> int:
        status, body, _ = await refusal(url, basic("CP-REAL", password))
        assert b"already connected" in body
        return status

    # Several at once: none gets in, whatever the interleaving.
    assert await asyncio.gather(*(duplicate() for _ in range(3))) == [409, 409, 409]
    # The real station was not disturbed: it still exchanges frames with the CSMS, and a
    # CSMS -> station call reaches it.
    assert "currentTime" in await real.result("Heartbeat", {})
    calling = asyncio.create_task(
        secured.csms.call(
            CPO, "CP-REAL", "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}
        )
    )
    request = await real.recv()
    assert request[2] == "ChangeAvailability"
    await real.send([3, request[1], {"status": "Accepted"}])
    assert (await calling)["status"] == "Accepted"
    assert secured.csms.is_connected(CPO, "CP-REAL")
    await secured.csms.idle()
    assert secured.listener.of("station_disconnected") == []
    await real.close()
    await wait_until(lambda: secured.listener.of("station_disconnected", "CP-REAL"))


async def test_an_independent_station_authenticates_with_profile_1(secured: LiveCsms):
    password = PASSWORDS[(CPO, "CS-RPC")]
    async with OcppRpcStation(secured.url, "CS-RPC", "ocpp2.0.1", password) as station:
        assert not [e for e in station.events if e.get("event") == "fatal"], station.events
        boot = await station.call(
            "BootNotification",
            {
                "reason": "PowerUp",
                "chargingStation": {"model": "Independent", "vendorName": "ocpp-rpc"},
            },
        )
        assert boot["status"] == "Accepted"
        assert secured.csms.is_connected(CPO, "CS-RPC")
        assert not station.strict_failures
    async with OcppRpcStation(secured.url, "CS-RPC", "ocpp2.0.1", password + "x") as intruder:
        fatal = [e for e in intruder.events if e.get("event") == "fatal"]
        assert fatal and "Unauthorized" in fatal[0]["error"], intruder.events


async def test_a_half_open_connection_gives_way_once_the_keepalive_drops_it():
    """A station whose old TCP connection went half-open is not locked out: the server's
    keepalive ping goes unanswered, the server drops that link, and the station's next
    attempt is accepted. Until then a second connection is refused."""
    listener = RecordingListener()
    live = LiveCsms(BuiltinCsms(listener, station_password_hash=stored_hash), listener)
    # uvicorn pings every 20 s by default; 2 s here, still longer than the CSMS's 1 s grace.
    live.server.config.ws_ping_interval = 2.0
    live.server.config.ws_ping_timeout = 2.0
    await live.start()
    try:
        password = PASSWORDS[(CPO, "CP-REAL")]
        url = f"{live.url}/CP-REAL"
        auth = basic_auth_header("CP-REAL", password)
        old = RawStation(await connect(url, subprotocols=["ocpp1.6"], additional_headers=auth))  # type: ignore[list-item]
        await old.boot()
        old.websocket.transport.pause_reading()  # the peer is gone: no pong will ever come
        status, _, _ = await refusal(url, basic("CP-REAL", password))
        assert status == 409
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            try:
                new = RawStation(
                    await connect(url, subprotocols=["ocpp1.6"], additional_headers=auth)  # type: ignore[list-item]
                )
                break
            except InvalidStatus as exc:
                assert exc.response.status_code == 409
                assert asyncio.get_running_loop().time() < deadline, "the dead link never closed"
                await asyncio.sleep(0.1)
        assert (await new.boot())["status"] == "Accepted"
        assert live.csms.is_connected(CPO, "CP-REAL")
        await new.close()
        old.websocket.transport.abort()
    finally:
        await live.stop()
