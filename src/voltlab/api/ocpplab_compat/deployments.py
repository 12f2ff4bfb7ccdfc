"""`/evcharger/location` and `/evcharger/deployment`: voltlab's locations and chargers, created
and deleted the way `/ocpp/locations` and `/ocpp/chargers` do it (api/provisioning.py).

A charger is what voltlab's catalog has: `model` is a catalog slug (`GET /evcharger/catalog`),
`brand_slug` its vendor, `connector_type` one of its connectors' types and `power_kwh` one of
their ratings in kW (a voltlab model's rating is fixed: another value is a 422 naming the
ratings). `ws_url` is the CSMS URL the charger appends `/identity` to, `security_profile` 1 or 2
with `authorization_key` as the Basic-auth password (profile 3 needs a client certificate the
SDK cannot send: `POST /ocpp/chargers`). Fields voltlab has no place for (`address`, `city`,
`country`, `coordinates`, `timezone`, `owner_name`, `public`, `charger_name`,
`charge_point_name`) are checked and not stored; the 202 lists them under `not_stored`.

A location is created with its chargers in one transaction (an identity the org already has:
409, nothing created) and answers 202 while the chargers connect; a location without chargers
has no CSMS URL of its own (chargers added later bring theirs)."""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.context import get_database, get_fleet, in_session, invalid
from voltlab.api.ocpplab_compat.catalog import brand_slug, brands, connector_ratings_kw
from voltlab.api.ocpplab_compat.catalog import connector_types as types_of
from voltlab.api.ocpplab_compat.lookup import (
    OptionalQueryText,
    QueryText,
    location_by_id_or_name,
    require_charger,
)
from voltlab.api.ocpplab_compat.stages import current_stage
from voltlab.api.provisioning import (
    insert_charger,
    insert_location_row,
    remove_charger,
    remove_location,
    start_chargers,
)
from voltlab.api.routing import GatewayRouter
from voltlab.api.schemas import (
    DEFAULT_OCPP_VERSION,
    MAX_CHARGERS_PER_LOCATION,
    PRINTABLE_PATTERN,
    ChargerCreate,
    CsmsUrl,
    Identity,
    OcppVersion,
    PlainName,
    SecurityIn,
)
from voltlab.clock import wall_now
from voltlab.fleet.model.catalog import CATALOG, DEFAULT_MODEL
from voltlab.store import repo
from voltlab.store.models import Charger, Location

router = GatewayRouter(prefix="/evcharger", route_class=AuthenticatedRoute, include_in_schema=False)

Text = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE_PATTERN)]
Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE_PATTERN)]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE_PATTERN)]
Loc = tuple[str | int, ...]


