"""Stored (2.2.1-shaped) objects as the CPO's OCPI version presents them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from voltlab.ocpi import repo, shapes_211


def present(
    session: Session, cpo_id: str, version: str, kind: str, bodies: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    if version != "2.1.1":
        return bodies
    if kind == "location":
        return [shapes_211.location_to_211(body) for body in bodies]
    if kind == "tariff":
        return [shapes_211.tariff_to_211(body) for body in bodies]
    if kind == "session":
        # 2.1.1 sessions embed their location; fetch all of a page's locations in one query.
        locations = repo.get_objects(
            session, cpo_id, "location", (str(b.get("location_id")) for b in bodies)
        )
        return [
            shapes_211.session_to_211(body, locations.get(str(body.get("location_id"))))
            for body in bodies
        ]
    if kind == "cdr":
        locations = repo.get_objects(
            session,
            cpo_id,
            "location",
            (str((b.get("cdr_location") or {}).get("id")) for b in bodies),
        )
        return [
            shapes_211.cdr_to_211(
                body, locations.get(str((body.get("cdr_location") or {}).get("id")))
            )
            for body in bodies
        ]
    return bodies


def present_one(
    session: Session, cpo_id: str, version: str, kind: str, body: dict[str, Any]
) -> dict[str, Any]:
    return present(session, cpo_id, version, kind, [body])[0]
