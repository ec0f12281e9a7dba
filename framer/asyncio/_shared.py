"""What every connection of one server shares: the app, the knobs, the loop,
the @connections registry, who may call (Host check, SigV4), the invoker (and
its function runner), the running tasks and the batched writes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Coroutine, Optional, Protocol

from ._app import App, HttpApp
from ._config import ServerConfig
from ._connections import Connections
from ._hosts import HostCheck
from ._invoke import InlineHandlers, Invoker
from ._sigv4 import SigV4Verifier

__all__ = ["Shared", "READ_BUFFER_SIZE"]

log = logging.getLogger("framer.server")

READ_BUFFER_SIZE = 64 * 1024
"""Bytes read from a socket at most at once (the transport's own reads ask for
256 KiB, see ``WebSocketProtocol.get_buffer``)."""


class _Flushable(Protocol):
    def flush(self) -> None:
        """Write the replies held back for this connection."""


class Shared:
    """One server's state that its connections read and write."""

    def __init__(self, app: App, config: ServerConfig, *,
                 only_stages: Optional[frozenset[str]], log_messages: bool,
                 invoker: Invoker) -> None:
        self.app = app
        self.http_app: Optional[HttpApp] = app if isinstance(app, HttpApp) else None
        self.config = config
        self.only_stages = only_stages
        self.log_messages = log_messages
        self.connections = Connections(app, self.resolve_stage)
        # The Host check needs the bound port: ``Server.start`` sets it.
        self.host_check = HostCheck("127.0.0.1", 0, ("*",))
        self.sigv4: Optional[SigV4Verifier] = (
            SigV4Verifier(config.access_keys) if config.require_sigv4 else None)
        self.invoker = invoker
        self.inline = InlineHandlers(enabled=invoker.inline)
        self.protocols: set[Any] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.held: list[_Flushable] = []
        # Shared by every connection of the server: the loop reads one socket
        # at a time, and buffer_updated copies the bytes out before returning.
        self.read_buffer = memoryview(bytearray(READ_BUFFER_SIZE))

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the server runs on (set by ``Server.start``)."""
        return self.connections.loop

    def resolve_stage(self, path: str) -> Optional[str]:
        """The stage a request target addresses, or None if unknown or not served."""
        stage = self.app.resolve_stage(path)
        if stage is not None and self.only_stages is not None and stage not in self.only_stages:
            return None
        return stage

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run *coro* as a task the server waits for at shutdown."""
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: "asyncio.Task[Any]") -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("internal error in a connection task", exc_info=task.exception())

    def hold(self, proto: _Flushable) -> None:
        """*proto* has replies to write: write them once this loop iteration's
        callbacks (the reads that arrived together) have run."""
        if not self.held:
            self.loop.call_soon(self._flush_replies)
        self.held.append(proto)

    def _flush_replies(self) -> None:
        held, self.held = self.held, []
        for proto in held:
            proto.flush()
