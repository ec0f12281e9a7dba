"""framer: Amazon API Gateway's WebSocket runtime, reproduced.

The core is a sans-IO WebSocket engine with wsproto's interface that enforces
API Gateway's framing rules (32 KiB frames, 128 KiB messages, text only) and
delivers whole messages.  ``framer.implementation`` says whether the compiled
hot path (``"compiled"``) or its pure-Python twin (``"pure"``) is active.
"""

from __future__ import annotations

from wsproto.connection import ConnectionState, ConnectionType
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from ._connection import WSConnection
from ._errors import LocalProtocolError, MessageTooBigError, ProtocolViolation, RemoteProtocolError
from ._impl import implementation
from ._limits import API_GATEWAY_MAX_FRAME_SIZE, API_GATEWAY_MAX_MESSAGE_SIZE, Limits

__version__ = "0.1.0"

__all__ = [
    "API_GATEWAY_MAX_FRAME_SIZE",
    "API_GATEWAY_MAX_MESSAGE_SIZE",
    "AcceptConnection",
    "BytesMessage",
    "CloseConnection",
    "ConnectionState",
    "ConnectionType",
    "Event",
    "Limits",
    "LocalProtocolError",
    "Message",
    "MessageTooBigError",
    "Ping",
    "Pong",
    "ProtocolViolation",
    "RejectConnection",
    "RejectData",
    "RemoteProtocolError",
    "Request",
    "TextMessage",
    "WSConnection",
    "implementation",
]
