"""``framer serve`` argument handling: errors are one line on stderr, non-zero exit."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from framer.cli import main

ROOT = Path(__file__).resolve().parents[2]


def one_line_error(capsys: Any) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("framer: error: ")
    return err[0]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["serve"], "nothing to serve"),
        (["serve", "noseparator"], "module:attr"),
        (["serve", "no_such_module_xyz:app"], "no_such_module_xyz"),
        (["serve", "framer.demo:no_such_attr"], "no_such_attr"),
        (["serve", "framer.demo:DEMO_STAGE"], "expected a framer.router.Router"),
        (["serve", "--demo", "framer.demo:build_demo"], "not both"),
        (["serve", "--demo", "--stage", "prod"], "stage 'prod' does not exist"),
        (["serve", "--demo", "--port", "70000"], "--port"),
        (["serve", "--demo", "--idle-timeout", "0"], "idle_timeout"),
    ],
)
def test_errors_are_one_line(capsys: Any, argv: list[str], fragment: str) -> None:
    assert main(argv) == 2
    assert fragment in one_line_error(capsys)


def test_busy_port_is_one_line(capsys: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--demo", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in one_line_error(capsys)


def test_console_entry_point_runs_as_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "framer.cli", "serve", "--help"],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )
    assert result.returncode == 0
    assert "--demo" in result.stdout and "--log-level" in result.stdout


def test_handshake_flags_reach_the_server() -> None:
    from .test_shutdown import start_cli

    proc, port, _ = start_cli("--demo", "--handshake-timeout", "0.5", "--max-handshake-size", "2048")
    try:
        # A head over 2048 bytes gets 431.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as big:
            big.sendall(
                b"GET /dev HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                b"X-Pad: " + b"a" * 3000 + b"\r\n\r\n"
            )
            assert big.recv(100).startswith(b"HTTP/1.1 431")
        # A connection that sends half a head is closed after 0.5 s with 408.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            slow.sendall(b"GET /dev HTTP/1.1\r\n")
            answer = slow.recv(100)
            assert answer.startswith(b"HTTP/1.1 408"), answer
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.mark.parametrize("flag", ["--handshake-timeout", "--max-handshake-size"])
def test_bad_handshake_flags_are_one_line(capsys: Any, flag: str) -> None:
    assert main(["serve", "--demo", flag, "0"]) == 2
    assert "handshake" in one_line_error(capsys)


def run_framer(*argv: str) -> subprocess.CompletedProcess[str]:
    """``python -m framer ARGV...`` as a user runs it, from the repository root."""
    return subprocess.run([sys.executable, "-m", "framer", *argv],
                          capture_output=True, text=True, timeout=30, cwd=ROOT)


def test_version_prints_the_package_version() -> None:
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = run_framer("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"framer {declared}\n"


def test_unknown_demo_stage_lists_the_demo_stages() -> None:
    result = run_framer("serve", "--demo", "--stage", "nope")
    assert result.returncode == 2
    assert result.stderr == (
        "framer: error: stage 'nope' does not exist in the API (stages: dev)\n")
