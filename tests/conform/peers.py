"""Real echo servers nobody here wrote, on 127.0.0.1 in a thread: websockets and aiohttp.

Both run with their defaults (websockets: 1 MiB messages, no frame limit;
aiohttp: 4 MiB messages), so neither has API Gateway's 32 KiB frame limit.
"""

from __future__ import annotations

import abc
import asyncio
import socket
import threading
from typing import Any, Optional

from aiohttp import WSMsgType, web
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed


class Threaded(abc.ABC):
    """Runs ``self._serve()`` on its own loop until ``__exit__``."""

    def __init__(self) -> None:
        self.port = 0
        self._ready = threading.Event()
        self._stop: Optional[asyncio.Event] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await self._serve(self._stop)

    @abc.abstractmethod
    async def _serve(self, stop: asyncio.Event) -> None:
        """Start serving, set ``self.port`` and ``self._ready``, serve until ``stop``."""

    def __enter__(self) -> Any:
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


class WebsocketsEcho(Threaded):
    """A plain ``websockets`` echo server."""

    async def _serve(self, stop: asyncio.Event) -> None:
        async def echo(ws: ServerConnection) -> None:
            try:
                async for message in ws:
                    await ws.send(message)
            except ConnectionClosed:
                pass

        async with ws_serve(echo, "127.0.0.1", 0, compression=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await stop.wait()


class AiohttpEcho(Threaded):
    """A plain ``aiohttp`` echo server."""

    async def _serve(self, stop: asyncio.Event) -> None:
        async def echo(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await ws.send_str(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await ws.send_bytes(msg.data)
            return ws

        app = web.Application()
        app.router.add_get("/", echo)
        runner = web.AppRunner(app)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        self._ready.set()
        await stop.wait()
        await runner.cleanup()
