"""What a 2.x station sends beyond 1.6's messages, in one place for the station codec: the
monitoring report and events, the display messages report, customer information, external
limits and an ISO 15118 EV's needs and plan; and the answers a flow reads of them."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs.ocpp201_charging_limits import (
    decode_ev_charging_needs_answer,
    decode_ev_charging_schedule_answer,
    encode_charging_limit,
    encode_ev_charging_needs,
    encode_ev_charging_schedule,
    encode_limit_cleared,
)
from voltlab.fleet.codecs.ocpp201_customer import encode_customer_information_page
from voltlab.fleet.codecs.ocpp201_display import encode_display_messages_page
from voltlab.fleet.codecs.ocpp201_monitoring import encode_event_notice, encode_report_page
from voltlab.fleet.machine.charging_limit_messages import (
    ChargingLimitCleared,
    ChargingLimitNotice,
    EVChargingNeeds,
    EVChargingSchedule,
)
from voltlab.fleet.machine.customer_messages import CustomerInformationPage
from voltlab.fleet.machine.display_requests import DisplayMessagesPage
from voltlab.fleet.machine.messages import StationAnswerMessage, StationMessage
from voltlab.fleet.machine.monitoring_messages import EventNotice, MonitoringReportPage
from voltlab.fleet.machine.session_messages import Received

Payload = dict[str, Any]

NOTICES = (
    EventNotice,
    MonitoringReportPage,
    DisplayMessagesPage,
    CustomerInformationPage,
    ChargingLimitNotice,
    ChargingLimitCleared,
    EVChargingNeeds,
    EVChargingSchedule,
)


def encode_notice(message: StationMessage, version: str) -> tuple[str, Payload]:
    if isinstance(message, EventNotice):
        return encode_event_notice(message, version)
    if isinstance(message, MonitoringReportPage):
        return encode_report_page(message, version)
    if isinstance(message, DisplayMessagesPage):
        return encode_display_messages_page(message)
    if isinstance(message, CustomerInformationPage):
        return encode_customer_information_page(message)
    if isinstance(message, ChargingLimitNotice):
        return encode_charging_limit(message)
    if isinstance(message, ChargingLimitCleared):
        return encode_limit_cleared(message)
    if isinstance(message, EVChargingNeeds):
        return encode_ev_charging_needs(message)
    if isinstance(message, EVChargingSchedule):
        return encode_ev_charging_schedule(message)
    raise TypeError(f"OCPP {version} has no message for {message!r}")


def decode_notice_answer(message: StationMessage, payload: Payload) -> StationAnswerMessage:
    if isinstance(message, EVChargingNeeds):
        return decode_ev_charging_needs_answer(payload)
    if isinstance(message, EVChargingSchedule):
        return decode_ev_charging_schedule_answer(payload)
    return Received()  # the other answers carry nothing
