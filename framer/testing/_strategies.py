"""Hypothesis strategies for WebSocket traffic (RFC 6455 section 5).

Every strategy takes ``sender``: the role of the endpoint that *sends* the
bytes.  Frames from a client are masked with a fresh key each; frames from a
server are not.  Feed the bytes to an endpoint of the other role after its
opening handshake.

Large payloads (over a few hundred bytes) are generated from a drawn seed
rather than byte by byte, so a 128 KiB message costs hypothesis one integer.
"""

from __future__ import annotations

import random
from typing import Callable, Optional

from hypothesis import strategies as st
from wsproto.connection import ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Event, Ping, Pong, TextMessage

from framer._limits import Limits

from framer._wire import OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT, encode_frame

from ._traffic import InvalidFrame, Traffic

__all__ = [
    "INVALID_CLOSE_CODES",
    "VALID_CLOSE_CODES",
    "at_limits",
    "frames",
    "invalid_frames",
    "messages",
    "over_limits",
]

#: Close codes a peer may send: RFC 6455 section 7.4.1's, and the ranges for
#: libraries (3000-3999) and applications (4000-4999).
VALID_CLOSE_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999)
#: Codes that must never be on the wire or are outside the range (section 7.4):
#: a receiver answers them with 1002.  (1012-1014 are left out: registered
#: with IANA after RFC 6455, endpoints differ on them.)
INVALID_CLOSE_CODES = (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)

