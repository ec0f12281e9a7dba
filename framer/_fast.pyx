# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled twin of ``framer._fast_py``: same names, same behaviour, faster.

``framer/_fast_py.py`` defines the behaviour; this module must produce the
same events, the same close codes and reasons, and the same bytes (bar mask
keys) for the same input.  The test suite checks that, on bytes, bytearray
and memoryview input and at every limit.

Where the speed comes from:

* the whole receive loop (header parsing, limit checks, unmasking, UTF-8
  validation, reassembly, event construction) runs in C, one call per read;
* unmasking is fused with the copy of the payload into the object the user
  gets: a single-frame binary message is unmasked straight into its ``bytes``,
  a fragmented one into one growing ``bytes`` buffer that becomes the message
  (each payload byte is copied once);
* the byte kernels are C, in ``_kernels.c`` (declared in ``_kernels.h``);
* the XOR kernel is AVX2 (checked at run time) or SSE2, with ordinary stores
  (the unmasked payload stays in cache for whoever reads it next);
* text is checked as it arrives (so invalid UTF-8 fails as soon as the bad
  byte is in) by a word-at-a-time validator that also counts code points
  and notes the widest one; when the message ends, its str is allocated at
  its exact size and width and decoded into in one pass (no pieces, no
  join).  Short single-frame text uses CPython's decoder;
* outgoing frames are written into one ``bytes`` with their headers.

Why parsing is O(n): see ``_fast_py``: input is walked once by offset; at
most 13 header bytes and no payload are carried between reads.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.object cimport PyObject, PyTypeObject
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint64_t
from libc.string cimport memcpy, memmove

import os

from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.frame_protocol import Opcode

from ._close_frame import read_close
from ._deflate import COMPRESSED, DecompressionError, rsv_error
from ._errors import ProtocolViolation

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    int _PyBytes_Resize(PyObject** bytes, Py_ssize_t newsize) except -1
    int PyObject_GenericSetDict(object o, object value, void* context) except -1
    object PyObject_GenericGetDict(object o, void* context)
    int PyDict_Update(object a, object b) except -1
    dict PyDict_Copy(object)
    PyObject* PyType_GenericAlloc(PyTypeObject* t, Py_ssize_t nitems) except NULL

cdef extern from "_kernels.h":
    void framer_xor(unsigned char* dst, const unsigned char* src, Py_ssize_t n,
                    const unsigned char* key) nogil
    ctypedef struct framer_utf8:
        int need
    void framer_utf8_reset(framer_utf8* st) nogil
    int framer_utf8_check(framer_utf8* st, const unsigned char* p, Py_ssize_t n) nogil
    object framer_utf8_build(const framer_utf8* st, const unsigned char* p, Py_ssize_t n)
    int framer_set_avx2(int on)


cdef extern from "Python.h":
    void Py_INCREF(PyObject*)
    void Py_DECREF(PyObject*)

cdef inline void _incref(PyObject* o) noexcept:
    Py_INCREF(o)

cdef inline void _decref(PyObject* o) noexcept:
    Py_DECREF(o)


# wsproto's Opcode (RFC 6455 section 5.2), as C ints for the receive loop.
cdef int OP_CONTINUATION = Opcode.CONTINUATION
cdef int OP_TEXT = Opcode.TEXT
cdef int OP_BINARY = Opcode.BINARY
cdef int OP_CLOSE = Opcode.CLOSE
cdef int OP_PING = Opcode.PING
cdef int OP_PONG = Opcode.PONG
# ORed into the opcode of a compressed message's data frames (see _deflate.COMPRESSED).
cdef int OP_COMPRESSED = COMPRESSED

cdef object _new = object.__new__
cdef object _TextMessage = TextMessage
cdef object _BytesMessage = BytesMessage
cdef object _Ping = Ping
cdef object _Pong = Pong
cdef object _urandom = os.urandom
cdef unsigned long long _MSB = 1ULL << 63


cdef dict _MESSAGE_FIELDS = {"data": None, "frame_finished": True, "message_finished": True}
cdef dict _CONTROL_FIELDS = {"payload": None}


cdef object _event_given_dict(object cls, dict template, str name, object value):
    # Same result as cls(name=value) (wsproto's events are frozen dataclasses
    # without __post_init__), for a third of the cost: allocate the instance,
    # give it a copy of a ready-made field dict, set the one field that varies.
    cdef object event = <object>PyType_GenericAlloc(<PyTypeObject*>cls, 0)
    Py_DECREF(<PyObject*>event)  # the cast above took a second reference
    cdef dict fields = PyDict_Copy(template)
    fields[name] = value
    PyObject_GenericSetDict(event, fields, NULL)
    return event


