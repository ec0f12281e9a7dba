"""@connections scoped to its API (issue 14, items 1 and 6).

On AWS each API has its own endpoint (reference §5): a connection of another
API is not there, so a well-formed id of another API is 410 GoneException,
answered exactly as a closed connection's.  Any stage of the connection's own
API reaches it (connection ids are per API; AWS documents no scoping by
stage).  The short ``/{stage}/@connections`` form resolves to one API as the
handshake does, and is refused while the stage name is ambiguous.
"""

from __future__ import annotations

import json

from websockets.sync.client import connect

from controlplane.conftest import TIMEOUT, GatewayServer

from .conftest import Answer, echo_api, exchange, request


def _call(gateway: GatewayServer, method: str, target: str, body: bytes = b"") -> Answer:
    return exchange(gateway.port, request(method, target, f"127.0.0.1:{gateway.port}", body=body),
                    wait=0.3)


def _same_error(a: Answer, b: Answer) -> None:
    assert (a.status, a.header("x-amzn-ErrorType")) == (b.status, b.header("x-amzn-ErrorType"))


def test_another_apis_connection_is_gone_like_a_closed_one(gateway: GatewayServer) -> None:
    c = gateway.client()
    one = echo_api(c, "one", "test", "prod")
    two = echo_api(c, "two", "test")
    closed_id = ""
    with connect(gateway.ws(f"/{one}/test"), open_timeout=TIMEOUT):
        (info,) = gateway.app.connections()
        closed_id = info.connection_id
    with connect(gateway.ws(f"/{one}/test"), open_timeout=TIMEOUT) as ws:
        (info,) = gateway.app.connections()
        cid = info.connection_id
        for method, body in (("POST", b"x"), ("GET", b""), ("DELETE", b"")):
            foreign = _call(gateway, method, f"/{two}/test/@connections/{cid}", body)
            closed = _call(gateway, method, f"/{one}/test/@connections/{closed_id}", body)
            assert foreign.status == 410
            _same_error(foreign, closed)
            assert foreign.body == closed.body.replace(closed_id.encode(), cid.encode())
        # Nothing went through: no message arrived, the connection is still open.
        assert _call(gateway, "POST", f"/{one}/test/@connections/{cid}", b"own").status == 200
        assert ws.recv(timeout=TIMEOUT) == "own"
        # Another stage of its own API reaches it.
        assert _call(gateway, "POST", f"/{one}/prod/@connections/{cid}", b"prod").status == 200
        assert ws.recv(timeout=TIMEOUT) == "prod"
        got = _call(gateway, "GET", f"/{one}/prod/@connections/{cid}")
        assert got.status == 200 and "connectedAt" in json.loads(got.body)


def test_the_short_form_resolves_to_one_api_as_the_handshake_does(gateway: GatewayServer) -> None:
    c = gateway.client()
    one = echo_api(c, "one", "test")
    echo_api(c, "two", "prod")
    with connect(gateway.ws(f"/{one}/test"), open_timeout=TIMEOUT) as ws:
        (info,) = gateway.app.connections()
        cid = info.connection_id
        # "test" is one API's: the short form reaches it; "prod" is the other API's.
        assert _call(gateway, "POST", f"/test/@connections/{cid}", b"short").status == 200
        assert ws.recv(timeout=TIMEOUT) == "short"
        assert _call(gateway, "POST", f"/prod/@connections/{cid}", b"x").status == 410
        # Once two APIs have "test", the short form names no single API: 403.
        (two,) = [a["ApiId"] for a in c.get_apis()["Items"] if a["ApiId"] != one]
        c.create_stage(ApiId=two, StageName="test")
        assert _call(gateway, "POST", f"/test/@connections/{cid}", b"x").status == 403
        assert _call(gateway, "POST", f"/{one}/test/@connections/{cid}", b"long").status == 200
        assert ws.recv(timeout=TIMEOUT) == "long"


def test_a_non_utf8_post_arrives_as_one_binary_message(gateway: GatewayServer) -> None:
    # AWS documents no answer for it; framer sends a binary frame with the exact
    # bytes (a text frame would make the client close with 1007, RFC 6455 §8.1).
    one = echo_api(gateway.client(), "one", "test")
    with connect(gateway.ws(f"/{one}/test"), open_timeout=TIMEOUT) as ws:
        (info,) = gateway.app.connections()
        data = b"\xff\xfe\x00caf\xc3"
        assert _call(gateway, "POST", f"/{one}/test/@connections/{info.connection_id}",
                     data).status == 200
        assert ws.recv(timeout=TIMEOUT) == data
        ws.send("still open")
        assert ws.recv(timeout=TIMEOUT) == "echo:still open"
