"""Running integration handlers: the I/O half of what the router decides.

The router says *which* handler to call with *which* event; this module calls
it.  :func:`run_invocation` is the one entry point: an ``Invocation`` (a
Lambda handler or an HTTP_PROXY call, an event, a timeout) in, the router's
outcome (``Returned``, ``Raised`` or ``TimedOut``) out; :func:`drive` feeds
outcomes back until the router's step is final.  A runner of another kind
(worker processes per function) replaces ``run_invocation``.

Coroutine functions run on the event loop; plain functions run in the loop's
default thread pool so a blocking handler cannot stall every other connection
(Lambda runs each invocation in isolation too).  Both are bounded by
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
from typing import Any, Awaitable, Callable, Coroutine, Optional, Union

from framer.functions import LambdaContext
from framer.router import Invocation, InvocationKind, Invoke, Raised, Returned, TimedOut

from ._http_client import http_request

__all__ = [
    "InlineHandlers",
    "Outcome",
    "call_handler",
    "drive",
    "finish",
    "is_async_callable",
    "run_invocation",
]

#: What running an invocation came to, as the router's ``Invoke.resume`` takes it.
Outcome = Union[Returned, Raised, TimedOut]


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


async def run_invocation(invocation: Invocation) -> Outcome:
    """Run one invocation within its timeout and say what happened.

    The handler's own failure is ``Raised`` (the router decides what it
    means), an overrun ``TimedOut``; cancellation propagates.
    """
    if invocation.kind is InvocationKind.LAMBDA:
        assert invocation.handler is not None
        return await _outcome(call_handler(
            invocation.handler, invocation.event, invocation.timeout_s, context=invocation.context
        ))
    assert invocation.http is not None
    return await _outcome(asyncio.wait_for(http_request(invocation.http), invocation.timeout_s))


async def drive(step: Any) -> Any:
    """Run invocations until the router returns a final step."""
    while isinstance(step, Invoke):
        step = step.resume(await run_invocation(step.invocation))
    return step


async def finish(coro: Coroutine[Any, Any, Any], yielded: Any, timeout: Optional[float]) -> Outcome:
    """The outcome of a handler coroutine started by hand and suspended on *yielded*.

    A coroutine handler is started inline on the message path (one that
    finishes without awaiting costs no task); this finishes one that did not,
    within *timeout*, as ``run_invocation`` would have.
    """
    return await _outcome(asyncio.wait_for(_step(coro, yielded), timeout))


async def _outcome(work: Awaitable[Any]) -> Outcome:
    """What awaiting *work* (bounded by its own timeout) came to."""
    try:
        value = await work
    except asyncio.TimeoutError:
        return TimedOut()
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the handler's own failure: the router decides what it means
        return Raised(error=exc)
    return Returned(value=value)


async def _step(coro: Coroutine[Any, Any, Any], yielded: Any) -> Any:
    """Do what ``asyncio.Task`` would have done for *coro*: wait for the future
    it yielded, resume it, repeat; cancellation is thrown into it."""
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


class InlineHandlers(dict[Any, bool]):
    """Which handlers the message path may start inline: coroutine functions.

    ``handlers[fn]`` answers from memory for a hashable handler (a few, one
    per integration), so the question costs one dict lookup per message; an
    unhashable one raises ``TypeError``: ask :func:`is_async_callable`.
    """

    def __missing__(self, handler: Any) -> bool:
        inline = handler is not None and is_async_callable(handler)
        if len(self) >= 1024:
            self.clear()
        self[handler] = inline
        return inline
