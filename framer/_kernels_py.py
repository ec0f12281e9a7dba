"""The engine's byte kernels in Python: the pure twin's half of "rules once, kernels twice".

The frame rules are written once, in ``_reader_py`` and ``_writer_py``; they
move and check bytes only through the names below.  ``_kernels_c`` (over ``_kernels.c``)
has the same names with the same behaviour, and the compiled reader uses
those instead (its ``.pxd`` cimports them over this module's imports, as
aiohttp's reader does with its mask).  Nothing here knows a frame: only
bytes, masks, UTF-8, and how a message's bytes are kept until it ends.

A mask key is opaque to the rules: ``read_key`` makes one, ``NO_KEY`` means
"not masked" (here a 4-byte ``bytes`` or ``b""``; in C an integer).
"""

from __future__ import annotations

from codecs import utf_8_decode
from collections import deque
from typing import Callable, Iterator, TypeVar, Union

from wsproto.events import BytesMessage, Event, Ping, Pong, TextMessage

__all__ = [
    "INVALID_UTF8",
    "NO_KEY",
    "TRUNCATED_UTF8",
    "MessageBuffer",
    "control_event",
    "drain",
    "frames_buffer",
    "frames_bytes",
    "frame",
    "mask",
    "mask_inplace",
    "message_buffer",
    "message_event",
    "no_key",
    "put_frame",
    "read_key",
    "unmask",
    "utf8",
    "utf8_size",
    "xor_key",
    "whole_bytes",
    "whole_text",
]

Buffer = Union[bytes, bytearray, memoryview]
Key = bytes

NO_KEY: Key = b""
# What a text kernel returns instead of a str when the bytes are not UTF-8.
INVALID_UTF8 = 1  # a byte no valid UTF-8 can continue with
TRUNCATED_UTF8 = 2  # valid so far, but the message ends inside a sequence

_new = object.__new__

_M = TypeVar("_M", TextMessage, BytesMessage)
_C = TypeVar("_C", Ping, Pong)


def message_event(cls: type[_M], data: str | bytes) -> _M:
    """``cls(data=data)`` without the frozen dataclass's ``__init__`` (about 3x cheaper)."""
    event = _new(cls)
    fields = event.__dict__
    fields["data"] = data
    fields["frame_finished"] = True
    fields["message_finished"] = True
    return event


def control_event(cls: type[_C], payload: bytes) -> _C:
    """``cls(payload=payload)`` for a ping or a pong."""
    return cls(payload=payload)


_XOR_TABLES: dict[int, bytes] = {}


def _xor_table(byte: int) -> bytes:
    table = _XOR_TABLES.get(byte)
    if table is None:
        table = _XOR_TABLES[byte] = bytes(b ^ byte for b in range(256))
    return table


def mask(data: Buffer, key: Buffer, offset: int = 0) -> bytes:
    """XOR ``data`` with the 4-byte ``key`` (RFC 6455 section 5.3).

    ``offset`` is how many payload bytes of the same frame came before
    ``data``: masking is position-dependent, so a payload unmasked in pieces
    needs it.  Masking and unmasking are the same operation.
    """
    if len(key) != 4:
        raise ValueError(f"mask key must be 4 bytes, got {len(key)}")
    return xor_key(data, bytes(key), offset)


def xor_key(data: Buffer, key: bytes, offset: int = 0) -> bytes:
    """``mask`` for a ``key`` known to be 4 ``bytes`` (read from a frame, or made
    by ``os.urandom(4)``): the engine's own calls skip the caller checks."""
    n = len(data)
    if n == 0:
        return b""
    offset &= 3
    if offset:
        key = key[offset:] + key[:offset]
    if n < 512:
        # Small payloads: one big-integer XOR.
        repeated = key * ((n >> 2) + 1)
        value = int.from_bytes(data, "little") ^ int.from_bytes(repeated[:n], "little")
        return value.to_bytes(n, "little")
    # Larger ones: every 4th byte shares a key byte, so XOR is a translation
    # of 4 strided slices (about 2.5x faster than the integer XOR at 32 KiB).
    buf = bytearray(data)
    for i in range(4):
        buf[i::4] = buf[i::4].translate(_xor_table(key[i]))
    return bytes(buf)


