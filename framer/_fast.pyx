# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled twin of ``framer._fast_py``: same names, same behaviour, faster.

The frame rules are not written here: ``FrameReader`` is ``_reader_py.py``
itself, compiled as ``framer._reader_c``, and the serializers are
``_writer_py.py``'s, compiled as ``framer._writer_c``, both over the C
kernels of ``_kernels_c`` (see those modules); ``mask``/``mask_inplace`` are
``_kernels_c``'s.  What remains here is ``drain`` and ``Shortcut``, which
``_fast_py`` still writes twice (see its docstring).
"""

from cpython.bytes cimport PyBytes_GET_SIZE

from wsproto.frame_protocol import Opcode

from ._reader_c cimport FrameReader as _Reader
from ._writer_c cimport build_frames

from ._kernels_c import _use_avx2, mask, mask_inplace
from ._reader_c import FrameReader
from ._writer_c import serialize_frames, serialize_parts, serialize_text

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL

# wsproto's Opcode (RFC 6455 section 5.2), as C ints.
cdef int OP_TEXT = Opcode.TEXT
cdef int OP_BINARY = Opcode.BINARY


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
                return build_frames(OP_TEXT, text, n, True, self._max_frame, self._client)
        return self._slow_send_text(text)

    def send_bytes(self, data):
        """See ``WSConnection.send_bytes``."""
        cdef Py_ssize_t n
        if self.open and type(data) is bytes:
            n = PyBytes_GET_SIZE(data)
            if n <= self._max_message:
                return build_frames(OP_BINARY, data, n, True, self._max_frame, self._client)
        return self._slow_send_bytes(data)
