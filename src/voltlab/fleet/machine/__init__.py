"""The station machine: events in, effects out, no I/O (docs/station-machine.md)."""
