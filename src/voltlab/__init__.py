"""voltlab: virtual OCPP charging stations and virtual OCPI CPOs behind one REST API."""

__version__ = "0.1.0"
