"""The asyncio gateway server: its lifecycle, around the router.

One :class:`Server` serves one app (a :class:`framer.router.Router`, or a
control plane's ``LocalGateway``) on one port: ``ws://HOST:PORT/{stage}`` for
clients and ``/{stage}/@connections/{id}`` for the management API, as API
Gateway's execute-api endpoint does.

Layering: the WebSocket engine turns bytes into events, the router turns events
into decisions (steps); :mod:`._http` reads requests and upgrades,
:mod:`._connection` drives each WebSocket, :mod:`._invoke` runs handlers and
:mod:`._connections` answers @connections.  This module binds the listening
socket, enforces the idle timeout and maximum duration, and shuts down
gracefully.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from typing import Any, Callable, Iterable, Optional

from framer.functions import Runner
from framer.router import Router

from ._app import App, as_app
from ._config import ServerConfig
from ._connection import OPEN
from ._hosts import HostCheck
from ._http import HttpProtocol
from ._invoke import Invoker
from ._shared import Shared

__all__ = ["Server", "ServerConfig", "serve", "run_until_signal"]

log = logging.getLogger("framer.server")

_GOING_AWAY = (1001, "Going away")


class Server:
    """A running (or startable) gateway server for one API.

    Use it as an async context manager inside your own event loop::

        async with Server(router, host="127.0.0.1", port=0) as server:
            print(server.url("dev"))
            await server.serve_forever()

    ``app`` is a :class:`framer.router.Router`, anything with a ``router``
    attribute or a ``build_router()`` method returning one, or an
    :class:`~._app.App` serving several APIs.  ``runner`` (a
    ``framer.functions.WorkerRunner`` or ``InProcessRunner``) runs its Lambda
    handlers as functions; the server closes it at shutdown.
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        config: Optional[ServerConfig] = None,
        stages: Optional[Iterable[str]] = None,
        log_messages: bool = True,
        runner: Optional[Runner] = None,
    ) -> None:
        self.router: App = as_app(app)
        self.only_stages: Optional[frozenset[str]] = None
        if stages:
            known = ", ".join(self.stages()) or "none"  # every stage: none is chosen yet
            for name in sorted(frozenset(stages)):
                if self.router.resolve_stage("/" + name) != name:
                    raise ValueError(f"stage {name!r} does not exist in the API (stages: {known})")
            self.only_stages = frozenset(stages)
        self.host = host
        self.port = port
        self.config = config or ServerConfig()
        self.log_messages = log_messages
        self.runner = runner
        self._shared = Shared(self.router, self.config, only_stages=self.only_stages,
                              log_messages=log_messages, invoker=Invoker(runner))
        self.connections = self._shared.connections
        # Read by benchmarks/test_bench_memory.py's server process.
        self._protocols = self._shared.protocols
        self._live = self.connections.live
        self._server: Optional[asyncio.base_events.Server] = None
        self._sweeper: Optional[asyncio.Task[None]] = None
        self._closed: Optional[asyncio.Event] = None

    # -- lifecycle ---------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the server runs on (set by :meth:`start`)."""
        return self._shared.loop

    @property
    def loop_thread_id(self) -> int:
        """The thread the server's loop runs in (0 before :meth:`start`)."""
        return self.connections.loop_thread_id

    async def start(self) -> "Server":
        """Bind and start accepting; ``port=0`` picks a free port (see :attr:`port`)."""
        loop = asyncio.get_running_loop()
        shared = self._shared
        shared.connections.bind(loop, threading.get_ident())
        self._closed = asyncio.Event()
        self._server = await loop.create_server(lambda: HttpProtocol(shared), self.host, self.port)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        shared.host_check = HostCheck(self.host, self.port, self.config.allowed_hosts)
        shared.invoker.bind(f"http://{_local_host(self.host)}:{self.port}",
                            per_api=not isinstance(self.router, Router))
        self._sweeper = loop.create_task(self._sweep())
        if isinstance(self.router, Router):
            log.info("serving on ws://%s:%d/{stage} (stages: %s)", self.host, self.port,
                     ", ".join(self.stages()) or "none")
        else:  # the control plane's gateway: its APIs come and go while it runs
            log.info("serving on ws://%s:%d/{apiId}/{stage} (every stage of every API)",
                     self.host, self.port)
        return self

    def stages(self) -> list[str]:
        """Names of the stages this server routes to (best effort, for messages)."""
        router = self.router
        if not isinstance(router, Router):
            return []
        try:
            names = [s.stage_name for s in router.gateway.get_stages(router.api_id)]
        except Exception:  # the API was deleted from the gateway meanwhile
            return []
        return [n for n in names if self.only_stages is None or n in self.only_stages]

    def resolve_stage(self, path: str) -> Optional[str]:
        """The stage a request target addresses, or None if unknown or not served."""
        return self._shared.resolve_stage(path)

    def url(self, stage: str) -> str:
        """The WebSocket URL of *stage*, e.g. ``ws://127.0.0.1:8080/dev``."""
        return f"ws://{self.host}:{self.port}/{stage}"

    def connections_url(self, stage: str) -> str:
        """The @connections endpoint URL to give boto3 as ``endpoint_url``."""
        return f"http://{self.host}:{self.port}/{stage}"

    async def __aenter__(self) -> "Server":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.shutdown()

    async def serve_forever(self) -> None:
        """Wait until :meth:`shutdown` completes."""
        assert self._closed is not None
        await self._closed.wait()

    async def shutdown(self, code: int = 1001, reason: str = "Going away") -> None:
        """Stop accepting, close every connection with *code*, run every ``$disconnect``.

        Waits up to ``config.shutdown_timeout`` for close handshakes and
        disconnect handlers, then drops whatever is left.
        """
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        shared = self._shared
        for proto in list(shared.protocols):
            proto.shut(code, reason)
        deadline = self.loop.time() + self.config.shutdown_timeout
        invoker = shared.invoker
        while (shared.protocols or shared.tasks or invoker.pending) and self.loop.time() < deadline:
            running: list[asyncio.Future[Any]] = [*shared.tasks, *invoker.pending_futures()]
            if running:
                await asyncio.wait(running, timeout=max(0.0, deadline - self.loop.time()))
            else:
                await asyncio.sleep(0.01)
        for proto in list(shared.protocols):
            proto.abort()
        for task in list(shared.tasks):
            task.cancel()
        invoker.cancel_pending()
        await server.wait_closed() if not shared.protocols else None
        await shared.invoker.aclose()
        assert self._closed is not None
        self._closed.set()
        log.info("server stopped")

    async def _sweep(self) -> None:
        """Enforce the idle timeout and the maximum duration (one timer for all)."""
        cfg = self.config
        tick = min(1.0, max(0.02, min(cfg.idle_timeout, cfg.max_duration) / 10))
        protocols = self._shared.protocols
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for proto in list(protocols):
                if proto.state == OPEN and (now - proto.opened_at >= cfg.max_duration
                                            or now - proto.last_active >= cfg.idle_timeout):
                    proto.close(*_GOING_AWAY)

    # -- @connections (the Registry, for ManagementApi(server)) ---------------

    def post_to_connection(self, connection_id: str, data: bytes) -> None:
        """Send *data* to a connected client as one message (frames of at most 32 KiB)."""
        self.connections.post_to_connection(connection_id, data)

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        """GetConnection as boto3 returns it: ``ConnectedAt``, ``Identity``, ``LastActiveAt``."""
        return self.connections.get_connection(connection_id)

    def delete_connection(self, connection_id: str) -> None:
        """Close the connection from the server side; ``$disconnect`` runs."""
        self.connections.delete_connection(connection_id)

    def live_count(self) -> int:
        """How many WebSocket connections are open."""
        return len(self.connections.live)