class SdkModel(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ChargerSecurity(SdkModel):
    security_profile: int | None = Field(default=None, ge=0, le=3)
    authorization_key: Key | None = None

    @field_validator("security_profile")
    @classmethod
    def _no_client_certificate(cls, value: int | None) -> int | None:
        if value == 3:
            raise ValueError(
                "security profile 3 needs a client certificate, which the SDK cannot send: "
                "create the charger with POST /ocpp/chargers (security.client_cert_pem)"
            )
        return value


class Coordinates(SdkModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class LocationCharger(ChargerSecurity):
    identity: Identity
    brand_slug: Slug
    model: Slug
    connector_type: Slug
    ws_url: CsmsUrl
    ocpp_version: OcppVersion | None = None
    charge_point_name: Text | None = None


class LocationBody(SdkModel):
    name: PlainName
    address: Text
    city: Text
    country: Text
    coordinates: Coordinates
    timezone: Text | None = None
    owner_name: Text | None = None
    public: bool | None = None
    chargers: list[LocationCharger] = Field(
        default_factory=list, max_length=MAX_CHARGERS_PER_LOCATION
    )


class DeploymentBody(ChargerSecurity):
    identity: Identity
    model: Slug
    ws_url: CsmsUrl
    ocpp_version: OcppVersion
    charger_name: Text
    location_id: str | None = Field(default=None, min_length=1, max_length=40)
    connector_type: Slug | None = None
    power_kwh: float | None = Field(default=None, gt=0)


LOCATION_NOT_STORED = ("address", "city", "country", "coordinates", "timezone", "owner_name")
CHARGER_NOT_STORED = ("charge_point_name", "charger_name")


def _check_model(
    loc: Loc,
    model: str,
    brand: str | None = None,
    connector_type: str | None = None,
    power_kwh: float | None = None,
) -> None:
    """422s naming the field: a model, brand, connector type or rating the catalog lacks."""
    found = CATALOG.get(model)
    if found is None:
        raise invalid((*loc, "model"), f"unknown model; one of {', '.join(CATALOG)}", model)
    if brand is not None and brand_slug(found.vendor) != brand:
        known = ", ".join(brands())
        raise invalid(
            (*loc, "brand_slug"),
            f"{model} is a {brand_slug(found.vendor)} model (brands: {known})",
            brand,
        )
    if connector_type is not None and connector_type not in types_of(found):
        raise invalid(
            (*loc, "connector_type"),
            f"{model} has connectors of type {', '.join(types_of(found))}",
            connector_type,
        )
    ratings = connector_ratings_kw(found)
    if power_kwh is not None and power_kwh not in ratings:
        raise invalid(
            (*loc, "power_kwh"),
            f"{model}'s connectors are rated {', '.join(f'{r:g}' for r in ratings)} kW; "
            "pick the model of the rating you want",
            power_kwh,
        )


def _security(loc: Loc, given: ChargerSecurity) -> SecurityIn | None:
    if not given.security_profile:
        if given.authorization_key is not None:
            raise invalid(
                (*loc, "authorization_key"), "authorization_key needs security_profile 1 or 2"
            )
        return None
    if given.authorization_key is None:
        raise invalid(
            (*loc, "authorization_key"),
            "security profiles 1 and 2 need an authorization_key (the Basic-auth password)",
        )
    return SecurityIn(profile=given.security_profile, password=given.authorization_key)


def _charger_create(
    charger: LocationCharger, location_id: str, security: SecurityIn | None
) -> ChargerCreate:
    return ChargerCreate(
        identity=charger.identity,
        csms_url=charger.ws_url,
        ocpp_version=charger.ocpp_version or DEFAULT_OCPP_VERSION,
        location_id=location_id,
        model=charger.model,
        security=security,
        auto_start=True,
    )


def _check_location(body: LocationBody) -> list[SecurityIn | None]:
    seen: set[str] = set()
    securities = []
    for index, charger in enumerate(body.chargers):
        loc: Loc = ("body", "chargers", index)
        if charger.identity in seen:
            raise invalid((*loc, "identity"), "identity given twice", charger.identity)
        seen.add(charger.identity)
        _check_model(loc, charger.model, charger.brand_slug, charger.connector_type)
        securities.append(_security(loc, charger))
    return securities


def _insert_location(
    session: Session, org_id: str, body: LocationBody, securities: list[SecurityIn | None]
) -> tuple[Location, list[Charger]]:
    first = body.chargers[0] if body.chargers else None
    identities = [charger.identity for charger in body.chargers]
    location = insert_location_row(
        session,
        Location(
            id=repo.new_id("loc-"),
            org_id=org_id,
            name=body.name,
            # A location's own URL, version and model are the defaults of chargers added later
            # through /ocpp/chargers; here each charger brings its own.
            csms_url=first.ws_url if first else "",
            ocpp_version=(first.ocpp_version if first else None) or DEFAULT_OCPP_VERSION,
            model=first.model if first else DEFAULT_MODEL,
            identity_prefix=os.path.commonprefix(identities)[:44],
            security=None,
            created_at=wall_now(),
        ),
    )
    chargers = [
        insert_charger(session, org_id, _charger_create(charger, location.id, security))
        for charger, security in zip(body.chargers, securities, strict=True)
    ]
    return location, chargers


def _not_stored(body: BaseModel, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if getattr(body, name, None) is not None]


@router.post("/location", status_code=202)
async def create_location(
    body: LocationBody, principal: CurrentPrincipal, request: Request
) -> JSONResponse:
    securities = _check_location(body)
    org_id = principal.org_id
    location, chargers = await in_session(
        get_database(request), lambda s: _insert_location(s, org_id, body, securities)
    )
    # Each charger connects in the background: this only starts its link.
    await start_chargers(get_fleet(request), chargers)
    not_stored = _not_stored(body, LOCATION_NOT_STORED) + sorted(
        {name for charger in body.chargers for name in _not_stored(charger, CHARGER_NOT_STORED)}
    )
    answer: dict[str, Any] = {
        "status": "accepted",
        "detail": f"location created; {len(chargers)} chargers deploying: follow "
        "GET /evcharger/deployment-runtime-ops/status",
        "location_id": location.id,
        "deployments": [
            {"deployment_id": charger.id, "identity": charger.identity} for charger in chargers
        ],
        "not_stored": not_stored,
    }
    return JSONResponse(answer, status_code=202)


@router.delete("/location", status_code=204)
async def delete_location(
    principal: CurrentPrincipal,
    request: Request,
    location_id: QueryText,
) -> Response:
    database, org_id = get_database(request), principal.org_id
    location = await in_session(database, lambda s: location_by_id_or_name(s, org_id, location_id))
    await remove_location(database, get_fleet(request), org_id, location.id)
    return Response(status_code=204)


@router.post("/deployment", status_code=201)
async def create_deployment(
    body: DeploymentBody, principal: CurrentPrincipal, request: Request
) -> JSONResponse:
    _check_model(("body",), body.model, None, body.connector_type, body.power_kwh)
    create = ChargerCreate(
        identity=body.identity,
        csms_url=body.ws_url,
        ocpp_version=body.ocpp_version,
        location_id=body.location_id,
        model=body.model,
        security=_security(("body",), body),
        auto_start=True,
    )
    org_id = principal.org_id
    charger = await in_session(get_database(request), lambda s: insert_charger(s, org_id, create))
    fleet = get_fleet(request)
    await start_chargers(fleet, [charger])
    stage = current_stage(True, fleet.live_state(charger.id))
    answer = {
        "id": charger.id,
        "deployment_id": charger.id,
        "identity": charger.identity,
        "ocpp_version": charger.ocpp_version,
        "provisioning_state": stage.stage,
        "location_id": charger.location_id,
        "model": charger.model,
        "not_stored": _not_stored(body, CHARGER_NOT_STORED),
    }
    return JSONResponse(answer, status_code=201)


@router.delete("/deployment", status_code=204)
async def delete_deployment(
    principal: CurrentPrincipal,
    request: Request,
    deployment_id: OptionalQueryText = None,
    identity: OptionalQueryText = None,
) -> Response:
    if (deployment_id is None) == (identity is None):
        raise invalid(("query", "deployment_id"), "give exactly one of deployment_id or identity")
    database, org_id = get_database(request), principal.org_id
    charger = await in_session(
        database,
        lambda s: require_charger(s, org_id, deployment_id=deployment_id, identity=identity),
    )
    await remove_charger(database, get_fleet(request), org_id, charger.id)
    return Response(status_code=204)
