"""framer.testing: hypothesis strategies for WebSocket traffic.

For property-based conformance tests of any WebSocket endpoint, framer's or
another.  Each strategy draws bytes a peer sends after the opening handshake
with what the receiver must make of them:

* :func:`frames`, :func:`messages` and :func:`at_limits` draw
  :class:`Traffic`: valid bytes and the events they must produce;
* :func:`invalid_frames` and :func:`over_limits` draw :class:`InvalidFrame`:
  bytes and the close code (1002, 1003, 1007, 1009) the receiver must send.

Example, against framer's own engine (any endpoint works the same way: open
it, feed ``bad.data`` after the handshake, read the close code it sends)::

    from hypothesis import given
    from framer import CloseConnection, ConnectionType, Limits, WSConnection
    from framer import AcceptConnection, Request
    from framer.testing import invalid_frames

    def open_server(limits):
        client = WSConnection(ConnectionType.CLIENT)
        server = WSConnection(ConnectionType.SERVER, limits)
        server.receive_data(client.send(Request(host="example.com", target="/")))
        list(server.events())
        server.send(AcceptConnection())
        return server

    @given(invalid_frames(limits=Limits.api_gateway()))
    def test_refused(bad):
        server = open_server(Limits.api_gateway())
        server.receive_data(bad.data)
        codes = [e.code for e in server.events() if isinstance(e, CloseConnection)]
        assert codes == [bad.code], bad.why

Needs hypothesis: ``pip install 'framer[testing]'``.

Modules:

* ``_strategies``: the strategies;
* ``_traffic``: :class:`Traffic` and :class:`InvalidFrame`, what they draw.

The frame encoder (:func:`encode_frame`, :func:`mask_payload`) is
``framer._wire``'s, shared with ``framer conform``.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "framer.testing needs hypothesis, which is not installed: "
        "pip install 'framer[testing]' (or pip install 'hypothesis>=6')"
    ) from exc

from ._strategies import (
    INVALID_CLOSE_CODES,
    VALID_CLOSE_CODES,
    at_limits,
    frames,
    invalid_frames,
    messages,
    over_limits,
)
from framer._wire import encode_frame, mask_payload

from ._traffic import InvalidFrame, Traffic

__all__ = [
    "INVALID_CLOSE_CODES",
    "VALID_CLOSE_CODES",
    "InvalidFrame",
    "Traffic",
    "at_limits",
    "encode_frame",
    "frames",
    "invalid_frames",
    "mask_payload",
    "messages",
    "over_limits",
]