# Characters of every UTF-8 length, and a few awkward ones.
_ALPHABET = ("a", "~", "\x00", "é", "ß", "€", "\u07ff", "\uffff", "😀", "\U0010ffff")
# Byte sequences that are never valid UTF-8 anywhere in a message: a bare
# continuation byte, an invalid lead byte, an overlong form, a UTF-16
# surrogate, a code point above U+10FFFF.
_BAD_UTF8 = (b"\x80", b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80")
# Incomplete sequences, invalid only because the message ends there.
_TRUNCATED_UTF8 = (b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98")

_SMALL = 256  # payloads up to this size are drawn byte by byte (they shrink well)
_DEFAULT_MAX_FRAME = 70_000  # enough for all three length encodings
_DEFAULT_MAX_MESSAGE = 4096

_CLIENT = ConnectionType.CLIENT


def _check_sender(sender: ConnectionType) -> bool:
    if not isinstance(sender, ConnectionType):
        raise TypeError(f"sender must be a framer.ConnectionType, got {sender!r}")
    return sender is _CLIENT


def _check_limits(limits: Optional[Limits]) -> None:
    if limits is not None and not isinstance(limits, Limits):
        raise TypeError(f"limits must be a framer.Limits or None, got {limits!r}")


def _key(draw: st.DrawFn, masked: bool) -> bytes | None:
    return draw(st.binary(min_size=4, max_size=4)) if masked else None


def _text_filled(nbytes: int, next_char: Callable[[], str]) -> str:
    """Text of exactly ``nbytes`` UTF-8 bytes from ``next_char()``'s characters
    (an ``a`` where the next one would not fit)."""
    chars: list[str] = []
    left = nbytes
    while left:
        ch = next_char()
        size = len(ch.encode())
        if size > left:
            ch, size = "a", 1
        chars.append(ch)
        left -= size
    return "".join(chars)


def _text_of(rng: random.Random, nbytes: int) -> str:
    """Text of exactly ``nbytes`` UTF-8 bytes, with characters of every length."""
    return _text_filled(nbytes, lambda: rng.choice(_ALPHABET))


def _draw_text(draw: st.DrawFn, nbytes: int) -> str:
    if nbytes <= 32:
        # Small: drawn character by character so it shrinks to ASCII.
        return _text_filled(nbytes, lambda: draw(st.characters(codec="utf-8")))
    return _text_of(random.Random(draw(st.integers(0, 2**32 - 1))), nbytes)


def _draw_bytes(draw: st.DrawFn, nbytes: int) -> bytes:
    if nbytes <= _SMALL:
        return draw(st.binary(min_size=nbytes, max_size=nbytes))
    return random.Random(draw(st.integers(0, 2**32 - 1))).randbytes(nbytes)


def _draw_size(draw: st.DrawFn, lo: int, hi: int) -> int:
    """A size in [lo, hi], often one of the bounds."""
    return draw(st.one_of(st.sampled_from((lo, hi)), st.integers(lo, hi)))


def _message_event(text: bool, payload: bytes) -> Event:
    if text:
        return TextMessage(data=payload.decode("utf-8"))
    return BytesMessage(data=payload)


def _close_payload(draw: st.DrawFn) -> tuple[bytes, CloseConnection]:
    if draw(st.integers(0, 4)) == 0:
        return b"", CloseConnection(code=1005, reason="")
    code = draw(st.sampled_from(VALID_CLOSE_CODES))
    reason = _draw_text(draw, draw(st.integers(0, 30)))
    return code.to_bytes(2, "big") + reason.encode(), CloseConnection(code=code, reason=reason)


def _control(draw: st.DrawFn, masked: bool) -> tuple[bytes, Event]:
    """A ping or a pong with a short payload, and its event."""
    opcode = draw(st.sampled_from((OP_PING, OP_PONG)))
    payload = _draw_bytes(draw, draw(st.integers(0, 125)))
    event: Event = Ping(payload=payload) if opcode == OP_PING else Pong(payload=payload)
    return encode_frame(opcode, payload, mask=_key(draw, masked)), event


# -- valid single frames -------------------------------------------------------


@st.composite
def _frames(draw: st.DrawFn, masked: bool, limits: Optional[Limits], max_size: int) -> Traffic:
    allow_binary = limits is None or limits.allow_binary
    cap = max_size
    if limits is not None:
        cap = min(cap, limits.max_frame_size, limits.max_message_size)
    opcodes = [OP_TEXT, OP_PING, OP_PONG, OP_CLOSE] + ([OP_BINARY] if allow_binary else [])
    opcode = draw(st.sampled_from(opcodes))
    key = _key(draw, masked)
    if opcode == OP_CLOSE:
        payload, close = _close_payload(draw)
        return Traffic(encode_frame(OP_CLOSE, payload, mask=key), (close,))
    if opcode in (OP_PING, OP_PONG):
        payload = _draw_bytes(draw, draw(st.integers(0, 125)))
        event: Event = Ping(payload=payload) if opcode == OP_PING else Pong(payload=payload)
        return Traffic(encode_frame(opcode, payload, mask=key), (event,))
    # A data frame: every length encoding the cap allows (minimal encodings
    # only: RFC 6455 section 5.2 requires them).
    widths = [(0, min(125, cap))]
    if cap >= 126:
        widths.append((126, min(0xFFFF, cap)))
    if cap >= 0x10000:
        widths.append((0x10000, cap))
    lo, hi = draw(st.sampled_from(widths))
    size = _draw_size(draw, lo, hi)
    text = opcode == OP_TEXT
    payload = _draw_text(draw, size).encode() if text else _draw_bytes(draw, size)
    return Traffic(encode_frame(opcode, payload, mask=key), (_message_event(text, payload),))


def frames(
    sender: ConnectionType = _CLIENT,
    *,
    limits: Optional[Limits] = None,
    max_size: int = _DEFAULT_MAX_FRAME,
) -> st.SearchStrategy[Traffic]:
    """One valid frame that stands on its own, with the event it must produce.

    Text (valid UTF-8) and binary data frames with FIN set, pings, pongs and
    close frames (empty, or a valid code and a UTF-8 reason).  Data frames use
    every length encoding the size cap allows: 7-bit (0-125), 16-bit
    (126-65535) and 64-bit (65536 and more), often at the bounds.  The cap is
    ``max_size`` and, when ``limits`` is given, its frame and message sizes;
    binary frames appear only if ``limits`` allows them (or is None).
    Continuation frames come from :func:`messages`.
    """
    _check_limits(limits)
    masked = _check_sender(sender)
    if max_size < 0:
        raise ValueError(f"max_size must be >= 0, got {max_size}")
    return _frames(masked, limits, max_size)


# -- fragmented messages ---------------------------------------------------------


def _split(draw: st.DrawFn, size: int, max_frame: int, max_pieces: int) -> list[int]:
    """Sizes of the fragments of a ``size``-byte message, each at most ``max_frame``."""
    cuts = sorted(draw(st.lists(st.integers(0, size), max_size=max(0, max_pieces - 1))))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, size])]
    out: list[int] = []
    for piece in sizes:
        while piece > max_frame:
            out.append(max_frame)
            piece -= max_frame
        out.append(piece)
    return out


