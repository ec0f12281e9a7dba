"""@connections from unchanged boto3 handler code lands on framer's management API.

A small HTTP server in the test stands in for framer's management API (and a
second one for some other host); both run on the event loop that awaits the
worker, so a function calling @connections synchronously proves that the
runner serves while it waits.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from framer.functions import (ConnectionsEndpoints, InProcessRunner, Returned, RunnerOptions,
                              WorkerRunner)
from framer.functions._hook import rewrite_url

from .conftest import WriteCode

pytest.importorskip("boto3")


@dataclass
class Seen:
    method: str
    path: str
    host: str
    body: bytes
    authorization: str


@dataclass
class StandIn:
    """A tiny HTTP/1.1 server recording each request; answers 200 (or 204 to DELETE)."""

    seen: list[Seen] = field(default_factory=list)
    port: int = 0

    async def start(self) -> asyncio.AbstractServer:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:  # the client closed its connection
                break
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ")
            headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.seen.append(Seen(method, path, headers["host"], body, headers.get("authorization", "")))
            status = b"204 No Content" if method == "DELETE" else b"200 OK"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        writer.close()


CHAT_HANDLER = """
    import boto3

    def handler(event, context):
        rc = event["requestContext"]
        # AWS's sample, unchanged: the domain name and stage from the event.
        client = boto3.client("apigatewaymanagementapi",
                              endpoint_url="https://" + rc["domainName"] + "/" + rc["stage"])
        client.post_to_connection(ConnectionId=rc["connectionId"], Data=event["body"].encode())
        # The execute-api spelling, from a session of its own.
        other = boto3.session.Session().client(
            "apigatewaymanagementapi",
            endpoint_url=f"https://{rc['apiId']}.execute-api.us-east-1.amazonaws.com/{rc['stage']}")
        other.delete_connection(ConnectionId="Gone0Conn1d=")
        # A host framer does not serve: untouched.
        plain = boto3.client("apigatewaymanagementapi", endpoint_url=event["elsewhere"])
        plain.post_to_connection(ConnectionId="x", Data=b"elsewhere")
        return "sent"
"""


def _event(elsewhere: str) -> dict[str, Any]:
    return {"body": "hello, room", "elsewhere": elsewhere,
            "requestContext": {"domainName": "chat.example.test", "stage": "dev",
                               "apiId": "abc123", "connectionId": "L0SM9cOFvHcCIhw="}}


@pytest.mark.parametrize("runner_class", [WorkerRunner, InProcessRunner])
def test_unchanged_boto3_calls_land_on_framer(make_function: WriteCode, runner_class: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    if runner_class is InProcessRunner:  # in-process, the server's own environment is the function's
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFRAMERLOCAL00000")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "placeholder")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        import boto3

        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # put back after the test
        boto3.setup_default_session()  # made before the runner, as a server's own use would
    fn = make_function("chat", CHAT_HANDLER, timeout_s=20)
    framer_api, other_host = StandIn(), StandIn()

    async def main() -> Any:
        servers = [await framer_api.start(), await other_host.start()]
        endpoints = ConnectionsEndpoints(
            by_api_id={"abc123": f"http://127.0.0.1:{framer_api.port}/abc123"},
            by_host={"chat.example.test": f"http://127.0.0.1:{framer_api.port}/abc123"})
        try:
            async with runner_class() as runner:
                runner.set_connections(endpoints)
                return await runner.invoke(
                    fn, _event(f"http://127.0.0.1:{other_host.port}/prod"), request_id="r1")
        finally:
            for server in servers:
                server.close()

    assert asyncio.run(main()) == Returned("sent")
    assert [(s.method, s.path, s.host, s.body) for s in framer_api.seen] == [
        ("POST", "/abc123/dev/@connections/L0SM9cOFvHcCIhw%3D", "chat.example.test", b"hello, room"),
        ("DELETE", "/abc123/dev/@connections/Gone0Conn1d%3D",
         "abc123.execute-api.us-east-1.amazonaws.com", b""),
    ]
    assert all(s.authorization.startswith("AWS4-HMAC-SHA256 ") for s in framer_api.seen)
    assert [(s.method, s.path, s.host, s.body) for s in other_host.seen] == [
        ("POST", "/prod/@connections/x", f"127.0.0.1:{other_host.port}", b"elsewhere")]


@pytest.mark.parametrize("hook", [True, False])
def test_hook_can_be_turned_off(make_function: WriteCode, hook: bool) -> None:
    fn = make_function("probe", """
        import boto3
        def handler(event, context):
            client = boto3.client("apigatewaymanagementapi", endpoint_url=event["url"])
            client.post_to_connection(ConnectionId="c", Data=b"d")
    """, timeout_s=20)
    framer_api, other_host = StandIn(), StandIn()

    async def main() -> Any:
        servers = [await framer_api.start(), await other_host.start()]
        served = {f"127.0.0.1:{other_host.port}": f"http://127.0.0.1:{framer_api.port}"}
        try:
            async with WorkerRunner(RunnerOptions(connections_hook=hook),
                                    connections=ConnectionsEndpoints(by_host=served)) as runner:
                return await runner.invoke(
                    fn, {"url": f"http://127.0.0.1:{other_host.port}/dev"}, request_id="r")
        finally:
            for server in servers:
                server.close()

    assert asyncio.run(main()) == Returned(None)
    reached = framer_api if hook else other_host
    assert [(s.method, s.path) for s in reached.seen] == [("POST", "/dev/@connections/c")]
    assert (framer_api if not hook else other_host).seen == []


def test_rewrite_only_served_hosts() -> None:
    endpoints = ConnectionsEndpoints(by_api_id={"abc123": "http://127.0.0.1:9000"},
                                     by_host={"Chat.Example.test": "http://127.0.0.1:9000/"})
    assert rewrite_url("https://abc123.execute-api.eu-west-1.amazonaws.com/dev/@connections/x?a=1",
                       endpoints) == "http://127.0.0.1:9000/dev/@connections/x?a=1"
    assert rewrite_url("https://chat.example.test/dev/@connections/x", endpoints) == \
        "http://127.0.0.1:9000/dev/@connections/x"
    assert rewrite_url("https://zzz999.execute-api.us-east-1.amazonaws.com/dev/@connections/x",
                       endpoints) is None
    assert rewrite_url("https://abc123.example.com/dev/@connections/x", endpoints) is None
    with pytest.raises(ValueError, match=r"by_api_id\['a'\]: 'ftp://x' is not"):
        ConnectionsEndpoints(by_api_id={"a": "ftp://x"})


def test_worker_without_botocore_runs(make_function: WriteCode, tmp_path: Any) -> None:
    # A code directory whose botocore cannot be imported (it shadows it): no hook, no failure.
    fn = make_function("nobotocore", "import sys\ndef handler(event, context):\n    return 'fine'\n")
    (fn.code_dir / "botocore").mkdir()
    (fn.code_dir / "botocore" / "__init__.py").write_text("raise ImportError('no botocore here')\n")

    async def main() -> Any:
        async with WorkerRunner() as runner:
            return await runner.invoke(fn, {}, request_id="r")

    assert asyncio.run(main()) == Returned("fine")
