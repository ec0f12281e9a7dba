"""Idle timeout and maximum connection duration: 1001 "Going away" and $disconnect."""

from __future__ import annotations

import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from .conftest import TIMEOUT, RunningServer, make_router, wait_for


def recording_app() -> tuple[Any, list[dict[str, Any]]]:
    disconnects: list[dict[str, Any]] = []

    def on_disconnect(event: dict[str, Any], context: Any) -> None:  # a sync handler
        disconnects.append(event["requestContext"])

    async def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "body": event["body"]}

    return make_router({"$disconnect": on_disconnect, "$default": echo}, two_way=("$default",)), disconnects


def test_idle_timeout_closes_with_1001_and_runs_disconnect() -> None:
    app, disconnects = recording_app()
    with RunningServer(app, idle_timeout=0.4) as server:
        with connect(server.url(), open_timeout=TIMEOUT) as ws:
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=TIMEOUT)
            waited = time.monotonic() - started
        assert info.value.rcvd is not None
        assert (info.value.rcvd.code, info.value.rcvd.reason) == (1001, "Going away")
        assert 0.3 <= waited < 2.0
        wait_for(lambda: len(disconnects) == 1)
        assert disconnects[0]["disconnectStatusCode"] == 1001
        assert disconnects[0]["disconnectReason"] == "Going away"


def test_messages_keep_a_connection_alive() -> None:
    app, disconnects = recording_app()
    with RunningServer(app, idle_timeout=0.5) as server:
        with connect(server.url(), open_timeout=TIMEOUT) as ws:
            for i in range(8):  # 1.2 s in total, well past the idle timeout
                ws.send(f"keepalive {i}")
                assert ws.recv(timeout=TIMEOUT) == f"keepalive {i}"
                time.sleep(0.15)
        assert all(d["disconnectStatusCode"] != 1001 for d in disconnects)


def test_max_duration_closes_an_active_connection() -> None:
    app, disconnects = recording_app()
    with RunningServer(app, idle_timeout=30, max_duration=0.6) as server:
        with connect(server.url(), open_timeout=TIMEOUT) as ws:
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as info:
                for i in range(100):
                    ws.send(f"busy {i}")
                    ws.recv(timeout=TIMEOUT)
                    time.sleep(0.05)
            lasted = time.monotonic() - started
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001
        assert 0.5 <= lasted < 2.5
        wait_for(lambda: len(disconnects) == 1)
        assert (disconnects[0]["disconnectStatusCode"], disconnects[0]["disconnectReason"]) == (1001, "Going away")


def test_client_close_code_reaches_disconnect() -> None:
    app, disconnects = recording_app()
    with RunningServer(app) as server:
        with connect(server.url(), open_timeout=TIMEOUT) as ws:
            ws.close(code=4000, reason="bye now")
        wait_for(lambda: len(disconnects) == 1)
        assert (disconnects[0]["disconnectStatusCode"], disconnects[0]["disconnectReason"]) == (4000, "bye now")
