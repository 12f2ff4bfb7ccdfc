"""How a codec module says which CSMS requests it reads: by action, the function that decodes
the payload into a neutral request and the one that encodes the machine's answer. Each codec
module keeps its own `REQUESTS` next to those functions; `station_codec.codec_for` joins a
version's modules into one table, which is all the driver needs to answer a CSMS."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RequestCodec:
    decode: Callable[[Payload], Any]
    encode: Callable[[Any], Mapping[str, Any]]
    # The answer waits for the station's own calls: UnlockConnector finishes the connector's
    # transaction before it answers (1.6 §5.18); every other request is answered first.
    answer_after_calls: bool = False


def join(*tables: Mapping[str, RequestCodec]) -> dict[str, RequestCodec]:
    """One version's requests from its modules' tables; an action in two tables is a bug."""
    joined: dict[str, RequestCodec] = {}
    for table in tables:
        for action, codec in table.items():
            if action in joined:
                raise ValueError(f"two codecs read {action}")
            joined[action] = codec
    return joined


def extend(
    base: Mapping[str, RequestCodec],
    *,
    replaced: Mapping[str, RequestCodec],
    added: Mapping[str, RequestCodec],
) -> dict[str, RequestCodec]:
    """A later version's requests over an earlier one's (2.1 over 2.0.1): `replaced` are
    actions both have that the later one reads differently, `added` are its new ones. A
    replacement of what the base lacks, or an addition it has, is a bug."""
    for action in replaced:
        if action not in base:
            raise ValueError(f"{action} replaces nothing")
    for action in added:
        if action in base:
            raise ValueError(f"{action} is not new")
    return {**base, **replaced, **added}
