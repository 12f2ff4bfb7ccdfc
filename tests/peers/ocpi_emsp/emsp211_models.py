"""py_ocpi's OCPI 2.1.1 models as the 2.1.1 eMSP peer (emsp_211.py) uses them: corrected where
they disagree with the OCPI 2.1.1 text, and a check for the fields pydantic lets through.

Import it only after py_ocpi's settings are in the environment (emsp_211.py does that).
"""

from __future__ import annotations

import json

from py_ocpi.core.data_types import DateTime, String
from py_ocpi.modules.cdrs.v_2_1_1.schemas import Cdr
from py_ocpi.modules.commands.v_2_1_1.schemas import (
    CommandResponse,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from py_ocpi.modules.locations.v_2_1_1.schemas import (
    EVSE,
    Connector,
    ConnectorPartialUpdate,
    EVSEPartialUpdate,
    Location,
    LocationPartialUpdate,
)
from py_ocpi.modules.sessions.v_2_1_1.schemas import Session, SessionPartialUpdate
from py_ocpi.modules.tariffs.v_2_1_1.schemas import Tariff, TariffPartialUpdate
from py_ocpi.modules.tokens.v_2_1_1.schemas import Token
from py_ocpi.modules.versions import main as versions_main
from py_ocpi.modules.versions.enums import VersionNumber
from pydantic import BaseModel, ValidationError
from pydantic.fields import ModelField

V211 = VersionNumber.v_2_1_1

# --------------------------------------------------------------------------- py_ocpi fixes
#
# Each fix below corrects py_ocpi 2.1.1 code that disagrees with the OCPI 2.1.1 text
# (github.com/ocpi/ocpi, tag 2.1.1 and branch release-2.1.1-bugfixes, same rows). A field fix
# is the field the spec defines, nothing looser.


def _replace_field(model, old: str, new: str, annotation, required: bool) -> None:
    """Swap one pydantic-1 field in place: FastAPI's routes hold the class, not a copy."""
    model.__fields__.pop(old)
    model.__fields__[new] = ModelField.infer(
        name=new,
        value=... if required else None,
        annotation=annotation,
        class_validators=None,
        config=model.__config__,
    )


# mod_cdrs.md 3.1 "CDR Object": the end of the session is `stop_date_time` (DateTime, card. 1);
# py_ocpi names it `end_date_time` (the 2.2.1 name), so it rejects every spec-correct 2.1.1 CDR.
_replace_field(Cdr, "end_date_time", "stop_date_time", DateTime, required=True)

# mod_locations.md 3.3 "Connector Object": tariff_id is String(36), card. "?" (optional);
# py_ocpi requires it, so it rejects a Location with a connector that has no tariff.
_replace_field(Connector, "tariff_id", "tariff_id", String(36), required=False)

# transport_and_format.md "Request format": 2.1.1 sends `Authorization: Token <token>`, the
# token as is. py_ocpi's version-less GET /ocpi/versions Base64-decodes every token first and
# answers OCPI 3000 when it is no Base64 (binascii.Error escapes its UnicodeDecodeError guard).
# This peer speaks 2.1.1 only, so that endpoint reads tokens the 2.1.1 way.
versions_main.cred_dependency.version = V211

MODULE_MODELS = {
    "locations": Location,
    "sessions": Session,
    "cdrs": Cdr,
    "tariffs": Tariff,
    "tokens": Token,
}
COMMAND_MODELS = {
    "START_SESSION": StartSession,
    "STOP_SESSION": StopSession,
    "RESERVE_NOW": ReserveNow,
    "UNLOCK_CONNECTOR": UnlockConnector,
}


def validate(model, data) -> list:
    """py_ocpi's errors for ``data``, plus one for every field the 2.1.1 object does not define
    (pydantic ignores unknown fields; a 2.2.1 name in a 2.1.1 object is still a mistake)."""
    try:
        model.parse_obj(data)
    except ValidationError as exc:
        return json.loads(json.dumps(exc.errors(), default=str))
    return [
        {"loc": where, "msg": "not a field of this 2.1.1 object"} for where in unknown(model, data)
    ]


def unknown(model, data, where: str = "") -> list[str]:
    """Paths of the fields in ``data`` that ``model`` (and the models nested in it) lack."""
    if not isinstance(data, dict):
        return []
    found = []
    for key, value in data.items():
        field = model.__fields__.get(key)
        if field is None:
            found.append(where + key)
        elif isinstance(field.type_, type) and issubclass(field.type_, BaseModel):
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                at = f"{where}{key}[{index}]." if isinstance(value, list) else f"{where}{key}."
                found += unknown(field.type_, item, at)
    return found


def push_model(method: str, path: str, prefix: str):
    """The 2.1.1 model of what the CPO pushes to ``path``, one of our eMSP URLs under
    ``prefix`` (``/ocpi/emsp/2.1.1``), or None."""
    if not path.startswith(prefix + "/"):
        return None
    module, *ids = path[len(prefix) :].strip("/").split("/")
    patch = method == "PATCH"
    if module == "sessions" and len(ids) == 3:
        return SessionPartialUpdate if patch else Session
    if module == "cdrs" and not ids and method == "POST":
        return Cdr
    if module == "tariffs" and len(ids) == 3:
        return TariffPartialUpdate if patch else Tariff
    if module == "locations" and len(ids) in (3, 4, 5):
        full, partial = {
            3: (Location, LocationPartialUpdate),
            4: (EVSE, EVSEPartialUpdate),
            5: (Connector, ConnectorPartialUpdate),
        }[len(ids)]
        return partial if patch else full
    if module == "commands" and len(ids) == 1 and method == "POST":
        return CommandResponse
    return None
