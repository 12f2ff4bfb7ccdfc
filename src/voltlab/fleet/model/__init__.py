"""The station model: what a charging station is and holds (connectors, transactions,
configuration, device model, local list, charging profiles). No I/O, no clock, no protocol."""
