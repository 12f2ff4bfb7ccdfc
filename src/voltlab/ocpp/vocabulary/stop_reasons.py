"""Why a transaction ended: the protocol-neutral reasons and their 1.6 / 2.x spellings.

The neutral vocabulary is the union of OCPP 1.6 ``Reason`` and 2.0.1 ``ReasonEnumType``:
what a station model or a Gateway API caller may say. Each version says it in its own
words: 1.6 lacks the 2.x-only reasons (limits become Local, the rest Other); 2.x lacks
HardReset / SoftReset (ImmediateReset) and UnlockCommand (Other, triggered by
UnlockCommand), and wants a ``triggerReason`` beside the ``stoppedReason``."""

from __future__ import annotations

from typing import Final, Literal, get_args

# Each word is written once: the words both versions have, then each version's own.
_ReasonBoth = Literal[
    "DeAuthorized",
    "EmergencyStop",
    "EVDisconnected",
    "Local",
    "Other",
    "PowerLoss",
    "Reboot",
    "Remote",
]
_Reason16Only = Literal["HardReset", "SoftReset", "UnlockCommand"]
_Reason201Only = Literal[
    "EnergyLimitReached",
    "GroundFault",
    "ImmediateReset",
    "LocalOutOfCredit",
    "MasterPass",
    "OvercurrentFault",
    "PowerQuality",
    "SOCLimitReached",
    "StoppedByEV",
    "TimeLimitReached",
    "Timeout",
]

StopReason = Literal[_ReasonBoth, _Reason16Only, _Reason201Only]
STOP_REASONS: Final[tuple[StopReason, ...]] = get_args(StopReason)

# OCPP 1.6 StopTransaction.req `reason`.
Reason16 = Literal[_ReasonBoth, _Reason16Only]
REASONS_16: Final[tuple[Reason16, ...]] = get_args(Reason16)

# OCPP 2.x TransactionEvent `stoppedReason` (ReasonEnumType; the last word is 2.1's).
Reason2x = Literal[_ReasonBoth, _Reason201Only, "ReqEnergyTransferRejected"]
REASONS_2X: Final[tuple[Reason2x, ...]] = get_args(Reason2x)

# The 2.x triggerReason values an Ended TransactionEvent carries here.
EndTrigger2x = Literal[
    "AbnormalCondition",
    "ChargingStateChanged",
    "Deauthorized",
    "EnergyLimitReached",
    "EVCommunicationLost",
    "RemoteStop",
    "ResetCommand",
    "StopAuthorized",
    "TimeLimitReached",
    "UnlockCommand",
]

# Keyed by str: a persisted or caller-given word is looked up as it comes.
_TO_16: Final[dict[str, Reason16]] = {
    **{reason: reason for reason in REASONS_16},
    # A limit the station enforced itself is a local decision in 1.6 words.
    "EnergyLimitReached": "Local",
    "TimeLimitReached": "Local",
    "GroundFault": "Other",
    "ImmediateReset": "Other",
    "LocalOutOfCredit": "Other",
    "MasterPass": "Other",
    "OvercurrentFault": "Other",
    "PowerQuality": "Other",
    "SOCLimitReached": "Other",
    "StoppedByEV": "Other",
    "Timeout": "Other",
}

_TO_2X: Final[dict[str, tuple[Reason2x, EndTrigger2x]]] = {
    "Local": ("Local", "StopAuthorized"),
    "Remote": ("Remote", "RemoteStop"),
    "EVDisconnected": ("EVDisconnected", "EVCommunicationLost"),
    "HardReset": ("ImmediateReset", "ResetCommand"),
    "SoftReset": ("ImmediateReset", "ResetCommand"),
    "ImmediateReset": ("ImmediateReset", "ResetCommand"),
    "Reboot": ("Reboot", "ResetCommand"),
    "DeAuthorized": ("DeAuthorized", "Deauthorized"),
    "EmergencyStop": ("EmergencyStop", "AbnormalCondition"),
    "GroundFault": ("GroundFault", "AbnormalCondition"),
    "OvercurrentFault": ("OvercurrentFault", "AbnormalCondition"),
    "PowerLoss": ("PowerLoss", "AbnormalCondition"),
    "PowerQuality": ("PowerQuality", "AbnormalCondition"),
    "LocalOutOfCredit": ("LocalOutOfCredit", "AbnormalCondition"),
    "MasterPass": ("MasterPass", "AbnormalCondition"),
    "Timeout": ("Timeout", "AbnormalCondition"),
    "UnlockCommand": ("Other", "UnlockCommand"),
    "EnergyLimitReached": ("EnergyLimitReached", "EnergyLimitReached"),
    "TimeLimitReached": ("TimeLimitReached", "TimeLimitReached"),
    "StoppedByEV": ("StoppedByEV", "ChargingStateChanged"),
    "SOCLimitReached": ("SOCLimitReached", "ChargingStateChanged"),
    "Other": ("Other", "AbnormalCondition"),
}


def is_stop_reason(word: str) -> bool:
    return word in _TO_16


def stop_reason_to_16(reason: str | None) -> Reason16:
    """The 1.6 `reason` for a neutral one; None (not said) is Local, an unknown word Other."""
    return _TO_16.get(reason or "Local", "Other")


def stop_reason_to_2x(reason: str | None) -> tuple[Reason2x, EndTrigger2x]:
    """(stoppedReason, triggerReason) of the Ended event for a neutral reason."""
    return _TO_2X.get(reason or "Local", ("Other", "AbnormalCondition"))


def stop_reason_from_16(word: str | None) -> StopReason:
    """The neutral reason a 1.6 station gave; absent means Local (1.6: "may be omitted when
    the reason is Local")."""
    return _from_wire(word)


def stop_reason_from_2x(word: str | None) -> StopReason:
    """The neutral reason a 2.x station gave; absent means Local (as in 1.6). A 2.1 word the
    neutral vocabulary lacks (ReqEnergyTransferRejected) is Other."""
    return _from_wire(word)


def _from_wire(word: str | None) -> StopReason:
    if not word:
        return "Local"
    for reason in STOP_REASONS:  # narrows the str to the Literal without a cast
        if reason == word:
            return reason
    return "Other"
