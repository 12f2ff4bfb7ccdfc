"""The ocpp-rpc test peer works: driven here by a tiny hand-written station.

The station below is deliberately raw (websockets + json, no voltlab code), so
these tests check the peer itself, not our OCPP stack.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

try:
    from tests.peers.ocpp_rpc_peer import OcppRpcPeer, PeerCallError
except ImportError:  # tests/ itself on sys.path (rootdir-relative import mode)
    from peers.ocpp_rpc_peer import OcppRpcPeer, PeerCallError

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")

BOOT16 = {"chargePointVendor": "VoltLab", "chargePointModel": "Tiny-1"}
BOOT201 = {
    "reason": "PowerUp",
    "chargingStation": {"vendorName": "VoltLab", "model": "Tiny-2"},
}


class TinyStation:
    """Minimal OCPP-J station: sends CALLs, sees and answers the CSMS's CALLs."""

    def __init__(self, ws):
        self.ws = ws
        self.incoming: asyncio.Queue = asyncio.Queue()  # frames that are not our results
        self._results: dict[str, asyncio.Future] = {}
        self._task = asyncio.create_task(self._pump())

    async def _pump(self):
        try:
            async for text in self.ws:
                try:
                    frame = json.loads(text)
                except ValueError:
                    await self.incoming.put(text)
                    continue
                if (
                    isinstance(frame, list)
                    and len(frame) > 1
                    and frame[0] in (3, 4)
                    and frame[1] in self._results
                ):
                    self._results.pop(frame[1]).set_result(frame)
                else:
                    await self.incoming.put(frame)
        except ConnectionClosed:
            pass

    async def send_call(self, action, payload, timeout=5.0):
        msg_id = str(uuid.uuid4())
        fut = asyncio.get_running_loop().create_future()
        self._results[msg_id] = fut
        await self.ws.send(json.dumps([2, msg_id, action, payload]))
        frame = await asyncio.wait_for(fut, timeout)
        assert frame[1] == msg_id
        return frame

    async def send_text(self, text):
        await self.ws.send(text)

    async def next_incoming(self, timeout=5.0):
        return await asyncio.wait_for(self.incoming.get(), timeout)

    async def close(self):
        await self.ws.close()
        self._task.cancel()


async def open_station(peer, identity, protocol):
    ws = await connect(f"{peer.url}/{identity}", subprotocols=[protocol], open_timeout=5)
    assert ws.subprotocol == protocol
    await peer.wait_connected(identity)
    return TinyStation(ws)


# ------------------------------------------------------------------ 1.6 ----


async def test_ocpp16_boot_heartbeat_and_frames_recorded():
    async with OcppRpcPeer(protocols=("ocpp1.6", "ocpp2.0.1")) as peer:
        assert peer.url.startswith("ws://127.0.0.1:") and peer.url.endswith("/ocpp")
        await peer.set_boot("Accepted", interval=42)
        st = await open_station(peer, "CP16", "ocpp1.6")
        connected = peer.events_of("connected", "CP16")[0]
        assert connected["protocol"] == "ocpp1.6"
        assert connected["path"] == "/ocpp/CP16"

        boot = await st.send_call("BootNotification", BOOT16)
        assert boot[0] == 3
        assert boot[2]["status"] == "Accepted"
        assert boot[2]["interval"] == 42
        assert "T" in boot[2]["currentTime"]

        hb = await st.send_call("Heartbeat", {})
        assert hb[0] == 3 and set(hb[2]) == {"currentTime"}

        assert await peer.wait_for_call("CP16", "BootNotification") == BOOT16
        await peer.sync()  # events travel on stdout, frames on the socket
        assert peer.calls("CP16", "Heartbeat") == [{}]
        # every frame both ways, parsed, in order
        ins = peer.frames("CP16", "in")
        outs = peer.frames("CP16", "out")
        assert [f[2] for f in ins] == ["BootNotification", "Heartbeat"]
        assert [f[0] for f in outs] == [3, 3]
        assert outs[0] == boot
        assert peer.frames("CP16", action="Heartbeat") == [ins[1]]
        assert peer.strict_failures == []
        await st.close()
        await peer.wait_disconnected("CP16")


