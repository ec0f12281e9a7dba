"""The close frame's rules, once, for both engine twins (RFC 6455 sections 5.5.1 and 7.4).

A close frame is rare, so the compiled twin calls this Python code too: the
rule, its close codes and its reasons are written here only, for the frames
read (``read_close``) and the ones sent (``close_payload``).
"""

from __future__ import annotations

from wsproto.events import CloseConnection
from wsproto.frame_protocol import CloseReason

from ._errors import LocalProtocolError, ProtocolViolation

__all__ = ["MAX_CONTROL_PAYLOAD", "close_payload", "read_close"]

# A control frame's payload is at most 125 bytes (RFC 6455 section 5.5).
MAX_CONTROL_PAYLOAD = 125

# Close codes that only describe a local condition and must not be sent
# (RFC 6455 section 7.4.1); like wsproto, answering with one sends 1000.
_LOCAL_ONLY_CODES = (CloseReason.ABNORMAL_CLOSURE, CloseReason.TLS_HANDSHAKE_FAILED)

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


def close_payload(code: int | None, reason: str | None) -> bytes:
    """The payload of the close frame we send for ``CloseConnection(code, reason)``.

    No code (or 1005) sends an empty payload; a local-only code sends 1000; a
    reason is cut, at a character boundary, to fit the 125-byte payload.
    Raises :class:`framer.LocalProtocolError` for a reason without a code or
    a code outside 1000-4999.
    """
    if code is None or code == CloseReason.NO_STATUS_RCVD:
        if reason:
            raise LocalProtocolError("a close reason needs a close code")
        return b""
    if code in _LOCAL_ONLY_CODES:
        code = CloseReason.NORMAL_CLOSURE
    if not 1000 <= code <= 4999:
        raise LocalProtocolError(f"close code {code} is outside 1000-4999")
    payload = int(code).to_bytes(2, "big")
    if reason:
        text = reason.encode("utf-8")
        limit = MAX_CONTROL_PAYLOAD - 2
        if len(text) > limit:
            text = text[:limit].decode("utf-8", "ignore").encode("utf-8")
        payload += text
    return payload
