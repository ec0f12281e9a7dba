"""The ``Gateway``'s change hook: what a mutating call tells its observers.

A mutating method is marked with :func:`mutation`; when the outermost marked
call ends, every observer registered with :meth:`Observed.observe` gets one
:class:`GatewayChange`. The control plane's store (``framer.controlplane``)
writes the changed API through from there, so a new mutation persists by being
marked, not by being listed anywhere else.

``Observed`` is the part of the ``Gateway`` this needs (its lock and its
observers); the ``Gateway``'s constructor makes its state.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any, Callable, TypeVar, cast

from ._model import Api


@dataclass(frozen=True, slots=True)
class GatewayChange:
    """What one mutating ``Gateway`` call touched, told to the observers
    (see :meth:`Gateway.observe`) once the call ends."""

    operation: str
    """The ``Gateway`` method called, e.g. ``"create_route"``."""
    api_id: str
    """The API it changed (for ``create_api``, the new API's id)."""


GatewayObserver = Callable[[GatewayChange], None]


class Observed:
    """The lock a ``Gateway`` holds around its mutations, and who hears of them."""

    _lock: contextlib.AbstractContextManager[Any]
    _depth: int
    _observers: list[GatewayObserver]
    revision: int
    """How many mutating calls have ended (one more as each ends): what a
    reader looked up after seeing revision N needs no new look-up while the
    revision is still N (the Router keeps a connection's stage and deployment
    so)."""

    @property
    def lock(self) -> contextlib.AbstractContextManager[Any]:
        """The ``lock=`` given (a re-entrant one, such as ``threading.RLock()``,
        when threads share the gateway), held around every mutating call and its
        observers; hold it to read several things consistently. By default a
        no-op: the gateway itself takes no lock and reads no clock."""
        return self._lock

    def observe(self, observer: GatewayObserver) -> None:
        """Call ``observer(change)`` after every mutating call (see
        :class:`GatewayChange`), under :attr:`lock`, in the calling thread; an
        exception it raises reaches the caller of the mutation."""
        with self._lock:
            self._observers.append(observer)


_M = TypeVar("_M", bound=Callable[..., Any])


def mutation(method: _M) -> _M:
    """Mark a ``Gateway`` method that changes state: it runs under the gateway's
    ``lock``, and when the outermost marked call ends (returned or raised, since a
    failed call may have changed something first) every observer gets a
    :class:`GatewayChange` naming the method and the API: the ``api_id``
    argument, or the id of the ``Api`` returned."""
    operation = method.__name__

    @functools.wraps(method)
    def run(self: Observed, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._depth += 1
            result: Any = None
            try:
                result = method(self, *args, **kwargs)
                return result
            finally:
                self._depth -= 1
                self.revision += 1
                api_id = result.api_id if isinstance(result, Api) else (
                    args[0] if args else kwargs.get("api_id"))
                if self._depth == 0 and isinstance(api_id, str):
                    change = GatewayChange(operation=operation, api_id=api_id)
                    for observer in self._observers:
                        observer(change)

    return cast(_M, run)
