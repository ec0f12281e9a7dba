"""Memory per idle WebSocket connection on one server process: 1000 and 10000.

The server (framer's demo API) runs in its own process with tracemalloc on;
this process opens N connections, completes each handshake, sends nothing,
and asks the server for its RSS (``/proc/PID/status``), the bytes tracemalloc
traces, and the bytes its engines hold (``WSConnection.buffered``, which must
be 0 for an idle connection).  Reported per connection as the growth over the
server's state before the connections, in ``extra_info`` and on stdout.

The demo's account quota allows 500 new connections per second (API
Gateway's default); the server here raises it so 10000 connections open in
seconds.  Both processes raise their soft file-descriptor limit towards the
hard one; if that is below what N needs, that N is skipped.

Run:   pytest benchmarks/test_bench_memory.py --benchmark-only -s
Quick: FRAMER_BENCH_QUICK=1 pytest benchmarks/test_bench_memory.py --benchmark-only -s
"""

from __future__ import annotations

import asyncio
import json
import resource
import time
from typing import Any, Iterator

import pytest
from _harness import QUICK
from _server_harness import ServerProcess, UpgradeClient, close_all, connect, timed_rounds

COUNTS = [100, 500] if QUICK else [1000, 10000]
MARGIN = 200  # descriptors besides the connections (pipes, the listener, imports)

SERVER = """
import asyncio, json, logging, resource, sys, threading, tracemalloc
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
tracemalloc.start()
from framer.asyncio import serve
from framer.demo import build_demo
from framer.router import Quotas
logging.disable(logging.CRITICAL)
demo = build_demo()
demo.gateway.quotas = Quotas(new_connections_per_second=100_000.0)

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

async def main():
    loop = asyncio.get_running_loop()
    async with serve(demo, "127.0.0.1", 0, log_messages=False) as server:
        def stats():
            protocols = list(server._protocols)
            return {
                "rss_kib": rss_kib(),
                "traced": tracemalloc.get_traced_memory()[0],
                "open": len(server._live),
                "buffered": sum(p.ws.buffered for p in protocols if p.ws is not None),
            }
        def answer():
            for line in sys.stdin:
                fut = asyncio.run_coroutine_threadsafe(asyncio.sleep(0, stats()), loop)
                print(json.dumps(fut.result()), flush=True)
        threading.Thread(target=answer, daemon=True).start()
        print(server.port, hard, flush=True)
        await server.serve_forever()
asyncio.run(main())
"""


class StatsServer(ServerProcess):
    """The server above: its first line is its port and its descriptor limit; it answers ``stats``."""

    def __init__(self) -> None:
        super().__init__(SERVER, stdin=True)
        self.nofile = int(self.hello[1])

    def stats(self) -> dict[str, int]:
        return json.loads(self.ask("stats"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def server() -> Iterator[StatsServer]:
    with StatsServer() as proc:
        yield proc


def _raise_own_fd_limit(needed: int) -> bool:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return True
    target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return False
    return target >= needed


async def _measure(server: StatsServer, count: int) -> dict[str, float]:
    await asyncio.sleep(0.3)
    before = server.stats()
    started = time.perf_counter()
    # 200 handshakes at a time, each batch within 30 s.
    clients = await connect(server.port, lambda: UpgradeClient("/dev"), count, batch=200, timeout=30)
    opened_in = time.perf_counter() - started
    await asyncio.sleep(1.0)
    after = server.stats()
    close_all(clients)
    deadline = time.monotonic() + 30
    while server.stats()["open"] and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert after["open"] - before["open"] == count
    assert after["buffered"] == 0, "idle connections must hold no received bytes"
    return {
        "rss_bytes_per_connection": (after["rss_kib"] - before["rss_kib"]) * 1024 / count,
        "traced_bytes_per_connection": (after["traced"] - before["traced"]) / count,
        "open_seconds": opened_in,
    }


@pytest.mark.parametrize("count", COUNTS)
def test_memory_per_idle_connection(benchmark: Any, server: StatsServer, count: int) -> None:
    """Server RSS and traced Python heap per idle, handshaken connection."""
    if server.nofile < count + MARGIN or not _raise_own_fd_limit(count + MARGIN):
        pytest.skip(f"the OS allows too few file descriptors for {count} connections")
    (result,) = timed_rounds(benchmark, lambda: _measure(server, count), 1)
    benchmark.extra_info.update({"connections": count, **result})
    print(
        f"\n[framer] {count} idle connections: {result['rss_bytes_per_connection'] / 1024:.1f} KiB RSS, "
        f"{result['traced_bytes_per_connection'] / 1024:.1f} KiB traced heap per connection "
        f"(opened in {result['open_seconds']:.1f} s)"
    )
    assert result["traced_bytes_per_connection"] > 0
