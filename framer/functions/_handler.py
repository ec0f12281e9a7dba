"""``FunctionHandler``: a ``Function`` standing where the router wants a handler.

The router's integrations hold Python callables (``handler(event, context)``).
The server's runner invokes a ``FunctionHandler`` as its ``function``, in
worker processes or in-process; the handler itself is imported in the
server's process only if something calls the object directly (a server
embedded without a runner), and then once.  ``--function NAME=module:callable``
and a template's functions are ``FunctionHandler`` objects; a plain callable
given to ``Router`` integrations becomes a ``Function`` through
``function_for``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Optional

from ._inprocess import load_handler
from ._spec import Function

__all__ = ["FunctionHandler", "function_handler"]

Handler = Callable[..., Any]


class FunctionHandler:
    """``function`` as a router handler; calling it runs the handler in this process."""

    __slots__ = ("function", "_handler", "__name__")

    def __init__(self, function: Function, handler: Optional[Handler] = None) -> None:
        self.function = function
        self._handler = handler
        self.__name__ = function.name  # the router's default context.function_name

    @property
    def handler(self) -> Handler:
        """The handler, imported into this process on first use."""
        if self._handler is None:
            self._handler = load_handler(self.function)
        return self._handler

    def __call__(self, event: Any, context: Any) -> Any:
        return self.handler(event, context)

    def __repr__(self) -> str:
        return f"FunctionHandler({self.function.name!r}, {self.function.handler!r})"


class _AsyncFunctionHandler(FunctionHandler):
    """A ``FunctionHandler`` whose handler is an ``async def`` (awaited when called)."""

    __slots__ = ()

    async def __call__(self, event: Any, context: Any) -> Any:
        return await self.handler(event, context)


def function_handler(function: Function, handler: Optional[Handler] = None) -> FunctionHandler:
    """The router handler of ``function``; ``handler`` is its callable if it is
    already imported (an ``async def`` one keeps being awaited)."""
    if handler is not None and _is_coroutine_function(handler):
        return _AsyncFunctionHandler(function, handler)
    return FunctionHandler(function, handler)


def _is_coroutine_function(fn: Handler) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None))
