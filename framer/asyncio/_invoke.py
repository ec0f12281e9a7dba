"""Running integration handlers: the I/O half of what the router decides.

The router says *which* handler to call with *which* event; this module calls
it.  Coroutine functions run on the event loop; plain functions run in the
loop's default thread pool so a blocking handler cannot stall every other
connection (Lambda runs each invocation in isolation too).  Both are bounded by
the integration timeout; a sync handler that overruns keeps its thread until it
returns, but its result is ignored, as API Gateway ignores a late Lambda.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import time
import uuid
from typing import Any, Callable, Optional

from framer.functions import LambdaContext

__all__ = ["call_handler", "is_async_callable"]


def _clock_ms() -> int:
    return int(time.monotonic() * 1000)


@functools.lru_cache(maxsize=1024)
def _is_async(fn: Callable[..., Any]) -> bool:
    target = fn
    call = getattr(fn, "__call__", None)
    if not inspect.isfunction(fn) and not inspect.ismethod(fn) and call is not None:
        target = call
    return inspect.iscoroutinefunction(target)


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """True for ``async def`` functions and objects whose ``__call__`` is one."""
    try:
        return _is_async(fn)
    except TypeError:  # unhashable callable
        return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)
        )


async def call_handler(
    fn: Callable[..., Any],
    event: Any,
    timeout: Optional[float],
    *,
    context: Any = None,
    name: str = "handler",
) -> Any:
    """Call a Lambda-style ``fn(event, context)`` within *timeout* seconds.

    Raises ``asyncio.TimeoutError`` on timeout and whatever the handler raised
    otherwise; the caller turns both into what API Gateway would send.
    """
    if context is None:
        timeout_ms = int((timeout if timeout is not None else 29.0) * 1000)
        now = _clock_ms()
        context = LambdaContext(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
            aws_request_id=str(uuid.uuid4()), timeout_ms=timeout_ms,
            deadline_ms=now + timeout_ms, clock_ms=_clock_ms)
    if is_async_callable(fn):
        if timeout is None:
            return await fn(event, context)
        return await asyncio.wait_for(fn(event, context), timeout)
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    future = loop.run_in_executor(None, ctx.run, fn, event, context)
    if timeout is None:
        return await future
    return await asyncio.wait_for(future, timeout)
