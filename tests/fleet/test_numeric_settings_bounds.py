"""OCPP integer settings are 32-bit and decimals finite (issue 10: an interval of 10^30 or a
NaN must not become a station setting), for 1.6 keys and 2.x device-model variables alike."""

from __future__ import annotations

import pytest

from voltlab.fleet.model.config import STANDARD_KEYS, ConfigError, validate_value
from voltlab.fleet.model.device_model import DeviceModelError, check_value
from voltlab.fleet.model.device_model_catalog import DECIMAL, INTEGER, VARIABLES


@pytest.mark.parametrize("value", ["2147483648", "1" + "0" * 30])
def test_16_integer_keys_stop_at_int32(value: str) -> None:
    with pytest.raises(ConfigError, match="2147483647"):
        validate_value(STANDARD_KEYS["HeartbeatInterval"], value)
    assert validate_value(STANDARD_KEYS["HeartbeatInterval"], "2147483647") == "2147483647"


def test_2x_integer_variables_stop_at_int32() -> None:
    spec = next(v for v in VARIABLES if v.dotted == "OCPPCommCtrlr.HeartbeatInterval")
    assert spec.data_type == INTEGER
    with pytest.raises(DeviceModelError, match="32-bit"):
        check_value(spec, "1" + "0" * 30)
    assert check_value(spec, "2147483647") == "2147483647"


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", "1e999"])
def test_2x_decimal_variables_are_finite(value: str) -> None:
    spec = next(v for v in VARIABLES if v.data_type == DECIMAL)
    with pytest.raises(DeviceModelError, match="finite"):
        check_value(spec, value)
