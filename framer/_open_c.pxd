# C types for the open connection in _open_py.py, compiled as framer._open_c.
#
# As _reader_c.pxd and _writer_c.pxd do: setup.py compiles _open_py.py under
# the name framer._open_c, so Cython reads this file as its .pxd; it types
# the class, and its cimports replace the Python reader, writer and kernels
# that _open_py.py imports with the compiled ones, called directly from C.

import cython

from ._kernels_c cimport drain, utf8, utf8_size
from ._reader_c cimport FrameReader as Reader
from ._writer_c cimport build_frames, serialize_frames, serialize_parts

cdef object _OPEN, _CLOSED, _LOCAL_CLOSING, _REMOTE_CLOSING
cdef int _CONTINUATION, _TEXT, _BINARY, _COMPRESSED


@cython.final  # (its methods call one another directly)
cdef class OpenConnection:
    cdef Reader _reader
    cdef object _events
    cdef object _extend
    cdef object _state
    cdef bint _client
    cdef Py_ssize_t _max_frame
    cdef Py_ssize_t _max_message
    cdef object _deflater
    cdef int _out_opcode
    cdef Py_ssize_t _out_size
    cdef object _pending_close
    cdef str _pending_happening
    cdef public object violation

    cdef _transition(self, str happening)

    @cython.locals(reader=Reader, events=list)
    cpdef receive_data(self, data)

    @cython.locals(reader=Reader)
    cdef _reader_done(self, list events)

    cdef _flush_pending_close(self)

    cpdef object events(self)

    cpdef bytes send(self, event)

    @cython.locals(n=Py_ssize_t)
    cpdef bytes send_text(self, text)

    @cython.locals(n=Py_ssize_t)
    cpdef bytes send_bytes(self, data)

    @cython.locals(opcode=int, wire_opcode=int, size=Py_ssize_t, limit=Py_ssize_t,
                   finished=bint)
    cdef bytes _send_message(self, event)

    cdef bytes _send_close(self, event)
