"""An invocation runs at most once, even when its worker is killed in the
instant after it began it: the invocation pipelined behind one that times out
or is abandoned may already have begun on the worker (which answered the one
before it, unread), and it must then fail as crashed, not run again elsewhere.

The interleaving is made certain, not hoped for, by holding the event loop:
while the loop is held nothing the worker writes is read, so the worker
answers the first invocation and begins the second unseen, and the server's
next step (the timeout's timer, ``abandon``) acts on what it last read.
Real worker processes; the second invocation appends its request id to a
file each time it runs.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from framer.functions import Crashed, Function, Returned, TimedOut, WorkerRunner
from framer.functions import _pool

from .conftest import WriteCode

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="worker processes need Unix sockets")

REPEATS = 3

# "first" waits until the test creates its go file; "second" records each run.
HANDLER = """
    import os, time
    def handler(event, context):
        if event["kind"] == "first":
            while not os.path.exists(event["go"]):
                time.sleep(0.001)
            return "first"
        with open(event["ran"], "a") as ran:
            ran.write(context.aws_request_id + "\\n")
        return "second"
"""


@pytest.fixture
def always_pipelined(monkeypatch: pytest.MonkeyPatch) -> None:
    """"second" goes behind "first" on its worker however long the machine
    takes between the two starts: the pipeline window (1 ms from the running
    invocation's start) would otherwise send it to a new worker on a loaded
    machine, and the interleaving under test would not happen."""
    monkeypatch.setattr(_pool, "PIPELINE_WINDOW_S", 60.0)


def _hold_loop_until(condition: str, done: Callable[[], bool]) -> None:
    """Block the event loop (this thread) until ``done()``; fail, not hang, if it never is."""
    give_up = time.monotonic() + 60
    while not done():
        if time.monotonic() > give_up:
            pytest.fail(f"never happened: {condition}")
        time.sleep(0.001)


def _runs(ran: Path, request_id: str) -> int:
    return ran.read_text().split().count(request_id) if ran.exists() else 0


def _pipelined(runner: WorkerRunner, fn: Function, tmp_path: Path,
               n: int) -> tuple[asyncio.Future[Any], asyncio.Future[Any], Path, Path]:
    """Start "first" on the warm idle worker (written at once) and "second"
    behind it (written when this loop iteration ends)."""
    go, ran = tmp_path / f"go{n}", tmp_path / "ran"
    first = runner.start(fn, {"kind": "first", "go": str(go)}, request_id=f"first{n}")
    second = runner.start(fn, {"kind": "second", "ran": str(ran)}, request_id=f"second{n}")
    return first, second, go, ran


def _began_unseen(go: Path, ran: Path, request_id: str) -> None:
    """With the loop held: let "first" return and wait until the worker has
    begun ``request_id`` behind it; the first's answer stays unread."""
    go.touch()
    _hold_loop_until(f"{request_id} ran on the worker", lambda: _runs(ran, request_id) == 1)


def test_an_invocation_begun_behind_a_timed_out_one_is_not_run_again(
        make_function: WriteCode, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        always_pipelined: None) -> None:
    fn = make_function("timing", HANDLER, timeout_s=1)
    caplog.set_level(logging.INFO, logger="framer.functions")

    async def once(n: int) -> None:
        loop = asyncio.get_running_loop()
        async with WorkerRunner() as runner:
            assert await runner.invoke(fn, {"kind": "second", "ran": str(tmp_path / "warm")},
                                       request_id=f"warm{n}") == Returned("second")
            # The warm invocation's timeout timer fires idle first (the sleep's
            # timer is later), so the worker's timer is set afresh for "first".
            await asyncio.sleep(fn.timeout_s + 0.1)
            first, second, go, ran = _pipelined(runner, fn, tmp_path, n)
            expiry = loop.time() + fn.timeout_s  # not before first's timeout
            await asyncio.sleep(0)  # "second" is written to the worker
            # Hold the loop past first's timeout: its timer (and the take-back
            # check) are due, and run in the next iteration after this step,
            # which was ready before them.
            _hold_loop_until("first's timeout is due", lambda: loop.time() > expiry)
            await asyncio.sleep(0)
            _began_unseen(go, ran, f"second{n}")
            assert await first == TimedOut(1.0)
            assert await second == Crashed("signal: killed")
            assert _runs(ran, f"second{n}") == 1
            assert runner.workers(fn.name) == []  # the killed worker is gone, none took "second"

    for n in range(REPEATS):
        asyncio.run(once(n))
    lines = [r.getMessage() for r in caplog.records if r.name == "framer.functions.timing"]
    for n in range(REPEATS):
        assert lines.count(f"START RequestId: second{n} Version: $LATEST") == 1
        assert f"RequestId: second{n} Error: Runtime exited with error: signal: killed\n" \
               "Runtime.ExitError" in lines
        assert lines.count(f"END RequestId: second{n}") == 1


def test_an_invocation_begun_behind_an_abandoned_one_is_not_run_again(
        make_function: WriteCode, tmp_path: Path, always_pipelined: None) -> None:
    fn = make_function("abandoned", HANDLER, timeout_s=30)

    async def once(n: int) -> None:
        async with WorkerRunner() as runner:
            assert await runner.invoke(fn, {"kind": "second", "ran": str(tmp_path / "warm")},
                                       request_id=f"warm{n}") == Returned("second")
            first, second, go, ran = _pipelined(runner, fn, tmp_path, n)
            await asyncio.sleep(0)  # "second" is written to the worker
            _began_unseen(go, ran, f"second{n}")
            runner.abandon(fn, first)  # as the gateway does at its 29 s integration timeout
            assert first.cancelled()
            assert await second == Crashed("signal: killed")
            assert _runs(ran, f"second{n}") == 1
            assert runner.workers(fn.name) == []

    for n in range(REPEATS):
        asyncio.run(once(n))


def test_invocations_not_begun_behind_an_abandoned_one_run_on_a_new_worker(
        make_function: WriteCode, tmp_path: Path, always_pipelined: None) -> None:
    # The other side of the rule: what the killed worker had not begun is not
    # lost (here "first" never returns before its worker is killed).
    fn = make_function("requeued", HANDLER, timeout_s=30)

    async def main() -> None:
        async with WorkerRunner() as runner:
            warm = await runner.invoke(fn, {"kind": "second", "ran": str(tmp_path / "warm")},
                                       request_id="warm")
            assert warm == Returned("second")
            first, second, go, ran = _pipelined(runner, fn, tmp_path, 0)
            await asyncio.sleep(0)  # "second" is written to the worker
            pids = runner.workers(fn.name)
            runner.abandon(fn, first)
            assert await second == Returned("second")
            assert _runs(ran, "second0") == 1
            now = runner.workers(fn.name)
            assert now and now != pids  # it ran on a new worker

    asyncio.run(main())
