"""The examples, served as a user serves them and used with real clients."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from .conftest import EXAMPLES, TemplateServer

CHATS = [
    pytest.param(["-t", "sam-chat/template.yaml"], "prod", id="sam-chat"),
    pytest.param(["-t", "serverless-chat/serverless.yml"], "dev", id="serverless-chat"),
    pytest.param(["-t", "cdk-chat/cdk.out/CdkChatStack.template.json"], "prod", id="cdk-chat"),
]


def _stored(store: Path) -> set[str]:
    with sqlite3.connect(store) as db:
        return {row[0] for row in db.execute("SELECT connection_id FROM connections")}


@pytest.mark.parametrize(("args", "stage"), CHATS)
def test_chat_broadcasts_to_every_connection(tmp_path: Path, args: list[str], stage: str) -> None:
    store = tmp_path / "connections.sqlite3"
    server = TemplateServer(*args, cwd=EXAMPLES, env={"CHAT_STORE": str(store)})
    try:
        assert server.exit_status is None, server.banner
        banner = "\n".join(server.banner)
        for route in ("$connect", "$disconnect", "sendmessage"):
            assert f"route {route}" in banner
        base = f"127.0.0.1:{server.port}"
        assert f"framer:   stage {stage}: ws://{base}/{stage}  (also ws://{base}/" in banner
        assert f"framer:     @connections http://{base}/{stage}/@connections/{{connectionId}}" \
            in banner
        assert "ignored AWS::DynamoDB::Table (not emulated)" in banner
        with connect(server.url(f"/{stage}")) as alice, connect(server.url(f"/{stage}")) as bob:
            assert len(_stored(store)) == 2  # $connect ran for both
            alice.send(json.dumps({"action": "sendmessage", "data": "hello"}))
            assert alice.recv(timeout=10) == "hello"
            assert bob.recv(timeout=10) == "hello"
            bob.close()
            alice.send(json.dumps({"action": "sendmessage", "data": "still here"}))
            assert alice.recv(timeout=10) == "still here"
        server.stop()
        assert _stored(store) == set()  # $disconnect ran for both
    finally:
        server.stop()


def test_authorizer_example_lets_in_only_the_right_token(tmp_path: Path) -> None:
    server = TemplateServer("-t", "authorizer/template.yaml", "--parameter-overrides",
                            "Token=s3cret", cwd=EXAMPLES)
    try:
        assert server.exit_status is None, server.banner
        assert any("authorizer" in line for line in server.banner)
        with pytest.raises(InvalidStatus) as refused:
            connect(server.url("/dev?token=wrong"))
        assert refused.value.response.status_code == 403
        with pytest.raises(InvalidStatus) as missing:
            connect(server.url("/dev"))
        assert missing.value.response.status_code == 401
        with connect(server.url("/dev?token=s3cret")) as ws:
            ws.send(json.dumps({"action": "whoami"}))
            assert json.loads(ws.recv(timeout=10)) == {"user": "guest", "stage": "dev"}
    finally:
        server.stop()
