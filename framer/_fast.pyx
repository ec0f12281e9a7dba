# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled twin of ``framer._fast_py``: same names, same behaviour, faster.

The receive side is not written here: ``FrameReader`` is ``_reader_py.py``
itself, compiled as ``framer._reader_c`` over the C kernels of ``_kernels_c``
(see those modules), and ``mask``/``mask_inplace`` are ``_kernels_c``'s.
What remains here is the send side and ``Shortcut``, which ``_fast_py``
still writes twice (see its docstring): outgoing frames are written into
one ``bytes`` with their headers, each payload byte copied (or masked) once.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcpy

import os

from wsproto.frame_protocol import Opcode

from ._kernels_c cimport xor
from ._reader_c cimport FrameReader as _Reader

from ._kernels_c import _use_avx2, mask, mask_inplace
from ._reader_c import FrameReader

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL

# wsproto's Opcode (RFC 6455 section 5.2), as C ints.
cdef int OP_CONTINUATION = Opcode.CONTINUATION
cdef int OP_TEXT = Opcode.TEXT
cdef int OP_BINARY = Opcode.BINARY

cdef object _urandom = os.urandom


cdef inline Py_ssize_t _header_size(Py_ssize_t length, bint masked) noexcept:
    cdef Py_ssize_t size = 2 if length < 126 else (4 if length < 0x10000 else 10)
    return size + 4 if masked else size


cdef inline Py_ssize_t _write_header(unsigned char* out, int opcode, bint fin,
                                     Py_ssize_t length, bint masked) noexcept:
    cdef int m = 0x80 if masked else 0
    cdef int i
    out[0] = (opcode | 0x80) if fin else opcode
    if length < 126:
        out[1] = m | length
        return 2
    if length < 0x10000:
        out[1] = m | 126
        out[2] = (length >> 8) & 0xFF
        out[3] = length & 0xFF
        return 4
    out[1] = m | 127
    for i in range(8):
        out[2 + i] = (<unsigned long long>length >> (8 * (7 - i))) & 0xFF
    return 10


cdef object _build(int opcode, const unsigned char* src, Py_ssize_t n, bint fin,
                   Py_ssize_t max_frame_size, bint client):
    """Frames for ``src[:n]`` in one new ``bytes``: each payload byte copied (or masked) once."""
    cdef Py_ssize_t limit
    cdef Py_ssize_t count
    cdef Py_ssize_t total
    cdef Py_ssize_t start
    cdef Py_ssize_t chunk
    cdef Py_ssize_t k
    cdef unsigned char* out
    cdef const unsigned char* keys = NULL
    cdef bytes key_bytes
    cdef object result
    cdef bint last
    if max_frame_size < 1:
        raise ValueError("max_frame_size must be at least 1")
    limit = max_frame_size if max_frame_size < n else (n if n > 0 else 1)
    count = 1 if n == 0 else (n + limit - 1) // limit
    total = n
    start = 0
    for k in range(count):
        chunk = limit if n - start > limit else n - start
        total += _header_size(chunk, client)
        start += chunk
    if client:
        key_bytes = _urandom(4 * count)
        keys = <const unsigned char*>PyBytes_AS_STRING(key_bytes)
    result = PyBytes_FromStringAndSize(NULL, total)
    out = <unsigned char*>PyBytes_AS_STRING(result)
    start = 0
    for k in range(count):
        chunk = limit if n - start > limit else n - start
        last = k == count - 1
        out += _write_header(out, opcode, fin and last, chunk, client)
        if client:
            memcpy(out, keys + 4 * k, 4)
            out += 4
            xor(out, src + start, chunk, keys + 4 * k)
        else:
            memcpy(out, src + start, chunk)
        out += chunk
        start += chunk
        opcode = OP_CONTINUATION
    return result


def serialize_frames(int opcode, payload, bint fin, Py_ssize_t max_frame_size, bint client):
    """Serialize a message (or a piece of one) as frames of at most ``max_frame_size``.

    See ``framer._fast_py.serialize_frames``.
    """
    cdef Py_buffer view
    if type(payload) is bytes:
        return _build(opcode, <const unsigned char*>PyBytes_AS_STRING(payload),
                      PyBytes_GET_SIZE(payload), fin, max_frame_size, client)
    PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
    try:
        return _build(opcode, <const unsigned char*>view.buf, view.len, fin,
                      max_frame_size, client)
    finally:
        PyBuffer_Release(&view)


