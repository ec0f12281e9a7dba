"""Fixtures for the engine benchmarks (test_bench_mask/receive/send.py).

``run_batches`` times one batch (1000 or 100 messages) per round with
pytest-benchmark's pedantic mode, so that each round starts from a fresh,
already open connection built by ``setup`` outside the timed region.  The
number of rounds follows ``--benchmark-max-time`` and ``--benchmark-min-rounds``
as the calibrated mode would; ``FRAMER_BENCH_QUICK=1`` runs a single round.
"""

from __future__ import annotations

import gc
import math
import time
from typing import Any, Callable

import pytest
from _harness import QUICK

MAX_ROUNDS = 2000


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
