"""The send side's frame rules, once: serializing messages as frames, for both engine twins.

As ``_reader_py`` is for the receive side, this module is the pure twin's
writer as it stands and the source of the compiled one: setup.py compiles
this very file with Cython, as the extension ``framer._writer_c``, through
``_writer_c.pxd``, which types it and cimports the C kernels of
``_kernels_c`` over the Python ones imported here from ``_kernels_py``.  So
the header's length encoding, the split into frames of at most
``max_frame_size``, FIN and the continuation opcode, and a client's fresh
mask keys are written here only; the kernels lay the bytes out, each
payload byte copied (or masked) once.

The rules decide each header's fields; the kernels lay frames out: ``frame``
one frame as its own ``bytes``; ``put_frame`` one of several into a buffer
(in C one ``bytes`` of the exact size from ``frames_buffer``; in Python a
list of frames that ``frames_bytes`` joins).
"""

from __future__ import annotations

import os
from typing import Union

from wsproto.frame_protocol import Opcode

from ._kernels_py import frame, frames_buffer, frames_bytes, put_frame

__all__ = ["build_frames", "serialize_frames", "serialize_parts"]

Buffer = Union[bytes, bytearray, memoryview]

# wsproto's Opcode members, bound to module names once (C ints when compiled).
_CONTINUATION, _TEXT = Opcode.CONTINUATION, Opcode.TEXT

_urandom = os.urandom


def _length_bytes(length: int) -> int:
    """How many bytes follow the 7-bit length for a payload of ``length`` bytes:
    0, 2 or 8, the shortest encoding that holds it, as RFC 6455 section 5.2
    requires ("the minimal number of bytes MUST be used")."""
    return 0 if length < 126 else (2 if length < 0x10000 else 8)


def build_frames(opcode: int, payload: Buffer, n: int, fin: bool, max_frame_size: int,
                 client: bool) -> bytes:
    """The frames of ``payload`` (``n`` bytes) in one new ``bytes``.

    The first frame carries ``opcode``, the others are continuations, and
    only the last has FIN, and only if ``fin``; an empty payload is one
    empty frame.  A client masks each frame with its own key from
    ``os.urandom`` (RFC 6455 section 5.3 asks for a strong entropy source).
    """
    if max_frame_size < 1:
        raise ValueError("max_frame_size must be at least 1")
    if n <= max_frame_size:
        # One frame, the usual case: the loop below, unrolled.
        return frame((opcode | 0x80) if fin else opcode, _length_bytes(n), n, payload, 0, n,
                     _urandom(4) if client else b"", 0 if client else -1)
    limit = max_frame_size
    count = (n + limit - 1) // limit
    last = n - (count - 1) * limit  # the last frame's payload
    last_ext = _length_bytes(last)
    limit_ext = _length_bytes(limit)
    keys = _urandom(4 * count) if client else b""
    head = 6 if client else 2  # a header's size without its extended length
    out = frames_buffer(n + count * head + last_ext + (count - 1) * limit_ext)
    pos = 0
    start = 0
    for k in range(count):
        final = k == count - 1
        chunk = last if final else limit
        pos = put_frame(out, pos, (opcode | 0x80) if fin and final else opcode,
                        last_ext if final else limit_ext, chunk, payload, start, chunk,
                        keys, 4 * k if client else -1)
        start += chunk
        opcode = _CONTINUATION
    return frames_bytes(out)


def serialize_frames(opcode: int, payload: Buffer, fin: bool, max_frame_size: int,
                     client: bool) -> bytes:
    """Serialize one message (or a piece of one) as frames of at most ``max_frame_size``.

    The first frame carries ``opcode`` (pass 0 to continue a message), the
    others are continuation frames, and only the last has FIN set, and only
    if ``fin``.  A client masks every frame with a fresh key.
    """
    return build_frames(opcode, payload, len(payload), fin, max_frame_size, client)


def serialize_parts(opcode: int, payload: Buffer, fin: bool, max_frame_size: int,
                    client: bool) -> list[Buffer]:
    """Frames of a message as a list of buffers, for ``writelines``/``sendmsg``.

    Same frames as :func:`serialize_frames`, without copying the payload on
    the server side: the list alternates headers and views of ``payload``
    (a payload that fits one frame is passed through as it is).  A client
    must mask, which copies, so it gets one ``bytes``.
    """
    n = len(payload)
    if client:
        return [build_frames(opcode, payload, n, fin, max_frame_size, client)]
    if max_frame_size < 1:
        raise ValueError("max_frame_size must be at least 1")
    if n <= max_frame_size:
        return [_header(opcode, fin, n), payload]
    view = memoryview(payload)
    parts: list[Buffer] = []
    start = 0
    while start < n:
        chunk = max_frame_size if n - start > max_frame_size else n - start
        parts.append(_header(opcode, fin and start + chunk >= n, chunk))
        parts.append(view[start:start + chunk])
        start += chunk
        opcode = _CONTINUATION
    return parts


def _header(opcode: int, fin: bool, length: int) -> bytes:
    """An unmasked frame's header on its own."""
    return frame((opcode | 0x80) if fin else opcode, _length_bytes(length), length, b"", 0, 0,
                 b"", -1)
