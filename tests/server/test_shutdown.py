"""Graceful shutdown: every client gets 1001, $disconnect runs, exit status 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import websocket  # websocket-client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from framer.demo import Demo

from .conftest import TIMEOUT, RunningServer, wait_for

ROOT = Path(__file__).resolve().parents[2]


def start_cli(*args: str) -> tuple[subprocess.Popen[str], int, list[str]]:
    """Run ``python -m framer.cli serve ...`` on an ephemeral port; return (process, port, stderr lines)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "framer.cli", "serve", "--port", "0", *args],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    port_found = threading.Event()
    port: list[int] = []

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            match = re.search(r"serving on ws://127\.0\.0\.1:(\d+)/", line)
            if match and not port:
                port.append(int(match.group(1)))
                port_found.set()
        port_found.set()

    threading.Thread(target=pump, daemon=True).start()
    if not port_found.wait(15) or not port:
        proc.kill()
        raise AssertionError("framer serve did not start: " + "".join(lines))
    return proc, port[0], lines


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_signal_closes_clients_with_1001_and_exits_0(sig: int) -> None:
    proc, port, lines = start_cli("--demo")
    try:
        first = websocket.create_connection(f"ws://127.0.0.1:{port}/dev", timeout=TIMEOUT)
        second = connect(f"ws://127.0.0.1:{port}/dev", open_timeout=TIMEOUT).__enter__()
        first.send("before shutdown")
        assert first.recv() == "before shutdown"
        proc.send_signal(sig)
        frame = first.recv_frame()
        assert frame.opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(frame.data[:2], "big") == 1001
        with pytest.raises(ConnectionClosed) as info:
            second.recv(timeout=TIMEOUT)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001
        assert proc.wait(timeout=15) == 0
        first.close()
        second.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = "".join(lines)
    assert log.count("route=$disconnect") == 2
    assert "code=1001" in log
    assert "Traceback" not in log


def test_embedded_shutdown_runs_disconnect_for_every_connection(demo: Demo) -> None:
    running = RunningServer(demo).__enter__()
    clients = [connect(running.url(), open_timeout=TIMEOUT).__enter__() for _ in range(3)]
    try:
        wait_for(lambda: len(demo.connections) == 3)
        running.stop()
        for ws in clients:
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=TIMEOUT)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1001
        assert demo.connections == set()  # $disconnect forgot every one before stop() returned
    finally:
        for ws in clients:
            ws.close()


def test_one_log_line_per_connect_message_and_disconnect() -> None:
    proc, port, lines = start_cli("--demo", "--log-level", "info")
    try:
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/dev", timeout=TIMEOUT)
        ws.send("hello")
        assert ws.recv() == "hello"
        ws.close()
        wait_for(lambda: any("disconnect" in line for line in lines))
    finally:
        proc.terminate()
        proc.wait(timeout=TIMEOUT)
    events = [line for line in lines if re.search(r"\b(connect|message|disconnect) stage=", line)]
    kinds = [re.search(r"\b(connect|message|disconnect) stage=", line).group(1) for line in events]
    assert kinds[:3] == ["connect", "message", "disconnect"], lines
    connect, message, disconnect = events[:3]
    for line in events[:3]:
        assert "stage=dev" in line and "latency=" in line
        assert re.search(r"id=[A-Za-z0-9_-]{15}=", line)
    assert "route=$connect" in connect and "status=101" in connect
    assert "route=$default" in message and "status=ok" in message
    assert "route=$disconnect" in disconnect and "code=1000" in disconnect


def test_log_level_warning_leaves_out_the_per_request_lines() -> None:
    """``--log-level warning``: the server serves as before, but the info lines
    (serving on, connect, message, disconnect) are not written."""
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "framer.cli", "serve", "--demo", "--port", str(port), "--log-level", "warning"],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                ws = websocket.create_connection(f"ws://127.0.0.1:{port}/dev", timeout=TIMEOUT)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        ws.send("hello")
        assert ws.recv() == "hello"
        ws.close()
        time.sleep(0.3)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0
    assert "stage=" not in err and "serving on" not in err, err
