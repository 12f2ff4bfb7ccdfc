"""The systems under test, one per test: the CSMS the virtual chargers connect to, and the eMSP
whose versions endpoint the virtual CPO calls back. voltlab's fixtures (virtual_charger,
virtual_cpo, ...) come from its pytest plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from systems_under_test import CentralSystem, Emsp


@pytest.fixture
def csms() -> Iterator[CentralSystem]:
    with CentralSystem() as central_system:
        yield central_system


@pytest.fixture
def emsp() -> Iterator[Emsp]:
    with Emsp() as server:
        yield server
