"""How the strict ocpp-rpc CSMS is scripted for each library scenario: `PASS` makes it do what
the scenario's `requires` asks, `BREAK` makes it break exactly what the scenario checks, and
`FAILS_WITH` is the step that must fail and a piece of its message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from peers.ocpp_rpc_peer import OcppRpcPeer
from peers.test_ca import CertAuthority

Script = Callable[[OcppRpcPeer, dict[str, str]], Awaitable[None]]

AVAILABLE_1 = {"connectorId": 1, "status": "Available"}
PREPARING_1 = {"connectorId": 1, "status": "Preparing"}


def tx_profile(limit_w: float) -> dict:
    return {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 11,
            "transactionId": "${transactionId}",
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit_w}],
            },
        },
    }


async def nothing(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    return None


async def boot_rejected(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await peer.set_boot("Rejected", interval=30)


async def boot_pending_then_accepted(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await peer.set_boot_sequence(["Pending", "Accepted"], interval=30)


async def stop_refused(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await peer.set_response(
        "StopTransaction", error={"code": "InternalError", "message": "database down"}
    )


async def smart_6kw(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await peer.set_reaction("StartTransaction", "SetChargingProfile", tx_profile(5000))


async def smart_20kw(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await peer.set_reaction("StartTransaction", "SetChargingProfile", tx_profile(20000))


async def remote(peer: OcppRpcPeer, env: dict[str, str], stop_tx: object = "${transactionId}"):
    await peer.set_reaction(
        "StatusNotification",
        "RemoteStartTransaction",
        {"connectorId": 1, "idTag": "REMOTE-1"},
        when=PREPARING_1,
    )
    await peer.set_reaction(
        "StartTransaction", "RemoteStopTransaction", {"transactionId": stop_tx}, delay=1.0
    )


async def remote_ok(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await remote(peer, env)


async def remote_wrong_tx(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await remote(peer, env, stop_tx=987654)


async def reserve(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await peer.set_reaction(
        "StatusNotification",
        "ReserveNow",
        {"connectorId": 1, "expiryDate": "${time+240}", "idTag": "RES-1", "reservationId": 7},
        when=AVAILABLE_1,
    )


def local_list(update_type: str) -> Script:
    async def script(peer: OcppRpcPeer, env: dict[str, str]) -> None:
        await peer.set_reaction(
            "StatusNotification",
            "SendLocalList",
            {
                "listVersion": 3,
                "updateType": update_type,
                "localAuthorizationList": [
                    {"idTag": "VL-LOCAL-1", "idTagInfo": {"status": "Accepted"}}
                ],
            },
            when=AVAILABLE_1,
        )

    return script


async def firmware(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await peer.set_reaction(
        "StatusNotification",
        "UpdateFirmware",
        {"location": env["firmware_url"], "retrieveDate": "${time+0}"},
        when=AVAILABLE_1,
    )


async def firmware_status_refused(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await firmware(peer, env)
    await peer.set_response(
        "FirmwareStatusNotification", error={"code": "NotImplemented", "message": "no"}
    )


def upgrade(install_first: bool) -> Script:
    async def script(peer: OcppRpcPeer, env: dict[str, str]) -> None:
        install = (
            "InstallCertificate",
            {"certificateType": "CentralSystemRootCertificate", "certificate": env["ca_pem"]},
        )
        change = ("ChangeConfiguration", {"key": "SecurityProfile", "value": "2"})
        first, second = (install, change) if install_first else (change, install)
        await peer.set_reaction("StatusNotification", first[0], first[1], when=AVAILABLE_1)
        await peer.set_reaction(
            "StatusNotification", second[0], second[1], when=AVAILABLE_1, delay=0.8
        )

    return script


@dataclass(frozen=True)
class Case:
    scenario: str
    passing: Script
    breaking: Script
    failing_step: str
    message: str


CASES = [
    Case(
        "boot-storm",
        nothing,
        boot_rejected,
        "every boot accepted with a heartbeat interval",
        "with status 'Rejected', expected 'Accepted'",
    ),
    Case(
        "boot-pending-accepted",
        boot_pending_then_accepted,
        nothing,
        "first boot answered Pending with an interval",
        "with status 'Accepted', expected 'Pending'",
    ),
    Case(
        "fault-mid-charge",
        nothing,
        stop_refused,
        "the transaction's end answered",
        "with CALLERROR InternalError (database down)",
    ),
    Case(
        "offline-queue-drain",
        nothing,
        stop_refused,
        "the queued StopTransaction answered",
        "with CALLERROR InternalError (database down)",
    ),
    Case(
        "smart-charging-txprofile",
        smart_6kw,
        smart_20kw,
        "the CSMS limits the transaction",
        "csChargingProfiles.chargingSchedule.chargingSchedulePeriod.0.limit: expected <= 6000, "
        "got 20000",
    ),
    Case(
        "remote-start-stop",
        remote_ok,
        remote_wrong_tx,
        "the CSMS stops that transaction",
        "got 987654",
    ),
    Case(
        "reservation-expiry",
        reserve,
        nothing,
        "the CSMS reserves connector 1",
        "the CSMS sent no ReserveNow",
    ),
    Case(
        "local-list-sync",
        local_list("Full"),
        local_list("Differential"),
        "the CSMS sends its full list",
        "updateType: expected 'Full', got 'Differential'",
    ),
    Case(
        "firmware-update",
        firmware,
        firmware_status_refused,
        "every firmware status answered",
        "with CALLERROR NotImplemented",
    ),
    Case(
        "security-profile-upgrade",
        upgrade(install_first=True),
        upgrade(install_first=False),
        "then sets SecurityProfile 2",
        "sent ChangeConfiguration",
    ),
]


def environment(firmware_base: str, ca: CertAuthority) -> dict[str, str]:
    return {"firmware_url": f"{firmware_base}/fw-2.5.0.bin", "ca_pem": ca.cert_pem}