cdef object _event_own_dict(object cls, dict template, str name, object value):
    # The portable way: let the instance make its own dict, then fill it.
    cdef object event = _new(cls)
    cdef dict fields = PyObject_GenericGetDict(event, NULL)
    PyDict_Update(fields, template)
    fields[name] = value
    return event


cdef bint _probe_given_dict():
    """Whether this CPython reads attributes from a dict given with
    PyObject_GenericSetDict (3.10 and 3.11 do; newer ones may keep inline
    values instead, and then the portable way is used)."""
    try:
        event = _event_given_dict(TextMessage, _MESSAGE_FIELDS, "data", "probe")
        return event.data == "probe" and event == TextMessage(data="probe")
    except Exception:
        return False


cdef bint _GIVEN_DICT = _probe_given_dict()


cdef inline object _event(object cls, dict template, str name, object value):
    if _GIVEN_DICT:
        return _event_given_dict(cls, template, name, value)
    return _event_own_dict(cls, template, name, value)


cdef inline object _message_event(object cls, object data):
    return _event(cls, _MESSAGE_FIELDS, "data", data)


cdef inline void _rotated_key(const unsigned char* key, unsigned long long offset,
                              unsigned char* out) noexcept:
    cdef int k = <int>(offset & 3)
    cdef int j
    for j in range(4):
        out[j] = key[(j + k) & 3]


def _use_avx2(bint on):
    """Tests only: use the AVX2 kernels (if the CPU has them) or not; returns
    whether they are now in use.  Without them the SSE2 / scalar code runs."""
    return bool(framer_set_avx2(on))


def mask(data, key, offset=0):
    """XOR ``data`` with the 4-byte ``key``; ``offset`` bytes of the frame came before."""
    cdef Py_buffer dview
    cdef Py_buffer kview
    cdef unsigned char rk[4]
    cdef object result
    PyObject_GetBuffer(key, &kview, PyBUF_SIMPLE)
    try:
        if kview.len != 4:
            raise ValueError(f"mask key must be 4 bytes, got {kview.len}")
        _rotated_key(<const unsigned char*>kview.buf, <unsigned long long>(offset & 3), rk)
    finally:
        PyBuffer_Release(&kview)
    PyObject_GetBuffer(data, &dview, PyBUF_SIMPLE)
    try:
        result = PyBytes_FromStringAndSize(NULL, dview.len)
        framer_xor(<unsigned char*>PyBytes_AS_STRING(result),
                   <const unsigned char*>dview.buf, dview.len, rk)
    finally:
        PyBuffer_Release(&dview)
    return result


def mask_inplace(buffer, key, offset=0):
    """XOR a writable buffer (bytearray, writable memoryview) with ``key`` in place.

    See ``framer._fast_py.mask_inplace``.
    """
    cdef Py_buffer dview
    cdef Py_buffer kview
    cdef unsigned char rk[4]
    if type(key) is bytes and PyBytes_GET_SIZE(key) == 4 and offset == 0:
        # The usual call: skip the buffer protocol for the key.
        memcpy(rk, PyBytes_AS_STRING(key), 4)
    else:
        PyObject_GetBuffer(key, &kview, PyBUF_SIMPLE)
        try:
            if kview.len != 4:
                raise ValueError(f"mask key must be 4 bytes, got {kview.len}")
            _rotated_key(<const unsigned char*>kview.buf, <unsigned long long>(offset & 3), rk)
        finally:
            PyBuffer_Release(&kview)
    if type(buffer) is bytearray:
        framer_xor(<unsigned char*>PyByteArray_AS_STRING(buffer),
                   <const unsigned char*>PyByteArray_AS_STRING(buffer),
                   PyByteArray_GET_SIZE(buffer), rk)
        return
    PyObject_GetBuffer(buffer, &dview, PyBUF_SIMPLE | PyBUF_WRITABLE)
    try:
        framer_xor(<unsigned char*>dview.buf, <const unsigned char*>dview.buf, dview.len, rk)
    finally:
        PyBuffer_Release(&dview)


