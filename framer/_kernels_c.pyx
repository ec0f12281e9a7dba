# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The engine's byte kernels in C: the compiled twin's half of "rules once, kernels twice".

Same names and behaviour as ``_kernels_py`` (which documents each), over
the C in ``_kernels.c``: unmasking fused with the copy into the object the
user gets, UTF-8 checked as it arrives and the ``str`` built once at its
exact size and width, a message buffer that is a ``bytes`` object grown in
place (a binary message's buffer becomes the user's ``bytes``), and events
made without the frozen dataclass's ``__init__``, and outgoing frames laid
out in one ``bytes`` of their exact size.  No frame rule is here: those are
in ``_reader_py`` and ``_writer_py``, compiled as ``_reader_c`` and
``_writer_c`` against this module.

``mask``, ``mask_inplace`` and ``_use_avx2`` are the Python-level kernels
``framer._fast`` exports.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.object cimport PyObject, PyTypeObject
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memcpy

from wsproto.events import TextMessage

from ._kernels_py import INVALID_UTF8 as _INVALID, TRUNCATED_UTF8 as _TRUNCATED

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    int _PyBytes_Resize(PyObject** bytes, Py_ssize_t newsize) except -1
    int PyObject_GenericSetDict(object o, object value, void* context) except -1
    object PyObject_GenericGetDict(object o, void* context)
    int PyDict_Update(object a, object b) except -1
    dict PyDict_Copy(object)
    PyObject* PyType_GenericAlloc(PyTypeObject* t, Py_ssize_t nitems) except NULL
    void Py_INCREF(PyObject*)
    void Py_DECREF(PyObject*)

cdef int INVALID = _INVALID
cdef int TRUNCATED = _TRUNCATED
cdef object _new = object.__new__


# -- events -------------------------------------------------------------------

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


cpdef object message_event(object cls, object data):
    return _event(cls, _MESSAGE_FIELDS, "data", data)


cpdef object control_event(object cls, bytes payload):
    return _event(cls, _CONTROL_FIELDS, "payload", payload)


# -- masking ------------------------------------------------------------------

cdef inline void _rotated_key(const unsigned char* key, unsigned long long offset,
                              unsigned char* out) noexcept:
    cdef int k = <int>(offset & 3)
    cdef int j
    for j in range(4):
        out[j] = key[(j + k) & 3]


cdef void xor(unsigned char* dst, const unsigned char* src, Py_ssize_t n,
              const unsigned char* key) noexcept nogil:
    framer_xor(dst, src, n, key)


cdef inline void _unmask_into(unsigned char* dst, const unsigned char* src, Py_ssize_t n,
                              Key key, unsigned long long offset) noexcept:
    cdef unsigned char rk[4]
    if key:
        _rotated_key(<const unsigned char*>&key, offset, rk)
        framer_xor(dst, src, n, rk)
    else:
        memcpy(dst, src, n)


def _use_avx2(bint on):
    """Tests only: use the AVX2 kernels (if the CPU has them) or not; returns
    whether they are now in use.  Without them the SSE2 / scalar code runs."""
    return bool(framer_set_avx2(on))


cdef int _key_arg(object key, object offset, unsigned char* rk) except -1:
    """A caller's 4-byte mask key, rotated by ``offset``, into ``rk``."""
    cdef Py_buffer kview
    PyObject_GetBuffer(key, &kview, PyBUF_SIMPLE)
    try:
        if kview.len != 4:
            raise ValueError(f"mask key must be 4 bytes, got {kview.len}")
        _rotated_key(<const unsigned char*>kview.buf, <unsigned long long>(offset & 3), rk)
    finally:
        PyBuffer_Release(&kview)
    return 0


