"""OCPP 2.x spellings of what the CSMS says: idTokenInfo answers and the payloads of the
operations it sends (RequestStartTransaction, ReserveNow, Reset, ...).

Id tokens. The listener decides on a bare string; 2.x wants a type with it. For tokens the
CSMS sends (remote start, reservation) the type is guessed from the value unless the caller
names it: 8, 14 or 20 hex digits is the UID of a 4, 7 or 10 byte ISO 14443 card (what an RFID
reader reports, so the station's local list and cache match it), anything else ``Central``
(an identifier issued centrally, e.g. an app user). Group tokens are ``Central`` too.

Authorization statuses. The listener answers in the 1.6 vocabulary (Accepted, Blocked,
Expired, Invalid, ConcurrentTx); every one of those words exists in 2.x with the same meaning
and is sent unchanged. ``Unknown`` is what a 2.x station hears when the listener gave no
answer (it failed or timed out): the CSMS could not identify the token, which is what Unknown
says; a 1.6 station hears Invalid in that case, the closest word it has.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from voltlab.csms.events import IdTagStatus
from voltlab.ocpp.vocabulary.authorization import (
    IdToken2x,
    IdTokenInfo2x,
    id_token_2x,
    id_token_info_2x,
    id_token_max_length,
)
from voltlab.ocpp.vocabulary.timestamps import format_datetime

log = logging.getLogger(__name__)

_ISO14443_UID = re.compile(r"[0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}|[0-9A-Fa-f]{20}")

# 1.6 TriggerMessage names whose 2.x counterpart is spelt differently.
_TRIGGER_NAMES: dict[str, str] = {"DiagnosticsStatusNotification": "LogStatusNotification"}


def id_token_type_for(value: str) -> str:
    return "ISO14443" if _ISO14443_UID.fullmatch(value) else "Central"


def id_token(value: str, token_type: str | None = None) -> IdToken2x:
    return id_token_2x(value, token_type or id_token_type_for(value))


def id_token_info(status: IdTagStatus | None, version: str) -> IdTokenInfo2x:
    """The idTokenInfo for the listener's decision; None (no decision) is Unknown."""
    if status is None:
        return id_token_info_2x("Unknown")
    expiry = None if status.expiry is None else format_datetime(status.expiry)
    group = status.parent_id_tag
    if group and len(group) > id_token_max_length(version):
        # sending it would make the whole answer schema-invalid
        log.warning("dropping group id token %r: too long for %s", group, version)
        group = None
    return id_token_info_2x(status.status, expiry, group)


# -- CSMS -> station payloads -------------------------------------------------------------------


def request_start_payload(
    id_tag: str,
    evse_id: int | None,
    remote_start_id: int,
    charging_profile: dict[str, Any] | None,
    token_type: str | None,
) -> dict[str, Any]:
    """RequestStartTransaction; ``charging_profile`` must already be a 2.x TxProfile."""
    payload: dict[str, Any] = {
        "idToken": id_token(id_tag, token_type),
        "remoteStartId": remote_start_id,
    }
    if evse_id:  # 0 or None: the station picks the EVSE
        payload["evseId"] = evse_id
    if charging_profile is not None:
        payload["chargingProfile"] = charging_profile
    return payload


def reserve_now_payload(
    evse_id: int,
    expiry: datetime,
    id_tag: str,
    reservation_id: int,
    parent_id_tag: str | None,
    token_type: str | None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": reservation_id,
        "expiryDateTime": format_datetime(expiry),
        "idToken": id_token(id_tag, token_type),
    }
    if evse_id:  # 1.6 connector 0 = "any connector": a 2.x reservation without an EVSE
        payload["evseId"] = evse_id
    if parent_id_tag:
        payload["groupIdToken"] = id_token(parent_id_tag, "Central")
    return payload


def unlock_connector_payload(evse_id: int) -> dict[str, Any]:
    return {"evseId": evse_id, "connectorId": 1}  # one connector per EVSE


def reset_payload(hard: bool) -> dict[str, Any]:
    # A hard reset does not wait for anything; the gentle one waits until the EVSEs are idle
    # rather than ending sessions (2.x has no "stop gracefully, then reboot at once").
    return {"type": "Immediate" if hard else "OnIdle"}


def change_availability_payload(evse_id: int, operative: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {"operationalStatus": "Operative" if operative else "Inoperative"}
    if evse_id:  # connector 0 is the whole station, which 2.x says by leaving out the EVSE
        payload["evse"] = {"id": evse_id}
    return payload


def trigger_message_payload(message: str, evse_id: int | None) -> dict[str, Any]:
    requested = _TRIGGER_NAMES.get(message, message)
    payload: dict[str, Any] = {"requestedMessage": requested}
    if evse_id:
        evse: dict[str, Any] = {"id": evse_id}
        if requested == "StatusNotification":
            evse["connectorId"] = 1  # a status is per connector; stations may insist
        payload["evse"] = evse
    return payload
