"""The station model: connectors, EVs, meters, transactions, faults, availability, reservations,
authorization state and configuration of one virtual charging station.

Protocol-independent and free of I/O: every operation takes the current time, changes state and
returns what happened; the station machine decides what to send and the codecs how to say it.
Status names use the OCPP 1.6 connector vocabulary, the richest one; the 2.x codecs fold it."""

from __future__ import annotations

import random

from voltlab.fleet.model.auth import AuthCache, IdTagInfo, LocalAuthList
from voltlab.fleet.model.catalog import ChargerModel
from voltlab.fleet.model.config import StationConfig
from voltlab.fleet.model.display_messages import DisplayMessages
from voltlab.fleet.model.ev import ElectricVehicle
from voltlab.fleet.model.event_streams import EventStreams
from voltlab.fleet.model.external_limits import ExternalLimits
from voltlab.fleet.model.monitors import Monitors, preset_monitors
from voltlab.fleet.model.network_profiles import NetworkProfiles
from voltlab.fleet.model.records import (
    WARNING_FAULTS,
    Connector,
    Fault,
    MeterReading,
    Reservation,
    StationError,
    StatusChange,
    Transaction,
)
from voltlab.fleet.model.reservations import ReservationBook, _holds

# The model's vocabulary, re-exported so that users of the station need one import.
__all__ = [
    "WARNING_FAULTS",
    "Connector",
    "Fault",
    "MeterReading",
    "Reservation",
    "Station",
    "StationError",
    "StatusChange",
    "Transaction",
    "id_tag_info_accepts",
]
from voltlab.fleet.model import v2x
from voltlab.fleet.model.smart_charging import ChargingProfiles
from voltlab.fleet.model.tariff_cost import CostMeter, accrue_meters
from voltlab.fleet.model.tariffs import Tariffs

AC_PHASE_VOLTAGE = 230.0


