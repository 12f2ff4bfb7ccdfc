"""The station's I/O: the thin asyncio driver under the station machine (socket, timers,
writes, transfers, the offline queue's storage) and the connection's security."""
