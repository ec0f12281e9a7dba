"""permessage-deflate (RFC 7692): negotiation, and compression bounded by the message limit.

Independent of the engine: the parameters, their negotiation, one
:class:`Deflater` per sending direction and one :class:`Inflater` per
receiving direction.  :class:`PerMessageDeflate` has the constructor and the
``offer``/``accept``/``finalize`` methods of ``wsproto.extensions.PerMessageDeflate``
and its frame hooks, so it can be passed wherever wsproto takes
``extensions=``; inside framer's engine the Deflater/Inflater pair is used
directly.

Decompression is bounded: an :class:`Inflater` never produces more than
``max_message_size + 1`` bytes of one message (zlib's ``max_length``), so a
small compressed frame announcing gigabytes costs at most the limit in
memory and closes with 1009.

How an engine uses it (one connection, ``ext`` negotiated by wsproto's
handshake through ``extensions=[ext]``, ``ext.enabled()`` true afterwards):

* at open: ``inflater = ext.inflater(client, limits.max_message_size)`` and
  ``deflater = ext.deflater(client)``;
* receiving: RSV1 on the first frame of a data message marks it compressed;
  RSV1 on a continuation or control frame, or on any frame without the
  extension, is 1002.  ``max_frame_size`` applies to the payload as sent;
  each unmasked payload of a compressed message goes through
  ``inflater.feed(payload)``, and at FIN ``inflater.finish()`` gives the last
  bytes; the message size limit is the inflater's (on decompressed bytes),
  not a sum of wire lengths.  UTF-8 is checked on the decompressed text.  A
  :class:`DecompressionError` fails the connection with its ``violation``;
* sending: ``deflater.compress(payload)`` for a whole message (or
  ``compress(part, fin)`` per part), then framing as usual with RSV1 on the
  first frame only; ``max_message_size`` applies before compression,
  fragmentation at ``max_frame_size`` to the compressed bytes.

Sources: RFC 7692 sections 7.1 (parameters: each at most once, window bits
8..15, ``client_max_window_bits`` may come without a value in an offer), 7.2.1
(a message is compressed, then the trailing ``00 00 ff ff`` of a sync flush is
removed), 7.2.2 (the receiver appends it back), 7.2.3.2 (zlib cannot use a
window of 8 bits: like websockets and wsproto, 9..15 are accepted).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from wsproto.extensions import Extension
from wsproto.extensions import PerMessageDeflate as _WsprotoDeflate
from wsproto.frame_protocol import CloseReason, FrameDecoder, FrameProtocol, Opcode, RsvBits

from ._errors import ProtocolViolation
from ._limits import GENERAL_MAX_MESSAGE_SIZE

__all__ = [
    "COMPRESSED",
    "DecompressionError",
    "DeflateParameters",
    "Deflater",
    "Inflater",
    "PerMessageDeflate",
    "negotiated",
    "rsv_error",
]

NAME = "permessage-deflate"
MIN_WINDOW_BITS = 9
MAX_WINDOW_BITS = 15
# RFC 7692 section 7.2.1: the tail of a sync flush, removed by the sender.
_SYNC_TAIL = b"\x00\x00\xff\xff"
#: The largest window framer compresses with, and zlib's memLevel for it (as
#: websockets does): the agreed window bits bound what a sender may use, not
#: what it must (RFC 7692 section 7.1.2), and a receiver with a larger window
#: reads it.  Against zlib's defaults (15 bits, memLevel 8) it takes about
#: 200 KiB less memory per connection and compresses 32 KiB of text about 2.5x
#: faster when the previous message is still in the window, for a somewhat
#: lower ratio.
SEND_WINDOW_BITS = 12
SEND_MEM_LEVEL = 5
#: Compressed bytes handed to zlib at a time by :meth:`Inflater.feed`.
INPUT_SLICE = 64 * 1024
_TOO_BIG = CloseReason.MESSAGE_TOO_BIG
_BAD_DATA = CloseReason.INVALID_FRAME_PAYLOAD_DATA
_FLAGS = ("server_no_context_takeover", "client_no_context_takeover")
#: RSV1, the bit of a frame's first byte that marks a compressed message
#: (RFC 7692 section 6).  The engine's readers also OR it into the opcode of
#: every data frame of a compressed message, so one opcode test routes them.
COMPRESSED = 0x40
_BITS = ("server_max_window_bits", "client_max_window_bits")


class DecompressionError(Exception):
    """The peer's compressed message broke the protocol or the size limit.

    :attr:`violation` is the close code (1007 corrupt data, 1009 too big) and
    reason to fail the connection with.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.violation = ProtocolViolation(code, reason)


