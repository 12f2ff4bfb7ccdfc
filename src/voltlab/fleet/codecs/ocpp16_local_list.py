"""OCPP 1.6 codec for the local authorization list: SendLocalList and GetLocalListVersion, in
1.6 words (`idTag`, `idTagInfo`, `listVersion`) over the shape 2.x shares."""

from __future__ import annotations

from voltlab.fleet.codecs.local_list_shape import LocalListCodec, LocalListWords
from voltlab.ocpp.vocabulary.authorization import authorization_from_16

WORDS = LocalListWords(
    "listVersion", lambda entry: entry["idTag"], "idTagInfo", authorization_from_16
)
CODEC = LocalListCodec.speaking(WORDS)
decode_send_local_list = CODEC.decode_send_local_list
encode_send_local_list_answer = CODEC.encode_send_local_list_answer
decode_get_local_list_version = CODEC.decode_get_local_list_version
encode_local_list_version_answer = CODEC.encode_local_list_version_answer
