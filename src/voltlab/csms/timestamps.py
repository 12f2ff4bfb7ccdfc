"""The CSMS's notion of "now". Timestamps on the wire: `voltlab.ocpp.vocabulary.timestamps`."""

from __future__ import annotations

from collections.abc import Callable

Now = Callable[[], float]  # POSIX seconds; the fleet clock's now() fits when time is scaled
