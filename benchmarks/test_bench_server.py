"""Server benchmarks: framer's gateway server against a websockets echo server.

Each server runs in its own subprocess (so the load generator does not share
its GIL) on 127.0.0.1 with an ephemeral port.  The load generator is
_server_harness's lean asyncio client: pre-masked frames, reply bytes counted,
each client's round trips driven from ``data_received``.

- echo: N concurrent clients, each sending M 64-byte text messages one at a
  time and waiting for the echo; reports messages per second and latency
  percentiles (``extra_info`` in the pytest-benchmark JSON).
- memory: RSS growth of the server process for 1000 idle connections.

framer serves its demo API (``$default`` echoes through a two-way route, so
every message runs route selection, throttling, a Lambda-proxy event and a
handler).  The demo throttles at API Gateway's default quotas (10000 requests
per second per account and per stage, burst 5000), which this benchmark would
exceed by design: the server process raises them to a million, so throttling
is still checked on every message but never refuses one (each reply must be
the 66-byte echo).

Run:   pytest benchmarks/test_bench_server.py --benchmark-only -s
Quick: FRAMER_BENCH_QUICK=1 pytest benchmarks/test_bench_server.py --benchmark-only -s
"""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

from _harness import QUICK
from _server_harness import (
    WEBSOCKETS_ECHO_SERVER,
    Served,
    ServerProcess,
    UpgradeClient,
    close_all,
    connect,
    echo_load,
    server_fixture,
    timed_rounds,
    unthrottled_demo,
)

CLIENTS = 10 if QUICK else 100
MESSAGES = 200 if QUICK else 1000  # per client per round
ROUNDS = 1 if QUICK else 3
IDLE_CONNECTIONS = 200 if QUICK else 1000

SERVERS = {"framer": (unthrottled_demo(), "/dev"), "websockets": (WEBSOCKETS_ECHO_SERVER, "/")}
server = server_fixture(SERVERS)


def test_echo_throughput(benchmark: Any, server: Served) -> None:
    """Echo over loopback: CLIENTS concurrent clients x MESSAGES round trips of 64 B."""
    name, proc, path = server
    runs = timed_rounds(benchmark, lambda: echo_load(proc.port, path, CLIENTS, MESSAGES, warmup=20), ROUNDS)
    best = max(runs, key=lambda run: run.msgs_per_s)
    figures = {
        "msgs_per_s": best.msgs_per_s,
        "p50_ms": best.percentile_ms(0.5),
        "p99_ms": best.percentile_ms(0.99),
        "mean_ms": statistics.fmean(best.latencies) * 1000,
    }
    benchmark.extra_info.update({"server": name, "clients": CLIENTS, "messages_per_client": MESSAGES, **figures})
    print(
        f"\n[{name}] echo {CLIENTS} clients: {figures['msgs_per_s']:.0f} msg/s, "
        f"p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms"
    )
    assert best.msgs_per_s > 0


async def _idle(proc: ServerProcess, path: str) -> float:
    await asyncio.sleep(0.3)
    before = proc.rss_kib()
    clients = await connect(proc.port, lambda: UpgradeClient(path), IDLE_CONNECTIONS)
    await asyncio.sleep(1.0)
    after = proc.rss_kib()
    close_all(clients)
    await asyncio.sleep(0.2)
    return (after - before) * 1024 / IDLE_CONNECTIONS


def test_memory_per_idle_connection(benchmark: Any, server: Served) -> None:
    """RSS growth of the server per idle, handshaken connection."""
    name, proc, path = server
    (per_conn,) = timed_rounds(benchmark, lambda: _idle(proc, path), 1)
    benchmark.extra_info.update({"server": name, "connections": IDLE_CONNECTIONS, "bytes_per_connection": per_conn})
    print(f"\n[{name}] memory: {per_conn / 1024:.1f} KiB per idle connection ({IDLE_CONNECTIONS} connections)")
