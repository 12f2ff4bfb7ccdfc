"""The OCPP 2.1 codec layer: 2.1 is 2.0.1 plus additions, so this module says only what 2.1
adds or reads differently, and `station_codec.codec_for` composes it over the 2.0.1 codec:

- requests 2.1 adds (`ADDED`: SetDERControl, GetDERControl, ClearDERControl);
- requests whose 2.1 fields 2.0.1 lacks (`REPLACED`: SetChargingProfile and
  RequestStartTransaction read the periods' operation mode, setpoint and discharge limit);
- what the station sends that 2.0.1 has not (ReportDERControl, NotifyDERAlarm), and what 2.1
  adds to a message both have (NotifyEVChargingNeeds of a bidirectional EV: its V2X
  parameters; ReportChargingProfiles: the periods' 2.1 fields)."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs import ocpp21_der, ocpp21_profiles
from voltlab.fleet.codecs.ocpp201_charging_limits import encode_ev_charging_needs
from voltlab.fleet.codecs.ocpp201_notices import NOTICES, decode_notice_answer, encode_notice
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.charging_limit_messages import EVChargingNeeds
from voltlab.fleet.machine.messages import StationAnswerMessage, StationMessage
from voltlab.fleet.machine.session_messages import Received
from voltlab.fleet.machine.v2x_messages import DERAlarm, DERControlReport, V2XNeeds
from voltlab.ocpp.versions import OCPP21

Payload = dict[str, Any]

ADDED: dict[str, RequestCodec] = {**ocpp21_der.REQUESTS}
REPLACED: dict[str, RequestCodec] = {**ocpp21_profiles.REPLACED}
NOTICES_21 = (*NOTICES, DERControlReport, DERAlarm)
encode_profiles_report = ocpp21_profiles.encode_profiles_report


def encode_notice_21(message: StationMessage) -> tuple[str, Payload]:
    if isinstance(message, DERControlReport):
        return ocpp21_der.encode_report(message)
    if isinstance(message, DERAlarm):
        return ocpp21_der.encode_alarm(message)
    if isinstance(message, EVChargingNeeds) and message.v2x is not None:
        return encode_v2x_charging_needs(message, message.v2x)
    return encode_notice(message, OCPP21)


def decode_notice_answer_21(message: StationMessage, payload: Payload) -> StationAnswerMessage:
    if isinstance(message, DERControlReport | DERAlarm):
        return Received()  # their answers carry nothing
    return decode_notice_answer(message, payload)


def encode_v2x_charging_needs(needs: EVChargingNeeds, v2x: V2XNeeds) -> tuple[str, Payload]:
    """NotifyEVChargingNeeds of a bidirectional EV: 2.0.1's needs, the bidirectional transfer
    requested (DC_BPT / AC_BPT, the unidirectional one available too), ISO 15118-20's dynamic
    control (the station follows setpoints), and the V2X parameters."""
    action, body = encode_ev_charging_needs(needs)
    charging = body["chargingNeeds"]
    charging["requestedEnergyTransfer"] = v2x.transfer_mode
    charging["availableEnergyTransfer"] = [needs.transfer_mode, v2x.transfer_mode]
    charging["controlMode"] = "DynamicControl"
    charging["mobilityNeedsMode"] = "EVCC"  # the EV decides its SoC limits and departure
    charging["v2xChargingParameters"] = {
        "minChargePower": 0,
        "maxChargePower": v2x.max_charge_power_w,
        "minDischargePower": 0,
        "maxDischargePower": v2x.max_discharge_power_w,
        "evTargetEnergyRequest": v2x.target_energy_wh,
        "evMinEnergyRequest": v2x.min_energy_wh,
        "evMaxEnergyRequest": v2x.max_energy_wh,
        "evMinV2XEnergyRequest": v2x.min_v2x_energy_wh,
        "evMaxV2XEnergyRequest": v2x.max_v2x_energy_wh,
        "targetSoC": 100,
    }
    return action, body