def _framed_message(
    draw: st.DrawFn,
    masked: bool,
    text: bool,
    payload: bytes,
    sizes: list[int],
    interleave: bool,
) -> Traffic:
    chunks: list[bytes] = []
    controls: list[Event] = []
    pos = 0
    for i, size in enumerate(sizes):
        if interleave and i and draw(st.integers(0, 3)) == 0:
            frame, event = _control(draw, masked)
            chunks.append(frame)
            controls.append(event)
        opcode = (OP_TEXT if text else OP_BINARY) if i == 0 else OP_CONTINUATION
        piece = payload[pos : pos + size]
        pos += size
        chunks.append(encode_frame(opcode, piece, fin=i == len(sizes) - 1, mask=_key(draw, masked)))
    return Traffic(
        b"".join(chunks), (*controls, _message_event(text, payload)), len(sizes) + len(controls)
    )


@st.composite
def _messages(
    draw: st.DrawFn,
    masked: bool,
    limits: Optional[Limits],
    max_size: int,
    max_fragments: int,
    interleave: bool,
) -> Traffic:
    max_frame = max(max_size, 1)
    cap = max_size
    allow_binary = True
    if limits is not None:
        max_frame = limits.max_frame_size
        cap = min(cap, limits.max_message_size)
        allow_binary = limits.allow_binary
    text = draw(st.booleans()) if allow_binary else True
    size = _draw_size(draw, 0, cap)
    payload = _draw_text(draw, size).encode() if text else _draw_bytes(draw, size)
    # Cuts may fall inside a UTF-8 sequence: only the whole message must be valid.
    sizes = _split(draw, size, max_frame, draw(st.integers(1, max_fragments)))
    return _framed_message(draw, masked, text, payload, sizes, interleave)


def messages(
    sender: ConnectionType = _CLIENT,
    *,
    limits: Optional[Limits] = None,
    max_size: int = _DEFAULT_MAX_MESSAGE,
    max_fragments: int = 6,
    interleave_control: bool = True,
) -> st.SearchStrategy[Traffic]:
    """One valid data message in fragments, maybe with pings and pongs between them.

    The message is text (valid UTF-8 as a whole; fragment boundaries may
    split a character) or binary (when ``limits`` allows it), of at most
    ``max_size`` bytes and ``limits.max_message_size``, cut into up to
    ``max_fragments`` frames (more if ``limits.max_frame_size`` requires),
    including empty ones.  The events are the interleaved control frames'
    ``Ping``/``Pong``, then the whole message.
    """
    _check_limits(limits)
    masked = _check_sender(sender)
    if max_size < 0 or max_fragments < 1:
        raise ValueError(f"need max_size >= 0 and max_fragments >= 1, got {max_size}, {max_fragments}")
    return _messages(masked, limits, max_size, max_fragments, interleave_control)


# -- at and over the limits --------------------------------------------------------


