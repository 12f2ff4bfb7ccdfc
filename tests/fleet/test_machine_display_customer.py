"""Display messages (OCPP 2.0.1 O01-O06), CustomerInformation (N09/N10) and CostUpdated (I03)
in the station machine, on 2.0.1 and 2.1, against an automatic CSMS that checks every frame
against the OCA schemas: what is stored and refused, what the reports carry, what is cleared."""

from __future__ import annotations

import pytest

from fleet.auto_csms import T0, AutoCsms, station_machine
from voltlab.fleet.driver.state_view import display_messages_view
from voltlab.fleet.machine.customer_messages import (
    CostUpdated,
    CustomerInformation,
    CustomerInformationAnswer,
)
from voltlab.fleet.machine.display_requests import (
    ClearDisplayMessage,
    DisplayMessagesAnswer,
    GetDisplayMessages,
    SetDisplayMessage,
    SetDisplayMessageAnswer,
)
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.session_messages import PlugIn, StartTransaction, StopTransaction, Unplug
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.customer_information import Customer
from voltlab.fleet.model.display_messages import CAPACITY, DisplayMessage
from voltlab.ocpp.versions import OCPP21, OCPP201

VERSIONS = [OCPP201, OCPP21]


def message(message_id: int, priority: str = "NormalCycle", **extra: object) -> DisplayMessage:
    fields: dict[str, object] = {"message_format": "UTF8", "content": f"message {message_id}"}
    fields.update(extra)
    return DisplayMessage(message_id, priority, **fields)  # type: ignore[arg-type]


def status(csms: AutoCsms, shown: DisplayMessage) -> tuple[str, str | None]:
    answer = csms.request(SetDisplayMessage(shown))
    assert isinstance(answer, SetDisplayMessageAnswer)
    return answer.status, answer.reason_code


def charge(m: StationMachine, csms: AutoCsms, tag: str = "TAG-CUST") -> str:
    csms.command(PlugIn(1))
    csms.command(StartTransaction(1, tag))
    tx = m.station.connectors[1].transaction
    assert tx is not None
    return str(tx.transaction_id)


@pytest.mark.parametrize("version", VERSIONS)
def test_display_messages_are_stored_by_the_rules(version: str) -> None:
    m, csms = station_machine(version)
    tx_id = charge(m, csms)
    assert status(csms, message(1, "AlwaysFront", state="Charging")) == ("Accepted", None)
    assert status(csms, message(2, "InFront", start=T0 + 600, end=T0 + 1200)) == (
        "Accepted",
        None,
    )
    assert status(csms, message(3, transaction_id=tx_id)) == ("Accepted", None)
    assert status(csms, message(4, transaction_id="no-such-tx")) == ("UnknownTransaction", None)
    assert status(csms, message(5, message_format="QRCODE")) == ("NotSupportedMessageFormat", None)
    assert status(csms, message(6, state="Discharging")) == ("NotSupportedState", None)
    assert status(csms, message(7, end=T0 - 1)) == ("Rejected", "InvalidValue")
    assert status(csms, message(8, start=T0 + 5, end=T0 + 5)) == ("Rejected", "InvalidValue")
    # The same id replaces the message (O01).
    assert status(csms, message(1, "AlwaysFront", content="charging: 11 kW")) == (
        "Accepted",
        None,
    )
    assert m.station.display_messages.get(1).content == "charging: 11 kW"  # type: ignore[union-attr]
    # On screen now: 1 (AlwaysFront), 3 (its transaction); 2 only from T0 + 600.
    shown = [item["id"] for item in display_messages_view(m.station, csms.now) if item["shown"]]
    assert shown == [1, 3]
    # The transaction's message goes with it (O02); the one past its end goes too.
    csms.command(StopTransaction(1, "Local"))
    csms.advance(T0 + 1300)
    assert [item.id for item in m.station.display_messages.all(csms.now)] == [1]
    assert m.device_model.get_dotted("DisplayMessageCtrlr.DisplayMessages", csms.now) == "1"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_full_display_refuses_a_new_message(version: str) -> None:
    m, csms = station_machine(version)
    for message_id in range(1, CAPACITY + 1):
        assert status(csms, message(message_id))[0] == "Accepted"
    assert status(csms, message(CAPACITY + 1)) == ("Rejected", "TooManyElements")
    assert status(csms, message(CAPACITY, content="replaced")) == ("Accepted", None)
    m.device_model.set_dotted("DisplayMessageCtrlr.Enabled", "false")
    assert status(csms, message(1)) == ("Rejected", "Disabled")


