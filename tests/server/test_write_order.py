"""Replies are held until the loop iteration's reads are handled, then written
together; every other write (an @connections post, a close frame) goes after
them, so a client sees its bytes in the order the server produced them.
"""

from __future__ import annotations

import socket

from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from framer import ConnectionType, Limits, WSConnection

from .conftest import TIMEOUT, RunningServer


def _exchange(port: int, messages: list[str]) -> list[object]:
    """Send ``messages`` and a close frame in one write; return what comes back."""
    ws = WSConnection(ConnectionType.CLIENT, Limits.general())
    events: list[object] = []
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(ws.send(Request(host="127.0.0.1", target="/dev")))
        while not any(isinstance(e, AcceptConnection) for e in events):
            ws.receive_data(sock.recv(65536))
            events.extend(ws.events())
        burst = b"".join(ws.send(TextMessage(data=m)) for m in messages)
        sock.sendall(burst + ws.send(CloseConnection(code=1000, reason="bye")))
        while not any(isinstance(e, CloseConnection) for e in events):
            data = sock.recv(65536)
            ws.receive_data(data or None)
            events.extend(ws.events())
            if not data:
                break
    return events


def test_replies_posts_and_close_keep_their_order(demo_server: RunningServer) -> None:
    messages = ["one", '{"action": "sendmessage", "data": "two"}', "three", "four"]
    events = _exchange(demo_server.port, messages)
    texts = [e.data for e in events if isinstance(e, TextMessage)]
    # "one" is an echo held for the end of the loop iteration; the sendmessage
    # handler's post to this same connection must not overtake it; the close
    # frame's answer comes after the last echo.
    assert texts == ["one", "two", "three", "four"]
    assert isinstance(events[-1], CloseConnection) and events[-1].code == 1000