@st.composite
def _at_limits(draw: st.DrawFn, masked: bool, limits: Limits) -> Traffic:
    frame_cap = min(limits.max_frame_size, limits.max_message_size)
    text = draw(st.booleans()) if limits.allow_binary else True
    case = draw(st.sampled_from(("frame", "message")))
    if case == "frame":
        size = frame_cap - draw(st.integers(0, 1))
        sizes = [size]
    else:
        size = limits.max_message_size - draw(st.integers(0, 1))
        full, rest = divmod(size, limits.max_frame_size)
        sizes = [limits.max_frame_size] * full + ([rest] if rest or not full else [])
        if draw(st.booleans()) and len(sizes) > 1 and sizes[0] > 1:
            # The same message with a smaller first fragment: a receiver that
            # counts frames rather than bytes gets this wrong.
            first = draw(st.integers(1, sizes[0] - 1))
            sizes = [first, sizes[0] - first] + sizes[1:]
    seed = draw(st.integers(0, 2**32 - 1))
    rng = random.Random(seed)
    payload = _text_of(rng, size).encode() if text else rng.randbytes(size)
    return _framed_message(draw, masked, text, payload, sizes, draw(st.booleans()))


def at_limits(limits: Limits, sender: ConnectionType = _CLIENT) -> st.SearchStrategy[Traffic]:
    """Valid messages at and one byte under ``limits``: they must be accepted.

    A single frame of ``max_frame_size`` (or ``max_frame_size - 1``) bytes,
    and a message of ``max_message_size`` (or one less) in frames of at most
    ``max_frame_size``; text, or binary too when ``limits.allow_binary``.
    With API Gateway's limits: 32768-byte frames and 131072-byte messages in
    4 frames.  Payloads are as large as the limits: mind ``Limits.general()``'s
    64 MiB.
    """
    _check_limits(limits)
    return _at_limits(_check_sender(sender), limits)


def _over_frame(draw: st.DrawFn, masked: bool, limits: Limits) -> InvalidFrame:
    size = limits.max_frame_size + 1
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    payload = _text_of(rng, size).encode()
    return InvalidFrame(
        encode_frame(OP_TEXT, payload, mask=_key(draw, masked)),
        1009,
        f"text frame of {size} bytes, one over max_frame_size",
    )


def _over_message(draw: st.DrawFn, masked: bool, limits: Limits) -> InvalidFrame:
    size = limits.max_message_size + 1
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    payload = _text_of(rng, size).encode()
    full, rest = divmod(size, limits.max_frame_size)
    sizes = [limits.max_frame_size] * full + ([rest] if rest else [])
    traffic = _framed_message(draw, masked, True, payload, sizes, False)
    return InvalidFrame(
        traffic.data, 1009, f"text message of {size} bytes in {len(sizes)} frames, one over max_message_size"
    )


def _huge_header(draw: st.DrawFn, masked: bool) -> InvalidFrame:
    length = draw(st.sampled_from((2**63 - 1, 2**32, 2**31)))
    return InvalidFrame(
        encode_frame(OP_TEXT, b"", mask=_key(draw, masked), width=64, length=length),
        1009,
        f"header announcing a {length}-byte text frame (header only)",
    )


def _binary(draw: st.DrawFn, masked: bool) -> InvalidFrame:
    payload = _draw_bytes(draw, draw(st.integers(0, 64)))
    return InvalidFrame(
        encode_frame(OP_BINARY, payload, mask=_key(draw, masked)),
        1003,
        "binary frame where only text is accepted",
    )


@st.composite
def _over_limits(draw: st.DrawFn, masked: bool, limits: Limits) -> InvalidFrame:
    cases = ["frame", "message", "header"]
    if not limits.allow_binary:
        cases.append("binary")
    case = draw(st.sampled_from(cases))
    if case == "frame":
        return _over_frame(draw, masked, limits)
    if case == "message":
        return _over_message(draw, masked, limits)
    if case == "header":
        return _huge_header(draw, masked)
    return _binary(draw, masked)


def over_limits(limits: Limits, sender: ConnectionType = _CLIENT) -> st.SearchStrategy[InvalidFrame]:
    """Traffic one byte over ``limits``, labelled with the code it must get.

    A text frame of ``max_frame_size + 1`` bytes (1009); a text message of
    ``max_message_size + 1`` bytes in full-size frames (1009); a header alone
    announcing a frame of 2**31, 2**32 or 2**63-1 bytes (1009: a receiver must
    refuse it before any payload arrives); and when ``limits`` refuses binary,
    a binary frame (1003).
    """
    _check_limits(limits)
    return _over_limits(_check_sender(sender), limits)