def mask_inplace(buffer: bytearray | memoryview, key: Buffer, offset: int = 0) -> None:
    """XOR a writable buffer (bytearray, writable memoryview) with ``key`` in place."""
    view = memoryview(buffer)
    if view.readonly:
        raise TypeError(f"mask_inplace needs a writable buffer, got {type(buffer).__name__}")
    view[:] = mask(view, key, offset)


def no_key() -> Key:
    """The key of an unmasked frame."""
    return NO_KEY


def read_key(data: bytes, pos: int) -> Key:
    """The mask key at ``data[pos:pos + 4]``."""
    return data[pos : pos + 4]


def unmask(data: bytes, pos: int, n: int, key: Key, offset: int) -> bytes:
    """``data[pos:pos + n]`` unmasked with ``key`` (``offset`` bytes of the frame before it)."""
    chunk = data[pos : pos + n]
    return xor_key(chunk, key, offset) if key else chunk


def whole_bytes(data: bytes, pos: int, n: int, key: Key) -> bytes:
    """A binary message that is all of ``data[pos:pos + n]``."""
    chunk = data[pos : pos + n]
    return xor_key(chunk, key, 0) if key else chunk


def whole_text(data: bytes, pos: int, n: int, key: Key) -> str | int:
    """A text message that is all of ``data[pos:pos + n]``, or why it is not UTF-8."""
    chunk = data[pos : pos + n]
    if key:
        chunk = xor_key(chunk, key, 0)
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError:
        # CPython refuses it; say whether it is bad or only cut short.
        return INVALID_UTF8 if MessageBuffer(n).add(chunk, True) else TRUNCATED_UTF8


def _utf8_prefix_invalid(tail: bytes) -> bool:
    """True if an incomplete UTF-8 sequence can never become valid.

    CPython's decoder already rejects most impossible prefixes when called with
    ``final=False``; it lets ED A0..BF (a UTF-16 surrogate) wait for more bytes.
    """
    return len(tail) >= 2 and tail[0] == 0xED and tail[1] > 0x9F


class MessageBuffer:
    """A data message's bytes from its frames until it ends.

    A binary payload is kept in one bytearray (so a peer sending many tiny
    fragments costs their bytes and nothing more).  Text is decoded as it
    arrives (so bad bytes fail at once) and kept decoded, in pieces joined in
    batches, for the same reason; an incomplete UTF-8 sequence at the end of
    the text so far waits for the next piece.  ``size`` counts the bytes
    behind it all.
    """

    def __init__(self, limit: int) -> None:
        # (The limit, like append's size hints, guides the compiled buffer's growth.)
        self.size = 0
        self._buf = bytearray()
        self._text: list[str] = []
        self._text_small: list[str] = []
        self._utf8_tail = b""

    def append(self, data: bytes, pos: int, n: int, key: Key, offset: int, text: bool,
               announced: int, more: bool) -> int:
        """Add ``data[pos:pos + n]``, unmasked: 0, or ``INVALID_UTF8`` for bad text.

        ``announced`` (the message's size so far by its headers) and ``more``
        (more frames to come) guide the compiled buffer's growth.  (The body
        is here, not in :meth:`add`, and unmasks by itself: each frame of a
        fragmented message then costs the pure twin one Python call to mask,
        not three.)
        """
        chunk = data[pos : pos + n]
        if key:
            chunk = xor_key(chunk, key, offset)
        self.size += n
        if not text:
            self._buf += chunk
            return 0
        if self._utf8_tail:
            chunk = self._utf8_tail + chunk
        try:
            piece, used = utf_8_decode(chunk, "strict", False)
        except UnicodeDecodeError:
            return INVALID_UTF8
        self._utf8_tail = chunk[used:]
        if self._utf8_tail and _utf8_prefix_invalid(self._utf8_tail):
            return INVALID_UTF8
        if piece:
            small = self._text_small
            small.append(piece)
            if len(small) >= 64:
                self._text.append("".join(small))
                small.clear()
                if len(self._text) >= 64:
                    self._text = ["".join(self._text)]
        return 0

    def add(self, chunk: bytes, text: bool) -> int:
        """Add bytes that need no unmasking (decompressed ones): as :meth:`append`."""
        return self.append(chunk, 0, len(chunk), NO_KEY, 0, text, 0, False)

    def take_bytes(self) -> bytes:
        """The binary message; the buffer is empty again."""
        data = bytes(self._buf)
        self._buf = bytearray()
        self.size = 0
        return data

    def take_text(self) -> str | int:
        """The text message, or ``TRUNCATED_UTF8``; the buffer is empty again."""
        parts = self._text
        parts.extend(self._text_small)
        truncated = bool(self._utf8_tail)
        self.clear()
        if truncated:
            return TRUNCATED_UTF8
        return parts[0] if len(parts) == 1 else "".join(parts)

    def clear(self) -> None:
        """Forget the message (a protocol error ended it)."""
        self.size = 0
        self._buf = bytearray()
        self._text = []
        self._text_small = []
        self._utf8_tail = b""


