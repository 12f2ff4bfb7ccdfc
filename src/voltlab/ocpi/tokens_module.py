"""Tokens receiver interface of our CPO: the eMSP pushes (PUT), updates (PATCH) and checks
(GET) its Tokens at `/tokens/{country_code}/{party_id}/{token_uid}[?type=...]`."""

from __future__ import annotations

from enum import Enum
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from voltlab.ocpi import repo
from voltlab.ocpi.core import OcpiCore
from voltlab.ocpi.envelope import (
    OcpiError,
    OcpiReply,
    OcpiStatus,
    invalid,
    not_found,
    parse_datetime,
)
from voltlab.ocpi.findings import OcpiObservation
from voltlab.ocpi.judging import describe_roles, party_in_roles
from voltlab.ocpi.validation import FieldChecker
from voltlab.ocpi.web import Caller, read_json_object, run_endpoint

TOKEN_TYPES: dict[str, frozenset[str]] = {
    "2.2.1": frozenset({"AD_HOC_USER", "APP_USER", "OTHER", "RFID"}),
    "2.1.1": frozenset({"OTHER", "RFID"}),
}
WHITELIST_TYPES = frozenset({"ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"})
PROFILE_TYPES = frozenset({"CHEAP", "FAST", "GREEN", "REGULAR"})


def validate_token(body: dict[str, Any], version: str) -> None:
    """Raise 2001 unless `body` is a complete Token object of `version`."""
    checker = FieldChecker(body)
    if version == "2.2.1":
        checker.string("country_code", max_len=2, exact_len=2)
        checker.string("party_id", max_len=3, exact_len=3)
        checker.string("contract_id", max_len=36)
        checker.string("group_id", max_len=36, required=False)
        checker.enum("default_profile_type", PROFILE_TYPES, required=False)
        energy_contract = checker.nested("energy_contract", required=False)
        if energy_contract is not None:
            energy_contract.string("supplier_name", max_len=64)
            energy_contract.string("contract_id", max_len=64, required=False)
    else:
        checker.string("auth_id", max_len=36)
    checker.string("uid", max_len=36)
    checker.enum("type", TOKEN_TYPES[version])
    checker.string("visual_number", max_len=64, required=False)
    checker.string("issuer", max_len=64)
    checker.boolean("valid")
    checker.enum("whitelist", WHITELIST_TYPES)
    checker.string("language", max_len=2, exact_len=2, required=False)
    checker.datetime("last_updated")
    checker.fail_if_errors("Token")


def _token_type(request: Request, version: str, default: str = "RFID") -> str:
    token_type = request.query_params.get("type") or default
    if token_type not in TOKEN_TYPES[version]:
        raise invalid(f"type must be one of {sorted(TOKEN_TYPES[version])}")
    return token_type


def _check_identity(
    body: dict[str, Any], version: str, country_code: str, party_id: str, uid: str, token_type: str
) -> None:
    """The object must be the one the URL names (transport chapter: mismatch -> 2001)."""
    problems = []
    if body.get("uid") != uid:
        problems.append(f"uid {body.get('uid')!r} differs from the URL's {uid!r}")
    if body.get("type") != token_type:
        problems.append(f"type {body.get('type')!r} differs from the URL's {token_type!r}")
    if version == "2.2.1":
        if str(body.get("country_code", "")).upper() != country_code.upper():
            problems.append("country_code differs from the URL")
        if str(body.get("party_id", "")).upper() != party_id.upper():
            problems.append("party_id differs from the URL")
    if problems:
        raise invalid("Token does not match the URL: " + "; ".join(problems), problems)


def _unknown_token(uid: str, token_type: str) -> OcpiError:
    return not_found(OcpiStatus.UNKNOWN_TOKEN, f"Unknown token {uid!r} of type {token_type}")