# -- protocol violations -------------------------------------------------------------


def _small_text(draw: st.DrawFn, cap: int) -> bytes:
    return _draw_text(draw, draw(st.integers(0, min(cap, 40)))).encode()


def _defect(draw: st.DrawFn, masked: bool, cap: int, non_minimal: bool) -> InvalidFrame:
    """One frame (maybe after valid ones) with exactly one defect."""
    key = _key(draw, masked)
    kinds = [
        "rsv", "opcode", "fragmented control", "long control", "mask",
        "orphan continuation", "interrupted message", "msb length",
        "bad utf-8", "bad utf-8 fragment", "truncated utf-8",
        "close 1 byte", "close code", "close reason utf-8",
    ]
    if non_minimal:
        kinds.append("non-minimal length")
    kind = draw(st.sampled_from(kinds))
    if kind == "rsv":
        rsv = draw(st.integers(1, 7))
        opcode = draw(st.sampled_from((OP_TEXT, OP_PING, OP_PONG)))
        payload = _small_text(draw, cap)
        return InvalidFrame(encode_frame(opcode, payload, rsv=rsv, mask=key), 1002,
                            f"RSV bits {rsv:#x} set with no extension negotiated")
    if kind == "opcode":
        opcode = draw(st.sampled_from((3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF)))
        payload = _draw_bytes(draw, draw(st.integers(0, min(cap, 20))))
        return InvalidFrame(encode_frame(opcode, payload, mask=key), 1002, f"reserved opcode {opcode:#x}")
    if kind == "fragmented control":
        opcode = draw(st.sampled_from((OP_PING, OP_PONG, OP_CLOSE)))
        return InvalidFrame(encode_frame(opcode, b"", fin=False, mask=key), 1002,
                            "control frame without FIN")
    if kind == "long control":
        opcode = draw(st.sampled_from((OP_PING, OP_PONG, OP_CLOSE)))
        size = draw(st.integers(126, 200))
        payload = (1000).to_bytes(2, "big") + b"x" * (size - 2) if opcode == OP_CLOSE else b"x" * size
        return InvalidFrame(encode_frame(opcode, payload, mask=key), 1002,
                            f"control frame with a {size}-byte payload (over 125)")
    if kind == "mask":
        wrong = None if masked else draw(st.binary(min_size=4, max_size=4))
        payload = _small_text(draw, cap)
        what = "unmasked frame from a client" if masked else "masked frame from a server"
        return InvalidFrame(encode_frame(OP_TEXT, payload, mask=wrong), 1002, what)
    if kind == "orphan continuation":
        return InvalidFrame(encode_frame(OP_CONTINUATION, _small_text(draw, cap), mask=key), 1002,
                            "continuation frame with no message in progress")
    if kind == "interrupted message":
        first = encode_frame(OP_TEXT, b"ab"[: min(cap, 2)], fin=False, mask=key)
        second = encode_frame(OP_TEXT, b"c"[: min(cap, 1)], mask=_key(draw, masked))
        return InvalidFrame(first + second, 1002, "new data frame before the previous message finished")
    if kind == "msb length":
        length = 2**63 + draw(st.integers(0, 2**63 - 1))
        head = bytes((0x81, (0x80 if masked else 0) | 127)) + length.to_bytes(8, "big")
        return InvalidFrame(head + (key or b""), 1002,
                            "64-bit length with the most significant bit set (header only)")
    if kind == "non-minimal length":
        if cap >= 126 and draw(st.booleans()):
            size = draw(st.integers(126, min(cap, 300)))
            width = 64
        else:
            size = draw(st.integers(0, min(cap, 125)))
            width = draw(st.sampled_from((16, 64)))
        return InvalidFrame(encode_frame(OP_TEXT, b"a" * size, mask=key, width=width), 1002,
                            f"{size}-byte payload with a non-minimal {width}-bit length")
    if kind in ("bad utf-8", "bad utf-8 fragment", "truncated utf-8"):
        bad = draw(st.sampled_from(_TRUNCATED_UTF8 if kind == "truncated utf-8" else _BAD_UTF8))
        room = max(0, cap - len(bad))
        before = _draw_text(draw, draw(st.integers(0, min(room, 20)))).encode()
        after = b"" if kind == "truncated utf-8" else b"z" * draw(st.integers(0, min(room - len(before), 5)))
        payload = before + bad + after
        if kind == "bad utf-8":
            return InvalidFrame(encode_frame(OP_TEXT, payload, mask=key), 1007,
                                f"text frame with invalid UTF-8 {bad!r}")
        # In pieces: the invalid sequence may be split between frames.
        cut = draw(st.integers(0, len(payload)))
        data = encode_frame(OP_TEXT, payload[:cut], fin=False, mask=key) + encode_frame(
            OP_CONTINUATION, payload[cut:], mask=_key(draw, masked)
        )
        what = "ends inside a UTF-8 sequence" if kind == "truncated utf-8" else f"has invalid UTF-8 {bad!r}"
        return InvalidFrame(data, 1007, f"text message in 2 fragments {what}")
    if kind == "close 1 byte":
        return InvalidFrame(encode_frame(OP_CLOSE, b"\x03", mask=key), 1002, "close frame with a 1-byte payload")
    if kind == "close code":
        code = draw(st.one_of(st.sampled_from(INVALID_CLOSE_CODES), st.integers(1016, 2999)))
        return InvalidFrame(encode_frame(OP_CLOSE, code.to_bytes(2, "big"), mask=key), 1002,
                            f"close frame with invalid code {code}")
    bad = draw(st.sampled_from(_BAD_UTF8 + _TRUNCATED_UTF8))
    return InvalidFrame(encode_frame(OP_CLOSE, (1000).to_bytes(2, "big") + b"ok" + bad, mask=key), 1007,
                        "close reason that is not valid UTF-8")


