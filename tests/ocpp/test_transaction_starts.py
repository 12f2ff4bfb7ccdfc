"""`TransactionStarts`: the register at a transaction's start as the station told the CSMS, the
base of the dashboard's session energy (1.6 StartTransaction + the CSMS's answer, 2.x
TransactionEvent Started)."""

from __future__ import annotations

from voltlab.ocpp.meter_frames import TransactionStarts


def _energy(value: str, multiplier: int = 0) -> dict:
    return {
        "timestamp": "2026-01-01T10:00:00Z",
        "sampledValue": [
            {
                "value": value,
                "measurand": "Energy.Active.Import.Register",
                "unitOfMeasure": {"unit": "kWh", "multiplier": multiplier},
            }
        ],
    }


def test_ocpp16_start_is_bound_to_the_answered_transaction_id() -> None:
    starts = TransactionStarts()
    start = [2, "m1", "StartTransaction", {"connectorId": 1, "meterStart": 1500}]
    other = [2, "m2", "StartTransaction", {"connectorId": 2, "meterStart": 900}]
    for direction, frame in (
        ("out", start),
        ("out", other),
        # An answer to another CALL with the same shape does not bind anything.
        ("in", [3, "zz", {"transactionId": 1}]),
        ("in", [3, "m2", {"transactionId": 41, "idTagInfo": {"status": "Accepted"}}]),
        ("in", [3, "m1", {"transactionId": 40, "idTagInfo": {"status": "Accepted"}}]),
        # A second answer to m1 (a retransmission) is not bound again.
        ("in", [3, "m1", {"transactionId": 99}]),
    ):
        starts.feed(direction, frame)
    assert starts.meter_start_wh == {"40": 1500.0, "41": 900.0}
    # A CALLERROR answer binds nothing; a StartTransaction the CSMS sends is not the station's.
    refused = TransactionStarts()
    refused.feed("out", [2, "m3", "StartTransaction", {"meterStart": 5}])
    refused.feed("in", [4, "m3", "InternalError", "", {}])
    refused.feed("in", [2, "m4", "StartTransaction", {"meterStart": 7}])
    refused.feed("out", [3, "m4", {"transactionId": 3}])
    assert refused.meter_start_wh == {}


def test_ocpp2x_start_is_the_started_events_register() -> None:
    starts = TransactionStarts()
    info = {"transactionId": "tx-a", "chargingState": "Charging"}
    for event_type, value in (("Started", "1.25"), ("Updated", "2.5"), ("Started", "9")):
        starts.feed(
            "out",
            [
                2,
                f"e-{event_type}-{value}",
                "TransactionEvent",
                {
                    "eventType": event_type,
                    "transactionInfo": info,
                    "evse": {"id": 1, "connectorId": 1},
                    "meterValue": [_energy(value)],
                },
            ],
        )
    # The first Started wins (a repeated Started must not move the session's base).
    assert starts.meter_start_wh == {"tx-a": 1250.0}
    assert starts.wants("out", '[2,"x","TransactionEvent",{"eventType":"Started"}]')
    assert not starts.wants("out", '[2,"x","Heartbeat",{}]')
    assert not starts.wants("in", '[3,"x",{"transactionId":1}]')  # nothing asked


def test_ocpp2x_samples_belong_to_their_evse() -> None:
    """Station connector n is EVSE n with connectorId 1: a sample of EVSE 2 is connector 2's."""
    from voltlab.ocpp.meter_frames import samples_of_call

    payload = {
        "eventType": "Updated",
        "transactionInfo": {"transactionId": "tx-b"},
        "evse": {"id": 2, "connectorId": 1},
        "meterValue": [_energy("3")],
    }
    [sample] = samples_of_call("TransactionEvent", payload)
    assert (sample.connector_id, sample.transaction_id, sample.energy_wh) == (2, "tx-b", 3000.0)