def _window_bits(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if not MIN_WINDOW_BITS <= value <= MAX_WINDOW_BITS:
        raise ValueError(
            f"{name} must be between {MIN_WINDOW_BITS} and {MAX_WINDOW_BITS}, got {value}"
        )
    return value


def rsv_error(first_byte: int, negotiated: bool) -> str | None:
    """Why a frame whose first byte has reserved bits set is a 1002, or ``None``.

    Only RSV1 has a meaning, and only with permessage-deflate negotiated, on
    the first frame of a data message (RFC 7692 section 6: not on control
    frames, not on continuation frames; RFC 6455 section 5.2: a reserved bit
    no extension defines fails the connection).  A frame this accepts starts
    a compressed message.
    """
    if not negotiated or first_byte & 0x30:
        return "reserved bits set with no extension negotiated"
    opcode = first_byte & 0x0F
    if opcode >= 8:
        return "RSV1 set on a control frame"
    if opcode == 0:
        return "RSV1 set on a continuation frame (only a message's first frame has it)"
    return None


@dataclass(frozen=True)
class DeflateParameters:
    """The four parameters of RFC 7692 section 7.1, as offered or agreed.

    A window size of ``None`` is a parameter that is absent; in an offer,
    ``client_max_window_bits=True`` is the parameter without a value (the
    client supports the server's choosing one).
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | bool | None = None

    def __post_init__(self) -> None:
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.server_max_window_bits is not None:
            _window_bits("server_max_window_bits", self.server_max_window_bits)
        bits = self.client_max_window_bits
        if bits is not None and bits is not True:  # True: offered without a value
            _window_bits("client_max_window_bits", bits)

    @classmethod
    def parse(cls, header: str) -> DeflateParameters:
        """Read ``permessage-deflate; a; b=1`` (one extension of a header).

        Raises ``ValueError`` naming the parameter that RFC 7692 forbids:
        unknown, repeated, a flag with a value, or bits out of 9..15.
        """
        name, *params = (part.strip() for part in header.split(";"))
        if name != NAME:
            raise ValueError(f"not a {NAME} extension: {header!r}")
        found: dict[str, bool | int] = {}
        for param in params:
            key, eq, raw = (s.strip() for s in param.partition("="))
            if key in found:
                raise ValueError(f"{NAME} parameter {key} appears twice in {header!r}")
            if key in _FLAGS:
                if eq:
                    raise ValueError(f"{NAME} parameter {key} takes no value in {header!r}")
                found[key] = True
            elif key in _BITS:
                if not eq:
                    found[key] = True  # only valid for client_max_window_bits, checked below
                    continue
                value = raw.strip('"')
                if not value.isdigit():
                    raise ValueError(f"{NAME} parameter {key}={raw} is not a number")
                found[key] = int(value)
            else:
                raise ValueError(f"unknown {NAME} parameter {key!r} in {header!r}")
        if found.get("server_max_window_bits") is True:
            raise ValueError(f"{NAME} parameter server_max_window_bits needs a value")
        return cls(**found)  # type: ignore[arg-type]

    def _window(self, sender_is_client: bool) -> int:
        bits = self.client_max_window_bits if sender_is_client else self.server_max_window_bits
        return MAX_WINDOW_BITS if bits is None or bits is True else bits

    def _no_context_takeover(self, sender_is_client: bool) -> bool:
        if sender_is_client:
            return self.client_no_context_takeover
        return self.server_no_context_takeover

    def deflater(self, client: bool) -> Deflater:
        """The compressor for what this end (``client`` or server) sends."""
        window = min(self._window(client), SEND_WINDOW_BITS)
        return Deflater(window, self._no_context_takeover(client))

    def inflater(self, client: bool, max_message_size: int) -> Inflater:
        """The decompressor for what this end receives, bounded by ``max_message_size``."""
        sender = not client
        return Inflater(self._window(sender), self._no_context_takeover(sender), max_message_size)

    def header(self) -> str:
        """This as a ``Sec-WebSocket-Extensions`` value's parameters (no name)."""
        parts = [name for name in _FLAGS if getattr(self, name)]
        for name in _BITS:
            value = getattr(self, name)
            if value is True:
                parts.append(name)
            elif value is not None:
                parts.append(f"{name}={value}")
        return "; ".join(parts)


class Deflater:
    """Compresses one direction's messages (RFC 7692 section 7.2.1)."""

    def __init__(self, window_bits: int, no_context_takeover: bool) -> None:
        self.window_bits = _window_bits("window_bits", window_bits)
        self.no_context_takeover = no_context_takeover
        self._zlib = self._new()

    def _new(self) -> zlib._Compress:
        return zlib.compressobj(
            zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self.window_bits, SEND_MEM_LEVEL
        )

    def compress(self, data: bytes | bytearray | memoryview, fin: bool = True) -> bytes:
        """The compressed bytes for a message, or for one part of it (``fin=False``).

        At the end of the message the sync flush's tail is removed, and the
        context is dropped under ``no_context_takeover``.
        """
        out = self._zlib.compress(data)
        if not fin:
            return out
        out += self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self.no_context_takeover:
            self._zlib = self._new()
        return out[:-4] if out.endswith(_SYNC_TAIL) else out


class Inflater:
    """Decompresses one direction's messages, never past ``max_message_size + 1`` bytes."""

    def __init__(self, window_bits: int, no_context_takeover: bool, max_message_size: int) -> None:
        self.window_bits = _window_bits("window_bits", window_bits)
        self.no_context_takeover = no_context_takeover
        if isinstance(max_message_size, bool) or not isinstance(max_message_size, int):
            raise TypeError(f"max_message_size must be an int, got {max_message_size!r}")
        if max_message_size < 1:
            raise ValueError(f"max_message_size must be at least 1, got {max_message_size}")
        self.max_message_size = max_message_size
        self._zlib = zlib.decompressobj(-self.window_bits)
        self._size = 0  # bytes of the current message produced so far

    def feed(self, data: bytes | bytearray | memoryview, fin: bool = False) -> bytes:
        """The decompressed bytes of one more frame payload of the message.

        With ``fin`` the payload is the message's last and the result ends
        the message (as :meth:`finish` does; a small last payload goes to zlib
        in one call with the sync flush tail).  Raises
        :class:`DecompressionError` (1009) as soon as the message would pass
        ``max_message_size``, or (1007) on corrupt data.  The input goes to
        zlib in slices of :data:`INPUT_SLICE` bytes, so the input zlib holds
        back (its ``unconsumed_tail``) is a slice, not the frame.
        """
        if len(data) <= INPUT_SLICE:
            if fin:
                out = self._inflate(b"".join((data, _SYNC_TAIL)), tail=True)
                self._end_message()
                return out
            return self._inflate(data)
        view = memoryview(data)
        out = b"".join(
            [self._inflate(view[i : i + INPUT_SLICE]) for i in range(0, len(view), INPUT_SLICE)]
        )
        return out + self.finish() if fin else out

    def _inflate(self, data: memoryview | bytes | bytearray, tail: bool = False) -> bytes:
        room = self.max_message_size - self._size
        try:
            # max_length bounds the output: at most one byte past the limit.
            out = self._zlib.decompress(data, room + 1)
        except zlib.error as exc:
            raise DecompressionError(_BAD_DATA, f"invalid compressed data: {exc}") from None
        if len(out) > room:
            raise DecompressionError(
                _TOO_BIG,
                f"decompressed message exceeds max_message_size={self.max_message_size} bytes",
            )
        unused = self._zlib.unused_data
        if unused and not (tail and unused == _SYNC_TAIL):
            # (With ``tail``, the appended tail is left over after a final block.)
            raise DecompressionError(_BAD_DATA, "data after the end of the compressed stream")
        self._size += len(out)
        return out

    def finish(self) -> bytes:
        """The message's last decompressed bytes, once its final frame is fed."""
        out = self._inflate(_SYNC_TAIL) if not self._zlib.eof else b""
        self._end_message()
        return out

    def _end_message(self) -> None:
        self._size = 0
        if self.no_context_takeover or self._zlib.eof:
            # A final deflate block (BFINAL) also ends the context.
            self._zlib = zlib.decompressobj(-self.window_bits)


class PerMessageDeflate(Extension):
    """permessage-deflate for ``extensions=``, as ``wsproto.extensions.PerMessageDeflate``.

    The constructor's parameters are what this end offers (client) or
    requires (server); ``max_message_size`` bounds decompression.  Once
    negotiated, :attr:`agreed` holds the parameters in force and
    :meth:`deflater`/:meth:`inflater` give the compression objects for
    either role.
    """

    name = NAME

    def __init__(
        self,
        client_no_context_takeover: bool = False,
        client_max_window_bits: int | None = None,
        server_no_context_takeover: bool = False,
        server_max_window_bits: int | None = None,
        *,
        max_message_size: int = GENERAL_MAX_MESSAGE_SIZE,
    ) -> None:
        self.wanted = DeflateParameters(
            server_no_context_takeover=server_no_context_takeover,
            client_no_context_takeover=client_no_context_takeover,
            server_max_window_bits=server_max_window_bits,
            client_max_window_bits=client_max_window_bits,
        )
        self.max_message_size = max_message_size
        self.agreed: DeflateParameters | None = None
        # wsproto's frame hooks: the directions' objects and the message state.
        self._deflater: Deflater | None = None
        self._inflater: Inflater | None = None
        self._inbound_compressed = False

    def enabled(self) -> bool:
        return self.agreed is not None

    # -- negotiation ----------------------------------------------------------

    def offer(self) -> str:
        """Client: the offer's parameters.  A client may take any server window, so
        ``client_max_window_bits`` is offered (RFC 7692 section 7.1.2.2)."""
        wanted = self.wanted
        if wanted.client_max_window_bits is None:
            wanted = replace(wanted, client_max_window_bits=True)
        return wanted.header()

    def accept(self, offer: str) -> str | None:
        """Server: the response's parameters to one offer (``permessage-deflate; ...``),
        or ``None`` to decline it."""
        if self.agreed is not None:
            return self.agreed.header()  # the first acceptable offer of several wins
        try:
            offered = DeflateParameters.parse(offer)
        except (TypeError, ValueError):
            return None
        wanted = self.wanted
        client_bits = wanted.client_max_window_bits
        if client_bits is not None:
            if offered.client_max_window_bits is None:
                return None  # we require a smaller client window; the client cannot
            if offered.client_max_window_bits is not True:
                client_bits = min(client_bits, offered.client_max_window_bits)
        server_bits = wanted.server_max_window_bits
        if offered.server_max_window_bits is not None:
            server_bits = min(server_bits or MAX_WINDOW_BITS, offered.server_max_window_bits)
        self.agreed = DeflateParameters(
            server_no_context_takeover=wanted.server_no_context_takeover
            or offered.server_no_context_takeover,
            client_no_context_takeover=wanted.client_no_context_takeover
            or offered.client_no_context_takeover,
            server_max_window_bits=server_bits,
            client_max_window_bits=client_bits,
        )
        return self.agreed.header()

    def finalize(self, offer: str) -> None:
        """Client: take the server's response, ``permessage-deflate; ...``.

        Raises ``ValueError`` when the response breaks RFC 7692 section 7.1
        or asks for what was not offered.
        """
        agreed = DeflateParameters.parse(offer)
        if agreed.client_max_window_bits is True:
            raise ValueError(f"{NAME} response: client_max_window_bits needs a value")
        wanted = self.wanted
        if wanted.server_no_context_takeover and not agreed.server_no_context_takeover:
            raise ValueError(f"{NAME} response lacks the server_no_context_takeover offered")
        limit = wanted.server_max_window_bits
        if limit is not None and (agreed.server_max_window_bits or MAX_WINDOW_BITS) > limit:
            raise ValueError(f"{NAME} response: server_max_window_bits over the {limit} offered")
        self.agreed = agreed

    # -- the compression objects ------------------------------------------------

    def _agreed(self) -> DeflateParameters:
        if self.agreed is None:
            raise RuntimeError(f"{NAME} was not negotiated")
        return self.agreed

    def deflater(self, client: bool) -> Deflater:
        """The compressor for what this end (``client`` or server) sends."""
        return self._agreed().deflater(client)

    def inflater(self, client: bool, max_message_size: int) -> Inflater:
        """The decompressor for what this end receives, bounded by ``max_message_size``."""
        return self._agreed().inflater(client, max_message_size)

    # -- wsproto's frame hooks ------------------------------------------------------

    def frame_inbound_header(
        self, proto: FrameDecoder | FrameProtocol, opcode: Opcode, rsv: RsvBits, payload_length: int
    ) -> CloseReason | RsvBits:
        if rsv.rsv1 and (opcode.iscontrol() or opcode is Opcode.CONTINUATION):
            return CloseReason.PROTOCOL_ERROR
        if opcode is not Opcode.CONTINUATION and not opcode.iscontrol():
            self._inbound_compressed = rsv.rsv1
            if rsv.rsv1 and self._inflater is None:
                self._inflater = self.inflater(proto.client, self.max_message_size)
        return RsvBits(True, False, False)

    def frame_inbound_payload_data(
        self, proto: FrameDecoder | FrameProtocol, data: bytes
    ) -> bytes | CloseReason:
        if not self._inbound_compressed or self._inflater is None:
            return data
        try:
            return self._inflater.feed(data)
        except DecompressionError as exc:
            return CloseReason(exc.violation.code)

    def frame_inbound_complete(
        self, proto: FrameDecoder | FrameProtocol, fin: bool
    ) -> bytes | CloseReason | None:
        if not fin or not self._inbound_compressed or self._inflater is None:
            return None
        self._inbound_compressed = False
        try:
            return self._inflater.finish()
        except DecompressionError as exc:
            return CloseReason(exc.violation.code)

    def frame_outbound(
        self,
        proto: FrameDecoder | FrameProtocol,
        opcode: Opcode,
        rsv: RsvBits,
        data: bytes,
        fin: bool,
    ) -> tuple[RsvBits, bytes]:
        if opcode.iscontrol():
            return rsv, data
        if opcode is not Opcode.CONTINUATION:
            rsv = RsvBits(True, rsv.rsv2, rsv.rsv3)
        if self._deflater is None:
            self._deflater = self.deflater(proto.client)
        return rsv, self._deflater.compress(data, fin)

    def __repr__(self) -> str:
        return f"<framer PerMessageDeflate {(self.agreed or self.wanted).header() or '(defaults)'}>"


def negotiated(extensions: Sequence[Extension]) -> DeflateParameters | None:
    """The permessage-deflate parameters in force after a handshake, if any.

    ``extensions`` are what wsproto's handshake agreed on: framer's
    :class:`PerMessageDeflate`, or ``wsproto.extensions.PerMessageDeflate``,
    whose negotiation leaves the parameters on its attributes (both window
    sizes always set, 15 by default).
    """
    for ext in extensions:
        if not ext.enabled():
            continue
        if isinstance(ext, PerMessageDeflate):
            return ext.agreed
        if isinstance(ext, _WsprotoDeflate):
            return DeflateParameters(
                server_no_context_takeover=bool(ext.server_no_context_takeover),
                client_no_context_takeover=bool(ext.client_no_context_takeover),
                server_max_window_bits=ext.server_max_window_bits,
                client_max_window_bits=ext.client_max_window_bits,
            )
    return None
