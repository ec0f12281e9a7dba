"""The WebSocket engine the server drives: framer's own, with API Gateway's limits.

``Limits.api_gateway()`` enforces 32 KiB frames and 128 KiB messages, refuses
binary frames (1003) and delivers whole messages, so the server never sees a
fragment or an oversized message: violations arrive as ``CloseConnection``.
"""

from __future__ import annotations

from framer import API_GATEWAY_MAX_MESSAGE_SIZE, ConnectionType, Limits, WSConnection

__all__ = ["new_server_connection", "MAX_MESSAGE_BYTES"]

#: API Gateway's message payload quota (reference §6.1).
MAX_MESSAGE_BYTES = API_GATEWAY_MAX_MESSAGE_SIZE

_LIMITS = Limits.api_gateway()


def new_server_connection() -> WSConnection:
    """A server-side engine for one client, with API Gateway's limits."""
    return WSConnection(ConnectionType.SERVER, limits=_LIMITS)
