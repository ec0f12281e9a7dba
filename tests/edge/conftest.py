"""Fixtures for the HTTP edge tests: raw-socket requests against real servers.

Servers run as the server and control-plane tests run them (a thread, an
event loop, 127.0.0.1, an ephemeral port); requests are exact bytes written
to a socket, so what is refused is what a client really sent.
"""

from __future__ import annotations

import socket

from controlplane.conftest import echo_api, gateway  # the same fixture as the control plane tests

__all__ = ["Answer", "exchange", "request", "echo_api", "gateway"]

TIMEOUT = 5.0


class Answer:
    """What the server sent back on one socket: the bytes, and whether it closed."""

    def __init__(self, data: bytes, closed: bool) -> None:
        self.data = data
        self.closed = closed

    @property
    def statuses(self) -> list[int]:
        """The status of every response in the bytes, in order."""
        return [int(line.split(b" ")[1]) for line in self.data.split(b"\r\n")
                if line.startswith(b"HTTP/1.1 ")]

    @property
    def status(self) -> int:
        assert self.statuses, self.data[:200]
        return self.statuses[0]

    def header(self, name: str) -> str:
        head = self.data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        for line in head.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        raise KeyError(name)

    @property
    def body(self) -> bytes:
        return self.data.split(b"\r\n\r\n", 1)[1]


def exchange(port: int, *pieces: bytes, wait: float = 1.0) -> Answer:
    """Send *pieces* one ``send`` each, then read until the server closes or
    *wait* seconds pass with nothing more."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        for piece in pieces:
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break  # refused before the end: what came back says why
        sock.settimeout(wait)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                return Answer(data, closed=False)
            except ConnectionResetError:
                return Answer(data, closed=True)
            if not chunk:
                return Answer(data, closed=True)
            data += chunk


def request(method: str, target: str, host: str, *headers: str, body: bytes = b"") -> bytes:
    """One HTTP/1.1 request's bytes (Content-Length added when there is a body)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
