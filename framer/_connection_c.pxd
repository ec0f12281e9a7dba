# C types for WSConnection in _connection.py, compiled as framer._connection_c.
#
# As _reader_c.pxd, _writer_c.pxd and _open_c.pxd do: setup.py compiles
# _connection.py under the name framer._connection_c, so Cython reads this
# file as its .pxd.  It makes WSConnection an extension type, so that a call
# such as conn.receive_data(data) reaches the open connection it delegates to
# without a Python frame in between.

from ._open_c cimport OpenConnection as _Open

cdef class WSConnection:
    cdef public bint client
    cdef public object limits
    cdef public str implementation
    cdef public object handshake
    cdef object _twin
    cdef bytearray _head
    cdef bytes _after_head
    cdef bint _head_done
    cdef bint _request_seen
    cdef object _phase
    cdef _Open _own
    cdef list _extensions
    cdef dict __dict__
    cdef object __weakref__
