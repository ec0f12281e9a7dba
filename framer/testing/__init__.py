"""framer.testing: hypothesis strategies for WebSocket traffic.

For property-based conformance tests of any WebSocket endpoint, framer's or
another.  Each strategy draws bytes a peer sends after the opening handshake
with what the receiver must make of them:

* :func:`frames`, :func:`messages` and :func:`at_limits` draw
  :class:`Traffic`: valid bytes and the events they must produce;
* :func:`invalid_frames` and :func:`over_limits` draw :class:`InvalidFrame`:
  bytes and the close code (1002, 1003, 1007, 1009) the receiver must send.

Example, against framer's own engine::

    from hypothesis import given
    from framer import ConnectionType, Limits, WSConnection
    from framer.testing import invalid_frames

    @given(invalid_frames(limits=Limits.api_gateway()))
    def test_refused(bad):
        server = open_server()  # a WSConnection past its handshake
        server.receive_data(bad.data)
        assert [e.code for e in server.events() if type(e).__name__ == "CloseConnection"] == [bad.code]

Needs hypothesis: ``pip install 'framer[testing]'``.
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
from ._wire import InvalidFrame, Traffic, encode_frame, mask_payload

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
