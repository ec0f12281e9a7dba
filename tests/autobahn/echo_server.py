"""An asyncio echo server around ``framer.WSConnection``, for Autobahn|Testsuite.

Usage: python tests/autobahn/echo_server.py PORT   (binds 127.0.0.1 only)

It runs with general limits raised to 32 MiB so that Autobahn's 16 MiB cases
(9.*) are answered with echoes rather than 1009, and accepts permessage-deflate
when the client offers it (cases 12.* and 13.*), with the client's parameters.  Text comes back as text,
binary as binary; pings get pongs; a close from the peer is answered and the
transport closed; a protocol violation is answered with a close frame carrying
framer's close code, then the transport is closed (RFC 6455 section 7.1.7,
"fail the WebSocket connection").
"""

from __future__ import annotations

import asyncio
import sys

import framer
from framer import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    ConnectionState,
    ConnectionType,
    Limits,
    PerMessageDeflate,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
    WSConnection,
)

LIMITS = Limits.general(max_frame_size=2**25, max_message_size=2**25)


class EchoProtocol(asyncio.Protocol):
    """One WebSocket connection: bytes in, events out, echoes back."""

    def __init__(self) -> None:
        self.conn = WSConnection(ConnectionType.SERVER, LIMITS)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._receive(data)

    def eof_received(self) -> bool | None:
        self._receive(None)
        return None

    def _receive(self, data: bytes | None) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        conn = self.conn
        try:
            conn.receive_data(data)
        except framer.RemoteProtocolError as exc:
            # A bad opening handshake: answer it if wsproto suggests how.
            hint = exc.event_hint
            if isinstance(hint, RejectConnection):
                try:
                    transport.write(conn.send(hint))
                except framer.LocalProtocolError:
                    pass
            transport.close()
            return
        except framer.LocalProtocolError:
            transport.close()
            return
        out = []
        close_transport = False
        for event in conn.events():
            if isinstance(event, Request):
                out.append(conn.send(AcceptConnection(extensions=[PerMessageDeflate()])))
            elif isinstance(event, (TextMessage, BytesMessage)):
                if conn.state is ConnectionState.OPEN:
                    out.append(conn.send(event))
            elif isinstance(event, Ping):
                if conn.state is ConnectionState.OPEN:
                    out.append(conn.send(event.response()))
            elif isinstance(event, CloseConnection):
                if conn.state is ConnectionState.REMOTE_CLOSING:
                    out.append(conn.send(event.response()))
                close_transport = True
        if out:
            transport.write(b"".join(out))
        if close_transport or conn.state is ConnectionState.CLOSED:
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoProtocol, "127.0.0.1", port)
    async with server:
        bound = server.sockets[0].getsockname()[1]
        print(
            f"listening on ws://127.0.0.1:{bound} (framer {framer.implementation})",
            flush=True,
        )
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: echo_server.py PORT")
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
