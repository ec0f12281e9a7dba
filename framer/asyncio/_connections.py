"""@connections: the open connections of one server, in-process and over HTTP.

:class:`Connections` is the server's :class:`~._management.Registry`: it looks
a connection up by id, sends to it, closes it and describes it, and answers
``/{stage}/@connections/{id}`` requests with the same calls, so an HTTP caller
and a handler using ``management_api()`` get the same errors.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Callable, Optional, Protocol

from framer.router import GoneException as RouterGone
from framer.router import is_valid_connection_id

from ._app import App, HttpAnswer
from ._management import (
    MAX_POST_BYTES,
    BadRequestException,
    ForbiddenException,
    GoneException,
    ManagementError,
    PayloadTooLargeException,
)

__all__ = ["Connections", "LiveConnection"]


class LiveConnection(Protocol):
    """An open WebSocket as @connections reaches it.

    ``api`` is the API it belongs to, as the server's stage keys name it
    (``"abcde12345"`` of ``"abcde12345/dev"``; ``""`` on a one-API server).
    """

    api: str

    def is_open(self) -> bool:
        """Whether it is still OPEN (not closing, not closed)."""

    def post(self, data: bytes) -> None:
        """Queue one message (``LimitExceededException`` when the client's buffer is full)."""

    def close(self, code: int, reason: str) -> None:
        """Start a server-side close; ``$disconnect`` runs."""


def _gone(connection_id: str) -> GoneException:
    return GoneException(f"Connection {connection_id} is gone")


def _check_size(size: int) -> None:
    if size > MAX_POST_BYTES:
        raise PayloadTooLargeException(
            f"Message too long. Max size is {MAX_POST_BYTES} bytes, got {size}"
        )


def _check_id(connection_id: str) -> None:
    if not is_valid_connection_id(connection_id):
        raise BadRequestException(f"Invalid connectionId: {connection_id}")


class Connections:
    """The open connections of one server, by id (the server's @connections registry).

    ``resolve_stage`` is the server's: a stage the server does not serve is
    403 over HTTP, as a stage that does not exist is.
    """

    def __init__(self, app: App, resolve_stage: Callable[[str], Optional[str]]) -> None:
        self.app = app
        self.resolve_stage = resolve_stage
        self.live: dict[str, LiveConnection] = {}
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self.loop_thread_id = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the server runs on."""
        if self._loop is None:
            raise RuntimeError("the server is not started")
        return self._loop

    def bind(self, loop: asyncio.AbstractEventLoop, thread_id: int) -> None:
        """The server started on *loop*, in thread *thread_id*."""
        self._loop = loop
        self.loop_thread_id = thread_id

    # -- the registry --------------------------------------------------------------

    def lookup(self, connection_id: str, api: Optional[str] = None) -> LiveConnection:
        """The open connection *connection_id* names (400 if malformed, 410 if not
        open or, given *api*, of another API: on AWS each API has its own endpoint)."""
        _check_id(connection_id)
        live = self.live.get(connection_id)
        if live is None or not live.is_open() or (api is not None and live.api != api):
            raise _gone(connection_id)
        return live

    def post_to_connection(self, connection_id: str, data: bytes) -> None:
        """Send *data* to a connected client as one message (frames of at most 32 KiB)."""
        live = self.lookup(connection_id)
        _check_size(len(data))
        live.post(data)
        try:
            self.app.mark_active(connection_id, time.time_ns() // 1_000_000)
        except RouterGone:
            pass

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        """GetConnection as boto3 returns it: ``ConnectedAt``, ``Identity``, ``LastActiveAt``."""
        self.lookup(connection_id)
        return self.app.get_connection(connection_id).to_dict()

    def delete_connection(self, connection_id: str) -> None:
        """Close the connection from the server side; ``$disconnect`` runs."""
        self.lookup(connection_id).close(1000, "")

    # -- over HTTP -----------------------------------------------------------------

    def answer(self, method: bytes, stage: str, connection_id: str,
               body: bytes, body_size: int) -> HttpAnswer:
        """Answer one ``/{stage}/@connections/{id}`` request: (status, headers, body).

        Only connections of the API the path names are there (any stage of
        it: AWS scopes connection ids by API, the endpoint's host, and
        documents no scoping by stage); any other id is 410 as a closed one is.
        """
        try:
            resolved = self.resolve_stage("/" + stage)
            if resolved is None:
                raise ForbiddenException("Forbidden")
            api = resolved.rpartition("/")[0]
            if method == b"POST":
                _check_id(connection_id)
                _check_size(body_size)
                self.lookup(connection_id, api)
                self.post_to_connection(connection_id, body)
                return 200, [], b""
            if method == b"GET":
                self.lookup(connection_id, api)
                info = self.app.get_connection(connection_id)
                return 200, [("Content-Type", "application/json")], json.dumps(info.to_wire()).encode()
            if method == b"DELETE":
                self.lookup(connection_id, api)
                self.delete_connection(connection_id)
                return 204, [], b""
            raise ForbiddenException(
                f"No method found matching route {stage}/@connections/{connection_id} "
                f"for http method {method.decode('latin-1')}."
            )
        except ManagementError as error:  # the router's GoneException is one too
            return error.to_wire()
