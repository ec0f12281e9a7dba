"""``framer serve --allow-host / --require-sigv4 / --access-key`` as a user runs them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from controlplane.conftest import ServeProcess
from framer.cli import main

from .conftest import exchange, request


def _apis(port: int, key_id: str, secret: str) -> Any:
    return boto3.client("apigatewayv2", endpoint_url=f"http://127.0.0.1:{port}",
                        region_name="us-east-1", aws_access_key_id=key_id,
                        aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1})).get_apis()


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def test_serve_with_access_keys_and_an_allowed_host(tmp_path: Path) -> None:
    proc = ServeProcess(tmp_path, options=("--require-sigv4", "--access-key", "AKIDONE:one",
                                           "--access-key", "AKIDTWO:two",
                                           "--allow-host", "dev.example"),
                        environ=_clean_env())
    try:
        assert _apis(proc.port, "AKIDONE", "one")["Items"] == []
        assert _apis(proc.port, "AKIDTWO", "two")["Items"] == []
        with pytest.raises(ClientError) as wrong:
            _apis(proc.port, "AKIDONE", "two")
        assert wrong.value.response["Error"]["Code"] == "InvalidSignatureException"
        # dev.example passes the Host check and then needs a signature.
        unsigned = exchange(proc.port, request("GET", "/v2/apis", "dev.example"))
        assert unsigned.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
        foreign = exchange(proc.port, request("GET", "/v2/apis", "evil.example"))
        assert foreign.header("x-amzn-ErrorType") == "ForbiddenException"
    finally:
        assert proc.stop() == 0


def test_serve_takes_the_key_from_the_environment(tmp_path: Path) -> None:
    env = dict(_clean_env(), AWS_ACCESS_KEY_ID="AKIDENV", AWS_SECRET_ACCESS_KEY="from-env")
    proc = ServeProcess(tmp_path, options=("--require-sigv4",), environ=env)
    try:
        assert _apis(proc.port, "AKIDENV", "from-env")["Items"] == []
        with pytest.raises(ClientError) as unknown:
            _apis(proc.port, "testing", "testing")
        assert unknown.value.response["Error"]["Code"] == "UnrecognizedClientException"
    finally:
        assert proc.stop() == 0


@pytest.mark.parametrize("argv, message", [
    (["--require-sigv4"], "needs at least one access key"),
    (["--access-key", "AKID:secret"], "--access-key is only used with --require-sigv4"),
    (["--require-sigv4", "--access-key", "nocolon"], "an access key is given as ID:SECRET"),
    (["--allow-host", "a b"], "is not a host name"),
])
def test_bad_options_are_one_line(tmp_path: Path, capsys: Any, monkeypatch: Any,
                                  argv: list[str], message: str) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    assert main(["serve", "--demo", "--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("framer: error: ") and message in err and err.count("\n") == 1
    assert "secret" not in err.replace("--access-key", "")  # never echo a secret
