# C types for the frame rules in _reader_py.py, compiled as framer._reader_c.
#
# setup.py compiles _reader_py.py under the name framer._reader_c, so Cython
# reads this file as its .pxd ("pure Python mode"): it types the reader's
# attributes and locals, and its cimports replace the Python kernels that
# _reader_py.py imports from _kernels_py with the C ones of _kernels_c.

import cython

from ._kernels_c cimport (
    Key,
    MessageBuffer,
    control_event,
    message_buffer,
    message_event,
    no_key,
    read_key,
    unmask,
    whole_bytes,
    whole_text,
)

cdef int _CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG, _COMPRESSED
cdef unsigned long long _MSB
cdef str _BAD_UTF8, _CUT_UTF8


@cython.final  # (its methods call one another directly, and C can inline them)
cdef class FrameReader:
    cdef int _expect_mask
    cdef object _inflater  # permessage-deflate's Inflater, or None
    cdef int _msg_rsv1
    cdef unsigned long long _max_frame
    cdef unsigned long long _max_message
    cdef bint _allow_binary
    cdef bytes _head
    cdef int _opcode
    cdef bint _fin
    cdef Key _key
    cdef unsigned long long _done_bytes
    cdef unsigned long long _remaining
    cdef int _msg_opcode
    cdef unsigned long long _msg_size
    cdef MessageBuffer _msg
    cdef bytes _control
    cdef public bint closed
    cdef public bint done
    cdef public int violation_code
    cdef public str violation_reason

    @cython.locals(out=list, buf=bytes, n=Py_ssize_t, pos=Py_ssize_t, remaining="unsigned long long",
                   take=Py_ssize_t, used=Py_ssize_t)
    cpdef list feed(self, data)

    @cython.locals(carried=Py_ssize_t, head=bytes, used=Py_ssize_t)
    cdef Py_ssize_t _carried_header(self, bytes data, list out) except -2

    cdef Py_ssize_t _fail(self, int code, str reason, list out) except -2

    @cython.locals(p="const unsigned char*", avail=Py_ssize_t, b0=int, b1=int, opcode=int,
                   control=bint, length="unsigned long long", size=Py_ssize_t, i=Py_ssize_t)
    cdef Py_ssize_t _parse_header(self, bytes data, Py_ssize_t pos, list out) except -2

    @cython.locals(chunk=bytes, bad=int)
    cdef int _payload(self, bytes data, Py_ssize_t pos, Py_ssize_t take, bint last,
                      list out) except -1

    cdef int _inflate(self, bytes chunk, bint final, list out) except -1
    cdef int _deliver(self, object data, list out) except -1

    @cython.locals(opcode=int, payload=bytes)
    cdef int _end_frame(self, list out) except -1

    cdef int _end_message(self, list out) except -1
    cdef int _close(self, bytes payload, list out) except -1
