"""Function runners: one invocation's round trip, worker processes against in-process.

Each case invokes an echo handler (the demo's ``$default`` shape: it returns
``{"statusCode": 200, "body": event["body"]}``) with a 64-byte message event,
N invocations per round, from C concurrent callers (1: latency-bound, one
invocation in flight; 10: the echo benchmark's ten connections).

- worker: ``WorkerRunner``, one IPC round trip per invocation (length-prefixed
  JSON over a Unix socket pair) to a warm worker process; at C=10 up to ten
  workers run at once (the default concurrency).
- in-process-sync: ``InProcessRunner``, a sync handler in the function's own
  thread pool (one thread hop per invocation).
- in-process-async: ``InProcessRunner``, an ``async def`` handler on the loop.
- call-handler-sync / call-handler-async: the server's in-process path before
  ``framer.functions`` had runners (``framer.asyncio``'s ``call_handler``: the
  loop's default thread pool, or the loop), the figure in-process mode must
  not fall below.

``extra_info`` holds invocations per second.  The workers are started and
warmed outside the timed rounds.  Logging of START/END/REPORT is at INFO and
off here (WARNING), as it would be at the server's default level.

Run:   pytest benchmarks/test_bench_functions.py --benchmark-only -s
Quick: FRAMER_BENCH_QUICK=1 pytest benchmarks/test_bench_functions.py --benchmark-only -s
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Iterator

import pytest
from _harness import QUICK

from framer.functions import Function, InProcessRunner, Returned, WorkerRunner, load_handler

INVOCATIONS = 200 if QUICK else 3000  # per round
ROUNDS = 1 if QUICK else 5

ECHO_SYNC = "def handler(event, context):\n    return {'statusCode': 200, 'body': event['body']}\n"
ECHO_ASYNC = "async def handler(event, context):\n    return {'statusCode': 200, 'body': event['body']}\n"

EVENT = {
    "body": "x" * 64,
    "isBase64Encoded": False,
    "requestContext": {
        "routeKey": "$default", "eventType": "MESSAGE", "messageDirection": "IN",
        "connectionId": "L0SM9cOFvHcCIhw=", "requestId": "L0SM9FUJvHcCIhw=",
        "extendedRequestId": "L0SM9FUJvHcCIhw=", "messageId": "L0SM9fTuvHcCIhw=",
        "stage": "dev", "apiId": "abc123", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "connectedAt": 1700000000000, "requestTimeEpoch": 1700000000123,
        "requestTime": "14/Nov/2023:22:13:20 +0000",
        "identity": {"sourceIp": "127.0.0.1"},
    },
}


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench-functions")
    (root / "echo_sync.py").write_text(ECHO_SYNC)
    (root / "echo_async.py").write_text(ECHO_ASYNC)
    return root


@pytest.fixture
def quiet() -> Iterator[None]:
    logger = logging.getLogger("framer.functions")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@pytest.mark.parametrize("concurrency", [1, 10])
@pytest.mark.parametrize("runner_kind", ["worker", "in-process-sync", "in-process-async",
                                         "call-handler-sync", "call-handler-async"])
def test_invoke_round_trip(benchmark: Any, code_dir: Path, quiet: None,
                           runner_kind: str, concurrency: int) -> None:
    """N echo invocations from C concurrent callers through one runner."""
    module = "echo_async" if runner_kind.endswith("-async") else "echo_sync"
    function = Function(name="echo", handler=f"{module}.handler", code_dir=code_dir)
    runner = WorkerRunner() if runner_kind == "worker" else InProcessRunner()
    loop = asyncio.new_event_loop()
    expected = Returned({"statusCode": 200, "body": EVENT["body"]})
    if runner_kind.startswith("call-handler"):
        from framer.asyncio._invoke import call_handler

        handler = load_handler(function)

        async def once() -> Any:
            return Returned(await call_handler(handler, EVENT, function.timeout_s))
    else:
        async def once() -> Any:
            return await runner.invoke(function, EVENT, request_id="L0SM9FUJvHcCIhw=")

    async def caller(count: int) -> None:
        for _ in range(count):
            outcome = await once()
            if outcome != expected:
                raise AssertionError(f"unexpected outcome {outcome!r}")

    async def batch() -> None:
        await asyncio.gather(*(caller(INVOCATIONS // concurrency) for _ in range(concurrency)))

    try:
        loop.run_until_complete(batch())  # warm: every worker the batch needs is started
        benchmark.pedantic(lambda: loop.run_until_complete(batch()), rounds=ROUNDS, iterations=1)
    finally:
        loop.run_until_complete(runner.aclose())
        loop.close()
    best = benchmark.stats.stats.min
    benchmark.extra_info.update({
        "runner": runner_kind, "concurrency": concurrency, "invocations": INVOCATIONS,
        "invocations_per_second": round(INVOCATIONS / best),
    })
    print(f"\n{runner_kind:>17} C={concurrency:<3} {INVOCATIONS / best:10.0f} invocations/s")
