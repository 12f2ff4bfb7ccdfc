"""How the strict ocpp-rpc CSMS is scripted for each library scenario and OCPP version: the
passing script makes it do what the scenario's `requires` asks, a `Break` makes it break what the
scenario checks and names the step that must then fail, with a piece of its message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

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


def tx_profile_201(limit_w: float) -> dict:
    return {
        "evseId": 1,
        "chargingProfile": {
            "id": 11,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "transactionId": "${param.transactionInfo.transactionId}",
            "chargingSchedule": [
                {
                    "id": 1,
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit_w}],
                }
            ],
        },
    }


def smart(limit_w: float) -> Script:
    async def script(peer: OcppRpcPeer, env: dict[str, str]) -> None:
        if env["version"] == "ocpp1.6":
            await peer.set_reaction("StartTransaction", "SetChargingProfile", tx_profile(limit_w))
        else:
            await peer.set_reaction(
                "TransactionEvent",
                "SetChargingProfile",
                tx_profile_201(limit_w),
                when={"eventType": "Started"},
            )

    return script


smart_6kw = smart(5000)
smart_20kw = smart(20000)


async def remote(peer: OcppRpcPeer, env: dict[str, str], stop_tx: object = "${transactionId}"):
    if env["version"] != "ocpp1.6":
        await remote_201(peer, stop_tx)
        return
    await peer.set_reaction(
        "StatusNotification",
        "RemoteStartTransaction",
        {"connectorId": 1, "idTag": "REMOTE-1"},
        when=PREPARING_1,
    )
    await peer.set_reaction(
        "StartTransaction", "RemoteStopTransaction", {"transactionId": stop_tx}, delay=1.0
    )


async def remote_201(peer: OcppRpcPeer, stop_tx: object) -> None:
    if stop_tx == "${transactionId}":
        stop_tx = "${param.transactionInfo.transactionId}"
    else:
        stop_tx = str(stop_tx)
    await peer.set_reaction(
        "StatusNotification",
        "RequestStartTransaction",
        {"idToken": {"idToken": "REMOTE-1", "type": "Central"}, "remoteStartId": 41, "evseId": 1},
        when={"evseId": 1, "connectorStatus": "Occupied"},
    )
    await peer.set_reaction(
        "TransactionEvent",
        "RequestStopTransaction",
        {"transactionId": stop_tx},
        when={"transactionInfo.remoteStartId": 41},
        delay=1.0,
    )


async def remote_ok(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await remote(peer, env)


async def remote_wrong_tx(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await remote(peer, env, stop_tx=987654)


async def reserve(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    if env["version"] != "ocpp1.6":
        await peer.set_reaction(
            "StatusNotification",
            "ReserveNow",
            {
                "id": 7,
                "expiryDateTime": "${time+240}",
                "idToken": {"idToken": "RES-1", "type": "Central"},
                "evseId": 1,
            },
            when={"evseId": 1, "connectorStatus": "Available"},
        )
        return
    await peer.set_reaction(
        "StatusNotification",
        "ReserveNow",
        {"connectorId": 1, "expiryDate": "${time+240}", "idTag": "RES-1", "reservationId": 7},
        when=AVAILABLE_1,
    )


def local_list(update_type: str) -> Script:
    async def script(peer: OcppRpcPeer, env: dict[str, str]) -> None:
        if env["version"] != "ocpp1.6":
            entry = {
                "idToken": {"idToken": "VL-LOCAL-1", "type": "ISO14443"},
                "idTokenInfo": {"status": "Accepted"},
            }
            await peer.set_reaction(
                "StatusNotification",
                "SendLocalList",
                {"versionNumber": 3, "updateType": update_type, "localAuthorizationList": [entry]},
                when={"evseId": 1, "connectorStatus": "Available"},
            )
            return
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
    if env["version"] != "ocpp1.6":
        await peer.set_reaction(
            "StatusNotification",
            "UpdateFirmware",
            {
                "requestId": 5,
                "firmware": {"location": env["firmware_url"], "retrieveDateTime": "${time+0}"},
            },
            when={"evseId": 1, "connectorStatus": "Available"},
        )
        return
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
    """1.6: InstallCertificate, ChangeConfiguration SecurityProfile 2; 2.0.1: InstallCertificate,
    SetNetworkProfile (profile 2, the wss:// listener), NetworkConfigurationPriority, Reset.
    Breaking: the profile raised before the root certificate is installed."""

    async def script(peer: OcppRpcPeer, env: dict[str, str]) -> None:
        old = env["version"] == "ocpp1.6"
        install = (
            "InstallCertificate",
            {
                "certificateType": "CentralSystemRootCertificate" if old else "CSMSRootCertificate",
                "certificate": env["ca_pem"],
            },
        )
        if old:
            raise_it = [("ChangeConfiguration", {"key": "SecurityProfile", "value": "2"})]
        else:
            connection = {
                "ocppVersion": "OCPP20",
                "ocppTransport": "JSON",
                "ocppCsmsUrl": env["tls_url"],
                "messageTimeout": 30,
                "securityProfile": 2,
                "ocppInterface": "Wired0",
            }
            priority = {
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "NetworkConfigurationPriority"},
                "attributeValue": "2,1",
            }
            raise_it = [
                ("SetNetworkProfile", {"configurationSlot": 2, "connectionData": connection}),
                ("SetVariables", {"setVariableData": [priority]}),
                ("Reset", {"type": "Immediate"}),
            ]
        when = AVAILABLE_1 if old else {"evseId": 1, "connectorStatus": "Available"}
        calls = [install, *raise_it] if install_first else [*raise_it[:2], install]
        for n, (method, params) in enumerate(calls):
            await peer.set_reaction("StatusNotification", method, params, when=when, delay=0.1 + n)

    return script


async def status_refused(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await peer.set_response(
        "StatusNotification", error={"code": "InternalError", "message": "database down"}
    )


async def queued_events_refused(peer: OcppRpcPeer, env: dict[str, str]) -> None:
    await peer.set_response_when(
        "TransactionEvent",
        {"offline": True},
        error={"code": "InternalError", "message": "database down"},
    )


@dataclass(frozen=True)
class Break:
    """What breaks the scenario on one OCPP version: the script, the step that must fail and a
    piece of its message."""

    script: Script
    step: str
    message: str


@dataclass(frozen=True)
class Case:
    scenario: str
    passing: Script
    breaks: dict[str, Break]
    # The run's params, from the environment: param name -> environment key.
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def versions(self) -> list[str]:
        return list(self.breaks)


V16, V201 = "ocpp1.6", "ocpp2.0.1"
REFUSED = "with CALLERROR InternalError (database down)"

CASES = [
    Case(
        "boot-storm",
        nothing,
        {
            v: Break(
                boot_rejected,
                "every boot accepted with a heartbeat interval",
                "with status 'Rejected', expected 'Accepted'",
            )
            for v in (V16, V201)
        },
    ),
    Case(
        "boot-pending-accepted",
        boot_pending_then_accepted,
        {
            v: Break(
                nothing,
                "first boot answered Pending with an interval",
                "with status 'Accepted', expected 'Pending'",
            )
            for v in (V16, V201)
        },
    ),
    Case(
        "fault-mid-charge",
        nothing,
        {
            V16: Break(stop_refused, "the transaction's end answered", REFUSED),
            V201: Break(status_refused, "every status report answered", REFUSED),
        },
    ),
    Case(
        "offline-queue-drain",
        nothing,
        {
            V16: Break(stop_refused, "the queued StopTransaction answered", REFUSED),
            V201: Break(queued_events_refused, "every queued TransactionEvent answered", REFUSED),
        },
    ),
    Case(
        "smart-charging-txprofile",
        smart_6kw,
        {
            V16: Break(
                smart_20kw,
                "the CSMS limits the transaction",
                "csChargingProfiles.chargingSchedule.chargingSchedulePeriod.0.limit: "
                "expected <= 6000, got 20000",
            ),
            V201: Break(
                smart_20kw,
                "the CSMS limits the transaction on EVSE 1",
                "chargingProfile.chargingSchedule.0.chargingSchedulePeriod.0.limit: "
                "expected <= 6000, got 20000",
            ),
        },
    ),
    Case(
        "remote-start-stop",
        remote_ok,
        {
            V16: Break(remote_wrong_tx, "the CSMS stops that transaction", "got 987654"),
            V201: Break(
                remote_wrong_tx, "the CSMS stops that transaction by its id", "got '987654'"
            ),
        },
    ),
    Case(
        "reservation-expiry",
        reserve,
        {
            V16: Break(nothing, "the CSMS reserves connector 1", "the CSMS sent no ReserveNow"),
            V201: Break(nothing, "the CSMS reserves EVSE 1", "the CSMS sent no ReserveNow"),
        },
    ),
    Case(
        "local-list-sync",
        local_list("Full"),
        {
            V16: Break(
                local_list("Differential"),
                "the CSMS sends its full list",
                "updateType: expected 'Full', got 'Differential'",
            ),
            V201: Break(
                local_list("Differential"),
                "the CSMS sends its full list (2.0.1)",
                "updateType: expected 'Full', got 'Differential'",
            ),
        },
    ),
    Case(
        "firmware-update",
        firmware,
        {
            v: Break(
                firmware_status_refused,
                "every firmware status answered",
                "with CALLERROR NotImplemented",
            )
            for v in (V16, V201)
        },
    ),
    Case(
        "security-profile-upgrade",
        upgrade(install_first=True),
        params={"tls_url": "tls_url"},
        breaks={
            V16: Break(
                upgrade(install_first=False),
                "then sets SecurityProfile 2",
                "sent ChangeConfiguration",
            ),
            V201: Break(
                upgrade(install_first=False),
                "then puts it first in NetworkConfigurationPriority",
                "sent SetVariables",
            ),
        },
    ),
]


def environment(
    firmware_base: str, ca: CertAuthority, version: str, tls_url: str
) -> dict[str, str]:
    return {
        "firmware_url": f"{firmware_base}/fw-2.5.0.bin",
        "ca_pem": ca.cert_pem,
        "version": version,
        "tls_url": tls_url,
    }