class Station(ReservationBook):
    def __init__(
        self,
        identity: str,
        model: ChargerModel,
        *,
        config: dict[str, str] | None = None,
        seed: int | None = None,
    ) -> None:
        self.identity = identity
        self.model = model
        overrides = dict(model.default_config)
        overrides["NumberOfConnectors"] = str(len(model.connectors))
        if model.current_type == "DC":
            overrides.setdefault(
                "MeterValuesSampledData",
                "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC",
            )
        overrides.update(config or {})
        self.config = StationConfig(overrides)
        self.local_list = LocalAuthList(self.config.get_int("LocalAuthListMaxLength"))
        self.auth_cache = AuthCache()
        self.connectors: dict[int, Connector] = {
            i + 1: Connector(i + 1, spec) for i, spec in enumerate(model.connectors)
        }
        self.station_fault: Fault | None = None
        self.station_operative = True
        self.station_scheduled_operative: bool | None = None
        self.station_reported: tuple[str, str] | None = None
        self.reservations: dict[int, Reservation] = {}
        self.registration: str | None = None
        # A Mersenne Twister holds 2.5 KB of state: one is made per draw, not kept per station.
        self._seed = seed if seed is not None else random.getrandbits(32)
        self._draws = 0
        self.tx_counter = 0
        self.profiles = ChargingProfiles(len(self.connectors))
        # Limits from outside the CSMS (an EMS), the device model's monitors, the display's
        # messages and the network connection profiles (2.x; version-neutral state).
        self.external_limits = ExternalLimits()
        self.monitors = Monitors(preset_monitors(model))
        self.display_messages = DisplayMessages()
        self.network = NetworkProfiles()
        # Bidirectional power transfer (2.1): external setpoints and DER controls.
        self.v2x = v2x.V2XState()
        # 2.1 local cost: the default tariffs, and a cost meter per priced transaction (by its
        # local id), fed by `advance`.
        self.tariffs = Tariffs()
        self.cost_meters: dict[int, CostMeter] = {}
        self.event_streams = EventStreams()  # 2.1 periodic event streams of monitors
        self.firmware_version = model.firmware_version
        self._now: float | None = None
        # Transactions that were running when the process stopped, still to be closed.
        self.interrupted: list[Transaction] = []

    def rng(self) -> random.Random:
        """A random source for one draw, reproducible from the station's seed."""
        self._draws += 1
        return random.Random(self._seed * 1_000_003 + self._draws)

    # -- lookup -------------------------------------------------------------------------------

    def connector(self, connector_id: int) -> Connector:
        found = self.connectors.get(connector_id)
        if found is None:
            raise StationError(
                "unknown_connector",
                f"connector {connector_id} does not exist (station has {len(self.connectors)})",
            )
        return found

    def transactions(self) -> list[Transaction]:
        return [c.transaction for c in self.connectors.values() if c.transaction is not None]

    def find_transaction(self, transaction_id: str | int) -> Transaction | None:
        for tx in self.transactions():
            if str(tx.transaction_id) == str(transaction_id):
                return tx
        return None

    # -- physics ------------------------------------------------------------------------------

    @property
    def now(self) -> float | None:
        """The instant of the last advance (None before the first)."""
        return self._now

    def advance(self, now: float) -> None:
        """Integrate energy over the time since the last advance at the current power: the
        import register while the EV charges, the export register while it discharges (the
        other stays as it is)."""
        self._now = now
        for conn in self.connectors.values():
            last = conn.last_advance
            conn.last_advance = now
            if last is None or now <= last or conn.power_w == 0:
                continue
            if conn.power_w < 0:
                given = -conn.power_w * (now - last) / 3600.0
                # The EV stops at its lowest state of charge: the register counts what it gave.
                conn.export_wh += conn.ev.release(given) if conn.ev is not None else 0.0
                continue
            energy = conn.power_w * (now - last) / 3600.0
            tx = conn.transaction
            if tx is not None and tx.energy_limit_wh is not None:
                # The station opens its contactor at the session's energy target, however late
                # the stop that follows runs.
                energy = min(energy, max(0.0, tx.energy_limit_wh - tx.energy_wh(conn.register_wh)))
            conn.register_wh += energy
            if conn.ev is not None:
                conn.ev.absorb(energy)
        if self.cost_meters:  # priced at the power that flowed, before it changes
            accrue_meters(self.cost_meters, self.connectors, now, self.reading)
        self.recompute_power()

    def may_transfer(self, conn: Connector) -> bool:
        """May energy flow on the connector at all (either way)? A confirmed transaction with
        an EV plugged in, the connector and the station operative and not faulted."""
        tx = conn.transaction
        if tx is None or not tx.confirmed or tx.deauthorized or not conn.plugged or conn.ev is None:
            return False
        if not conn.operative or not self.station_operative:
            return False
        fault, station_fault = conn.fault, self.station_fault
        return not (
            (fault is not None and fault.blocks_charging)
            or (station_fault is not None and station_fault.blocks_charging)
        )

    def _demand_w(self, conn: Connector) -> float:
        tx = conn.transaction
        if tx is None or conn.ev is None or not conn.ev_wants_energy or not self.may_transfer(conn):
            return 0.0
        if tx.energy_limit_wh is not None and tx.energy_wh(conn.register_wh) >= tx.energy_limit_wh:
            return 0.0  # at the session's energy target
        demand = min(conn.ev.acceptance_w(conn.dc), float(conn.spec.max_power_w))
        if conn.ev_power_cap_w is not None:
            demand = min(demand, conn.ev_power_cap_w)
        limit = self.charging_limit_w(conn.connector_id)
        if limit is not None:
            demand = min(demand, limit)
        return max(0.0, demand)

    def phases(self, connector_id: int) -> int:
        """AC phases of a connector (0 = DC); connector 0: the station's supply."""
        if connector_id == 0:
            return self.model.phases
        spec = self.connector(connector_id).spec
        return 0 if spec.power_type == "DC" else (3 if spec.power_type == "AC_3_PHASE" else 1)

    def charging_limit_w(self, connector_id: int) -> float | None:
        """The composite smart-charging limit in force now (None: no profile applies)."""
        if self._now is None:
            return None
        tx = self.connectors[connector_id].transaction if connector_id else None
        limit = self.profiles.limit_w(
            connector_id,
            self._now,
            tx_started_at=None if tx is None else tx.started_at,
            phases=self.phases(connector_id),
            voltage=AC_PHASE_VOLTAGE,
        )
        if self.external_limits:
            external = self.external_limits.limit_w(connector_id)
            if external is not None:
                limit = external if limit is None else min(limit, external)
        return limit

    def next_limit_change(self, now: float) -> float | None:
        changes = self.v2x.der.edges(now)
        for connector_id in (0, *self.connectors):
            tx = self.connectors[connector_id].transaction if connector_id else None
            change = self.profiles.next_change(
                connector_id, now, tx_started_at=None if tx is None else tx.started_at
            )
            if change is not None:
                changes.append(change)
        return min(changes) if changes else None

    def recompute_power(self) -> None:
        # Connectors share the station's power stage in connector order; a station-wide
        # charging profile caps the stage.
        remaining = float(self.model.max_station_power_w)
        station_limit = self.charging_limit_w(0)
        if station_limit is not None:
            remaining = max(0.0, min(remaining, station_limit))
        bidirectional = v2x.engaged(self)
        for conn in self.connectors.values():
            granted = min(self._demand_w(conn), remaining)
            if bidirectional:  # a setpoint may lower the charging or turn it into discharge
                granted = v2x.connector_power_w(self, conn, granted)
            conn.power_w = granted
            remaining -= max(0.0, granted)

    def reading(self, connector_id: int, now: float) -> MeterReading:
        conn = self.connector(connector_id)
        power = conn.power_w
        if conn.dc:
            soc = conn.ev.soc_percent if conn.ev else 0.0
            voltage = 330.0 + 0.9 * soc if conn.plugged else 0.0
            current = power / voltage if voltage else 0.0
            phases = 0
        else:
            phases = 3 if conn.spec.power_type == "AC_3_PHASE" else 1
            voltage = AC_PHASE_VOLTAGE
            current = power / (AC_PHASE_VOLTAGE * phases)
        soc_value = conn.ev.soc_percent if (conn.ev is not None and conn.dc) else None
        return MeterReading(
            now, conn.register_wh, power, current, voltage, soc_value, phases, conn.export_wh
        )

    def seconds_to_energy(self, tx: Transaction) -> float | None:
        """Seconds until the transaction's energy limit at the current power (None: no limit or
        no power)."""
        if tx.energy_limit_wh is None:
            return None
        conn = self.connectors[tx.connector_id]
        left = tx.energy_limit_wh - tx.energy_wh(conn.register_wh)
        if left <= 0:
            return 0.0
        if conn.power_w <= 0:
            return None
        return left * 3600.0 / conn.power_w

    # -- cable and EV -------------------------------------------------------------------------

    def plug(
        self, connector_id: int, now: float, *, ev: ElectricVehicle | None = None
    ) -> Connector:
        self.advance(now)
        conn = self.connector(connector_id)
        if conn.plugged:
            raise StationError("already_plugged", f"connector {connector_id} already has a cable")
        conn.plugged = True
        conn.finishing = False
        conn.ev = ev or ElectricVehicle.random(self.rng())
        conn.ev_wants_energy = True
        conn.ev_power_cap_w = None
        self.recompute_power()
        return conn

    def unplug(self, connector_id: int, now: float) -> Connector:
        self.advance(now)
        conn = self.connector(connector_id)
        if not conn.plugged:
            raise StationError("not_plugged", f"connector {connector_id} has no cable")
        if conn.transaction is not None:
            raise StationError("transaction_running", "stop the transaction before unplugging")
        conn.plugged = False
        conn.finishing = False
        conn.locked = False
        self.v2x.setpoints.pop(connector_id, None)  # it was for the EV that left
        conn.ev = None
        conn.ev_wants_energy = False
        conn.ev_power_cap_w = None
        self.recompute_power()
        return conn

    def set_ev_demand(
        self,
        connector_id: int,
        now: float,
        *,
        wants_energy: bool | None = None,
        power_cap_w: float | None = None,
        soc_percent: float | None = None,
    ) -> Connector:
        self.advance(now)
        conn = self.connector(connector_id)
        if not conn.plugged or conn.ev is None:
            raise StationError("not_plugged", f"no EV on connector {connector_id}")
        if wants_energy is not None:
            conn.ev_wants_energy = wants_energy
        if power_cap_w is not None:
            conn.ev_power_cap_w = power_cap_w
        if soc_percent is not None:
            conn.ev.soc_percent = max(0.0, min(100.0, soc_percent))
        self.recompute_power()
        return conn

    # -- transactions -------------------------------------------------------------------------

    def check_can_start(
        self, connector_id: int, id_tag: str | None, parent_id_tag: str | None
    ) -> Connector:
        conn = self.connector(connector_id)
        if conn.transaction is not None:
            raise StationError(
                "transaction_running", f"connector {connector_id} is in a transaction"
            )
        if conn.fault is not None and conn.fault.blocks_charging:
            raise StationError("faulted", f"connector {connector_id} is faulted")
        if self.station_fault is not None and self.station_fault.blocks_charging:
            raise StationError("faulted", "the station is faulted")
        if not conn.operative or not self.station_operative:
            raise StationError("unavailable", f"connector {connector_id} is unavailable")
        reservation = self.reservation_for(connector_id)
        # Without an id tag yet (2.x, opened at EVConnected) the check waits for authorization.
        if (
            reservation is not None
            and id_tag is not None
            and not _holds(reservation, id_tag, parent_id_tag)
        ):
            raise StationError(
                "reserved", f"connector {connector_id} is reserved for another id tag"
            )
        return conn

    def begin_transaction(
        self,
        connector_id: int,
        id_tag: str | None,
        now: float,
        *,
        parent_id_tag: str | None = None,
        duration_limit_s: float | None = None,
        energy_limit_wh: float | None = None,
        remote_start_id: int | None = None,
    ) -> Transaction:
        self.advance(now)
        conn = self.check_can_start(connector_id, id_tag, parent_id_tag)
        if not conn.plugged:
            raise StationError("not_plugged", f"connector {connector_id} has no cable plugged in")
        reservation = self.reservation_for(connector_id) if id_tag is not None else None
        self.tx_counter += 1
        tx = Transaction(
            local_id=self.tx_counter,
            connector_id=connector_id,
            id_tag=id_tag,
            started_at=now,
            meter_start_wh=conn.register_wh,
            parent_id_tag=parent_id_tag,
            reservation_id=reservation.reservation_id if reservation else None,
            remote_start_id=remote_start_id,
            duration_limit_s=duration_limit_s,
            energy_limit_wh=energy_limit_wh,
        )
        if reservation is not None:
            del self.reservations[reservation.reservation_id]
        conn.transaction = tx
        conn.preparing = False
        conn.finishing = False
        conn.locked = True
        self.recompute_power()
        return tx

    def authorize_transaction(
        self, tx: Transaction, id_tag: str, parent_id_tag: str | None, now: float
    ) -> None:
        """Give a transaction opened without an id tag (2.x EVConnected) its id tag."""
        self.advance(now)
        reservation = self.reservation_for(tx.connector_id)
        if reservation is not None:
            if not _holds(reservation, id_tag, parent_id_tag):
                raise StationError(
                    "reserved", f"connector {tx.connector_id} is reserved for another id tag"
                )
            tx.reservation_id = reservation.reservation_id
            del self.reservations[reservation.reservation_id]
        tx.id_tag = id_tag
        tx.parent_id_tag = parent_id_tag

    def confirm(self, tx: Transaction, now: float) -> None:
        """The CSMS accepted the transaction: energy may flow."""
        self.advance(now)
        tx.confirmed = True
        self.recompute_power()

    def deauthorize(self, tx: Transaction, now: float) -> None:
        """The CSMS rejected the id tag of a running transaction: no more energy."""
        self.advance(now)
        tx.deauthorized = True
        self.recompute_power()

    def end_transaction(self, connector_id: int, now: float, reason: str) -> Transaction:
        self.advance(now)
        conn = self.connector(connector_id)
        tx = conn.transaction
        if tx is None:
            raise StationError("no_transaction", f"no transaction on connector {connector_id}")
        tx.stopped_at = now
        tx.stop_reason = reason
        tx.meter_stop_wh = conn.register_wh
        conn.transaction = None
        conn.finishing = conn.plugged
        if self.config.get_bool("UnlockConnectorOnEVSideDisconnect") or not conn.plugged:
            conn.locked = False
        conn.history = (conn.history + [tx])[-5:]
        self.profiles.transaction_ended(connector_id)
        self.display_messages.transaction_ended(tx.transaction_id)
        if conn.scheduled_operative is not None:
            conn.operative = conn.scheduled_operative
            conn.scheduled_operative = None
        if self.station_scheduled_operative is not None and not self.transactions():
            self.station_operative = self.station_scheduled_operative
            self.station_scheduled_operative = None
        self.recompute_power()
        return tx

    def set_preparing(self, connector_id: int, preparing: bool) -> None:
        self.connector(connector_id).preparing = preparing

    # -- faults and availability --------------------------------------------------------------

    def set_fault(self, connector_id: int, fault: Fault, now: float) -> None:
        self.advance(now)
        if connector_id == 0:
            self.station_fault = fault
        else:
            self.connector(connector_id).fault = fault
        self.recompute_power()

    def clear_fault(self, connector_id: int, now: float) -> Fault:
        self.advance(now)
        if connector_id == 0:
            previous, self.station_fault = self.station_fault, None
        else:
            conn = self.connector(connector_id)
            previous, conn.fault = conn.fault, None
        if previous is None:
            raise StationError("no_fault", f"connector {connector_id} has no fault")
        self.recompute_power()
        return previous

    def change_availability(self, connector_id: int, operative: bool, now: float) -> str:
        """ChangeAvailability semantics: Accepted, or Scheduled while a transaction runs."""
        self.advance(now)
        if connector_id == 0:
            if self.transactions():
                self.station_scheduled_operative = operative
                return "Scheduled"
            self.station_operative = operative
            self.recompute_power()
            return "Accepted"
        conn = self.connector(connector_id)
        if conn.transaction is not None:
            conn.scheduled_operative = operative
            return "Scheduled"
        conn.operative = operative
        conn.scheduled_operative = None
        self.recompute_power()
        return "Accepted"

    # -- status -------------------------------------------------------------------------------

    def connector_status(self, connector_id: int) -> StatusChange:
        status, fault = self._status(connector_id)
        return _change(connector_id, status, fault)

    def _status(self, connector_id: int) -> tuple[str, Fault | None]:
        """A connector's status (0: the station's) and the fault it reports, if any."""
        if connector_id == 0:
            fault = self.station_fault
            if fault is not None and fault.blocks_charging:
                return "Faulted", fault
            return ("Available" if self.station_operative else "Unavailable"), fault
        conn = self.connector(connector_id)
        fault = conn.fault or self.station_fault
        if fault is not None and fault.blocks_charging:
            return "Faulted", fault
        tx = conn.transaction
        if tx is not None and tx.id_tag is None and not tx.confirmed:
            status = "Preparing"  # EV connected, waiting for authorization (2.x)
        elif tx is not None:
            if conn.power_w != 0:  # discharging is energy transfer too
                status = "Charging"
            elif (
                tx.deauthorized
                or not self.station_operative
                or (conn.ev_wants_energy and conn.ev is not None and not conn.ev.full)
            ):
                status = "SuspendedEVSE"
            else:
                status = "SuspendedEV"
        elif not conn.operative or not self.station_operative:
            status = "Unavailable"
        elif conn.finishing:
            status = "Finishing"
        elif conn.plugged or conn.preparing:
            status = "Preparing"
        elif self.reservation_for(connector_id) is not None:
            status = "Reserved"
        else:
            status = "Available"
        return status, fault

    def status_changes(self) -> list[StatusChange]:
        """Connector statuses that differ from what was last reported; marks them reported.
        (A `StatusChange` is made only for a change: a flow asks after nearly every step.)"""
        changes: list[StatusChange] = []
        status, fault = self._status(0)
        key = (status, (fault.fault_type or "") if fault is not None else "")
        if self.station_reported != key:
            self.station_reported = key
            changes.append(_change(0, status, fault))
        for connector_id, conn in self.connectors.items():
            status, fault = self._status(connector_id)
            key = (status, (fault.fault_type or "") if fault is not None else "")
            if conn.reported != key:
                conn.reported = key
                changes.append(_change(connector_id, status, fault))
        return changes

    def is_current(self, change: StatusChange) -> bool:
        """Is `change` still what its connector's status is? (It may have changed again while
        an earlier report was on the wire; the next `status_changes` then has the new one.)"""
        cid = change.connector_id
        reported = self.station_reported if cid == 0 else self.connectors[cid].reported
        return reported == self._reported_key(cid)

    def has_status_changes(self) -> bool:
        """Would `status_changes` report anything? (Marks nothing; asked after every meter
        sample, so it builds no StatusChange.)"""
        if self.station_reported != self._reported_key(0):
            return True
        for connector_id, conn in self.connectors.items():
            if conn.reported != self._reported_key(connector_id):
                return True
        return False

    def _reported_key(self, connector_id: int) -> tuple[str, str]:
        """(status, error code or "") as `status_changes` keeps what it reported."""
        status, fault = self._status(connector_id)
        return status, (fault.fault_type or "") if fault is not None else ""

    def forget_reported_status(self) -> None:
        """After a (re)boot every status is reported again."""
        self.station_reported = None
        for conn in self.connectors.values():
            conn.reported = None


def _change(connector_id: int, status: str, fault: Fault | None) -> StatusChange:
    if fault is None:
        return StatusChange(connector_id, status, None)
    return StatusChange(connector_id, status, fault.fault_type, fault.info, fault.vendor_error_code)


def id_tag_info_accepts(info: IdTagInfo, now: float) -> bool:
    return info.is_valid_at(now)
