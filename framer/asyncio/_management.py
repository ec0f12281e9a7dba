"""The @connections management API as Python calls, and its errors.

The HTTP endpoints (``/{stage}/@connections/{id}``) and in-process callers
(handlers using :func:`management_api`) share these exceptions, so a 410 means
the same thing whichever way it was asked.  Method and keyword names mirror
boto3's ``apigatewaymanagementapi`` client so handler code ports unchanged in
spirit: ``post_to_connection(ConnectionId=..., Data=...)``.

``GoneException`` and ``BadRequestException`` are also subclasses of
``framer.router``'s classes of the same names (which the sans-IO router
raises), so ``except framer.router.GoneException`` catches both kinds.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import TYPE_CHECKING, Any, ClassVar, Optional, Union

from framer.router import BadRequestException as _RouterBadRequest
from framer.router import GoneException as _RouterGone

if TYPE_CHECKING:
    from ._server import Server

__all__ = [
    "ManagementError",
    "GoneException",
    "LimitExceededException",
    "PayloadTooLargeException",
    "BadRequestException",
    "ForbiddenException",
    "ManagementApi",
    "management_api",
    "MAX_POST_BYTES",
]

#: PostToConnection's ``Data`` is at most 131072 bytes (botocore model, reference §5).
MAX_POST_BYTES = 128 * 1024


class ManagementError(Exception):
    """An @connections call failed; ``status`` and ``error_type`` are what HTTP callers get."""

    status: ClassVar[int] = 500
    error_type: ClassVar[str] = "InternalServerErrorException"

    def __init__(self, message: Optional[str] = None) -> None:
        self.message: str = message or self.error_type
        super().__init__(self.message)


class GoneException(ManagementError, _RouterGone):
    """The connection is closed, still connecting, or never existed (410)."""

    status = 410
    error_type = "GoneException"


class LimitExceededException(ManagementError):
    """The client's outgoing buffer is full (429)."""

    status = 429
    error_type = "LimitExceededException"


class PayloadTooLargeException(ManagementError):
    """The posted data is over 128 KiB (413)."""

    status = 413
    error_type = "PayloadTooLargeException"


class BadRequestException(ManagementError, _RouterBadRequest):
    """The connection id is malformed (400)."""

    status = 400
    error_type = "BadRequestException"


class ForbiddenException(ManagementError):
    """No such stage or method on this endpoint (403)."""

    status = 403
    error_type = "ForbiddenException"


_current: contextvars.ContextVar[Optional["Server"]] = contextvars.ContextVar(
    "framer_current_server", default=None
)


class ManagementApi:
    """In-process @connections client bound to one running server.

    Safe to call from the event loop (async handlers) and from worker threads
    (sync handlers): calls from another thread hop onto the server's loop and
    wait for the answer.
    """

    def __init__(self, server: "Server") -> None:
        self._server = server

    def _call(self, name: str, *args: Any) -> Any:
        method = getattr(self._server, name)
        if threading.get_ident() == self._server.loop_thread_id:
            return method(*args)

        async def hop() -> Any:
            return method(*args)

        return asyncio.run_coroutine_threadsafe(hop(), self._server.loop).result()

    def post_to_connection(self, *, ConnectionId: str, Data: Union[bytes, str]) -> dict[str, Any]:  # noqa: N803
        """Send *Data* as one message; raises GoneException, LimitExceededException, PayloadTooLargeException."""
        data = Data.encode() if isinstance(Data, str) else bytes(Data)
        self._call("post_to_connection", ConnectionId, data)
        return {}

    def get_connection(self, *, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
        """Return ``{ConnectedAt, Identity, LastActiveAt}`` as boto3 would."""
        result: dict[str, Any] = self._call("get_connection", ConnectionId)
        return result

    def delete_connection(self, *, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
        """Close the connection (the client sees a close frame, ``$disconnect`` runs)."""
        self._call("delete_connection", ConnectionId)
        return {}


def management_api() -> ManagementApi:
    """The @connections client of the server running the current handler.

    Only valid inside a handler invoked by :class:`framer.asyncio.Server`
    (the server sets a context variable that follows the call into tasks and
    worker threads).
    """
    server = _current.get()
    if server is None:
        raise RuntimeError(
            "management_api() called outside a handler run by framer.asyncio.Server"
        )
    return ManagementApi(server)
