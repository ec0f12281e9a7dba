"""asyncio adapter: serve an API Gateway WebSocket API on a local port.

The engine and router stay sans-IO; this package owns the sockets, the clocks
and the handler calls.  Embed it in your own event loop::

    from framer.asyncio import serve

    async with serve(router, "127.0.0.1", 8080) as server:
        await server.serve_forever()

Handlers reach the @connections API in-process with :func:`management_api`.

Modules:

- ``_server``: :class:`Server` (binding, idle/duration sweep, graceful shutdown), ``serve``, ``run_until_signal``.
- ``_config``: :class:`ServerConfig`, the runtime knobs with API Gateway's values.
- ``_app``: the typed ``App``/``HttpApp`` protocols a served app provides (Router, LocalGateway).
- ``_shared``: the state one server's connections share (app, config, loop, tasks, batched writes).
- ``_http``: HTTP request handling: reading heads and bodies with h11, answering them, the upgrade and ``$connect``.
- ``_connection``: one WebSocket's I/O: driving the engine, inline handlers, batched replies, closing.
- ``_invoke``: running a handler or HTTP_PROXY call with an event and a timeout into an outcome.
- ``_http_client``: the HTTP_PROXY integration's HTTP/1.1 client.
- ``_connections``: the @connections registry (look up, post, describe, delete) and its HTTP endpoint.
- ``_management``: the in-process @connections client, its ``Registry`` protocol and its errors.
- ``_engine``: the WebSocket engine with API Gateway's limits.
- ``_hosts``: :class:`HostCheck`, which ``Host`` values plain HTTP requests may carry (DNS rebinding).
- ``_sigv4``: ``--require-sigv4``: :class:`AccessKey`, the SigV4 check (with botocore) and AWS's errors.
"""

from __future__ import annotations

from ._config import ServerConfig
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
from ._server import Server, run_until_signal, serve
from ._sigv4 import AccessKey

__all__ = [
    "AccessKey",
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
