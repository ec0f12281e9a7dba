"""Limits a connection enforces, with API Gateway's values as the default.

Sources for the numbers:

* 32 KiB frames and 128 KiB messages: Amazon API Gateway quotas for WebSocket
  APIs ("Message payload size: 128 KB", "Frame size: 32 KB"; the deploy guide
  says a message over 32 KB "must be split into multiple frames, each 32 KB or
  smaller").  API Gateway counts KB as KiB: 32768 and 131072 bytes.
* Binary frames: API Gateway WebSocket APIs route text; this library closes a
  binary data frame with 1003 ("unsupported data", RFC 6455 section 7.4.1) in
  API Gateway mode.
* No extensions: API Gateway's WebSocket endpoints answer the opening
  handshake without ``Sec-WebSocket-Extensions`` (they negotiate no
  permessage-deflate), so in API Gateway mode none may be negotiated.
* 16 KiB request head: the bound h11 uses by default for an incomplete event,
  which wsproto's handshake inherits.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "API_GATEWAY_MAX_FRAME_SIZE",
    "API_GATEWAY_MAX_MESSAGE_SIZE",
    "DEFAULT_MAX_HANDSHAKE_SIZE",
    "GENERAL_MAX_FRAME_SIZE",
    "GENERAL_MAX_MESSAGE_SIZE",
    "Limits",
]

#: API Gateway's WebSocket frame size quota (32 KB), in bytes.
API_GATEWAY_MAX_FRAME_SIZE = 32 * 1024
#: API Gateway's WebSocket message payload quota (128 KB), in bytes.
API_GATEWAY_MAX_MESSAGE_SIZE = 128 * 1024
#: Largest HTTP request/response head accepted during the opening handshake.
DEFAULT_MAX_HANDSHAKE_SIZE = 16 * 1024
#: Defaults of :meth:`Limits.general`: large enough for Autobahn's 16 MiB cases.
GENERAL_MAX_FRAME_SIZE = 64 * 1024 * 1024
GENERAL_MAX_MESSAGE_SIZE = 64 * 1024 * 1024

# RFC 6455 section 5.2: the 64-bit length's most significant bit must be 0.
_MAX_WIRE_LENGTH = 2**63 - 1


@dataclass(frozen=True)
class Limits:
    """What a :class:`framer.WSConnection` accepts and how it fragments.

    ``max_frame_size``
        Largest payload of one incoming data frame; a header announcing more
        closes the connection with 1009 before any payload is buffered.
        Outgoing messages are split into frames of at most this size.
    ``max_message_size``
        Largest message, summed over its fragments, in either direction.  An
        incoming message that would cross it closes with 1009 at the frame
        header that crosses it; an outgoing one raises
        :class:`framer.MessageTooBigError` and nothing is sent.
    ``allow_binary``
        When false (API Gateway mode) an incoming binary data frame closes the
        connection with 1003.
    ``max_handshake_size``
        Largest HTTP head of the opening handshake.
    ``allow_deflate``
        When true, permessage-deflate (RFC 7692) may be negotiated: offered
        by a client's ``Request(extensions=[PerMessageDeflate()])``, accepted
        by a server's ``AcceptConnection(extensions=[...])``.  The sizes then
        apply to decompressed messages and to frames as sent.  When false
        (API Gateway mode) asking for an extension raises
        :class:`framer.LocalProtocolError`.
    """

    max_frame_size: int = API_GATEWAY_MAX_FRAME_SIZE
    max_message_size: int = API_GATEWAY_MAX_MESSAGE_SIZE
    allow_binary: bool = False
    max_handshake_size: int = DEFAULT_MAX_HANDSHAKE_SIZE
    allow_deflate: bool = False

    def __post_init__(self) -> None:
        for name in ("max_frame_size", "max_message_size", "max_handshake_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Limits.{name} must be an int, got {value!r}")
            if not 1 <= value <= _MAX_WIRE_LENGTH:
                raise ValueError(
                    f"Limits.{name} must be between 1 and 2**63-1 bytes, got {value}"
                )
        for name in ("allow_binary", "allow_deflate"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"Limits.{name} must be a bool, got {getattr(self, name)!r}")

    @classmethod
    def api_gateway(cls) -> Limits:
        """API Gateway's rules: 32 KiB frames, 128 KiB messages, no binary, no extensions."""
        return cls()

    @classmethod
    def general(
        cls,
        max_frame_size: int = GENERAL_MAX_FRAME_SIZE,
        max_message_size: int = GENERAL_MAX_MESSAGE_SIZE,
        *,
        max_handshake_size: int = DEFAULT_MAX_HANDSHAKE_SIZE,
    ) -> Limits:
        """A general-purpose endpoint: binary allowed, permessage-deflate allowed, sizes as given."""
        return cls(
            max_frame_size=max_frame_size,
            max_message_size=max_message_size,
            allow_binary=True,
            max_handshake_size=max_handshake_size,
            allow_deflate=True,
        )