async def test_ocpp16_transactions_and_auth():
    async with OcppRpcPeer(protocols=("ocpp1.6",)) as peer:
        await peer.set_auth("BLOCKED1", "Blocked")
        await peer.set_auth("CHILD", "Accepted", parent_id_tag="PARENT")
        await peer.set_auth_default("Invalid")
        st = await open_station(peer, "CP-TX", "ocpp1.6")
        await st.send_call("BootNotification", BOOT16)

        auth = await st.send_call("Authorize", {"idTag": "BLOCKED1"})
        assert auth[2] == {"idTagInfo": {"status": "Blocked"}}
        unknown = await st.send_call("Authorize", {"idTag": "NOBODY"})
        assert unknown[2]["idTagInfo"]["status"] == "Invalid"

        start = {
            "connectorId": 1,
            "idTag": "CHILD",
            "meterStart": 0,
            "timestamp": "2025-01-01T00:00:00Z",
        }
        t1 = await st.send_call("StartTransaction", start)
        t2 = await st.send_call("StartTransaction", start)
        assert t1[2]["idTagInfo"] == {"status": "Accepted", "parentIdTag": "PARENT"}
        assert isinstance(t1[2]["transactionId"], int)
        assert t2[2]["transactionId"] == t1[2]["transactionId"] + 1

        stop = await st.send_call(
            "StopTransaction",
            {
                "transactionId": t1[2]["transactionId"],
                "meterStop": 10,
                "timestamp": "2025-01-01T01:00:00Z",
            },
        )
        assert stop[0] == 3 and stop[2] == {}
        await peer.sync()  # events travel on stdout, frames on the socket
        assert peer.strict_failures == []
        await st.close()


async def test_csms_to_station_call_result_error_and_bad_result():
    async with OcppRpcPeer(protocols=("ocpp1.6",)) as peer:
        st = await open_station(peer, "CP-CALL", "ocpp1.6")

        async def answer(make_reply):
            frame = await st.next_incoming()
            assert frame[0] == 2
            await st.send_text(json.dumps(make_reply(frame)))
            return frame

        # CALLRESULT
        task = asyncio.create_task(peer.call("CP-CALL", "Reset", {"type": "Soft"}))
        frame = await answer(lambda f: [3, f[1], {"status": "Accepted"}])
        assert frame[2:] == ["Reset", {"type": "Soft"}]
        assert await task == {"status": "Accepted"}

        # CALLERROR: the station's own code comes back
        task = asyncio.create_task(peer.call("CP-CALL", "ClearCache", {}))
        await answer(lambda f: [4, f[1], "NotSupported", "nope", {}])
        with pytest.raises(PeerCallError) as exc:
            await task
        assert exc.value.code == "NotSupported"
        assert exc.value.details["source"] == "callerror"

        # a CALLRESULT that breaks the schema is a strict failure (direction in)
        task = asyncio.create_task(peer.call("CP-CALL", "ClearCache", {}))
        await answer(lambda f: [3, f[1], {"status": "Maybe"}])
        with pytest.raises(PeerCallError) as exc:
            await task
        assert exc.value.details["source"] == "strict"
        fail = peer.strict_failures[-1]
        assert fail["method"] == "ClearCache"
        assert fail["direction"] == "in" and fail["kind"] == "result"

        # the peer refuses to send a request that breaks the schema (direction out)
        before = len(peer.frames("CP-CALL", "out"))
        with pytest.raises(PeerCallError) as exc:
            await peer.call("CP-CALL", "Reset", {"type": "Bogus"})
        assert exc.value.details["source"] == "strict"
        assert peer.strict_failures[-1]["direction"] == "out"
        assert len(peer.frames("CP-CALL", "out")) == before

        # timeout
        with pytest.raises(PeerCallError) as exc:
            await peer.call("CP-CALL", "ClearCache", {}, timeout=0.3)
        assert exc.value.code == "Timeout"
        await st.next_incoming()  # the unanswered CALL did reach the station

        # not connected
        with pytest.raises(PeerCallError) as exc:
            await peer.call("NOBODY", "ClearCache", {})
        assert exc.value.code == "NotConnected"
        await st.close()


