"""Throw-away certificate authorities for tests and for users who need certificates a CSMS or
a TLS peer will check: `authority` (a root, its sub-CAs, server and client leaves, CSR signing)
and `v2g` (the ISO 15118 test PKI of Plug & Charge: V2G root, CPO sub-CAs, MO chain, contract
and SECC certificates). Nothing here is for production keys."""
