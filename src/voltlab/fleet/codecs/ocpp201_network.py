"""OCPP 2.0.1 / 2.1 codec for SetNetworkProfile (B09): the connection data the station uses
(CSMS URL, security profile) out of the NetworkConnectionProfileType, and the answer."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict
from urllib.parse import urlsplit

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.configuration_messages import (
    SetNetworkProfile,
    SetNetworkProfileAnswer,
)
from voltlab.fleet.model.network_profiles import NetworkProfile


class StatusInfo(TypedDict):
    reasonCode: str


class SetNetworkProfileResponse(TypedDict):
    status: str
    statusInfo: NotRequired[StatusInfo]


def decode_set_network_profile(payload: dict[str, Any]) -> SetNetworkProfile:
    data = payload["connectionData"]
    url = str(data.get("ocppCsmsUrl", ""))
    usable = (
        data.get("ocppTransport") == "JSON"
        and urlsplit(url).scheme in ("ws", "wss")
        and bool(urlsplit(url).hostname)
    )
    # 2.1 may carry the connection's Basic-auth password (2.0.1 sets it as a variable).
    password = data.get("basicAuthPassword")
    secret = None if password is None else str(password)
    profile = NetworkProfile(url, int(data["securityProfile"]), secret) if usable else None
    return SetNetworkProfile(int(payload["configurationSlot"]), profile)


def encode_set_network_profile_answer(answer: SetNetworkProfileAnswer) -> SetNetworkProfileResponse:
    body: SetNetworkProfileResponse = {"status": answer.status}
    if answer.reason_code is not None:
        body["statusInfo"] = {"reasonCode": answer.reason_code}
    return body


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "SetNetworkProfile": RequestCodec(
        decode_set_network_profile, encode_set_network_profile_answer
    ),
}