async def test_strict_failure_on_invalid_boot_notification():
    async with OcppRpcPeer(protocols=("ocpp1.6",)) as peer:
        st = await open_station(peer, "CP-BAD", "ocpp1.6")
        reply = await st.send_call("BootNotification", {"chargePointVendor": "VoltLab"})
        assert reply[0] == 4, reply
        # ocpp-rpc uses the 1.6 errata spelling for 1.6
        assert reply[2] == "OccurrenceConstraintViolation"
        fail = await peer.wait_for_event(lambda e: e.get("event") == "strict_failure")
        assert fail["identity"] == "CP-BAD"
        assert fail["method"] == "BootNotification"
        assert fail["direction"] == "in" and fail["kind"] == "call"
        assert any(err.get("keyword") == "required" for err in fail["error"]["errors"])
        # a CALL that failed validation is not handed to a handler
        await peer.sync()  # events travel on stdout, frames on the socket
        assert peer.calls("CP-BAD", "BootNotification") == []

        wrong_type = await st.send_call("Heartbeat", [])
        assert wrong_type[0] == 4 and wrong_type[2] == "TypeConstraintViolation"
        await peer.sync()
        assert len(peer.strict_failures) == 2
        await st.close()


async def test_no_strict_mode_accepts_invalid_payload():
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=False) as peer:
        st = await open_station(peer, "CP-LAX", "ocpp1.6")
        reply = await st.send_call("BootNotification", {"chargePointVendor": "VoltLab"})
        assert reply[0] == 3
        await peer.sync()  # events travel on stdout, frames on the socket
        assert peer.strict_failures == []
        await st.close()


async def test_raw_frames_both_ways_and_bad_messages():
    async with OcppRpcPeer(protocols=("ocpp1.6",)) as peer:
        st = await open_station(peer, "CP-RAW", "ocpp1.6")

        await peer.send_raw("CP-RAW", "this is not json")
        assert await st.next_incoming() == "this is not json"
        assert peer.raw_frames("CP-RAW", "out") == ["this is not json"]

        # a raw CALL from the CSMS: the station's answer shows up as a frame event
        await peer.send_raw("CP-RAW", json.dumps([2, "raw-1", "ClearCache", {}]))
        assert await st.next_incoming() == [2, "raw-1", "ClearCache", {}]
        await st.send_text(json.dumps([3, "raw-1", {"status": "Accepted"}]))
        ev = await peer.wait_for_event(
            lambda e: (
                e.get("event") == "frame"
                and e.get("direction") == "in"
                and e.get("frame") == [3, "raw-1", {"status": "Accepted"}]
            )
        )
        assert isinstance(ev["ts"], int)
        # ocpp-rpc did not send that call itself, so the answer is a bad message for it
        bad = await peer.wait_for_event(lambda e: e.get("event") == "bad_message")
        assert bad["error"]["code"] == "RpcFrameworkError"

        # garbage from the station: CALLERROR back + bad_message
        await st.send_text("{oops")
        err = await st.next_incoming()
        assert err[0] == 4 and err[1] == "-1" and err[2] == "RpcFrameworkError"
        await peer.sync()  # events travel on stdout, frames on the socket
        assert peer.raw_frames("CP-RAW", "in") == ["{oops"]
        assert [b["raw"] for b in peer.bad_messages][-1] == "{oops"
        await st.close()


async def test_close_station_and_reject_missing_subprotocol():
    async with OcppRpcPeer(protocols=("ocpp1.6",)) as peer:
        st = await open_station(peer, "CP-CLOSE", "ocpp1.6")
        await peer.close_station("CP-CLOSE", code=4001, reason="bye")
        gone = await peer.wait_disconnected("CP-CLOSE")
        assert gone["code"] == 4001
        await asyncio.wait_for(st._task, 5)
        assert st.ws.close_code == 4001

        with pytest.raises(InvalidStatus):
            await connect(f"{peer.url}/CP-NOPROTO", subprotocols=["ocpp9.9"], open_timeout=5)
        rejected = await peer.wait_for_event(lambda e: e.get("event") == "upgrade_rejected")
        assert rejected["identity"] == "CP-NOPROTO"


