"""Authorization answers on the wire: 1.6 ``idTagInfo`` and 2.x ``idTokenInfo``.

Both carry the same three facts (a status, an expiry, a parent / group token), which
`Authorization` holds in the 1.6 status vocabulary, the richest one both versions share.
The CSMS encodes with `id_tag_info_16` / `id_token_info_2x`; the station decodes with
`authorization_from_16` / `authorization_from_2x`. 2.x statuses 1.6 lacks (NoCredit,
NotAllowedTypeEVSE, NotAtThisLocation, NotAtThisTime, Unknown) all mean "may not charge
now" and read as Invalid, the 1.6 word for that."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, NamedTuple, NotRequired, TypedDict, get_args

from voltlab.ocpp.versions import OCPP21

AuthorizationStatus16 = Literal["Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"]
AUTHORIZATION_STATUSES_16: Final[tuple[AuthorizationStatus16, ...]] = get_args(
    AuthorizationStatus16
)
AuthorizationStatus2x = Literal[
    "Accepted",
    "Blocked",
    "ConcurrentTx",
    "Expired",
    "Invalid",
    "NoCredit",
    "NotAllowedTypeEVSE",
    "NotAtThisLocation",
    "NotAtThisTime",
    "Unknown",
]
AUTHORIZATION_STATUSES_2X: Final[tuple[AuthorizationStatus2x, ...]] = get_args(
    AuthorizationStatus2x
)

ID_TAG_MAX_LENGTH_16: Final = 20  # 1.6 IdToken is CiString20Type


def id_token_max_length(version: str) -> int:
    return 255 if version == OCPP21 else 36  # 2.x IdTokenType.idToken


class IdTagInfo16(TypedDict):
    status: str
    expiryDate: NotRequired[str]
    parentIdTag: NotRequired[str]


class IdToken2x(TypedDict):
    idToken: str
    type: str


class IdTokenInfo2x(TypedDict):
    status: str
    cacheExpiryDateTime: NotRequired[str]
    groupIdToken: NotRequired[IdToken2x]


class Authorization(NamedTuple):
    """What an idTagInfo / idTokenInfo says, whichever version carried it."""

    status: str  # an AuthorizationStatus16 word
    expiry_date: str | None = None  # RFC 3339, as on the wire
    parent_id_tag: str | None = None


def authorization_status_16(status: str) -> str:
    """A 2.x status in 1.6 words: the five shared words unchanged, the 2.x-only ones Invalid."""
    return status if status in AUTHORIZATION_STATUSES_16 else "Invalid"


def id_token_2x(value: str, token_type: str) -> IdToken2x:
    return {"idToken": value, "type": token_type}


def id_tag_info_16(
    status: str, expiry_date: str | None = None, parent_id_tag: str | None = None
) -> IdTagInfo16:
    body: IdTagInfo16 = {"status": status}
    if expiry_date:
        body["expiryDate"] = expiry_date
    if parent_id_tag:
        body["parentIdTag"] = parent_id_tag
    return body


def id_token_info_2x(
    status: str, expiry_date: str | None = None, group_id_token: str | None = None
) -> IdTokenInfo2x:
    """The group token is a ``Central`` one: an identifier the CSMS issued, not a card."""
    body: IdTokenInfo2x = {"status": status}
    if expiry_date:
        body["cacheExpiryDateTime"] = expiry_date
    if group_id_token:
        body["groupIdToken"] = id_token_2x(group_id_token, "Central")
    return body


def authorization_from_16(body: Mapping[str, Any] | None) -> Authorization:
    """A 1.6 idTagInfo; none at all is Invalid (nothing vouches for the tag)."""
    if not body:
        return Authorization("Invalid")
    return Authorization(body["status"], body.get("expiryDate"), body.get("parentIdTag"))


def authorization_from_2x(body: Mapping[str, Any] | None) -> Authorization:
    """A 2.x idTokenInfo in 1.6 words; none at all is Invalid."""
    if not body:
        return Authorization("Invalid")
    group = (body.get("groupIdToken") or {}).get("idToken")
    return Authorization(
        authorization_status_16(body["status"]), body.get("cacheExpiryDateTime"), group
    )