def _local_host(host: str) -> str:
    """The address a worker on this machine reaches a server bound to ``host`` at."""
    if host in ("", "0.0.0.0", "::", "localhost"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def serve(app: Any, host: str = "127.0.0.1", port: int = 8080, **options: Any) -> Server:
    """Create a :class:`Server`; use ``async with serve(app, host, port) as server:``.

    Keyword options are :class:`ServerConfig` fields (``idle_timeout=5``),
    ``log_messages`` or ``runner`` (a ``framer.functions`` runner: the
    server runs every Lambda handler as a function on it and closes it at
    shutdown; without one, handlers run in this process as plain calls).
    """
    log_messages = options.pop("log_messages", True)
    runner = options.pop("runner", None)
    config = options.pop("config", None) or ServerConfig(**options)
    return Server(app, host, port, config=config, log_messages=log_messages, runner=runner)


async def run_until_signal(
    server: Server,
    signals: Iterable[int] = (signal.SIGINT, signal.SIGTERM),
    started: Optional[Callable[[], None]] = None,
) -> None:
    """Start *server* (then call *started*, if given) and run it until
    SIGINT/SIGTERM, then shut down gracefully."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    for sig in signals:
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            pass
    try:
        await server.start()
        if started is not None:
            started()
        await stop.wait()
        log.info("shutting down: closing %d connection(s) with 1001", server.live_count())
        await server.shutdown()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