# ---------------------------------------------------------------- 2.0.1 ----


async def test_ocpp201_boot_auth_and_transaction_event():
    async with OcppRpcPeer() as peer:
        await peer.set_boot("Pending", interval=7, identity="CS201")
        await peer.set_auth("TOK-BLOCK", "Blocked")
        await peer.set_auth("TOK-GROUP", "Accepted", parent_id_tag="GROUP1")
        st = await open_station(peer, "CS201", "ocpp2.0.1")
        assert peer.events_of("connected", "CS201")[0]["protocol"] == "ocpp2.0.1"

        boot = await st.send_call("BootNotification", BOOT201)
        assert boot[0] == 3 and boot[2]["status"] == "Pending" and boot[2]["interval"] == 7

        hb = await st.send_call("Heartbeat", {})
        assert hb[0] == 3 and "currentTime" in hb[2]

        auth = await st.send_call(
            "Authorize", {"idToken": {"idToken": "TOK-BLOCK", "type": "ISO14443"}}
        )
        assert auth[2] == {"idTokenInfo": {"status": "Blocked"}}

        tx = {
            "eventType": "Started",
            "timestamp": "2025-01-01T00:00:00Z",
            "triggerReason": "Authorized",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "tx-1"},
            "idToken": {"idToken": "TOK-GROUP", "type": "ISO14443"},
            "evse": {"id": 1, "connectorId": 1},
        }
        ev = await st.send_call("TransactionEvent", tx)
        assert ev[2] == {
            "idTokenInfo": {
                "status": "Accepted",
                "groupIdToken": {"idToken": "GROUP1", "type": "Central"},
            }
        }
        status = await st.send_call(
            "StatusNotification",
            {
                "timestamp": "2025-01-01T00:00:00Z",
                "connectorStatus": "Occupied",
                "evseId": 1,
                "connectorId": 1,
            },
        )
        assert status[0] == 3 and status[2] == {}

        # 2.0.1 shapes are validated too
        bad = await st.send_call("BootNotification", BOOT16)
        assert bad[0] == 4 and bad[2] == "OccurenceConstraintViolation"
        await peer.sync()  # events travel on stdout, frames on the socket
        assert peer.strict_failures[-1]["protocol"] == "ocpp2.0.1"

        # CSMS -> station in 2.0.1
        task = asyncio.create_task(
            peer.call(
                "CS201",
                "GetVariables",
                {
                    "getVariableData": [
                        {
                            "component": {"name": "OCPPCommCtrlr"},
                            "variable": {"name": "HeartbeatInterval"},
                        }
                    ]
                },
            )
        )
        frame = await st.next_incoming()
        assert frame[2] == "GetVariables"
        result = {
            "getVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "attributeValue": "300",
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                }
            ]
        }
        await st.send_text(json.dumps([3, frame[1], result]))
        assert await task == result
        await st.close()


async def test_set_response_override():
    async with OcppRpcPeer(protocols=("ocpp1.6",)) as peer:
        await peer.set_response("DataTransfer", {"status": "UnknownVendorId"})
        await peer.set_response("Heartbeat", error={"code": "NotSupported", "message": "no"})
        st = await open_station(peer, "CP-OVR", "ocpp1.6")
        dt = await st.send_call("DataTransfer", {"vendorId": "x"})
        assert dt[2] == {"status": "UnknownVendorId"}
        hb = await st.send_call("Heartbeat", {})
        assert hb[0] == 4 and hb[2] == "NotSupported"
        await peer.set_response("Heartbeat")  # back to the built-in handler
        hb = await st.send_call("Heartbeat", {})
        assert hb[0] == 3
        await st.close()


# ------------------------------------------------------------------ 2.1 ----


