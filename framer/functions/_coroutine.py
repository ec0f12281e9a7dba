"""Finishing a coroutine started by hand: ``coro.send(None)`` ran it until it
first waited (an ``async def`` handler that never waits is done then, without
a task or a loop turn); ``resume`` does what ``asyncio.Task`` would have done
from there.  Both the server's message path and a worker process use it."""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine

__all__ = ["resume"]


async def resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> Any:
    """Wait for the future ``coro`` yielded, resume it, repeat; cancellation
    is thrown into it."""
    while True:
        try:
            if yielded is None:
                await asyncio.sleep(0)  # a bare ``yield``: give the loop one turn
            else:
                await asyncio.wait((yielded,))  # never raises the future's own error
        except asyncio.CancelledError as cancel:
            # We were cancelled (timeout): cancel what it waits for, tell it.
            if yielded is not None:
                yielded.cancel()
            try:
                yielded = coro.throw(cancel)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            return stop.value
