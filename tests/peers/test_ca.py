"""The tests' certificate authority (support module, holds no tests): it moved to
`voltlab.pki.authority`, where users reach it too (and the V2G test PKI builds on it); the
tests keep importing it from here."""

from voltlab.pki.authority import CertAuthority, Issued

__all__ = ["CertAuthority", "Issued"]
