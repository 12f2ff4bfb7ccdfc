"""Replay of captured OCPP-J sessions (issue 16, docs/replay.md): a capture (voltlab's frame
log export, plain JSON lines, or the Python `ocpp` library's log) played as the station
against a CSMS, every answer compared with the captured one.

The pure parts read no clock and open no socket: `capture` and `python_ocpp_log` parse,
`script` pairs calls with answers, `rewrite` and `compare` carry the rules, `dialogue` is the
replay as a state machine. `player` is the thin asyncio layer on the station's socket
(`voltlab.ocpp`), `service` keeps the runs in the database."""
