"""SigV4 with ``--require-sigv4`` (issue 14, item 3): boto3 and the AWS CLI pass
unchanged with the right key and fail with API Gateway's own error codes with a
wrong one; raw requests show each error; a function's @connections call,
signed for the AWS host and moved onto framer's address, passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from websockets.sync.client import connect

from controlplane.conftest import TIMEOUT, GatewayServer
from framer.asyncio import AccessKey, ServerConfig
from framer.asyncio._sigv4 import InvalidSignatureException, SigV4Verifier

from .conftest import echo_api, exchange, request

KEY = AccessKey("AKIDFRAMEREDGE", "edge-secret-key")


@pytest.fixture
def signed(tmp_path: Path) -> Iterator[GatewayServer]:
    with GatewayServer(tmp_path / "state", require_sigv4=True, access_keys=(KEY,)) as running:
        yield running


def _client(service: str, endpoint: str, key_id: str = KEY.key_id,
            secret: str = KEY.secret) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key_id, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))


def _code(caught: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_boto3_with_the_right_key_passes_and_wrong_keys_fail(signed: GatewayServer) -> None:
    base = f"http://127.0.0.1:{signed.port}"
    api_id = echo_api(_client("apigatewayv2", base), "signed", "test")
    with pytest.raises(ClientError) as wrong_secret:
        _client("apigatewayv2", base, secret="not-the-secret").get_apis()
    assert _code(wrong_secret) == (403, "InvalidSignatureException")
    with pytest.raises(ClientError) as unknown:
        _client("apigatewayv2", base, key_id="AKIDUNKNOWN").get_apis()
    assert _code(unknown) == (403, "UnrecognizedClientException")
    with connect(f"ws://127.0.0.1:{signed.port}/{api_id}/test", open_timeout=TIMEOUT) as ws:
        (info,) = signed.app.connections()
        good = _client("apigatewaymanagementapi", f"{base}/{api_id}/test")
        good.post_to_connection(ConnectionId=info.connection_id, Data=b"signed")
        assert ws.recv(timeout=TIMEOUT) == "signed"
        assert "ConnectedAt" in good.get_connection(ConnectionId=info.connection_id)
        bad = _client("apigatewaymanagementapi", f"{base}/{api_id}/test", secret="wrong")
        with pytest.raises(ClientError) as refused:
            bad.post_to_connection(ConnectionId=info.connection_id, Data=b"forged")
        assert _code(refused) == (403, "InvalidSignatureException")
        ws.send("after")
        assert ws.recv(timeout=TIMEOUT) == "echo:after"  # the forged post never arrived


def test_a_key_scoped_to_the_wrong_service_is_refused(signed: GatewayServer) -> None:
    # A control-plane signature (service apigateway) does not open @connections.
    creds = Credentials(KEY.key_id, KEY.secret)
    url = f"http://127.0.0.1:{signed.port}/test/@connections/AAAAAAAAAAAAAAA="
    raw = AWSRequest(method="GET", url=url)
    SigV4Auth(creds, "apigateway", "us-east-1").add_auth(raw)
    headers = [f"{k}: {v}" for k, v in raw.headers.items()]
    answer = exchange(signed.port, request("GET", url.split(str(signed.port), 1)[1],
                                           f"127.0.0.1:{signed.port}", *headers))
    assert answer.status == 403
    assert answer.header("x-amzn-ErrorType") == "InvalidSignatureException"
    assert "execute-api" in json.loads(answer.body)["message"]


def test_raw_requests_get_aws_errors(signed: GatewayServer) -> None:
    host = f"127.0.0.1:{signed.port}"
    missing = exchange(signed.port, request("GET", "/v2/apis", host))
    assert (missing.status, missing.header("x-amzn-ErrorType")) == (
        403, "MissingAuthenticationTokenException")
    assert json.loads(missing.body) == {"message": "Missing Authentication Token"}
    partial = exchange(signed.port, request("GET", "/v2/apis", host,
                                            "Authorization: AWS4-HMAC-SHA256 Credential=x"))
    assert (partial.status, partial.header("x-amzn-ErrorType")) == (
        403, "IncompleteSignatureException")
    message = json.loads(partial.body)["message"]
    assert "'Signature'" in message and "'SignedHeaders'" in message and "X-Amz-Date" in message
    # Unsigned @connections calls too, and nothing is sent.
    conn = exchange(signed.port, request("POST", "/test/@connections/AAAAAAAAAAAAAAA=", host,
                                         body=b"x"))
    assert conn.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"


def _signed_now(service: str, url: str, body: bytes = b"") -> AWSRequest:
    raw = AWSRequest(method="POST", url=url, data=body)
    SigV4Auth(Credentials(KEY.key_id, KEY.secret), service, "us-east-1").add_auth(raw)
    return raw


def _verify_at(verifier: SigV4Verifier, raw: AWSRequest, body: bytes) -> None:
    path = raw.url.split("amazonaws.com", 1)[1]
    headers = list(raw.headers.items()) + [("Host", raw.url.split("/")[2])]
    verifier.verify("execute-api", "POST", [path], headers, body)


def test_five_minutes_of_skew_exactly_pass_and_more_is_expired() -> None:
    url = "https://abc.execute-api.us-east-1.amazonaws.com/test/@connections/AAAAAAAAAAAAAAA%3D"
    raw = _signed_now("execute-api", url, b"hello")
    signed_at = datetime.strptime(raw.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=timezone.utc).timestamp()
    for skew in (300.0, -300.0):
        _verify_at(SigV4Verifier([KEY], clock=lambda: signed_at + skew), raw, b"hello")
    with pytest.raises(InvalidSignatureException, match="Signature expired"):
        _verify_at(SigV4Verifier([KEY], clock=lambda: signed_at + 300.5), raw, b"hello")
    with pytest.raises(InvalidSignatureException, match="not yet current"):
        _verify_at(SigV4Verifier([KEY], clock=lambda: signed_at - 300.5), raw, b"hello")
    with pytest.raises(InvalidSignatureException, match="does not match"):
        _verify_at(SigV4Verifier([KEY], clock=time.time), raw, b"hellO")  # body changed


def test_a_functions_rewritten_call_signed_for_the_aws_host_passes(signed: GatewayServer) -> None:
    # What framer's functions hook does in a worker: the client signs for
    # https://{apiId}.execute-api.{region}.amazonaws.com/{stage}, then the URL is
    # moved onto framer's long form, Host kept as signed.
    base = f"http://127.0.0.1:{signed.port}"
    api_id = echo_api(_client("apigatewayv2", base), "fn", "test")
    aws_host = f"{api_id}.execute-api.us-east-1.amazonaws.com"
    management = _client("apigatewaymanagementapi", f"https://{aws_host}/test")

    def rewrite(request: Any, **kwargs: Any) -> None:
        request.headers["Host"] = aws_host
        request.url = request.url.replace(f"https://{aws_host}", f"{base}/{api_id}")

    management.meta.events.register("before-send.apigatewaymanagementapi", rewrite)
    with connect(f"ws://127.0.0.1:{signed.port}/{api_id}/test", open_timeout=TIMEOUT) as ws:
        (info,) = signed.app.connections()
        management.post_to_connection(ConnectionId=info.connection_id, Data=b"from a function")
        assert ws.recv(timeout=TIMEOUT) == "from a function"


def _aws(port: int, tmp_path: Path, key_id: str, secret: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret,
               AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="",
               AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"))
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "awscli", "apigatewayv2", "get-apis", "--region", "us-east-1",
         "--endpoint-url", f"http://127.0.0.1:{port}", "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60)


def test_the_aws_cli_with_the_right_key_passes_and_a_wrong_one_fails(
        signed: GatewayServer, tmp_path: Path) -> None:
    pytest.importorskip("awscli")
    _client("apigatewayv2", f"http://127.0.0.1:{signed.port}").create_api(
        Name="cli", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")
    good = _aws(signed.port, tmp_path, KEY.key_id, KEY.secret)
    assert good.returncode == 0, good.stderr
    assert [a["Name"] for a in json.loads(good.stdout)["Items"]] == ["cli"]
    bad = _aws(signed.port, tmp_path, KEY.key_id, "wrong")
    assert bad.returncode != 0
    assert "(InvalidSignatureException)" in bad.stderr
    unknown = _aws(signed.port, tmp_path, "AKIDNOBODY", KEY.secret)
    assert "(UnrecognizedClientException)" in unknown.stderr


def test_require_sigv4_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one access key"):
        ServerConfig(require_sigv4=True)


@pytest.mark.parametrize("text", ["nocolon", ":secret", "id:", "a b:secret"])
def test_access_keys_are_validated(text: str) -> None:
    with pytest.raises(ValueError):
        AccessKey.parse(text)


def test_an_access_key_never_prints_its_secret() -> None:
    assert KEY.secret not in repr(KEY) and KEY.secret not in repr(ServerConfig(access_keys=(KEY,)))


