"""Embedding: serve() inside the caller's own event loop, with the caller's own API."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from framer.asyncio import Server, ServerConfig, management_api, serve

from .conftest import TIMEOUT, make_router


def test_serve_inside_the_callers_loop_with_sync_and_async_handlers() -> None:
    def shout(event: dict[str, Any], context: Any) -> dict[str, Any]:  # sync: runs in a worker thread
        assert context.get_remaining_time_in_millis() > 0
        return {"statusCode": 200, "body": json.loads(event["body"])["text"].upper()}

    async def whoami(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "body": event["requestContext"]["connectionId"]}

    def notify(event: dict[str, Any], context: Any) -> None:  # sync handler using @connections
        cid = event["requestContext"]["connectionId"]
        management_api().post_to_connection(ConnectionId=cid, Data=b"pushed")

    async def later(event: dict[str, Any], context: Any) -> dict[str, Any]:  # suspends, then answers
        await asyncio.sleep(0.01)
        management_api().post_to_connection(ConnectionId=event["requestContext"]["connectionId"], Data=b"first")
        return {"statusCode": 200, "body": "second"}

    router = make_router(
        {"shout": shout, "whoami": whoami, "notify": notify, "later": later}, two_way=("shout", "whoami", "later")
    )

    async def main() -> None:
        async with serve(router, "127.0.0.1", 0) as server:
            assert isinstance(server, Server)
            async with connect(server.url("dev"), open_timeout=TIMEOUT) as ws:
                await ws.send(json.dumps({"action": "shout", "text": "hello"}))
                assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "HELLO"
                await ws.send(json.dumps({"action": "whoami"}))
                cid = await asyncio.wait_for(ws.recv(), TIMEOUT)
                assert cid in server.connections.live
                await ws.send(json.dumps({"action": "notify"}))
                assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "pushed"
                await ws.send(json.dumps({"action": "later"}))
                assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "first"
                assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "second"
                # Forbidden: no route matches and there is no $default.
                await ws.send(json.dumps({"action": "nothing"}))
                forbidden = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                assert forbidden["message"] == "Forbidden" and forbidden["connectionId"] == cid

    asyncio.run(asyncio.wait_for(main(), 20))


def test_handler_errors_and_timeouts_become_error_frames() -> None:
    async def crash(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("boom")

    async def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        await asyncio.sleep(1.0)
        return {"statusCode": 200, "body": "too late"}

    async def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "body": event["body"]}

    router = make_router(
        {"crash": crash, "slow": slow, "$default": echo},
        two_way=("crash", "slow", "$default"),
        timeout_in_millis=100,
    )

    async def main() -> None:
        async with serve(router, "127.0.0.1", 0) as server:
            async with connect(server.url("dev"), open_timeout=TIMEOUT) as ws:
                await ws.send(json.dumps({"action": "crash"}))
                assert json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))["message"] == "Internal server error"
                started = time.monotonic()
                await ws.send(json.dumps({"action": "slow"}))
                reply = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                assert reply["message"] == "Endpoint request timed out"
                assert time.monotonic() - started < 0.8
                # The connection is still open and routes normally.
                await ws.send("still here")
                assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "still here"

    asyncio.run(asyncio.wait_for(main(), 20))


def test_callable_objects_as_handlers_hashable_or_not() -> None:
    """The server remembers per handler whether it runs inline (a coroutine
    function); objects with an async or sync ``__call__``, hashable or not, are
    each run the way their kind is."""
    import threading

    class AsyncCall:
        async def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
            return {"statusCode": 200, "body": "async:" + event["body"]}

    class Unhashable(AsyncCall):
        __hash__ = None  # type: ignore[assignment]

    class SyncCall:
        def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
            return {"statusCode": 200, "body": f"sync-thread:{threading.current_thread() is not main}"}

    main = threading.current_thread()
    router = make_router(
        {"a": AsyncCall(), "u": Unhashable(), "s": SyncCall()}, two_way=("a", "u", "s")
    )

    async def run() -> None:
        async with serve(router, "127.0.0.1", 0) as server:
            async with connect(server.url("dev"), open_timeout=TIMEOUT) as ws:
                for _ in range(2):  # the second time from what the server remembered
                    for action in ("a", "u", "s"):
                        body = json.dumps({"action": action})
                        await ws.send(body)
                        reply = await asyncio.wait_for(ws.recv(), TIMEOUT)
                        expected = "sync-thread:True" if action == "s" else "async:" + body
                        assert reply == expected

    asyncio.run(asyncio.wait_for(run(), 20))


def test_two_servers_in_one_loop_each_give_handlers_their_own_management_api() -> None:
    async def push(event: dict[str, Any], context: Any) -> dict[str, Any]:  # inline: never awaits
        cid = event["requestContext"]["connectionId"]
        management_api().post_to_connection(ConnectionId=cid, Data=b"pushed:" + event["body"].encode())
        return {"statusCode": 200, "body": "done"}

    async def run() -> None:
        async with serve(make_router({"$default": push}, two_way=("$default",)), "127.0.0.1", 0) as a, \
                serve(make_router({"$default": push}, two_way=("$default",)), "127.0.0.1", 0) as b:
            async with connect(a.url("dev"), open_timeout=TIMEOUT) as wa, \
                    connect(b.url("dev"), open_timeout=TIMEOUT) as wb:
                for i in range(3):
                    for ws, name in ((wa, "a"), (wb, "b")):
                        await ws.send(f"{name}{i}")
                        assert await asyncio.wait_for(ws.recv(), TIMEOUT) == f"pushed:{name}{i}"
                        assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "done"

    asyncio.run(asyncio.wait_for(run(), 20))


def test_a_handler_catches_gone_and_bad_ids_with_the_routers_exceptions() -> None:
    """What management_api() raises is also framer.router's exception of the same name."""
    import framer.router

    async def probe(event: dict[str, Any], context: Any) -> dict[str, Any]:
        caught = []
        for target in ("AAAAAAAAAAAAAAA=", "not an id"):  # well-formed but unknown; malformed
            try:
                management_api().post_to_connection(ConnectionId=target, Data=b"x")
            except framer.router.GoneException as exc:
                caught.append(f"gone {exc.status}")
            except framer.router.BadRequestException as exc:
                caught.append(f"bad {exc.status}")
        return {"statusCode": 200, "body": ",".join(caught)}

    async def run() -> None:
        async with serve(make_router({"$default": probe}, two_way=("$default",)), "127.0.0.1", 0) as server:
            async with connect(server.url("dev"), open_timeout=TIMEOUT) as ws:
                await ws.send("go")
                assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "gone 410,bad 400"

    asyncio.run(asyncio.wait_for(run(), 20))


@pytest.mark.parametrize("status", [401, 403, 500])
def test_connect_status_refuses_the_handshake(status: int) -> None:
    async def on_connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": status}

    async def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200}

    router = make_router({"$connect": on_connect, "$default": echo})

    async def main() -> None:
        async with serve(router, "127.0.0.1", 0) as server:
            with pytest.raises(InvalidStatus) as info:
                async with connect(server.url("dev"), open_timeout=TIMEOUT):
                    pass
            assert info.value.response.status_code == status
            assert server.connections.live == {}

    asyncio.run(asyncio.wait_for(main(), 20))


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="idle_timeout"):
        ServerConfig(idle_timeout=0)
    with pytest.raises(ValueError, match="max_buffer"):
        ServerConfig(max_buffer=10)
    with pytest.raises(TypeError, match="Router"):
        Server(object())
