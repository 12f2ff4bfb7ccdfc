"""Firmware updates and log uploads on the wire (1.6 and 2.0.1) against the strict ocpp-rpc
CSMS, with a real HTTP server on 127.0.0.1 serving the firmware and receiving the logs."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer
from support import wait_until
from voltlab.fleet.hosting.runtime_api import ChargerSpec


class FileServer:
    def __init__(self) -> None:
        self.uploads: list[bytes] = []
        files = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.endswith("/slow/fw-1.8.0.bin"):
                    time.sleep(2.0)  # long enough for a second UpdateFirmware to replace it
                    try:
                        self.send_response(200)
                        self.send_header("Content-Length", "9")
                        self.end_headers()
                        self.wfile.write(b"\x7fFIRMWARE")
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the station cancelled the download
                elif self.path.endswith("/fw-2.5.0.bin"):
                    body = b"\x7fFIRMWARE" * 1000
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_response(404)
                    self.end_headers()

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                files.uploads.append(self.rfile.read(length))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def now_text(runner) -> str:
    return datetime.fromtimestamp(runner.now(), UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("version", ["ocpp1.6", "ocpp2.0.1"])
async def test_firmware_update_and_log_upload(runtime, version):
    identity = f"FW-{version[-3:]}"
    with FileServer() as files:
        async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
            await runtime.start_charger(
                ChargerSpec("dep-fw", "org", identity, peer.url, version, "ac-7kw-1c")
            )
            runner = runtime.runner("dep-fw")
            await wait_until(lambda: runner.link.online)
            location = f"{files.base}/fw-2.5.0.bin"
            if version == "ocpp1.6":
                assert (
                    await peer.call(
                        identity,
                        "UpdateFirmware",
                        {"location": location, "retrieveDate": now_text(runner)},
                    )
                    == {}
                )
            else:
                answer = await peer.call(
                    identity,
                    "UpdateFirmware",
                    {
                        "requestId": 3,
                        "firmware": {"location": location, "retrieveDateTime": now_text(runner)},
                    },
                )
                assert answer["status"] == "Accepted"
            await wait_until(lambda: len(peer.calls(identity, "BootNotification")) >= 2, timeout=20)
            statuses = [c["status"] for c in peer.calls(identity, "FirmwareStatusNotification")]
            assert statuses[:4] == ["Downloading", "Downloaded", "Installing", "Installed"]
            boot = peer.calls(identity, "BootNotification")[-1]
            firmware = (
                boot["firmwareVersion"]
                if version == "ocpp1.6"
                else boot["chargingStation"]["firmwareVersion"]
            )
            assert firmware == "2.5.0"
            if version != "ocpp1.6":  # 2.x says why it booted (1.6 has no reason)
                assert boot["reason"] == "FirmwareUpdate"
            assert "FirmwareUpdated" in [
                e["type"] for e in peer.calls(identity, "SecurityEventNotification")
            ]
            await wait_until(lambda: runner.link.online)
            # a log upload really arrives; an ftp:// location fails cleanly
            if version == "ocpp1.6":
                answer = await peer.call(
                    identity, "GetDiagnostics", {"location": f"{files.base}/upload"}
                )
                assert answer["fileName"].endswith(".log")
                await wait_until(
                    lambda: (
                        [
                            c["status"]
                            for c in peer.calls(identity, "DiagnosticsStatusNotification")
                        ][-1:]
                        == ["Uploaded"]
                    ),
                    timeout=20,
                )
                await peer.call(identity, "GetDiagnostics", {"location": "ftp://127.0.0.1/upload"})
                await wait_until(
                    lambda: (
                        peer.calls(identity, "DiagnosticsStatusNotification")[-1]["status"]
                        == "UploadFailed"
                    )
                )
            else:
                answer = await peer.call(
                    identity,
                    "GetLog",
                    {
                        "logType": "DiagnosticsLog",
                        "requestId": 9,
                        "log": {"remoteLocation": f"{files.base}/upload"},
                    },
                )
                assert answer["status"] == "Accepted" and answer["filename"].endswith(".log")
                await wait_until(
                    lambda: (
                        [c["status"] for c in peer.calls(identity, "LogStatusNotification")][-1:]
                        == ["Uploaded"]
                    ),
                    timeout=20,
                )
                await peer.call(
                    identity,
                    "GetLog",
                    {
                        "logType": "DiagnosticsLog",
                        "requestId": 10,
                        "log": {"remoteLocation": "ftp://127.0.0.1/x"},
                    },
                )
                await wait_until(
                    lambda: (
                        peer.calls(identity, "LogStatusNotification")[-1]["status"]
                        == "UploadFailure"
                    )
                )
            assert files.uploads and b"BootNotification" in files.uploads[0]
            await peer.sync()
            assert peer.strict_failures == []


async def test_a_second_update_replaces_a_running_download(runtime):
    """2.0.1: the station answers AcceptedCanceled, stops the first download (its request
    reports nothing after Downloading) and installs the second image; TriggerMessage reports
    the running update's status with its requestId, and Idle without one."""
    identity = "FW-REPLACE"
    with FileServer() as files:
        async with OcppRpcPeer(protocols=("ocpp2.0.1",), strict=True) as peer:
            await runtime.start_charger(
                ChargerSpec("dep-fw2", "org", identity, peer.url, "ocpp2.0.1", "ac-7kw-1c")
            )
            runner = runtime.runner("dep-fw2")
            await wait_until(lambda: runner.link.online)

            def statuses(request_id: int | None) -> list[str]:
                return [
                    c["status"]
                    for c in peer.calls(identity, "FirmwareStatusNotification")
                    if c.get("requestId") == request_id
                ]

            def update(request_id: int, location: str) -> dict:
                firmware = {"location": location, "retrieveDateTime": now_text(runner)}
                return {"requestId": request_id, "firmware": firmware}

            first = await peer.call(
                identity, "UpdateFirmware", update(1, f"{files.base}/slow/fw-1.8.0.bin")
            )
            assert first["status"] == "Accepted"
            await wait_until(lambda: statuses(1) == ["Downloading"])
            trigger = {"requestedMessage": "FirmwareStatusNotification"}
            assert (await peer.call(identity, "TriggerMessage", trigger))["status"] == "Accepted"
            # A triggered report carries the running update's requestId (2.0.1 L01: requestId
            # is mandatory unless triggered while no update is ongoing).
            await wait_until(lambda: statuses(1) == ["Downloading", "Downloading"])
            second = await peer.call(
                identity, "UpdateFirmware", update(2, f"{files.base}/fw-2.5.0.bin")
            )
            assert second["status"] == "AcceptedCanceled"
            await wait_until(lambda: len(peer.calls(identity, "BootNotification")) >= 2, timeout=20)
            assert statuses(2) == ["Downloading", "Downloaded", "Installing", "Installed"]
            boot = peer.calls(identity, "BootNotification")[-1]
            assert boot["chargingStation"]["firmwareVersion"] == "2.5.0"
            assert boot["reason"] == "FirmwareUpdate"
            await wait_until(lambda: runner.link.online)
            assert (await peer.call(identity, "TriggerMessage", trigger))["status"] == "Accepted"
            await wait_until(lambda: statuses(None) == ["Idle"])  # idle: no requestId
            # the replaced download reported nothing more than its own and the triggered report
            assert statuses(1) == ["Downloading", "Downloading"]
            await peer.sync()
            assert peer.strict_failures == []
