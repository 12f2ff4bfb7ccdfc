"""What changed in the registry's transactions since they were last written (issue 14).

The registry marks a transaction when a frame changes it (and the samples it accepted); the
server takes one station's marks after the frame and hands them, as `TransactionChange`s, to
the station's ordered notifier, which writes them before the listener hears of the frame. No
I/O here, and nothing is kept when nobody writes (`Registry(track_changes=False)`)."""

from __future__ import annotations

from collections.abc import Callable

from voltlab.csms.events import CsmsTransaction, MeterSample
from voltlab.csms.ocpp201_state import StationTx
from voltlab.csms.tx_records import TransactionChange, sample_record, transaction_record

StationKey = tuple[str, str]


class ChangeLog:
    def __init__(self) -> None:
        self._marked: dict[StationKey, dict[int, CsmsTransaction]] = {}
        self._samples: dict[int, list[MeterSample]] = {}

    def mark(self, tx: CsmsTransaction, samples: list[MeterSample] | None = None) -> None:
        self._marked.setdefault((tx.cpo_id, tx.identity), {})[tx.transaction_id] = tx
        if samples:
            self._samples.setdefault(tx.transaction_id, []).extend(samples)

    def take(
        self, key: StationKey, station_tx: Callable[[CsmsTransaction], StationTx | None]
    ) -> list[TransactionChange]:
        marked = self._marked.pop(key, None)
        if not marked:
            return []
        changes = []
        for tx_id, tx in marked.items():
            samples = self._samples.pop(tx_id, [])
            changes.append(
                TransactionChange(
                    transaction_id=tx_id,
                    cpo_id=tx.cpo_id,
                    identity=tx.identity,
                    is_open=tx.is_open,
                    record=transaction_record(tx, station_tx(tx)),
                    new_samples=[sample_record(s) for s in samples],
                )
            )
        return changes

    def forget_cpo(self, cpo_id: str) -> None:
        for key in [k for k in self._marked if k[0] == cpo_id]:
            for tx_id in self._marked.pop(key):
                self._samples.pop(tx_id, None)
