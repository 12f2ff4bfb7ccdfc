"""Configuration modules of our CPO interface: versions, version details and credentials
(registration with Token A, update that rotates Token C, unregistration)."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Any

from fastapi import APIRouter, Request, Response

from voltlab.ocpi import repo
from voltlab.ocpi.core import OcpiCore
from voltlab.ocpi.credentials_tokens import TOKEN_C_PREFIX, hash_token, is_valid_token, mint_token
from voltlab.ocpi.endpoints import version_details, versions_list
from voltlab.ocpi.envelope import OcpiError, OcpiReply, OcpiStatus
from voltlab.ocpi.handshake import discover_peer
from voltlab.ocpi.judging import check_roles
from voltlab.ocpi.peer import CpoLink
from voltlab.ocpi.validation import FieldChecker
from voltlab.ocpi.web import Caller, read_json_object, run_endpoint

ROLES_221 = frozenset({"CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP"})


def our_credentials(core: OcpiCore, link: CpoLink, token: str) -> dict[str, Any]:
    business_details = {"name": link.business_name}
    if link.version == "2.1.1":
        return {
            "token": token,
            "url": core.versions_url(link.version),
            "business_details": business_details,
            "party_id": link.party_id,
            "country_code": link.country_code,
        }
    return {
        "token": token,
        "url": core.versions_url(link.version),
        "roles": [
            {
                "role": "CPO",
                "party_id": link.party_id,
                "country_code": link.country_code,
                "business_details": business_details,
            }
        ],
    }


def parse_peer_credentials(
    body: dict[str, Any], version: str
) -> tuple[str, str, list[dict[str, Any]]]:
    """(token B, versions URL, roles normalised to the 2.2.1 CredentialsRole shape)."""
    checker = FieldChecker(body)
    token = body.get("token")
    if not is_valid_token(token):
        checker.errors.append("token: 1 to 64 printable non-whitespace ASCII characters")
    url = checker.url("url")
    roles: list[dict[str, Any]] = []
    if version == "2.1.1":
        checker.string("party_id", max_len=3, exact_len=3)
        checker.string("country_code", max_len=2, exact_len=2)
        details = checker.nested("business_details")
        if details is not None:
            details.string("name", max_len=100)
        roles.append(
            {
                "role": "EMSP",
                "party_id": body.get("party_id"),
                "country_code": body.get("country_code"),
                "business_details": body.get("business_details"),
            }
        )
    else:
        raw_roles = body.get("roles")
        if not isinstance(raw_roles, list) or not raw_roles:
            checker.errors.append("roles: required, a non-empty list")
            raw_roles = []
        for index, raw_role in enumerate(raw_roles):
            if not isinstance(raw_role, dict):
                checker.errors.append(f"roles[{index}]: must be an object")
                continue
            role_checker = FieldChecker(raw_role, prefix=f"roles[{index}].")
            role_checker.errors = checker.errors
            role_checker.enum("role", ROLES_221)
            role_checker.string("party_id", max_len=3, exact_len=3)
            role_checker.string("country_code", max_len=2, exact_len=2)
            details = role_checker.nested("business_details")
            if details is not None:
                details.string("name", max_len=100)
            roles.append(
                {key: raw_role.get(key) for key in ("role", "party_id", "country_code")}
                | {"business_details": raw_role.get("business_details")}
            )
    checker.fail_if_errors("credentials")
    assert isinstance(token, str) and url is not None
    return token, url, roles


async def _register(core: OcpiCore, request: Request, caller: Caller, *, update: bool) -> OcpiReply:
    link = caller.link
    body = await read_json_object(request)
    token_b, peer_versions_url, peer_roles = parse_peer_credentials(body, link.version)
    discovery = await discover_peer(
        core,
        cpo_id=link.cpo_id,
        versions_url=peer_versions_url,
        token_b=token_b,
        version=link.version,
        correlation_id=request.headers.get("x-correlation-id") or str(uuid.uuid4()),
    )
    token_c = mint_token(TOKEN_C_PREFIX)
    stored = await core.db(
        repo.complete_registration,
        link.cpo_id,
        # PUT must replace exactly the Token C it was authenticated with (rotation): the old
        # one stops working the moment the new one is stored.
        expected_token_c_hash=hash_token(caller.token) if update else None,
        new_token_c_hash=hash_token(token_c),
        token_b=token_b,
        token_b_base64=discovery.token_b_base64,
        peer_versions_url=peer_versions_url,
        peer_version=discovery.version,
        peer_details_url=discovery.details_url,
        peer_endpoints=discovery.endpoints,
        peer_roles=peer_roles,
    )
    if not stored:
        raise OcpiError(
            OcpiStatus.CLIENT_ERROR,
            "Registration state changed concurrently; retry",
            http_status=405 if not update else 409,
        )
    # Tolerated, judged: roles that name one (role, party) twice (2.2.1 credentials object).
    observations = check_roles(peer_roles) if link.version == "2.2.1" else []
    return OcpiReply(data=our_credentials(core, link, token_c), observations=observations)


def add_configuration_routes(router: APIRouter, core: OcpiCore, version: str) -> None:
    base = f"/ocpi/{version}"
    tags: list[str | Enum] = [f"OCPI {version}"]  # FastAPI\'s type

    @router.get(f"{base}/versions", tags=tags, summary="OCPI versions (Token A or C)")
    async def get_versions(request: Request) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            return OcpiReply(data=versions_list(core, [caller.link.version]))

        return await run_endpoint(core, request, version=version, module="versions", handler=handle)

    @router.get(f"{base}/details", tags=tags, summary=f"OCPI {version} version details")
    async def get_details(request: Request) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            return OcpiReply(data=version_details(core, version))

        return await run_endpoint(core, request, version=version, module="details", handler=handle)

    @router.get(f"{base}/credentials", tags=tags, summary="Our credentials")
    async def get_credentials(request: Request) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            # The token the client should use with us is the one it just authenticated with.
            return OcpiReply(data=our_credentials(core, caller.link, caller.token))

        return await run_endpoint(
            core, request, version=version, module="credentials", handler=handle
        )

    @router.post(f"{base}/credentials", tags=tags, summary="Register (Token A -> Token C)")
    async def post_credentials(request: Request) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            if caller.link.registered:
                raise OcpiError(
                    OcpiStatus.CLIENT_ERROR,
                    "Already registered: use PUT to update credentials",
                    http_status=405,
                )
            return await _register(core, request, caller, update=False)

        return await run_endpoint(
            core, request, version=version, module="credentials", handler=handle
        )

    @router.put(f"{base}/credentials", tags=tags, summary="Update credentials, rotate Token C")
    async def put_credentials(request: Request) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            if not caller.link.registered:
                raise OcpiError(
                    OcpiStatus.CLIENT_ERROR, "Not registered yet: use POST", http_status=405
                )
            return await _register(core, request, caller, update=True)

        return await run_endpoint(
            core, request, version=version, module="credentials", handler=handle
        )

    @router.delete(f"{base}/credentials", tags=tags, summary="Unregister")
    async def delete_credentials(request: Request) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            if not caller.link.registered:
                raise OcpiError(
                    OcpiStatus.CLIENT_ERROR, "Not registered: nothing to delete", http_status=405
                )
            await core.db(repo.unregister, caller.cpo_id)
            return OcpiReply(data=None)

        return await run_endpoint(
            core, request, version=version, module="credentials", handler=handle
        )
