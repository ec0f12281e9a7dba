"""The @connections management API as Python calls, and its errors.

The HTTP endpoints (``/{stage}/@connections/{id}``) and in-process callers
(handlers using :func:`management_api`) share these exceptions, so a 410 means
the same thing whichever way it was asked.  Method and keyword names mirror
boto3's ``apigatewaymanagementapi`` client so handler code ports unchanged in
spirit: ``post_to_connection(ConnectionId=..., Data=...)``.

``GoneException`` and ``BadRequestException`` are ``framer.router``'s own
classes (the sans-IO router raises them too); every error here is a
:class:`ManagementError`, which is the router's ``ApiGatewayError``: a
``status``, an ``error_type`` and ``to_wire()``, the HTTP answer.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any, Callable, Optional, Protocol, TypeVar, Union

from framer.router._errors import ApiGatewayError as ManagementError
from framer.router._errors import BadRequestException, GoneException

__all__ = [
    "ManagementError",
    "GoneException",
    "LimitExceededException",
    "PayloadTooLargeException",
    "BadRequestException",
    "ForbiddenException",
    "Registry",
    "ManagementApi",
    "management_api",
    "MAX_POST_BYTES",
]

#: PostToConnection's ``Data`` is at most 131072 bytes (botocore model, reference §5).
MAX_POST_BYTES = 128 * 1024


class LimitExceededException(ManagementError):
    """The client's outgoing buffer is full (429)."""

    status = 429
    error_type = "LimitExceededException"


class PayloadTooLargeException(ManagementError):
    """The posted data is over 128 KiB (413)."""

    status = 413
    error_type = "PayloadTooLargeException"


class ForbiddenException(ManagementError):
    """No such stage or method on this endpoint (403)."""

    status = 403
    error_type = "ForbiddenException"


class Registry(Protocol):
    """The open connections of one running server, as @connections reaches them.

    Every method runs on the server's loop (``loop``, whose thread is
    ``loop_thread_id``) and raises ``BadRequestException`` for a malformed id
    and ``GoneException`` for a connection that is not open.
    """

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def loop_thread_id(self) -> int: ...

    def post_to_connection(self, connection_id: str, data: bytes) -> None:
        """Send *data* as one message (``LimitExceededException``, ``PayloadTooLargeException``)."""

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        """GetConnection as boto3 returns it: ``ConnectedAt``, ``Identity``, ``LastActiveAt``."""

    def delete_connection(self, connection_id: str) -> None:
        """Close the connection from the server side; ``$disconnect`` runs."""


_T = TypeVar("_T")

current_registry: contextvars.ContextVar[Optional[Registry]] = contextvars.ContextVar(
    "framer_current_registry", default=None
)
"""The registry of the server running the current handler (set by the server)."""


class ManagementApi:
    """In-process @connections client bound to one running server.

    Safe to call from the event loop (async handlers) and from worker threads
    (sync handlers): calls from another thread hop onto the server's loop and
    wait for the answer.
    """

    def __init__(self, server: Registry) -> None:
        self._registry = server

    def _on_loop(self, call: Callable[[], _T]) -> _T:
        registry = self._registry
        if threading.get_ident() == registry.loop_thread_id:
            return call()

        async def hop() -> _T:
            return call()

        return asyncio.run_coroutine_threadsafe(hop(), registry.loop).result()

    def post_to_connection(self, *, ConnectionId: str, Data: Union[bytes, str]) -> dict[str, Any]:  # noqa: N803
        """Send *Data* as one message; raises GoneException, LimitExceededException, PayloadTooLargeException."""
        data = Data.encode() if isinstance(Data, str) else bytes(Data)
        self._on_loop(lambda: self._registry.post_to_connection(ConnectionId, data))
        return {}

    def get_connection(self, *, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
        """Return ``{ConnectedAt, Identity, LastActiveAt}`` as boto3 would."""
        return self._on_loop(lambda: self._registry.get_connection(ConnectionId))

    def delete_connection(self, *, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
        """Close the connection (the client sees a close frame, ``$disconnect`` runs)."""
        self._on_loop(lambda: self._registry.delete_connection(ConnectionId))
        return {}


def management_api() -> ManagementApi:
    """The @connections client of the server running the current handler.

    Only valid inside a handler invoked by :class:`framer.asyncio.Server`
    (the server sets a context variable that follows the call into tasks and
    worker threads).
    """
    registry = current_registry.get()
    if registry is None:
        raise RuntimeError(
            "management_api() called outside a handler run by framer.asyncio.Server"
        )
    return ManagementApi(registry)
