"""OCPP 1.6 codec for the local authorization list: SendLocalList and GetLocalListVersion, in
1.6 words (`idTag`, `idTagInfo`, `listVersion`) over the shape 2.x shares."""

from __future__ import annotations

from voltlab.fleet.codecs.local_list_shape import LocalListCodec, LocalListWords
from voltlab.ocpp.vocabulary.authorization import authorization_from_16

WORDS = LocalListWords(
    "listVersion", lambda entry: entry["idTag"], "idTagInfo", authorization_from_16
)
CODEC = LocalListCodec.speaking(WORDS)
REQUESTS = CODEC.requests
