"""The framing between the server and a worker process: length-prefixed JSON.

Each message is a 4-byte big-endian length and that many bytes of one JSON
object, over a Unix socket pair.  JSON, because Lambda's own contract is
JSON (an event in, a JSON-serializable result out): a value that cannot be
encoded is the function's error (``Runtime.MarshalError``), as on Lambda.
The parent decodes with ``Decoder`` (fed by an asyncio protocol; it walks
the buffer with an offset and compacts it once per feed, so a feed is
linear in what is buffered); the worker blocks on ``read_message``.
"""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO, Optional

__all__ = ["Decoder", "WireError", "encode", "read_message"]

_LENGTH = struct.Struct(">I")
MAX_MESSAGE = 256 * 1024 * 1024  # far above Lambda's 6 MB payload limit; a corrupt length stops here

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_loads = json.loads


class WireError(Exception):
    """The other side sent something that is not a message."""


def encode(message: dict[str, Any]) -> bytes:
    """One framed message (raises ``TypeError``/``ValueError`` for values JSON cannot hold)."""
    body = _dumps(message).encode()
    return _LENGTH.pack(len(body)) + body


def _decode(body: bytes | bytearray | memoryview) -> dict[str, Any]:
    try:
        message = _loads(str(body, "utf-8"))  # a str: json.loads skips guessing the encoding
    except ValueError as exc:  # UnicodeDecodeError included
        raise WireError(f"undecodable message: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("a message must be a JSON object")
    return message


class Decoder:
    """Splits a byte stream into messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes | bytearray) -> list[dict[str, Any]]:
        """Messages completed by ``data``, in order."""
        buffer = self._buffer
        buffer += data
        messages = []
        start = 0
        # Each pass consumes one whole message; the buffer is compacted once,
        # after the loop, so a feed costs O(len(buffer)).
        while len(buffer) - start >= 4:
            (size,) = _LENGTH.unpack_from(buffer, start)
            if size > MAX_MESSAGE:
                raise WireError(f"message of {size} bytes is over {MAX_MESSAGE}")
            end = start + 4 + size
            if end > len(buffer):
                break
            messages.append(_decode(memoryview(buffer)[start + 4:end]))
            start = end
        if start:
            del buffer[:start]
        return messages


def read_message(stream: BinaryIO) -> Optional[dict[str, Any]]:
    """The next message from a blocking stream, ``None`` at end of stream."""
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = _LENGTH.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    return _decode(body)
