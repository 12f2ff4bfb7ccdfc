"""The local authorization list: SendLocalList, GetLocalListVersion and the gateway's
local-list commands. The list itself (`fleet/model/auth.py`) checks versions and entries; this flow
adds the length limit, storing the change and the answers."""

from __future__ import annotations

from typing import cast

from voltlab.fleet.machine.effects import Answer, Effect, Persist
from voltlab.fleet.machine.messages import (
    ClearLocalList,
    ClearLocalListAnswer,
    GetLocalListVersion,
    LocalListStatus,
    LocalListVersionAnswer,
    SendLocalList,
    SendLocalListAnswer,
)
from voltlab.fleet.model.auth import LocalListError
from voltlab.fleet.model.station import Station


def send_local_list(station: Station, request: SendLocalList) -> list[Effect]:
    status = _install(station, request)
    local_list = station.local_list
    answer = Answer(SendLocalListAnswer(status, local_list.version, len(local_list.entries)))
    return [Persist(), answer] if status == "Accepted" else [answer]


def _install(station: Station, request: SendLocalList) -> LocalListStatus:
    if len(request.entries) > station.config.get_int("SendLocalListMaxLength"):
        return "Failed"
    try:
        station.local_list.update(request.version, request.update_type, list(request.entries))
    except LocalListError as exc:
        return cast(LocalListStatus, exc.status)
    return "Accepted"


def get_local_list_version(
    station: Station, request: GetLocalListVersion, *, hides_disabled_list: bool
) -> list[Effect]:
    # 1.6 answers -1 for a disabled list; 2.x has no such word and reports the version.
    if hides_disabled_list and not station.config.get_bool("LocalAuthListEnabled"):
        return [Answer(LocalListVersionAnswer(-1))]
    return [Answer(LocalListVersionAnswer(station.local_list.version))]


def clear_local_list(station: Station, request: ClearLocalList) -> list[Effect]:
    removed = len(station.local_list.entries)
    station.local_list.clear()
    return [Persist(), Answer(ClearLocalListAnswer(removed))]
