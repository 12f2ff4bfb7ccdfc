"""Authorization: may this id tag charge? The local list, then the cache, then the CSMS, as
the configuration allows (1.6 LocalPreAuthorize, LocalAuthorizeOffline,
AllowOfflineTxForUnknownId; the 2.x device model maps onto the same keys). What the CSMS
answers is learnt into the cache."""

from __future__ import annotations

from voltlab.fleet.machine import csms_rules
from voltlab.fleet.machine.csms_rules import CsmsMemory
from voltlab.fleet.machine.effects import Persist
from voltlab.fleet.machine.flow import Call, CallFailure, Flow
from voltlab.fleet.machine.messages import (
    AuthorizationDecision,
    AuthorizeAnswer,
    AuthorizeRequest,
)
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.records import StationError
from voltlab.fleet.model.station import Station


def authorize(
    station: Station,
    id_tag: str,
    now: float,
    *,
    online: bool,
    memory: CsmsMemory | None = None,
) -> Flow[AuthorizationDecision]:
    config = station.config
    pre_authorize = config.get_bool("LocalPreAuthorize")
    offline_ok = not online and config.get_bool("LocalAuthorizeOffline")
    if config.get_bool("LocalAuthListEnabled"):
        listed = station.local_list.lookup(id_tag)
        if listed is not None and (pre_authorize or offline_ok):
            return AuthorizationDecision(id_tag, effective(listed, now), "local_list")
    if config.get_bool("AuthorizationCacheEnabled"):
        cached = station.auth_cache.lookup(id_tag)
        if cached is not None and cached.is_valid_at(now) and (pre_authorize or offline_ok):
            return AuthorizationDecision(id_tag, cached, "cache")
    if not online:
        if config.get_bool("AllowOfflineTxForUnknownId"):
            return AuthorizationDecision(id_tag, IdTagInfo("Accepted"), "offline")
        raise StationError(
            "not_connected", f"{station.identity} is not connected and accepted by its CSMS"
        )
    answer = yield Call(AuthorizeRequest(id_tag))
    if isinstance(answer, CallFailure):
        raise StationError("csms_error", f"Authorize failed: {answer.detail or answer.reason}")
    assert isinstance(answer, AuthorizeAnswer)
    if memory is not None:  # judges the transaction's start answer (csms_rules)
        csms_rules.authorize_answered(memory, id_tag, answer.info, now)
    yield from learn(station, id_tag, answer.info)
    return AuthorizationDecision(id_tag, answer.info, "csms")


def learn(station: Station, id_tag: str, info: IdTagInfo) -> Flow[None]:
    """Keep what the CSMS said about an id tag in the authorization cache, when enabled."""
    if station.config.get_bool("AuthorizationCacheEnabled"):
        station.auth_cache.learn(id_tag, info)
        yield Persist()


def effective(info: IdTagInfo, now: float) -> IdTagInfo:
    """A local list entry past its expiry date answers Expired."""
    if info.status == "Accepted" and not info.is_valid_at(now):
        return IdTagInfo("Expired", info.expiry_date, info.parent_id_tag)
    return info
