"""Station configuration: the OCPP 1.6 standard keys with types, mutability and effects.

The key set is the station's own settings; the 1.6 codec says them as they are, the 2.x
device model maps Component.Variable names onto the same settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

BOOL, INT, CSL, STR = "bool", "int", "csl", "str"
# ChangeConfiguration's answer words.
ConfigurationStatus = Literal["Accepted", "Rejected", "RebootRequired", "NotSupported"]

MEASURANDS = frozenset(
    {
        "Energy.Active.Import.Register",
        # What flows from the EV to the grid (V2X); zero for an EV that only charges.
        "Energy.Active.Export.Register",
        "Power.Active.Import",
        "Power.Active.Export",
        "Current.Import",
        "Current.Export",
        "Current.Offered",
        "Voltage",
        "SoC",
        "Temperature",
        "Frequency",
        "Power.Offered",
    }
)


@dataclass(frozen=True)
class ConfigurationEntry:
    """A key as GetConfiguration reports it; `value` is None for a write-only key."""

    key: str
    readonly: bool
    value: str | None


@dataclass(frozen=True)
class KeySpec:
    key: str
    kind: str
    readonly: bool
    default: str
    reboot_required: bool = False
    minimum: int = 0


def _spec(key: str, kind: str, readonly: bool, default: str, **kw: Any) -> KeySpec:
    return KeySpec(key, kind, readonly, default, **kw)


STANDARD_KEYS: dict[str, KeySpec] = {
    s.key: s
    for s in (
        _spec("AllowOfflineTxForUnknownId", BOOL, False, "false"),
        _spec("AuthorizationCacheEnabled", BOOL, False, "true"),
        _spec("AuthorizeRemoteTxRequests", BOOL, False, "false"),
        _spec("BlinkRepeat", INT, False, "3"),
        _spec("ClockAlignedDataInterval", INT, False, "0"),
        # ISO 15118 Plug & Charge (the OCA application note for 1.6; 2.x ISO15118Ctrlr maps
        # onto the same keys): PnC authorization, and whether a contract the station cannot
        # validate goes to the CSMS (C07.FR.06) or is validated offline (C07.FR.07/.08).
        _spec("CentralContractValidationAllowed", BOOL, False, "false"),
        _spec("ContractValidationOffline", BOOL, False, "true"),
        _spec("ISO15118PnCEnabled", BOOL, False, "true"),
        _spec("ConnectionTimeOut", INT, False, "120"),
        _spec("ConnectorPhaseRotation", CSL, False, "0.RST"),
        _spec("ConnectorPhaseRotationMaxLength", INT, True, "10"),
        _spec("GetConfigurationMaxKeys", INT, True, "100"),
        _spec("HeartbeatInterval", INT, False, "300"),
        _spec("LightIntensity", INT, False, "100"),
        _spec("LocalAuthorizeOffline", BOOL, False, "true"),
        _spec("LocalPreAuthorize", BOOL, False, "false"),
        _spec("MaxEnergyOnInvalidId", INT, False, "0"),
        _spec("MeterValuesAlignedData", CSL, False, "Energy.Active.Import.Register"),
        _spec("MeterValuesAlignedDataMaxLength", INT, True, "8"),
        _spec(
            "MeterValuesSampledData",
            CSL,
            False,
            "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage",
        ),
        _spec("MeterValuesSampledDataMaxLength", INT, True, "8"),
        _spec("MeterValueSampleInterval", INT, False, "60"),
        _spec("MinimumStatusDuration", INT, False, "0"),
        _spec("NumberOfConnectors", INT, True, "1"),
        _spec("ResetRetries", INT, False, "1"),
        _spec("StopTransactionOnEVSideDisconnect", BOOL, False, "true"),
        _spec("StopTransactionOnInvalidId", BOOL, False, "true"),
        _spec("StopTxnAlignedData", CSL, False, ""),
        _spec("StopTxnAlignedDataMaxLength", INT, True, "8"),
        _spec("StopTxnSampledData", CSL, False, "Energy.Active.Import.Register"),
        _spec("StopTxnSampledDataMaxLength", INT, True, "8"),
        _spec(
            "SupportedFeatureProfiles",
            CSL,
            True,
            "Core,LocalAuthListManagement,Reservation,RemoteTrigger,SmartCharging",
        ),
        _spec("ChargeProfileMaxStackLevel", INT, True, "8"),
        _spec("ChargingScheduleAllowedChargingRateUnit", CSL, True, "Current,Power"),
        _spec("ChargingScheduleMaxPeriods", INT, True, "24"),
        _spec("MaxChargingProfilesInstalled", INT, True, "20"),
        _spec("SupportedFeatureProfilesMaxLength", INT, True, "6"),
        _spec("TransactionMessageAttempts", INT, False, "3"),
        _spec("TransactionMessageRetryInterval", INT, False, "60"),
        _spec("UnlockConnectorOnEVSideDisconnect", BOOL, False, "true"),
        _spec("WebSocketPingInterval", INT, False, "0", reboot_required=True),
        _spec("LocalAuthListEnabled", BOOL, False, "true"),
        _spec("LocalAuthListMaxLength", INT, True, "1000"),
        _spec("SendLocalListMaxLength", INT, True, "100"),
        _spec("ReserveConnectorZeroSupported", BOOL, True, "true"),
        _spec("AuthorizationKey", STR, False, "", reboot_required=True),
        _spec("SecurityProfile", INT, False, "0", reboot_required=True),
    )
}

# AuthorizationKey is write-only: GetConfiguration must not reveal it (1.6 security whitepaper).
WRITE_ONLY_KEYS = frozenset({"AuthorizationKey"})
INT32_MAX = 2**31 - 1


class ConfigError(ValueError):
    """A value that does not fit the key (wrong type, below minimum, unknown measurand)."""


def validate_value(spec: KeySpec, value: str) -> str:
    if spec.kind == BOOL:
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            raise ConfigError(f"{spec.key} takes true or false, got {value!r}")
        return lowered
    if spec.kind == INT:
        try:
            number = int(value.strip())
        except ValueError:
            raise ConfigError(f"{spec.key} takes an integer, got {value!r}") from None
        if number < spec.minimum:
            raise ConfigError(f"{spec.key} must be >= {spec.minimum}, got {number}")
        if number > INT32_MAX:  # OCPP integer keys (intervals, counts) are 32-bit
            raise ConfigError(f"{spec.key} must be <= {INT32_MAX}, got {value.strip()[:20]}")
        return str(number)
    if spec.kind == CSL and spec.key.startswith(("MeterValues", "StopTxn")):
        items = [item.strip() for item in value.split(",") if item.strip()]
        unknown = [item for item in items if item not in MEASURANDS]
        if unknown:
            raise ConfigError(f"{spec.key}: unsupported measurand(s) {', '.join(unknown)}")
        max_spec = STANDARD_KEYS.get(spec.key + "MaxLength")
        if max_spec is not None and len(items) > int(max_spec.default):
            raise ConfigError(f"{spec.key}: at most {max_spec.default} items")
        return ",".join(items)
    return value


DEFAULT_VALUES: dict[str, str] = {key: spec.default for key, spec in STANDARD_KEYS.items()}


class StationConfig:
    """Current values of the standard keys plus free-form vendor keys set by the operator."""

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        # Only values set for this station are stored; the rest are read from the shared
        # defaults (a full copy per station costs ~2 KB across a 10 000-station fleet).
        self._set: dict[str, str] = {}
        self._custom: set[str] = set()
        for key, value in (overrides or {}).items():
            if key not in STANDARD_KEYS:
                self._custom.add(key)
            self._set[key] = value

    def get(self, key: str) -> str | None:
        value = self._set.get(key)
        return value if value is not None else DEFAULT_VALUES.get(key)

    def get_bool(self, key: str) -> bool:
        return (self.get(key) or "false") == "true"

    def get_int(self, key: str) -> int:
        try:
            return int(self.get(key) or "0")
        except ValueError:
            return 0

    def get_list(self, key: str) -> list[str]:
        return [item for item in (self.get(key) or "").split(",") if item]

    def is_known(self, key: str) -> bool:
        return key in self._set or key in DEFAULT_VALUES

    def is_readonly(self, key: str) -> bool:
        spec = STANDARD_KEYS.get(key)
        return spec.readonly if spec else False

    def set_by_csms(self, key: str, value: str) -> ConfigurationStatus:
        """ChangeConfiguration semantics: returns Accepted / Rejected / RebootRequired /
        NotSupported and applies the value when accepted."""
        spec = STANDARD_KEYS.get(key)
        if spec is None:
            if key in self._custom:
                self._set[key] = value
                return "Accepted"
            return "NotSupported"
        if spec.readonly:
            return "Rejected"
        try:
            self._set[key] = validate_value(spec, value)
        except ConfigError:
            return "Rejected"
        return "RebootRequired" if spec.reboot_required else "Accepted"

    def set_local(self, key: str, value: str) -> None:
        """Operator-side change (the `configuration` command): any key, read-only ones included,
        still type-checked; unknown keys become vendor keys."""
        spec = STANDARD_KEYS.get(key)
        if spec is None:
            self._custom.add(key)
            self._set[key] = value
            return
        self._set[key] = validate_value(spec, value)

    def entries(self, keys: list[str] | None = None) -> tuple[list[ConfigurationEntry], list[str]]:
        """GetConfiguration: the entries of the keys asked for (all when none are), and the
        keys the station does not know."""
        wanted = keys if keys else [*DEFAULT_VALUES, *(k for k in self._set if k in self._custom)]
        found: list[ConfigurationEntry] = []
        unknown: list[str] = []
        for key in wanted:
            value = self.get(key)
            if value is None:
                unknown.append(key)
                continue
            shown = None if key in WRITE_ONLY_KEYS else value
            found.append(ConfigurationEntry(key, self.is_readonly(key), shown))
        return found, unknown

    def snapshot(self) -> dict[str, str]:
        """Values that differ from the defaults (what needs persisting)."""
        return {
            key: value
            for key, value in self._set.items()
            if key in self._custom or STANDARD_KEYS[key].default != value
        }
