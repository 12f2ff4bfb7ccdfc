"""Hosting the fleet in one process: the runtime that boots and stops stations, the command
dispatcher, persistence of snapshots and frames, and memory housekeeping."""
