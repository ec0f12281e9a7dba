"""The close frame's rules, once, for both engine twins (RFC 6455 sections 5.5.1 and 7.4).

A close frame is rare, so the compiled twin calls this Python code too: the
rule, its close codes and its reasons are written here only.
"""

from __future__ import annotations

from wsproto.events import CloseConnection
from wsproto.frame_protocol import CloseReason

from ._errors import ProtocolViolation

__all__ = ["read_close"]

# Close codes a peer may send (RFC 6455 section 7.4): 1000-2999 is reserved for
# the protocol and only these are defined there or in the IANA registry that
# wsproto knows; 3000-4999 are free for libraries and applications.  1005, 1006
# and 1015 must never appear on the wire.
_VALID_PROTOCOL_CLOSE_CODES = frozenset(
    {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013}
)


def read_close(payload: bytes) -> CloseConnection | ProtocolViolation:
    """The peer's ``CloseConnection`` for a close frame's payload, or why the
    payload breaks the protocol (1002, or 1007 for a reason that is not UTF-8)."""
    if not payload:
        return CloseConnection(code=CloseReason.NO_STATUS_RCVD, reason="")
    if len(payload) == 1:
        return ProtocolViolation(1002, "close frame with a 1-byte payload")
    code = (payload[0] << 8) | payload[1]
    if code < 1000 or code > 4999:
        return ProtocolViolation(1002, f"invalid close code {code}")
    if code < 3000 and code not in _VALID_PROTOCOL_CLOSE_CODES:
        return ProtocolViolation(1002, f"close code {code} is reserved or may not be sent")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        return ProtocolViolation(1007, "close reason is not valid UTF-8")
    return CloseConnection(code=CloseReason(code) if code < 3000 else code, reason=reason)