def mask(data, key, offset=0):
    """XOR ``data`` with the 4-byte ``key``; ``offset`` bytes of the frame came before."""
    cdef Py_buffer dview
    cdef unsigned char rk[4]
    cdef object result
    _key_arg(key, offset, rk)
    PyObject_GetBuffer(data, &dview, PyBUF_SIMPLE)
    try:
        result = PyBytes_FromStringAndSize(NULL, dview.len)
        framer_xor(<unsigned char*>PyBytes_AS_STRING(result),
                   <const unsigned char*>dview.buf, dview.len, rk)
    finally:
        PyBuffer_Release(&dview)
    return result


def mask_inplace(buffer, key, offset=0):
    """XOR a writable buffer (bytearray, writable memoryview) with ``key`` in place."""
    cdef Py_buffer dview
    cdef unsigned char rk[4]
    if type(key) is bytes and PyBytes_GET_SIZE(key) == 4 and offset == 0:
        # The usual call: skip the buffer protocol for the key.
        memcpy(rk, PyBytes_AS_STRING(key), 4)
    else:
        _key_arg(key, offset, rk)
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


cpdef bytes unmask(bytes data, Py_ssize_t pos, Py_ssize_t n, Key key, unsigned long long offset):
    cdef bytes chunk = PyBytes_FromStringAndSize(NULL, n)
    _unmask_into(<unsigned char*>PyBytes_AS_STRING(chunk),
                 <const unsigned char*>PyBytes_AS_STRING(data) + pos, n, key, offset)
    return chunk


cpdef Key no_key() noexcept:
    return 0


cpdef Key read_key(bytes data, Py_ssize_t pos) noexcept:
    cdef Key key
    memcpy(&key, PyBytes_AS_STRING(data) + pos, 4)
    return key


# -- whole messages -------------------------------------------------------------

cpdef bytes whole_bytes(bytes data, Py_ssize_t pos, Py_ssize_t n, Key key):
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data) + pos
    cdef bytes obj
    if not key:
        return PyBytes_FromStringAndSize(<const char*>p, n)
    obj = PyBytes_FromStringAndSize(NULL, n)
    framer_xor(<unsigned char*>PyBytes_AS_STRING(obj), p, n, <const unsigned char*>&key)
    return obj


cpdef object whole_text(bytes data, Py_ssize_t pos, Py_ssize_t n, Key key):
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data) + pos
    cdef unsigned char stack[256]
    cdef unsigned char* dst
    cdef object obj
    cdef framer_utf8 utf8
    if key:
        if n <= 256:
            framer_xor(stack, p, n, <const unsigned char*>&key)
            p = stack
        else:
            obj = PyBytes_FromStringAndSize(NULL, n)
            dst = <unsigned char*>PyBytes_AS_STRING(obj)
            framer_xor(dst, p, n, <const unsigned char*>&key)
            p = dst
    if n <= 256:
        # Short text: CPython's decoder, with its ASCII fast path, is as quick;
        # if it refuses the bytes, the validator below says why.
        try:
            return PyUnicode_DecodeUTF8(<const char*>p, n, NULL)
        except UnicodeDecodeError:
            pass
    framer_utf8_reset(&utf8)
    if framer_utf8_check(&utf8, p, n) < 0:
        return INVALID
    if utf8.need:
        return TRUNCATED
    return framer_utf8_build(&utf8, p, n)


# -- the message buffer -----------------------------------------------------------

# One spare buffer for text messages, for the whole process: a text message's
# UTF-8 bytes never reach the user (its str does), so the buffer that held them
# can hold the next one, on whichever connection it arrives.  That spares a
# large allocation per message (and, when glibc has trimmed its heap, the page
# faults of fresh memory).  Kept only up to _SPARE_MAX bytes.
cdef PyObject* _spare_text = NULL
cdef Py_ssize_t _SPARE_MAX = 1048576


