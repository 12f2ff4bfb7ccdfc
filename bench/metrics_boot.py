"""Metrics during a boot: N stations created through the Gateway API of a `voltlab serve`
process boot against an independent CSMS (npm ocpp-rpc, strict), while `GET /metrics` is
scraped every --interval seconds (bounded in count and time). Prints the series of connected
stations and OCPP frames the scrapes saw, and how long a scrape took, with a ratio against a
baseline measured in the same run: the same scrape of the same process before any station.
Also prints what counting costs a frame in this process (timeit): the fleet's cached tally
against prometheus-client's `labels(...).inc()`.

    python3 bench/metrics_boot.py --stations 1000 [--interval 0.5] [--max-scrapes 240]

Loopback only; every loop is bounded in count and time."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import timeit

from prometheus_client.parser import text_string_to_metric_families

from support import DEADLINE, OcppRpcPeer, VoltlabServer, create_fleet, machine
from voltlab.fleet.driver.station_metrics import StationMetrics

BASELINE_SCRAPES = 10
STATUSES_EACH = 2  # ac-7kw-1c: connectors 0 and 1 report after the boot


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def timed_scrape(server: VoltlabServer) -> tuple[float, str]:
    assert server.http is not None
    started = time.perf_counter()
    response = await server.http.get("/metrics")
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.text


def tally_costs() -> tuple[float, float, float]:
    """Nanoseconds per frame: the fleet's tally (cached child), `labels().inc()` each time, and
    an answer time recorded in the histogram."""
    metrics = StationMetrics()
    tally = metrics.frame_tally("ocpp1.6")
    timer = metrics.answer_timer("ocpp1.6")
    frames = metrics.frames
    number = 200_000

    def cached() -> None:
        tally("out", "call", "MeterValues")

    def uncached() -> None:
        frames.labels("out", "call", "MeterValues", "ocpp1.6").inc()

    def answered() -> None:
        timer("MeterValues", 0.003)

    costs = [
        min(timeit.repeat(f, number=number, repeat=5)) / number * 1e9
        for f in (cached, uncached, answered)
    ]
    return costs[0], costs[1], costs[2]


async def run(args: argparse.Namespace) -> None:
    async with (
        OcppRpcPeer(protocols=("ocpp1.6",), strict=True, quiet=True) as peer,
        VoltlabServer() as server,
    ):
        baseline = []
        for _ in range(BASELINE_SCRAPES):
            elapsed, _ = await timed_scrape(server)
            baseline.append(elapsed)
        started = time.perf_counter()
        await create_fleet(server, args.stations, csms_url=peer.url, model="ac-7kw-1c")
        created = time.perf_counter() - started
        # t, connected, Accepted, BootNotification out, frames, scrape seconds, and what the
        # previous scrape took the server: reading its stations, rendering
        series: list[tuple[float, ...]] = []
        deadline = started + min(DEADLINE, args.max_seconds)
        booted_at = None
        for _ in range(args.max_scrapes):
            tick = time.perf_counter()
            elapsed, text = await timed_scrape(server)
            connected = value(text, "voltlab_stations", connection="connected")
            accepted = value(text, "voltlab_stations", registration="Accepted")
            boots = value(
                text, "voltlab_ocpp_frames_total", direction="out", action="BootNotification"
            )
            frames = value(text, "voltlab_ocpp_frames_total")
            answered = value(text, "voltlab_csms_response_seconds_count")
            fleet_read = value(text, "voltlab_metrics_scrape_seconds", part="fleet")
            render = value(text, "voltlab_metrics_scrape_seconds", part="render")
            row = (tick - started, connected, accepted, boots, frames, elapsed, fleet_read, render)
            series.append(row)
            if answered >= args.stations * (1 + STATUSES_EACH) and accepted == args.stations:
                booted_at = tick - started
                break
            if time.perf_counter() > deadline:
                break
            await asyncio.sleep(max(0.0, args.interval - (time.perf_counter() - tick)))
        strict_failures = len(peer.strict_failures)
        flush_count = value(text, "voltlab_db_flush_seconds_count")
        flush_sum = value(text, "voltlab_db_flush_seconds_sum")
    cached, uncached, answered_ns = tally_costs()

    print(f"metrics during a boot: {args.stations} stations (ac-7kw-1c), ocpp-rpc strict")
    print(f"  machine: {machine()}")
    print(f"  location API calls {created:.2f} s; strict failures {strict_failures}")
    print(
        "     t (s)  connected  Accepted  BootNotif out  frames  scrape (ms)"
        "  [previous, server side: stations read, render (ms)]"
    )
    for t, connected, accepted, boots, frames, elapsed, fleet_read, render in series:
        print(
            f"  {t:8.2f}  {connected:9.0f}  {accepted:8.0f}  {boots:13.0f}  {frames:6.0f}"
            f"  {elapsed * 1000:11.1f}   {fleet_read * 1000:6.2f}  {render * 1000:6.2f}"
        )
    if booted_at is None:
        print(f"  NOT booted within {len(series)} scrapes")
    else:
        print(f"  every station Accepted and its statuses answered, seen at {booted_at:.2f} s")
    during = [row[5] for row in series]
    base = statistics.median(baseline)
    print(
        f"  scrape with no station (baseline, {len(baseline)} scrapes): median {base * 1000:.1f} ms"
    )
    print(
        f"  scrape during the boot ({len(during)} scrapes): median "
        f"{statistics.median(during) * 1000:.1f} ms, max {max(during) * 1000:.1f} ms; "
        f"ratio median / baseline {statistics.median(during) / base:.2f}"
    )
    print(
        f"  batched writes: {flush_count:.0f}, mean "
        f"{flush_sum / flush_count * 1000 if flush_count else 0:.1f} ms"
    )
    print(
        f"  per frame: cached tally {cached:.0f} ns, labels().inc() {uncached:.0f} ns "
        f"(ratio {uncached / cached:.2f}); per answer time {answered_ns:.0f} ns"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between scrapes")
    parser.add_argument("--max-scrapes", type=int, default=240)
    parser.add_argument("--max-seconds", type=float, default=180.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