def serialize_parts(int opcode, payload, bint fin, Py_ssize_t max_frame_size, bint client):
    """Frames of a message as a list of buffers, for ``writelines``/``sendmsg``.

    See ``framer._fast_py.serialize_parts``.
    """
    cdef Py_ssize_t n = len(payload)
    cdef Py_ssize_t start = 0
    cdef Py_ssize_t chunk
    cdef unsigned char header[14]
    cdef Py_ssize_t size
    cdef list parts
    cdef object view
    if client:
        return [serialize_frames(opcode, payload, fin, max_frame_size, client)]
    if max_frame_size < 1:
        raise ValueError("max_frame_size must be at least 1")
    if n <= max_frame_size:
        size = _write_header(header, opcode, fin, n, False)
        return [PyBytes_FromStringAndSize(<const char*>header, size), payload]
    parts = []
    view = memoryview(payload)
    while start < n:
        chunk = max_frame_size if n - start > max_frame_size else n - start
        size = _write_header(header, opcode, fin and start + chunk >= n, chunk, False)
        parts.append(PyBytes_FromStringAndSize(<const char*>header, size))
        parts.append(view[start:start + chunk])
        start += chunk
        opcode = OP_CONTINUATION
    return parts


def serialize_text(str text, Py_ssize_t max_frame_size, Py_ssize_t max_message_size,
                   bint client):
    """Frames of one whole text message, or None if its UTF-8 exceeds ``max_message_size``.

    See ``framer._fast_py.serialize_text``.  ASCII text is framed straight
    from the ``str``'s own storage: no encoded copy is made.
    """
    cdef Py_ssize_t n
    cdef const char* utf8 = PyUnicode_AsUTF8AndSize(text, &n)
    if n > max_message_size:
        return None
    return _build(OP_TEXT, <const unsigned char*>utf8, n, True, max_frame_size, client)


cdef class _Drain:
    """Iterator over a deque of events that removes each event it yields."""

    cdef object _queue

    def __cinit__(self, queue):
        self._queue = queue

    def __iter__(self):
        return self

    def __next__(self):
        if self._queue:
            return self._queue.popleft()
        raise StopIteration


def drain(queue):
    """Iterate over ``queue``, removing each event as it is yielded.

    See ``framer._fast_py.drain``.
    """
    return _Drain(queue)


cdef class Shortcut:
    """Fast entry points a WSConnection binds as its own methods while open.

    See ``framer._fast_py.Shortcut``, which defines the behaviour.
    """

    cdef _Reader _reader
    cdef object _extend
    cdef object _slow_receive
    cdef object _slow_send_text
    cdef object _slow_send_bytes
    cdef object _on_done
    cdef object _queue
    cdef object _slow_events
    cdef Py_ssize_t _max_frame
    cdef Py_ssize_t _max_message
    cdef bint _client
    cdef public bint open
    cdef public bint drain_only

    def __init__(self, _Reader reader, queue, Py_ssize_t max_frame_size,
                 Py_ssize_t max_message_size, bint client, slow_receive, slow_send_text,
                 slow_send_bytes, on_done, slow_events):
        self._reader = reader
        self._queue = queue
        self._slow_events = slow_events
        self.drain_only = False
        self._extend = queue.extend
        self._max_frame = max_frame_size
        self._max_message = max_message_size
        self._client = client
        self._slow_receive = slow_receive
        self._slow_send_text = slow_send_text
        self._slow_send_bytes = slow_send_bytes
        self._on_done = on_done
        self.open = False

    def receive_data(self, data):
        """See ``WSConnection.receive_data``."""
        cdef list events
        if self.open and data is not None:
            events = self._reader.feed(data)
            if events:
                if self._reader.done:
                    self.open = False
                    self._on_done(events)
                self._extend(events)
            return None
        return self._slow_receive(data)

    def events(self):
        """See ``WSConnection.events``."""
        if self.drain_only:
            return _Drain(self._queue)
        return self._slow_events()

    def send_text(self, text):
        """See ``WSConnection.send_text``."""
        cdef Py_ssize_t n
        cdef const char* utf8
        if self.open and type(text) is str:
            utf8 = PyUnicode_AsUTF8AndSize(text, &n)
            if n <= self._max_message:
                return _build(OP_TEXT, <const unsigned char*>utf8, n, True, self._max_frame,
                              self._client)
        return self._slow_send_text(text)

    def send_bytes(self, data):
        """See ``WSConnection.send_bytes``."""
        cdef Py_ssize_t n
        if self.open and type(data) is bytes:
            n = PyBytes_GET_SIZE(data)
            if n <= self._max_message:
                return _build(OP_BINARY, <const unsigned char*>PyBytes_AS_STRING(data), n, True,
                              self._max_frame, self._client)
        return self._slow_send_bytes(data)
