"""OCPI 2.2.1 / 2.1.1 CPO interface of voltlab's virtual CPOs (see `service.OcpiService`)."""

from voltlab.ocpi.service import CommandHandler, OcpiService, TokenAuthorization

__all__ = ["CommandHandler", "OcpiService", "TokenAuthorization"]
