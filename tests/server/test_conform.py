"""``framer conform``: all rules pass against framer's demo; a ``websockets``
server (no frame limit, 1 MiB messages, binary allowed) fails the size rows."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from framer import conform
from framer.cli import main

from conform.peers import WebsocketsEcho

from .conftest import RunningServer

ROOT = Path(__file__).resolve().parents[2]
RULES = ["frame-32768", "frame-32769", "message-131072", "message-131073", "binary",
         "invalid-utf8", "ping", "close"]


def by_rule(results: list[conform.RuleResult]) -> dict[str, conform.RuleResult]:
    return {r.rule: r for r in results}


def test_demo_passes_every_rule(demo_server: RunningServer) -> None:
    results = asyncio.run(conform.run(demo_server.url(), api_gateway=True, timeout=5))
    assert [r.rule for r in results] == RULES
    failed = [r for r in results if not r.passed]
    assert not failed, failed
    rows = by_rule(results)
    assert "1009" in rows["frame-32769"].seen and "1009" in rows["message-131073"].seen
    assert "1003" in rows["binary"].seen and "1007" in rows["invalid-utf8"].seen
    assert "pong" in rows["frame-32768"].seen and "EOF" in rows["close"].seen


def test_cli_exit_status_and_table(demo_server: RunningServer, capsys: Any) -> None:
    assert main(["conform", demo_server.url(), "--api-gateway"]) == 0
    out = capsys.readouterr().out
    assert "8/8 rules pass" in out
    assert re.search(r"^frame-32769\s+32769-byte frame -> 1009\s+pass\s+closed with 1009", out, re.M)


def test_cli_json_without_api_gateway(demo_server: RunningServer, capsys: Any) -> None:
    assert main(["conform", demo_server.url(), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["url"] == demo_server.url()
    assert [r["rule"] for r in report["rules"]] == [r for r in RULES if r != "binary"]
    assert all(set(r) == {"rule", "expected", "passed", "seen"} for r in report["rules"])


@pytest.fixture
def websockets_server() -> Iterator[WebsocketsEcho]:
    with WebsocketsEcho() as server:
        yield server


def test_websockets_fails_the_frame_size_rows(websockets_server: WebsocketsEcho, capsys: Any) -> None:
    url = f"ws://127.0.0.1:{websockets_server.port}/"
    rows = by_rule(asyncio.run(conform.run(url, api_gateway=True, timeout=3)))
    for rule in ("frame-32769", "message-131073", "binary"):
        assert not rows[rule].passed and rows[rule].seen.startswith("accepted"), rows[rule]
    for rule in ("frame-32768", "message-131072", "invalid-utf8", "ping", "close"):
        assert rows[rule].passed, rows[rule]
    assert main(["conform", url, "--api-gateway", "--timeout", "3"]) == 1
    assert "5/8 rules pass" in capsys.readouterr().out


def one_line_error(capsys: Any) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("framer: error: "), err
    return err[0]


def test_cannot_connect_is_one_line_and_exit_2(capsys: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    assert main(["conform", f"ws://127.0.0.1:{port}/dev"]) == 2
    assert f"cannot connect to ws://127.0.0.1:{port}/dev" in one_line_error(capsys)


def test_silent_server_times_out_with_exit_2(capsys: Any) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        started = time.monotonic()
        assert main(["conform", f"ws://127.0.0.1:{port}/", "--timeout", "0.3"]) == 2
        assert time.monotonic() - started < 3
    assert "no handshake response within 0.3 s" in one_line_error(capsys)


@pytest.mark.parametrize("argv, fragment", [
    (["conform", "http://127.0.0.1:1/"], "ws://HOST:PORT/PATH"),
    (["conform", "ws://127.0.0.1:99999/"], "invalid port"),
    (["conform", "ws://127.0.0.1:1/", "--timeout", "0"], "--timeout"),
])
def test_bad_arguments_are_one_line(capsys: Any, argv: list[str], fragment: str) -> None:
    assert main(argv) == 2
    assert fragment in one_line_error(capsys)


def test_refused_upgrade_is_one_line(demo_server: RunningServer, capsys: Any) -> None:
    assert main(["conform", demo_server.url("nostage")]) == 2
    assert "refused the WebSocket upgrade with HTTP 403" in one_line_error(capsys)


def test_against_framer_serve_demo_subprocess() -> None:
    """What CI does: ``framer serve --demo`` in its own process, then ``framer conform``."""
    server = subprocess.Popen(
        [sys.executable, "-m", "framer.cli", "serve", "--demo", "--port", "0", "--log-level", "info"],
        stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert server.stderr is not None
        port = None
        deadline = time.monotonic() + 20
        while port is None and time.monotonic() < deadline:
            line = server.stderr.readline()
            found = re.search(r"serving on ws://127\.0\.0\.1:(\d+)/", line)
            port = int(found.group(1)) if found else None
        assert port, "framer serve --demo did not start"
        result = subprocess.run(
            [sys.executable, "-m", "framer.cli", "conform", f"ws://127.0.0.1:{port}/dev", "--api-gateway", "--json"],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads(result.stdout)["ok"] is True
    finally:
        server.terminate()
        server.wait(15)
