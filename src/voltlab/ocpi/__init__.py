"""OCPI 2.2.1 / 2.1.1 CPO interface of voltlab's virtual CPOs (see `service.OcpiService`)."""