def _get(
    session: Session, cpo_id: str, country_code: str, party_id: str, uid: str, token_type: str
) -> dict[str, Any]:
    row = repo.get_received_token(session, cpo_id, country_code, party_id, uid, token_type)
    if row is None:
        raise _unknown_token(uid, token_type)
    return dict(row.body)


def _put(
    session: Session,
    cpo_id: str,
    country_code: str,
    party_id: str,
    uid: str,
    token_type: str,
    body: dict[str, Any],
) -> bool:
    return repo.save_received_token(
        session,
        cpo_id,
        country_code,
        party_id,
        uid,
        token_type,
        body,
        parse_datetime(body["last_updated"]),
    )


def _patch(
    session: Session,
    cpo_id: str,
    version: str,
    country_code: str,
    party_id: str,
    uid: str,
    token_type: str,
    patch: dict[str, Any],
) -> None:
    row = repo.get_received_token(session, cpo_id, country_code, party_id, uid, token_type)
    if row is None:
        raise _unknown_token(uid, token_type)
    merged = dict(row.body) | patch
    validate_token(merged, version)
    _check_identity(merged, version, country_code, party_id, uid, token_type)
    row.body = merged
    row.last_updated = parse_datetime(merged["last_updated"])


def _foreign_party(caller: Caller, country_code: str, party_id: str) -> list[OcpiObservation]:
    """A Token pushed under a party the credentials did not name (the roles tell a server
    which parties a client pushes Client Owned Objects as). Tolerated, judged."""
    roles = caller.link.peer_roles
    if not roles or party_in_roles(roles, country_code, party_id):
        return []
    return [
        OcpiObservation(
            "ocpi-credentials-roles",
            f"expected Tokens pushed under a party of the eMSP's credentials "
            f"({describe_roles(roles)}); came /tokens/{country_code}/{party_id}/…",
        )
    ]


def add_tokens_routes(router: APIRouter, core: OcpiCore, version: str) -> None:
    path = f"/ocpi/{version}/tokens/{{country_code}}/{{party_id}}/{{token_uid}}"
    tags: list[str | Enum] = [f"OCPI {version}"]  # FastAPI\'s type

    async def serve(request: Request, handler: Any) -> Response:
        return await run_endpoint(core, request, version=version, module="tokens", handler=handler)

    @router.get(path, tags=tags, summary="A Token as stored by the CPO")
    async def get_token(
        request: Request, country_code: str, party_id: str, token_uid: str
    ) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            token_type = _token_type(request, version)
            data = await core.db(_get, caller.cpo_id, country_code, party_id, token_uid, token_type)
            return OcpiReply(data=data)

        return await serve(request, handle)

    @router.put(path, tags=tags, summary="Push a new or updated Token")
    async def put_token(
        request: Request, country_code: str, party_id: str, token_uid: str
    ) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            body = await read_json_object(request)
            validate_token(body, version)
            # Without ?type the object's own type counts (the spec default is RFID, but a
            # peer omitting the parameter for an APP_USER token means that token).
            token_type = _token_type(request, version, default=str(body.get("type")))
            _check_identity(body, version, country_code, party_id, token_uid, token_type)
            created = await core.db(
                _put, caller.cpo_id, country_code, party_id, token_uid, token_type, body
            )
            return OcpiReply(
                http_status=201 if created else 200,
                observations=_foreign_party(caller, country_code, party_id),
            )

        return await serve(request, handle)

    @router.patch(path, tags=tags, summary="Partially update a Token")
    async def patch_token(
        request: Request, country_code: str, party_id: str, token_uid: str
    ) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            patch = await read_json_object(request)
            checker = FieldChecker(patch)
            checker.datetime("last_updated")
            checker.fail_if_errors("Token PATCH (last_updated is required)")
            token_type = _token_type(request, version)
            await core.db(
                _patch,
                caller.cpo_id,
                version,
                country_code,
                party_id,
                token_uid,
                token_type,
                patch,
            )
            return OcpiReply(observations=_foreign_party(caller, country_code, party_id))

        return await serve(request, handle)
