"""OCPP 2.0.1 / 2.1 codec for the local authorization list: SendLocalList and
GetLocalListVersion, in 2.x words (`idToken.idToken`, `idTokenInfo`, `versionNumber`) over the
shape 1.6 shares."""

from __future__ import annotations

from voltlab.fleet.codecs.local_list_shape import LocalListCodec, LocalListWords
from voltlab.ocpp.vocabulary.authorization import authorization_from_2x

WORDS = LocalListWords(
    "versionNumber", lambda entry: entry["idToken"]["idToken"], "idTokenInfo", authorization_from_2x
)
CODEC = LocalListCodec.speaking(WORDS)
REQUESTS = CODEC.requests
