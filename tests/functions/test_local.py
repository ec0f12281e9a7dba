"""InProcessRunner: the same interface in the server's process, a thread pool per function."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from framer.functions import (Function, InProcessRunner, Raised, Returned, Throttled, TimedOut)

from .conftest import WriteCode


def test_blocked_sync_handlers_do_not_starve_another_function(make_function: WriteCode,
                                                              tmp_path: Path) -> None:
    gate, running = tmp_path / "gate", tmp_path / "running"
    running.mkdir()
    sleepy = make_function("sleepy", f"""
        import os, time
        def handler(event, context):
            open(os.path.join({str(running)!r}, context.aws_request_id), "w").close()
            while not os.path.exists({str(gate)!r}):
                time.sleep(0.01)
    """, timeout_s=1)
    prompt = make_function("prompt", "def handler(event, context):\n    return event['n']\n")

    async def main() -> None:
        async with InProcessRunner() as runner:
            sleepers = [asyncio.create_task(runner.invoke(sleepy, {}, request_id=f"s{i}"))
                        for i in range(8)]
            while len(list(running.iterdir())) < 8:  # eight threads are in the handler
                await asyncio.sleep(0.01)
            answers = [await runner.invoke(prompt, {"n": n}, request_id=f"p{n}") for n in range(3)]
            assert answers == [Returned(0), Returned(1), Returned(2)]
            assert not any(task.done() for task in sleepers)
            assert await asyncio.gather(*sleepers) == [TimedOut(1.0)] * 8
            gate.write_text("open")  # the timed-out threads finish (a thread cannot be killed)

    asyncio.run(main())


def test_errors_timeouts_and_throttle(make_function: WriteCode,
                                      caplog: pytest.LogCaptureFixture) -> None:
    raiser = make_function("raiser", """
        def handler(event, context):
            raise RuntimeError("nope " + context.aws_request_id)
    """)
    stuck = make_function("stuck", """
        import asyncio
        async def handler(event, context):
            await asyncio.sleep(60)
    """, timeout_s=1)
    coro = make_function("coro", """
        async def handler(event, context):
            return context.get_remaining_time_in_millis() > 0
    """)
    off = make_function("off", "def handler(e, c):\n    return 1\n", reserved_concurrency=0)
    missing = make_function("missing", "x = 1\n")
    caplog.set_level(logging.INFO, logger="framer.functions")

    async def main() -> list[Any]:
        async with InProcessRunner() as runner:
            return [await runner.invoke(fn, {}, request_id="r-" + fn.name)
                    for fn in (raiser, stuck, coro, off, missing)]

    raised, timed_out, returned, throttled, not_found = asyncio.run(main())
    assert isinstance(raised, Raised)
    assert (raised.error_type, raised.error_message) == ("RuntimeError", "nope r-raiser")
    assert len(raised.stack_trace) == 1 and "in handler" in raised.stack_trace[0]
    assert timed_out == TimedOut(1.0)
    assert returned == Returned(True)
    assert throttled == Throttled()
    assert isinstance(not_found, Raised) and "no attribute 'handler'" in not_found.error_message
    lines = [r.getMessage() for r in caplog.records if r.name == "framer.functions.raiser"]
    assert lines[0] == "START RequestId: r-raiser Version: $LATEST"
    assert lines[1].startswith("[ERROR] RuntimeError: nope r-raiser\nTraceback (most recent call last):\n")
    assert lines[2] == "END RequestId: r-raiser"
    assert lines[3].startswith("REPORT RequestId: r-raiser\tDuration: ")


def test_redefined_function_is_loaded_again(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def handler(e, c):\n    return 'a'\n")
    (tmp_path / "b.py").write_text("def handler(e, c):\n    return 'b'\n")

    async def main() -> list[Any]:
        async with InProcessRunner() as runner:
            return [await runner.invoke(Function(name="f", handler=h, code_dir=tmp_path),
                                        {}, request_id="r") for h in ("a.handler", "b.handler")]

    assert asyncio.run(main()) == [Returned("a"), Returned("b")]
