"""Fixtures for the engine benchmarks (test_bench_mask/receive/send.py).

``run_batches`` times one batch (1000 or 100 messages) per round with
pytest-benchmark's pedantic mode, so that each round starts from a fresh,
already open connection built by ``setup`` outside the timed region.  The
number of rounds follows ``--benchmark-max-time`` and ``--benchmark-min-rounds``
as the calibrated mode would; ``FRAMER_BENCH_QUICK=1`` runs a single round.

Same heap for every peer: glibc raises its mmap threshold (and, with it, its
trim threshold, to twice that) the first time it frees a large mmapped block,
and never lowers them.  Until that happens, freeing a batch of 128 KiB
messages trims the heap back to the OS, and the next batch pays page faults
on fresh memory; in one pytest process the peers that run after some other
peer's large free escape it, the first one on a row (framer, by parameter
order) does not.  So the session frees one 31 MiB block before anything is
timed (glibc's cap for the dynamic threshold is 32 MiB): every peer then runs
on a heap that keeps its pages between batches of up to 62 MiB.
``report.py --pin-malloc`` instead pins both thresholds from the start.
"""

from __future__ import annotations

import gc
import math
import time
from typing import Any, Callable

import pytest
from _harness import QUICK

MAX_ROUNDS = 2000


@pytest.fixture(scope="session", autouse=True)
def same_heap_for_every_peer() -> None:
    """Raise glibc's dynamic mmap/trim thresholds once, before any timing (see above)."""
    block = bytearray(31 * 1024 * 1024)  # mmapped (over any threshold), then freed
    del block


@pytest.fixture
def run_batches(benchmark: Any, request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Time ``target(*setup())``, one batch per round, ``setup`` untimed."""

    def run(target: Callable[..., Any], setup: Callable[[], tuple[Any, ...]]) -> Any:
        # Every peer starts from the same collected heap; whether the collector
        # may run inside a round is --benchmark-disable-gc's call, for all alike.
        gc.collect()
        if QUICK:
            rounds = 1
        else:
            args = setup()
            start = time.perf_counter()
            target(*args)  # also the warm-up round
            took = time.perf_counter() - start
            del args
            max_time = float(request.config.getoption("benchmark_max_time"))
            min_rounds = int(request.config.getoption("benchmark_min_rounds"))
            rounds = max(min_rounds, min(MAX_ROUNDS, math.ceil(max_time / max(took, 1e-9))))
        return benchmark.pedantic(target, setup=lambda: (setup(), {}), rounds=rounds)

    return run
