"""asyncio adapter: serve an API Gateway WebSocket API on a local port.

The engine and router stay sans-IO; this package owns the sockets, the clocks
and the handler calls.  Embed it in your own event loop::

    from framer.asyncio import serve

    async with serve(router, "127.0.0.1", 8080) as server:
        await server.serve_forever()

Handlers reach the @connections API in-process with :func:`management_api`.
"""

from __future__ import annotations

from ._management import (
    BadRequestException,
    ForbiddenException,
    GoneException,
    LimitExceededException,
    ManagementApi,
    ManagementError,
    PayloadTooLargeException,
    management_api,
)
from ._server import Server, ServerConfig, run_until_signal, serve

__all__ = [
    "BadRequestException",
    "ForbiddenException",
    "GoneException",
    "LimitExceededException",
    "ManagementApi",
    "ManagementError",
    "PayloadTooLargeException",
    "Server",
    "ServerConfig",
    "management_api",
    "run_until_signal",
    "serve",
]