@st.composite
def _invalid_frames(draw: st.DrawFn, masked: bool, limits: Optional[Limits], non_minimal: bool) -> InvalidFrame:
    cap = 125 if limits is None else min(125, limits.max_frame_size, limits.max_message_size)
    if limits is not None and draw(st.integers(0, 3)) == 0:
        bad = draw(_over_limits(masked, limits))
    else:
        bad = _defect(draw, masked, cap, non_minimal)
    if draw(st.integers(0, 3)) == 0:
        # Valid traffic first: the defect must be found wherever it is.
        before = draw(_messages(masked, limits, min(64, cap), 3, True))
        return InvalidFrame(before.data + bad.data, bad.code, bad.why)
    return bad


def invalid_frames(
    sender: ConnectionType = _CLIENT,
    *,
    limits: Optional[Limits] = None,
    non_minimal_lengths: bool = True,
) -> st.SearchStrategy[InvalidFrame]:
    """Traffic ending in one defect, labelled with the close code it must get.

    1002 for protocol errors (RFC 6455 sections 5.2-5.5, 7.4): RSV bits
    without an extension, reserved opcodes, fragmented or over-125-byte
    control frames, wrong masking for the sender's role, a continuation with
    no message or a new message inside one, a 64-bit length with its top bit
    set, a length not in its minimal encoding (leave out with
    ``non_minimal_lengths=False``: many endpoints accept those), close frames
    with a 1-byte payload or an invalid code.  1007 for invalid UTF-8 in a
    text message (whole, split across fragments, or ending mid-sequence) or a
    close reason.  With ``limits``, also :func:`over_limits` (1009, 1003).
    Sometimes valid messages come first.
    """
    _check_limits(limits)
    return _invalid_frames(_check_sender(sender), limits, non_minimal_lengths)