async def test_ocpp21_strict_mode_works_with_renamed_schema_ids():
    async with OcppRpcPeer(protocols=("ocpp2.1",)) as peer:
        st = await open_station(peer, "CS21", "ocpp2.1")
        boot = await st.send_call("BootNotification", BOOT201)
        assert boot[0] == 3, boot  # the bundled 2.1 validator would answer ProtocolError here
        assert boot[2]["status"] == "Accepted"

        bad = await st.send_call("BootNotification", {"reason": "PowerUp"})
        assert bad[0] == 4 and bad[2] == "OccurenceConstraintViolation", bad
        await peer.sync()  # events travel on stdout, frames on the socket
        assert peer.strict_failures[-1]["protocol"] == "ocpp2.1"

        swap = await st.send_call("VatNumberValidation", {"vatNumber": "NL123"})
        assert swap[0] == 3 and swap[2] == {"vatNumber": "NL123", "status": "Rejected"}
        await st.close()


# ------------------------------------------- every station-initiated action ----

ACTIONS = {
    "ocpp1.6": [
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
        "SecurityEventNotification",
        "SignCertificate",
        "LogStatusNotification",
        "SignedFirmwareStatusNotification",
    ],
    "ocpp2.0.1": [
        "Authorize",
        "BootNotification",
        "ClearedChargingLimit",
        "DataTransfer",
        "FirmwareStatusNotification",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "NotifyChargingLimit",
        "NotifyCustomerInformation",
        "NotifyDisplayMessages",
        "NotifyEVChargingNeeds",
        "NotifyEVChargingSchedule",
        "NotifyEvent",
        "NotifyMonitoringReport",
        "NotifyReport",
        "PublishFirmwareStatusNotification",
        "ReportChargingProfiles",
        "ReservationStatusUpdate",
        "SecurityEventNotification",
        "SignCertificate",
        "StatusNotification",
        "TransactionEvent",
        "Get15118EVCertificate",
        "GetCertificateStatus",
    ],
}
ACTIONS["ocpp2.1"] = ACTIONS["ocpp2.0.1"] + [
    "BatterySwap",
    "ClosePeriodicEventStream",
    "NotifyDERAlarm",
    "NotifyDERStartStop",
    "NotifyPriorityCharging",
    "NotifySettlement",
    "NotifyWebPaymentStarted",
    "OpenPeriodicEventStream",
    "PullDynamicScheduleUpdate",
    "ReportDERControl",
    "VatNumberValidation",
]
SCHEMA_FILES = {"ocpp1.6": "ocpp1_6.json", "ocpp2.0.1": "ocpp2_0_1.json", "ocpp2.1": "ocpp2_1.json"}


def _request_schemas(protocol):
    path = Path(__file__).parent / "peers/ocpp_rpc/node_modules/ocpp-rpc/lib/schemas"
    schemas = json.loads((path / SCHEMA_FILES[protocol]).read_text())
    out = {}
    for s in schemas:
        sid = s["$id"].removeprefix("urn:")
        for suffix in (".req", "Request"):
            if sid.endswith(suffix):
                out[sid.removesuffix(suffix)] = s
    return out


def _minimal(schema, root):
    """Smallest instance with only the required fields (the OCA schemas are simple)."""
    if "$ref" in schema:
        schema = root["definitions"][schema["$ref"].removeprefix("#/definitions/")]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _minimal(props[k], root) for k in schema.get("required", [])}
    if kind == "array":
        return [_minimal(schema.get("items", {}), root) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        if schema.get("format") == "date-time":
            return "2025-01-01T00:00:00Z"
        if schema.get("format") == "uri":
            return "urn:voltlab:test"
        return "x" * max(1, schema.get("minLength", 1))
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    return {}


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"])
async def test_every_station_initiated_action_gets_a_strict_valid_answer(protocol):
    schemas = _request_schemas(protocol)
    async with OcppRpcPeer(protocols=(protocol,)) as peer:
        st = await open_station(peer, f"ALL-{protocol}", protocol)
        for action in ACTIONS[protocol]:
            payload = _minimal(schemas[action], schemas[action])
            reply = await st.send_call(action, payload)
            assert reply[0] == 3, (action, payload, reply)
            await peer.sync()  # events travel on stdout, frames on the socket
            assert peer.calls(f"ALL-{protocol}", action)[-1] == payload
        assert peer.strict_failures == []
        # an action the CSMS does not implement
        reply = await st.send_call("NoSuchAction", {})
        assert reply[0] == 4 and reply[2] == "NotImplemented"
        await st.close()