def message_buffer(limit: int) -> MessageBuffer:
    """A new, empty :class:`MessageBuffer` for messages of at most ``limit`` bytes."""
    return MessageBuffer(limit)


# -- the send side: frames written into one buffer ------------------------------------
#
# ``_writer_py`` decides each frame's header fields (the rules); these only
# lay them out as bytes, with the payload.  Here the buffer is a list of
# frames joined once at the end (joining one frame returns it as it is);
# the compiled kernels write into one ``bytes`` of the exact size instead.

frames_buffer: Callable[[int], list[bytes]] = [].__mul__
"""``frames_buffer(size)``: a new, empty buffer for ``size`` bytes of frames
(here a new empty list: an empty list times ``size``, made without a Python call)."""

frames_bytes = b"".join
"""The frames written into a :data:`frames_buffer`, as one ``bytes``."""

utf8 = str.encode
"""A text message's payload: its UTF-8 (the compiled kernel keeps the ``str``
and reads the UTF-8 CPython caches in it, so ASCII text is not copied)."""

utf8_size = len
"""The size in bytes of a payload from :data:`utf8`."""


def frame(b0: int, ext: int, length: int, src: Buffer, start: int, n: int, keys: bytes,
          at: int) -> bytes:
    """One frame as ``bytes``: the byte ``b0``; the mask bit (set if ``at`` is
    not negative) with ``length`` in 7 bits (``ext`` is 0), or 126 then 16
    bits (``ext`` is 2), or 127 then 64 bits (``ext`` is 8); the mask key
    ``keys[at:at + 4]`` if masked; then ``src[start:start + n]``, masked
    with that key if there is one."""
    if at < 0:
        if ext == 0:
            return bytes((b0, length)) + src[start : start + n]
        head = (((b0 << 8) | (126 if ext == 2 else 127)) << (8 * ext) | length)
        return head.to_bytes(2 + ext, "big") + src[start : start + n]
    key = keys[at : at + 4]
    if ext == 0:
        return bytes((b0, 0x80 | length)) + key + xor_key(src[start : start + n], key)
    head = (((b0 << 8) | (0xFE if ext == 2 else 0xFF)) << (8 * ext) | length)
    return head.to_bytes(2 + ext, "big") + key + xor_key(src[start : start + n], key)


def put_frame(out: list[bytes], pos: int, b0: int, ext: int, length: int, src: Buffer,
              start: int, n: int, keys: bytes, at: int) -> int:
    """Append :func:`frame` to ``out`` (which holds ``pos`` bytes); the size it has then."""
    piece = frame(b0, ext, length, src, start, n, keys, at)
    out.append(piece)
    return pos + len(piece)


# -- the event queue -----------------------------------------------------------------


def drain(queue: deque[Event]) -> Iterator[Event]:
    """Iterate over ``queue``, removing each event as it is yielded.

    Events left when the caller stops iterating stay queued; events added
    while it iterates are yielded too.  (The compiled kernel is an iterator
    object of its own type; here a generator is the cheapest.)
    """
    while queue:
        yield queue.popleft()