cdef class MessageBuffer:
    """See ``framer._kernels_py.MessageBuffer``.

    Here the bytes are kept unmasked in one ``bytes`` object grown in place:
    a binary message's buffer becomes the user's ``bytes``; a text message's
    holds its checked UTF-8, decoded once, into a str of the exact size, when
    the message ends.
    """

    def __cinit__(self, Py_ssize_t limit):
        self._buf = NULL
        self._limit = limit
        framer_utf8_reset(&self._utf8)

    def __dealloc__(self):
        self.clear()

    cdef int clear(self) except -1:
        cdef PyObject* buf = self._buf
        if buf != NULL:
            self._buf = NULL
            Py_DECREF(buf)
        self.size = 0
        self._cap = 0
        framer_utf8_reset(&self._utf8)
        return 0

    cdef unsigned char* _room(self, Py_ssize_t n, bint text, unsigned long long announced,
                              bint more) except NULL:
        """Where the next ``n`` bytes go, after making the buffer hold them.

        Room is reserved from what the headers announced: the whole current
        frame, and a few more frames of the same size when the message goes
        on (never beyond the message limit, and at most 1 MiB ahead of what
        has arrived, so an announcement alone cannot make it allocate a lot).
        """
        global _spare_text
        cdef Py_ssize_t needed = self.size + n
        cdef Py_ssize_t cap
        if needed > self._cap:
            if more:
                announced = announced * 4
            if announced > <unsigned long long>self._limit:
                announced = <unsigned long long>self._limit
            if announced > <unsigned long long>(needed + 1048576):
                announced = <unsigned long long>(needed + 1048576)
            if self._buf == NULL:
                cap = <Py_ssize_t>announced if <Py_ssize_t>announced > needed else needed
                if text and _spare_text != NULL:
                    # Start from the spare text buffer.
                    self._buf = _spare_text
                    _spare_text = NULL
                    self._cap = PyBytes_GET_SIZE(<object>self._buf)
                    if self._cap < cap:
                        _PyBytes_Resize(&self._buf, cap)
                        self._cap = cap
                else:
                    obj = PyBytes_FromStringAndSize(NULL, cap)
                    Py_INCREF(<PyObject*>obj)
                    self._buf = <PyObject*>obj
                    self._cap = cap
            else:
                cap = self._cap * 2
                if cap > self._limit:
                    cap = self._limit
                if cap < <Py_ssize_t>announced:
                    cap = <Py_ssize_t>announced
                if cap < needed:
                    cap = needed
                _PyBytes_Resize(&self._buf, cap)
                self._cap = cap
        return <unsigned char*>PyBytes_AS_STRING(<object>self._buf) + self.size

    cdef int append(self, bytes data, Py_ssize_t pos, Py_ssize_t n, Key key,
                    unsigned long long offset, bint text, unsigned long long announced,
                    bint more) except -1:
        cdef unsigned char* dst = self._room(n, text, announced, more)
        _unmask_into(dst, <const unsigned char*>PyBytes_AS_STRING(data) + pos, n, key, offset)
        self.size += n
        if text and framer_utf8_check(&self._utf8, dst, n) < 0:
            return INVALID
        return 0

    cdef int add(self, bytes chunk, bint text) except -1:
        cdef Py_ssize_t n = PyBytes_GET_SIZE(chunk)
        cdef unsigned char* dst = self._room(n, text, <unsigned long long>self.size, True)
        memcpy(dst, PyBytes_AS_STRING(chunk), n)
        self.size += n
        if text and framer_utf8_check(&self._utf8, dst, n) < 0:
            return INVALID
        return 0

    cdef bytes take_bytes(self):
        cdef bytes data
        if self._buf == NULL:
            return b""
        if self.size != self._cap:
            _PyBytes_Resize(&self._buf, self.size)
        data = <bytes>self._buf
        self.clear()
        return data

    cdef object take_text(self):
        global _spare_text
        cdef object text
        if self._utf8.need:
            self.clear()
            return TRUNCATED
        if self._buf == NULL:
            text = ""
        else:
            text = framer_utf8_build(&self._utf8, <const unsigned char*>PyBytes_AS_STRING(<object>self._buf), self.size)
            if _spare_text == NULL and self._cap <= _SPARE_MAX:
                # Keep the buffer as the spare.
                _spare_text = self._buf
                self._buf = NULL
        self.clear()
        return text


