"""Plain-HTTP helpers for the gateway server: request targets and response bytes.

The WebSocket URL and the @connections management API share one port, as they do
on API Gateway's execute-api endpoint.  Requests are parsed with h11 by the
connection protocol; this module only classifies targets and renders responses,
so it holds no sockets and no state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Optional
from urllib.parse import unquote

__all__ = [
    "Target",
    "parse_target",
    "render_response",
    "error_response",
    "reconstruct_head",
    "is_valid_connection_id",
]

#: Connection ids as API Gateway issues them: 12 random bytes in URL-safe base64,
#: 16 characters ending in ``=`` (reference §2.2).  Anything else is malformed (400).
_CONNECTION_ID = re.compile(r"[A-Za-z0-9_\-]{15}=")


def is_valid_connection_id(value: str) -> bool:
    """True if *value* has the shape of an API Gateway connection id."""
    return _CONNECTION_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class Target:
    """A request target split into what the server dispatches on.

    ``kind`` is ``"websocket"`` for ``/{stage}``, ``"connections"`` for
    ``/{stage}/@connections/{id}`` (either spelling of ``@``) and ``"other"``
    for anything else.
    """

    kind: str
    stage: str
    connection_id: str
    path: str
    query: str


def parse_target(raw: bytes) -> Target:
    """Classify an HTTP request target (path and query string)."""
    text = raw.decode("latin-1")
    path, _, query = text.partition("?")
    parts = path.split("/")
    # parts[0] is the empty string before the leading slash.
    if len(parts) == 2 or (len(parts) == 3 and parts[2] == ""):
        return Target("websocket", unquote(parts[1]), "", path, query)
    if len(parts) == 4 and parts[2] in ("@connections", "%40connections"):
        return Target("connections", unquote(parts[1]), unquote(parts[3]), path, query)
    # /{apiId}/{stage} and /{apiId}/{stage}/@connections/{id}: one stage among
    # several APIs on one server (framer.controlplane); the stage is "apiId/stage".
    if len(parts) == 3 or (len(parts) == 4 and parts[3] == ""):
        return Target("websocket", f"{unquote(parts[1])}/{unquote(parts[2])}", "", path, query)
    if len(parts) == 5 and parts[3] in ("@connections", "%40connections"):
        stage = f"{unquote(parts[1])}/{unquote(parts[2])}"
        return Target("connections", stage, unquote(parts[4]), path, query)
    return Target("other", "", "", path, query)


def render_response(
    status: int,
    headers: Optional[list[tuple[str, str]]] = None,
    body: bytes = b"",
    *,
    keep_alive: bool = True,
) -> bytes:
    """Serialize a complete HTTP/1.1 response with a Content-Length body."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    lines = [f"HTTP/1.1 {status} {phrase}"]
    for name, value in headers or ():
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    if not keep_alive:
        lines.append("Connection: close")
    lines.append("")
    lines.append("")
    return "\r\n".join(lines).encode("latin-1") + body


def error_response(
    status: int, error_type: str, message: Optional[str], *, keep_alive: bool = True
) -> bytes:
    """An AWS rest-json error: the type in ``x-amzn-ErrorType``, ``{"message"}`` body.

    ``message=None`` sends an empty body, as API Gateway does for GoneException
    (reference §5); boto3 relies on the header alone to name the exception.
    """
    headers = [("x-amzn-ErrorType", error_type)]
    body = b""
    if message is not None:
        headers.append(("Content-Type", "application/json"))
        body = json.dumps({"message": message}).encode()
    return render_response(status, headers, body, keep_alive=keep_alive)


def reconstruct_head(
    method: bytes, target: bytes, raw_headers: list[tuple[bytes, bytes]]
) -> bytes:
    """Rebuild an HTTP/1.1 request head from parsed parts for the WebSocket engine.

    The server parses every request head with h11 first (to tell upgrades from
    @connections calls); the engine runs its own handshake parser on these bytes.
    """
    out = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in raw_headers:
        out += [name, b": ", value, b"\r\n"]
    out.append(b"\r\n")
    return b"".join(out)