@pytest.mark.parametrize("version", VERSIONS)
def test_get_display_messages_reports_by_id_priority_and_state(version: str) -> None:
    m, csms = station_machine(version)
    for shown in (
        message(1, "AlwaysFront"),
        message(2, "InFront", state="Idle", language="de"),
        message(3, "InFront", state="Charging"),
    ):
        status(csms, shown)
    assert csms.request(GetDisplayMessages(41, None, "InFront", "Idle")) == (
        DisplayMessagesAnswer("Accepted")
    )
    [page] = csms.actions("NotifyDisplayMessages")
    assert page["requestId"] == 41 and "tbc" not in page
    assert page["messageInfo"] == [
        {
            "id": 2,
            "priority": "InFront",
            "message": {"format": "UTF8", "content": "message 2", "language": "de"},
            "state": "Idle",
        }
    ]
    assert csms.request(GetDisplayMessages(42, (1, 3, 9), None, None)) == (
        DisplayMessagesAnswer("Accepted")
    )
    assert [i["id"] for i in csms.actions("NotifyDisplayMessages")[-1]["messageInfo"]] == [1, 3]
    assert csms.request(GetDisplayMessages(43, (9,), None, None)) == (
        DisplayMessagesAnswer("Unknown")
    )
    assert len(csms.actions("NotifyDisplayMessages")) == 2  # nothing for Unknown
    assert csms.request(ClearDisplayMessage(2)) == DisplayMessagesAnswer("Accepted")
    assert csms.request(ClearDisplayMessage(2)) == DisplayMessagesAnswer("Unknown")
    assert [item.id for item in m.station.display_messages.all(csms.now)] == [1, 3]


@pytest.mark.parametrize("version", VERSIONS)
def test_customer_information_reports_and_clears(version: str) -> None:
    m, csms = station_machine(version)
    station = m.station
    station.local_list.update(4, "Full", [("TAG-CUST", IdTagInfo("Accepted"))])
    tx_id = charge(m, csms)  # the CSMS's answer puts the token in the cache
    csms.command(StopTransaction(1, "Local"))
    assert station.auth_cache.lookup("TAG-CUST") is not None
    ask = CustomerInformation(5, report=True, clear=True, customer=Customer(id_token="TAG-CUST"))
    assert csms.request(ask) == CustomerInformationAnswer("Accepted")
    [page] = csms.actions("NotifyCustomerInformation")
    assert (page["requestId"], page["seqNo"]) == (5, 0) and "tbc" not in page
    data = page["data"]
    assert "authorization cache: TAG-CUST status=Accepted" in data
    assert "local authorization list v4: TAG-CUST" in data
    assert f"ended transaction {tx_id} on EVSE 1" in data
    assert f"cleared: ended transaction {tx_id}" in data
    # Cleared: the cache entry and the ended transaction; the CSMS's local list stays.
    assert station.auth_cache.lookup("TAG-CUST") is None
    assert station.connectors[1].history == []
    assert station.local_list.lookup("TAG-CUST") is not None
    again = CustomerInformation(6, report=True, clear=False, customer=Customer(id_token="NOBODY"))
    assert csms.request(again) == CustomerInformationAnswer("Accepted")
    assert csms.actions("NotifyCustomerInformation")[-1]["data"] == (
        "The station holds no data about this customer."
    )
    nothing = CustomerInformation(7, report=False, clear=False, customer=Customer("TAG-CUST"))
    assert csms.request(nothing).status == "Rejected"  # type: ignore[union-attr]
    nobody = CustomerInformation(8, report=True, clear=False, customer=Customer())
    assert csms.request(nobody).status == "Invalid"  # type: ignore[union-attr]
    assert len(csms.actions("NotifyCustomerInformation")) == 2


@pytest.mark.parametrize("version", VERSIONS)
def test_long_customer_information_goes_in_512_character_pages(version: str) -> None:
    m, csms = station_machine(version)
    for _ in range(5):  # five ended transactions of one customer (what a connector keeps)
        charge(m, csms, "TAG-LONG")
        csms.command(StopTransaction(1, "Local"))
        csms.advance(csms.now + 60)
        csms.command(Unplug(1))
    ask = CustomerInformation(9, report=True, clear=False, customer=Customer(id_token="TAG-LONG"))
    csms.request(ask)
    pages = csms.actions("NotifyCustomerInformation")
    assert len(pages) >= 2
    assert all(len(p["data"]) <= 512 for p in pages)
    assert [p["seqNo"] for p in pages] == list(range(len(pages)))
    assert [p.get("tbc", False) for p in pages] == [True] * (len(pages) - 1) + [False]


@pytest.mark.parametrize("version", VERSIONS)
def test_cost_updated_is_kept_on_its_transaction(version: str) -> None:
    m, csms = station_machine(version)
    tx_id = charge(m, csms)
    csms.request(CostUpdated(tx_id, 3.42))
    tx = m.station.find_transaction(tx_id)
    assert tx is not None and tx.total_cost == 3.42
    csms.request(CostUpdated("someone-else", 9.99))  # answered, nothing changes
    assert tx.total_cost == 3.42
    assert csms.answered[-1] == ("CostUpdated", {})
