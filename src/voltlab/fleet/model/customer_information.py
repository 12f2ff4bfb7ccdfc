"""What a station holds about one customer, reported and cleared on the CSMS's request (OCPP
2.0.1 N09/N10 CustomerInformation, reused by 2.1).

A virtual station holds customer data in these places, all keyed by the customer's id token:

- the authorization cache: what the CSMS answered for the token (status, expiry, group) --
  reported and cleared;
- the transactions of the token: the one running on an EVSE and the last ended ones each
  connector keeps -- reported; ended ones are cleared, a running one is not (its messages
  still carry the token, and clearing it would break the transaction the CSMS knows);
- the local authorization list: reported, never cleared (the list is the CSMS's, versioned by
  SendLocalList; the station changing it would make the version lie);
- reservations for the token: reported, not cleared (cancelling is CancelReservation's).

A customer identifier or a customer certificate names nothing the station keeps today (it
holds no contract certificates): those requests report that no data is held. The functions
return the report's text lines; `clear_customer` returns what it removed."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.model.station import Station, Transaction
from voltlab.ocpp.vocabulary.timestamps import format_timestamp


@dataclass(frozen=True)
class Customer:
    """Whom a CustomerInformation request names (any of the three)."""

    id_token: str | None = None
    customer_identifier: str | None = None
    certificate_serial: str | None = None  # customerCertificate.serialNumber

    @property
    def named(self) -> bool:
        return any(
            value is not None
            for value in (self.id_token, self.customer_identifier, self.certificate_serial)
        )


def customer_report(station: Station, customer: Customer, now: float) -> list[str]:
    """The customer's data as text lines (empty: the station holds none)."""
    token = customer.id_token
    if token is None:
        return []
    lines: list[str] = []
    cached = station.auth_cache.lookup(token)
    if cached is not None:
        lines.append(f"authorization cache: {token} {_info(cached.to_json())}")
    listed = station.local_list.lookup(token)
    if listed is not None:
        lines.append(
            f"local authorization list v{station.local_list.version}: {token} "
            f"{_info(listed.to_json())}"
        )
    for reservation in station.reservations.values():
        if reservation.id_tag == token:
            lines.append(
                f"reservation {reservation.reservation_id} on connector "
                f"{reservation.connector_id} until {format_timestamp(reservation.expires_at)}"
            )
    for connector_id, conn in station.connectors.items():
        tx = conn.transaction
        if tx is not None and tx.id_tag == token:
            energy = tx.energy_wh(conn.register_wh)
            lines.append(f"running {_transaction(tx, connector_id)}, {energy:.0f} Wh so far")
        for ended in conn.history:
            if ended.id_tag == token:
                lines.append(f"ended {_transaction(ended, connector_id)}")
    return lines


def clear_customer(station: Station, customer: Customer) -> list[str]:
    """Remove what may be removed of the customer's data; returns what went, as lines."""
    token = customer.id_token
    if token is None:
        return []
    cleared: list[str] = []
    if station.auth_cache.lookup(token) is not None:
        del station.auth_cache.entries[token]
        cleared.append(f"cleared: authorization cache entry of {token}")
    for connector_id, conn in station.connectors.items():
        kept = [tx for tx in conn.history if tx.id_tag != token]
        for tx in conn.history:
            if tx.id_tag == token:
                cleared.append(f"cleared: ended {_transaction(tx, connector_id)}")
        conn.history = kept
    return cleared


def _transaction(tx: Transaction, connector_id: int) -> str:
    ended = "" if tx.stopped_at is None else f" to {format_timestamp(tx.stopped_at)}"
    return (
        f"transaction {tx.transaction_id} on EVSE {connector_id} from "
        f"{format_timestamp(tx.started_at)}{ended}"
    )


def _info(body: dict[str, object]) -> str:
    return ", ".join(f"{key}={value}" for key, value in body.items())