# One spare buffer for text messages, for the whole process: a text message's
# UTF-8 bytes never reach the user (its str does), so the buffer that held them
# can hold the next one, on whichever connection it arrives.  That spares a
# large allocation per message (and, when glibc has trimmed its heap, the page
# faults of fresh memory).  Kept only up to _SPARE_MAX bytes.
cdef PyObject* _spare_text = NULL
cdef Py_ssize_t _SPARE_MAX = 1048576


cdef class FrameReader:
    """Turns one direction of a WebSocket byte stream into events.

    See ``framer._fast_py.FrameReader``, which defines the behaviour.
    """

    cdef int _expect_mask
    cdef unsigned long long _max_frame
    cdef unsigned long long _max_message
    cdef bint _allow_binary
    cdef unsigned char _head[14]
    cdef Py_ssize_t _head_len
    cdef int _opcode
    cdef bint _fin
    cdef unsigned char _key[4]
    cdef unsigned long long _done_bytes
    cdef unsigned long long _remaining
    cdef int _msg_opcode
    cdef unsigned long long _msg_size
    cdef object _inflater  # permessage-deflate's Inflater, or None
    cdef int _msg_rsv1  # OP_COMPRESSED while a compressed message is read, else 0
    # The message being assembled: a bytes object used as a growable buffer
    # (NULL when none) and its used length.  A binary message's buffer
    # becomes the user's bytes; a text message's holds its checked UTF-8,
    # decoded once, into a str of the exact size, when the message ends.
    cdef PyObject* _buf
    cdef Py_ssize_t _buf_len
    cdef Py_ssize_t _buf_cap
    cdef framer_utf8 _utf8
    cdef unsigned char _control[125]
    cdef Py_ssize_t _control_len
    cdef public bint closed
    cdef public bint done
    cdef public int violation_code
    cdef public str violation_reason

    def __cinit__(self):
        self._buf = NULL

    def __init__(self, bint client, max_frame_size, max_message_size, bint allow_binary,
                 inflater=None):
        self._expect_mask = 0 if client else 0x80
        self._inflater = inflater
        self._msg_rsv1 = 0
        self._max_frame = max_frame_size
        self._max_message = max_message_size
        self._allow_binary = allow_binary
        self._head_len = 0
        self._opcode = 0
        self._fin = False
        self._done_bytes = 0
        self._remaining = 0
        self._msg_opcode = 0
        self._msg_size = 0
        self._buf_len = 0
        self._buf_cap = 0
        framer_utf8_reset(&self._utf8)
        self._control_len = 0
        self.closed = False
        self.done = False
        self.violation_code = 0
        self.violation_reason = ""

    def __dealloc__(self):
        self._drop_buffer()

    cdef inline void _drop_buffer(self) noexcept:
        cdef PyObject* buf = self._buf
        if buf != NULL:
            self._buf = NULL
            _decref(buf)
        self._buf_len = 0
        self._buf_cap = 0

    @property
    def buffered(self):
        """Bytes held between feeds: message so far, header, control payload."""
        return self._buf_len + self._head_len + self._control_len

    cpdef list feed(self, data):
        """Parse ``data`` and return the events it completes, in order."""
        cdef list out = []
        cdef Py_buffer view
        if self.done:
            return out
        if type(data) is bytes:
            # Most reads are bytes: skip the buffer protocol.
            self._feed(<const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), out)
            return out
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            self._feed(<const unsigned char*>view.buf, view.len, out)
        finally:
            PyBuffer_Release(&view)
        return out

    cdef int _feed(self, const unsigned char* data, Py_ssize_t n, list out) except -1:
        cdef Py_ssize_t pos = 0
        cdef Py_ssize_t used
        cdef Py_ssize_t take
        cdef Py_ssize_t carried
        cdef Py_ssize_t extra
        cdef unsigned long long remaining
        if self._head_len:
            carried = self._head_len
            extra = 14 - carried
            if extra > n:
                extra = n
            memcpy(self._head + carried, data, extra)
            used = self._parse_header(self._head, carried + extra, out)
            if used < 0:
                return 0
            if used == 0:
                self._head_len = carried + extra
                return 0
            self._head_len = 0
            pos = used - carried
            if self._remaining == 0:
                self._end_frame(out)
        while not self.done:
            remaining = self._remaining
            if remaining:
                take = n - pos
                if take == 0:
                    break
                if <unsigned long long>take > remaining:
                    take = <Py_ssize_t>remaining
                self._payload(data + pos, take, <unsigned long long>take == remaining, out)
                pos += take
                self._remaining = remaining - take
                if <unsigned long long>take == remaining and not self.done:
                    self._end_frame(out)
                continue
            if n - pos < 2:
                if pos < n:
                    self._head[0] = data[pos]
                    self._head_len = 1
                break
            used = self._parse_header(data + pos, n - pos, out)
            if used < 0:
                break
            if used == 0:
                memcpy(self._head, data + pos, n - pos)
                self._head_len = n - pos
                break
            pos += used
            if self._remaining == 0:
                self._end_frame(out)
        return 0

    cdef Py_ssize_t _fail(self, int code, str reason, list out) except -2:
        self.done = True
        self.violation_code = code
        self.violation_reason = reason
        self._drop_buffer()
        self._head_len = 0
        self._control_len = 0
        framer_utf8_reset(&self._utf8)
        out.append(CloseConnection(code=code, reason=reason))
        return -1

    cdef Py_ssize_t _parse_header(self, const unsigned char* p, Py_ssize_t avail,
                                  list out) except -2:
        cdef int b0
        cdef int b1
        cdef int opcode
        cdef bint control
        cdef unsigned long long length
        cdef Py_ssize_t size
        cdef int i
        if avail < 2:
            return 0
        b0 = p[0]
        b1 = p[1]
        opcode = b0 & 0x0F
        if b0 & 0x70:
            reason = rsv_error(b0, self._inflater is not None)
            if reason is not None:
                return self._fail(1002, reason, out)
            self._msg_rsv1 = OP_COMPRESSED
        if opcode > 2 and opcode != OP_CLOSE and opcode != OP_PING and opcode != OP_PONG:
            return self._fail(1002, f"invalid opcode {opcode:#x}", out)
        control = opcode >= 8
        length = b1 & 0x7F
        if control:
            if not b0 & 0x80:
                return self._fail(1002, "fragmented control frame", out)
            if length > 125:
                return self._fail(1002, "control frame payload longer than 125 bytes", out)
        if (b1 & 0x80) != self._expect_mask:
            if self._expect_mask:
                return self._fail(1002, "client frame is not masked", out)
            return self._fail(1002, "server frame is masked", out)
        size = 2
        if length == 126:
            if avail < 4:
                return 0
            length = (<unsigned long long>p[2] << 8) | p[3]
            if length < 126:
                return self._fail(1002, "2-byte length used for a payload under 126 bytes", out)
            size = 4
        elif length == 127:
            if avail < 10:
                return 0
            length = 0
            for i in range(2, 10):
                length = (length << 8) | p[i]
            if length & _MSB:
                return self._fail(1002, "8-byte length with the most significant bit set", out)
            if length < 0x10000:
                return self._fail(1002, "8-byte length used for a payload under 65536 bytes", out)
            size = 10
        if not control:
            if opcode == OP_CONTINUATION:
                if not self._msg_opcode:
                    return self._fail(1002, "continuation frame with no message in progress", out)
            elif self._msg_opcode:
                return self._fail(1002, "new data frame before the previous message finished", out)
            elif opcode == OP_BINARY and not self._allow_binary:
                return self._fail(1003, "binary frames are not supported", out)
            if length > self._max_frame:
                return self._fail(
                    1009,
                    f"frame of {length} bytes exceeds the {self._max_frame}-byte frame limit",
                    out,
                )
            if self._msg_size + length > self._max_message and not self._msg_rsv1:
                # (A compressed message's limit is on its decompressed bytes.)
                return self._fail(
                    1009,
                    f"message of at least {self._msg_size + length} bytes exceeds the "
                    f"{self._max_message}-byte message limit",
                    out,
                )
        if self._expect_mask:
            if avail < size + 4:
                return 0
            memcpy(self._key, p + size, 4)
            size += 4
        if not control:
            if opcode:
                self._msg_opcode = opcode
            self._msg_size += length
            opcode |= self._msg_rsv1
        self._opcode = opcode
        self._fin = (b0 & 0x80) != 0
        self._done_bytes = 0
        self._remaining = length
        return size

    cdef int _reserve(self, Py_ssize_t needed) except -1:
        """Make the message buffer hold at least ``needed`` bytes.

        The buffer is a ``bytes`` object that becomes the user's message, so
        room is reserved from what the headers announced: the whole current
        frame, and a few more frames of the same size when the message goes
        on (never beyond the message limit, and at most 1 MiB ahead of what
        has arrived, so an announcement alone cannot make it allocate a lot).
        """
        cdef Py_ssize_t cap
        cdef Py_ssize_t announced = <Py_ssize_t>self._msg_size
        if needed <= self._buf_cap:
            return 0
        if not self._fin:
            announced = announced * 4
        if <unsigned long long>announced > self._max_message:
            announced = <Py_ssize_t>self._max_message
        if announced > needed + 1048576:
            announced = needed + 1048576
        if self._buf == NULL:
            cap = announced if announced > needed else needed
            if self._msg_opcode == OP_TEXT and _spare_text != NULL:
                self._take_spare(cap)
                return 0
            obj = PyBytes_FromStringAndSize(NULL, cap)
            _incref(<PyObject*>obj)
            self._buf = <PyObject*>obj
        else:
            cap = self._buf_cap * 2
            if <unsigned long long>cap > self._max_message:
                cap = <Py_ssize_t>self._max_message
            if cap < announced:
                cap = announced
            if cap < needed:
                cap = needed
            _PyBytes_Resize(&self._buf, cap)
        self._buf_cap = cap
        return 0

    cdef int _take_spare(self, Py_ssize_t cap) except -1:
        """Start a text message's buffer from the spare one (at least ``cap`` bytes)."""
        global _spare_text
        self._buf = _spare_text
        _spare_text = NULL
        self._buf_cap = PyBytes_GET_SIZE(<object>self._buf)
        if self._buf_cap < cap:
            _PyBytes_Resize(&self._buf, cap)
            self._buf_cap = cap
        return 0

    cdef inline void _park_text_buffer(self) noexcept:
        """A text message is built: keep its buffer as the spare, or free it."""
        global _spare_text
        if _spare_text == NULL and self._buf != NULL and self._buf_cap <= _SPARE_MAX:
            _spare_text = self._buf
            self._buf = NULL
            self._buf_len = 0
            self._buf_cap = 0
        else:
            self._drop_buffer()

    cdef int _payload(self, const unsigned char* p, Py_ssize_t take, bint last,
                      list out) except -1:
        cdef unsigned char rk[4]
        cdef unsigned char* dst
        cdef object obj
        if self._opcode >= 8:
            if self._opcode >= OP_COMPRESSED:
                return self._inflate(p, take, last and self._fin, out)
            dst = self._control + self._control_len
            self._control_len += take
        elif last and self._fin and self._done_bytes == 0 and self._buf_len == 0:
            # The whole message is this one frame, all in this read: build the
            # user's object straight from the wire bytes.
            self._whole_message(p, take, out)
            self._done_bytes = take
            return 0
        else:
            self._reserve(self._buf_len + take)
            dst = <unsigned char*>PyBytes_AS_STRING(<object>self._buf) + self._buf_len
            self._buf_len += take
        if self._expect_mask:
            _rotated_key(self._key, self._done_bytes, rk)
            framer_xor(dst, p, take, rk)
        else:
            memcpy(dst, p, take)
        self._done_bytes += take
        if (self._opcode < 8 and self._msg_opcode == OP_TEXT
                and framer_utf8_check(&self._utf8, dst, take) < 0):
            # Fail as soon as the bad byte arrives.
            self._fail(1007, "invalid UTF-8 in text message", out)
        return 0

    cdef int _inflate(self, const unsigned char* p, Py_ssize_t take, bint final,
                      list out) except -1:
        """Decompress the next piece of a compressed message (its tail too if ``final``)
        and append the result to the message buffer."""
        cdef unsigned char rk[4]
        cdef object chunk = PyBytes_FromStringAndSize(NULL, take)
        cdef object data
        cdef Py_ssize_t n
        cdef unsigned char* dst
        if take:
            if self._expect_mask:
                _rotated_key(self._key, self._done_bytes, rk)
                framer_xor(<unsigned char*>PyBytes_AS_STRING(chunk), p, take, rk)
            else:
                memcpy(PyBytes_AS_STRING(chunk), p, take)
        self._done_bytes += take
        try:
            data = self._inflater.feed(chunk, final)
        except DecompressionError as exc:
            self._fail(exc.violation.code, exc.violation.reason, out)
            return 0
        if final:
            self._msg_rsv1 = 0
        n = PyBytes_GET_SIZE(data)
        if n:
            self._reserve(self._buf_len + n)
            dst = <unsigned char*>PyBytes_AS_STRING(<object>self._buf) + self._buf_len
            memcpy(dst, PyBytes_AS_STRING(data), n)
            self._buf_len += n
            if self._msg_opcode == OP_TEXT and framer_utf8_check(&self._utf8, dst, n) < 0:
                self._fail(1007, "invalid UTF-8 in text message", out)
        return 0

    cdef int _whole_message(self, const unsigned char* p, Py_ssize_t n, list out) except -1:
        cdef object obj
        cdef object text
        cdef unsigned char stack[256]
        cdef unsigned char* dst
        cdef framer_utf8 utf8
        if self._msg_opcode == OP_BINARY:
            if self._expect_mask:
                obj = PyBytes_FromStringAndSize(NULL, n)
                framer_xor(<unsigned char*>PyBytes_AS_STRING(obj), p, n, self._key)
            else:
                obj = PyBytes_FromStringAndSize(<const char*>p, n)
            self._deliver(obj, out)
            return 0
        if self._expect_mask:
            if n <= 256:
                framer_xor(stack, p, n, self._key)
                p = stack
            else:
                obj = PyBytes_FromStringAndSize(NULL, n)
                dst = <unsigned char*>PyBytes_AS_STRING(obj)
                framer_xor(dst, p, n, self._key)
                p = dst
        if n <= 256:
            # Short text: CPython's decoder, with its ASCII fast path, is as quick;
            # if it refuses the bytes, the validator below says why.
            try:
                text = PyUnicode_DecodeUTF8(<const char*>p, n, NULL)
            except UnicodeDecodeError:
                pass
            else:
                self._deliver(text, out)
                return 0
        framer_utf8_reset(&utf8)
        if framer_utf8_check(&utf8, p, n) < 0:
            self._fail(1007, "invalid UTF-8 in text message", out)
        elif utf8.need:
            self._fail(1007, "text message ends inside a UTF-8 sequence", out)
        else:
            self._deliver(framer_utf8_build(&utf8, p, n), out)
        return 0

    cdef inline void _deliver(self, object data, list out) except *:
        if self._msg_opcode == OP_TEXT:
            out.append(_message_event(_TextMessage, data))
        else:
            out.append(_message_event(_BytesMessage, data))
        self._msg_opcode = 0
        self._msg_size = 0

    cdef int _end_frame(self, list out) except -1:
        cdef int opcode = self._opcode
        cdef bytes payload
        cdef object data
        if opcode >= 8:
            if opcode < OP_COMPRESSED:
                payload = PyBytes_FromStringAndSize(<const char*>self._control, self._control_len)
                self._control_len = 0
                if opcode == OP_PING:
                    out.append(_event(_Ping, _CONTROL_FIELDS, "payload", payload))
                elif opcode == OP_PONG:
                    out.append(_event(_Pong, _CONTROL_FIELDS, "payload", payload))
                else:
                    self._close(payload, out)
                return 0
            if self._fin and self._done_bytes == 0:
                # An empty final frame: the message's end still goes to the inflater.
                self._inflate(NULL, 0, True, out)
                if self.done:
                    return 0
        if not self._fin:
            return 0
        if self._msg_opcode == 0:
            return 0  # delivered by _whole_message
        if self._msg_opcode == OP_TEXT:
            if self._utf8.need:
                self._msg_opcode = 0
                self._fail(1007, "text message ends inside a UTF-8 sequence", out)
                return 0
            if self._buf == NULL:
                data = ""
            else:
                data = framer_utf8_build(&self._utf8, <const unsigned char*>PyBytes_AS_STRING(<object>self._buf), self._buf_len)
                self._park_text_buffer()
            framer_utf8_reset(&self._utf8)
        elif self._buf == NULL:
            data = b""  # an empty message
        else:
            if self._buf_len != self._buf_cap:
                _PyBytes_Resize(&self._buf, self._buf_len)
            data = <object>self._buf
            self._drop_buffer()
        self._deliver(data, out)
        return 0

    cdef int _close(self, bytes payload, list out) except -1:
        cdef object close = read_close(payload)
        if isinstance(close, ProtocolViolation):
            self._fail(close.code, close.reason, out)
            return 0
        self.closed = True
        self.done = True
        out.append(close)
        return 0

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
            framer_xor(out, src + start, chunk, keys + 4 * k)
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

    cdef FrameReader _reader
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

    def __init__(self, FrameReader reader, queue, Py_ssize_t max_frame_size,
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
