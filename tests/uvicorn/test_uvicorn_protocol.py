"""FramerWSProtocol in a real uvicorn server, talking to the websockets client on 127.0.0.1.

uvicorn's own WebSocket suite runs against the class in CI
(``run_uvicorn_suite.py``); these tests cover what is framer's own: the
limits, ``ws_max_queue``, ``with_limits`` and the denial response's length.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from uvicorn_serve import TIMEOUT, served
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from framer import Limits, MessageTooBigError
from framer.uvicorn import FramerWSProtocol

HTTP = ["h11", "httptools"]

Scope = dict[str, Any]


async def echo_app(scope: Scope, receive: Any, send: Any) -> None:
    """Echo every message back; accept with the first offered subprotocol."""
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    subprotocols = scope["subprotocols"]
    await send(
        {
            "type": "websocket.accept",
            "subprotocol": subprotocols[0] if subprotocols else None,
            "headers": [(b"x-path", scope["path"].encode())],
        }
    )
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 3 * TIMEOUT))


@pytest.mark.parametrize("http", HTTP)
def test_starlette_echo_text_and_bytes_with_subprotocol_root_path_and_headers(http: str) -> None:
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol="chat", headers=[(b"x-root", websocket.scope["root_path"].encode())])
        text = await websocket.receive_text()
        await websocket.send_text(text.upper())
        data = await websocket.receive_bytes()
        await websocket.send_bytes(data[::-1])
        await websocket.close(code=4001, reason="done")

    app = Starlette(routes=[WebSocketRoute("/ws", endpoint)])

    async def main() -> None:
        async with served(
            app, ws=FramerWSProtocol, http=http, root_path="/api", headers=[("x-served-by", "framer")]
        ) as (_, url):
            async with connect(f"{url}/ws", subprotocols=["chat"]) as ws:  # type: ignore[list-item]
                assert ws.subprotocol == "chat"
                assert ws.response is not None
                assert ws.response.headers["x-root"] == "/api"
                assert ws.response.headers["x-served-by"] == "framer"
                await ws.send("héllo")
                assert await ws.recv() == "HÉLLO"
                await ws.send(b"\x00\x01\x02")
                assert await ws.recv() == b"\x02\x01\x00"
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "done")

    run(main())


@pytest.mark.parametrize("http", HTTP)
def test_ws_max_size_is_the_message_limit_at_its_exact_boundary(http: str) -> None:
    disconnects: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                disconnects.append(message)
                return
            await send({"type": "websocket.send", "bytes": message["bytes"]})

    async def main() -> None:
        async with served(app, ws=FramerWSProtocol, http=http, ws_max_size=1000) as (_, url):
            async with connect(url, max_size=None) as ws:
                await ws.send(b"x" * 1000)
                assert await ws.recv() == b"x" * 1000
                # Over the limit in fragments: the sum counts, not each frame.
                await ws.send([b"y" * 500, b"y" * 501])
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    run(main())
    assert [d["code"] for d in disconnects] == [1009]
    assert "1000" in disconnects[0]["reason"]


def test_with_limits_applies_api_gateways_rules_to_an_asgi_app() -> None:
    protocol = FramerWSProtocol.with_limits(Limits.api_gateway())
    assert issubclass(protocol, FramerWSProtocol) and protocol.limits == Limits.api_gateway()
    assert FramerWSProtocol.limits is None  # the base class is unchanged

    async def main() -> None:
        # ws_max_size is larger than API Gateway's 128 KiB: the Limits win.
        async with served(echo_app, ws=protocol, http="httptools", ws_max_size=2**24) as (_, url):
            async with connect(url, max_size=None) as ws:
                # 128 KiB in API Gateway's 32 KiB frames, then one byte more.
                frame = "a" * (32 * 1024)
                await ws.send([frame] * 4)
                assert await ws.recv() == frame * 4
                await ws.send([frame] * 4 + ["a"])
                with pytest.raises(ConnectionClosed) as too_big:
                    await ws.recv()
            assert too_big.value.rcvd is not None and too_big.value.rcvd.code == 1009
            async with connect(url) as ws:
                await ws.send(b"binary")
                with pytest.raises(ConnectionClosed) as binary:
                    await ws.recv()
            assert binary.value.rcvd is not None and binary.value.rcvd.code == 1003

    run(main())


def test_with_limits_rejects_what_is_not_limits() -> None:
    with pytest.raises(TypeError, match="framer.Limits"):
        FramerWSProtocol.with_limits({"max_message_size": 10})  # type: ignore[arg-type]


def test_an_outgoing_message_over_the_limit_raises_in_the_app_and_sends_nothing() -> None:
    errors: list[BaseException] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        try:
            await send({"type": "websocket.send", "bytes": b"z" * 101})
        except MessageTooBigError as exc:
            errors.append(exc)
        await send({"type": "websocket.send", "bytes": b"z" * 100})
        await receive()

    async def main() -> None:
        async with served(app, ws=FramerWSProtocol, http="h11", ws_max_size=100) as (_, url):
            async with connect(url) as ws:
                assert await ws.recv() == b"z" * 100

    run(main())
    assert len(errors) == 1 and errors[0].size == 101  # type: ignore[attr-defined]


def test_reading_pauses_at_ws_max_queue_unread_messages_and_resumes_as_the_app_reads() -> None:
    release = asyncio.Event()
    got: list[str] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await release.wait()
        for _ in range(5):
            got.append((await receive())["text"])
        await send({"type": "websocket.close"})
        await receive()

    async def main() -> None:
        async with served(app, ws=FramerWSProtocol, http="httptools", ws_max_queue=2) as (server, url):
            async with connect(url) as ws:
                (protocol,) = server.server_state.connections
                assert isinstance(protocol, FramerWSProtocol)
                await ws.send("1")
                for _ in range(50):
                    await asyncio.sleep(0.01)
                    if len(protocol.inbox) == 1:
                        break
                assert protocol.transport.is_reading()  # one unread: under the limit
                await ws.send("2")
                for _ in range(50):
                    await asyncio.sleep(0.01)
                    if not protocol.transport.is_reading():
                        break
                assert not protocol.transport.is_reading() and len(protocol.inbox) == 2
                for n in "345":
                    await ws.send(n)
                release.set()
                with pytest.raises(ConnectionClosed):
                    await ws.recv()
            assert got == ["1", "2", "3", "4", "5"]

    run(main())


@pytest.mark.parametrize("http", HTTP)
def test_denial_response_body_in_one_part_gets_a_content_length(http: str) -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 401, "headers": [(b"x-why", b"token")]})
        await send({"type": "websocket.http.response.body", "body": b"no token"})

    async def main() -> None:
        async with served(app, ws=FramerWSProtocol, http=http) as (_, url):
            headers = {
                "connection": "upgrade",
                "upgrade": "websocket",
                "sec-websocket-key": "x3JJHMbDL1EzLkh9GBhXDw==",
                "sec-websocket-version": "13",
            }
            async with httpx.AsyncClient() as client:
                response = await client.get(url.replace("ws:", "http:"), headers=headers)
        assert response.status_code == 401
        assert response.headers["content-length"] == "8"
        assert response.headers["x-why"] == "token"
        assert response.content == b"no token"

    run(main())


def test_server_shutdown_closes_open_connections_with_1012() -> None:
    received: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        while not received or received[-1]["type"] != "websocket.disconnect":
            received.append(await receive())

    async def main() -> None:
        async with served(app, ws=FramerWSProtocol, http="h11") as (server, url):
            ws = await connect(url)
            await ws.send("hello, then shut down")
            while not received:
                await asyncio.sleep(0.01)
            server.should_exit = True
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012

    run(main())
    assert received == [
        {"type": "websocket.receive", "text": "hello, then shut down"},
        {"type": "websocket.disconnect", "code": 1012},
    ]


def test_closing_resumes_reads_paused_at_ws_max_queue_so_the_peers_close_gets_through() -> None:
    queued = asyncio.Event()

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await queued.wait()
        await send({"type": "websocket.close", "code": 1000})  # the message stays unread

    async def main() -> None:
        async with served(app, ws=FramerWSProtocol, http="h11", ws_max_queue=1) as (server, url):
            async with connect(url) as ws:
                (protocol,) = server.server_state.connections
                assert isinstance(protocol, FramerWSProtocol)
                protocol.close_timeout = 3600.0  # only the peer's close can end it
                await ws.send("unread")
                while protocol.transport.is_reading():
                    await asyncio.sleep(0.01)
                queued.set()
                await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
                assert protocol.close_timer is None and protocol.transport.is_closing()
            assert ws.close_code == 1000

    run(main())


def test_after_a_keepalive_timeout_the_app_gets_1011_and_its_sends_raise_oserror() -> None:
    outcome: list[object] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        outcome.append(await receive())
        try:
            await send({"type": "websocket.send", "text": "too late"})
        except OSError as exc:  # uvicorn's ClientDisconnected
            outcome.append(type(exc).__name__)

    async def main() -> None:
        async with served(
            app, ws=FramerWSProtocol, http="h11", ws_ping_interval=0.05, ws_ping_timeout=0.05
        ) as (_, url):
            # A client that never answers pings: raw bytes, no WebSocket library.
            reader, writer = await asyncio.open_connection("127.0.0.1", int(url.rsplit(":", 1)[1]))
            writer.write(
                b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            received = await asyncio.wait_for(reader.read(), TIMEOUT)  # until the server closes
            writer.close()
        assert received.startswith(b"HTTP/1.1 101")
        close = received[received.rindex(b"\x88") :]  # the close frame: 1011 and the reason
        assert close[2:4] == (1011).to_bytes(2, "big") and close[4:] == b"keepalive ping timeout"

    run(main())
    assert outcome == [
        {"type": "websocket.disconnect", "code": 1011, "reason": "keepalive ping timeout"},
        "ClientDisconnected",
    ]


@pytest.mark.parametrize("http", HTTP)
def test_permessage_deflate_is_negotiated_and_ws_max_size_bounds_the_inflated_message(
    http: str,
) -> None:
    async def main() -> None:
        async with served(echo_app, ws=FramerWSProtocol, http=http, ws_max_size=100_000) as (_, url):
            # websockets' client offers permessage-deflate and compresses what it sends.
            async with connect(url, max_size=None) as ws:
                assert ws.response is not None
                assert ws.response.headers["sec-websocket-extensions"].startswith(
                    "permessage-deflate"
                )
                await ws.send("z" * 100_000)  # about 100 bytes on the wire
                assert await ws.recv() == "z" * 100_000
                await ws.send(b"z" * 100_001)  # still small on the wire, one byte too many inflated
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    run(main())


def test_ws_per_message_deflate_false_and_api_gateway_limits_negotiate_none() -> None:
    async def main() -> None:
        async with served(
            echo_app, ws=FramerWSProtocol, http="httptools", ws_per_message_deflate=False
        ) as (_, url):
            async with connect(url) as ws:
                assert ws.response is not None
                assert "sec-websocket-extensions" not in ws.response.headers
                await ws.send("plain")
                assert await ws.recv() == "plain"
        api_gateway = FramerWSProtocol.with_limits(Limits.api_gateway())
        async with served(echo_app, ws=api_gateway, http="httptools") as (_, url):
            async with connect(url) as ws:
                assert ws.response is not None
                assert "sec-websocket-extensions" not in ws.response.headers

    run(main())