cpdef MessageBuffer message_buffer(Py_ssize_t limit):
    return MessageBuffer(limit)


# -- the send side ------------------------------------------------------------------

cpdef bytes frames_buffer(Py_ssize_t size):
    # A new bytes object, not yet shared: the writer fills it in place.
    return PyBytes_FromStringAndSize(NULL, size)


cpdef bytes frames_bytes(bytes out):
    return out


cpdef str utf8(str text):
    # The str itself: place() reads the UTF-8 CPython keeps in it (for ASCII
    # text, its own storage), so nothing is encoded into a copy.
    return text


cpdef Py_ssize_t utf8_size(str text) except -1:
    cdef Py_ssize_t size
    PyUnicode_AsUTF8AndSize(text, &size)
    return size


cdef inline int _lay(unsigned char* p, int b0, int ext, Py_ssize_t length, object src,
                     Py_ssize_t start, Py_ssize_t n, bytes keys, Py_ssize_t at) except -1:
    """Write one frame at ``p`` (see ``_kernels_py.frame``)."""
    cdef const unsigned char* key = NULL
    cdef const unsigned char* data
    cdef Py_buffer view
    cdef Py_ssize_t size
    cdef int i
    cdef int code = length if ext == 0 else (126 if ext == 2 else 127)
    p[0] = b0
    p[1] = (code | 0x80) if at >= 0 else code
    for i in range(ext):
        p[2 + i] = (<unsigned long long>length >> (8 * (ext - 1 - i))) & 0xFF
    p += 2 + ext
    if at >= 0:
        memcpy(p, PyBytes_AS_STRING(keys) + at, 4)
        key = p
        p += 4
    if n == 0:
        return 0
    if type(src) is bytes:
        data = <const unsigned char*>PyBytes_AS_STRING(src)
    elif type(src) is str:
        data = <const unsigned char*>PyUnicode_AsUTF8AndSize(src, &size)
    else:
        PyObject_GetBuffer(src, &view, PyBUF_SIMPLE)
        try:
            if key == NULL:
                memcpy(p, <const unsigned char*>view.buf + start, n)
            else:
                framer_xor(p, <const unsigned char*>view.buf + start, n, key)
        finally:
            PyBuffer_Release(&view)
        return 0
    if key == NULL:
        memcpy(p, data + start, n)
    else:
        framer_xor(p, data + start, n, key)
    return 0


cpdef bytes frame(int b0, int ext, Py_ssize_t length, object src, Py_ssize_t start,
                  Py_ssize_t n, bytes keys, Py_ssize_t at):
    cdef Py_ssize_t size = 2 + ext + (4 if at >= 0 else 0) + n
    cdef bytes out = PyBytes_FromStringAndSize(NULL, size)
    _lay(<unsigned char*>PyBytes_AS_STRING(out), b0, ext, length, src, start, n, keys, at)
    return out


cpdef Py_ssize_t put_frame(bytes out, Py_ssize_t pos, int b0, int ext, Py_ssize_t length,
                          object src, Py_ssize_t start, Py_ssize_t n, bytes keys,
                          Py_ssize_t at) except -1:
    _lay(<unsigned char*>PyBytes_AS_STRING(out) + pos, b0, ext, length, src, start, n, keys, at)
    return pos + 2 + ext + (4 if at >= 0 else 0) + n


# -- the event queue ------------------------------------------------------------------

cdef class Drain:
    """Iterator over a deque of events that removes each event it yields."""

    def __iter__(self):
        return self

    def __next__(self):
        if self._queue:
            return self._queue.popleft()
        raise StopIteration


cpdef Drain drain(object queue):
    # Made without a call of the type (no argument tuple, no __init__).
    cdef Drain it = Drain.__new__(Drain)
    it._queue = queue
    return it
