# C types for the send side's frame rules in _writer_py.py, compiled as framer._writer_c.
#
# As _reader_c.pxd does for the reader: setup.py compiles _writer_py.py under
# the name framer._writer_c, so Cython reads this file as its .pxd; it types
# the writer, and its cimports replace the Python kernels _writer_py.py
# imports from _kernels_py with the C ones of _kernels_c.

import cython

from ._kernels_c cimport frame, frames_buffer, frames_bytes, put_frame

cdef int _CONTINUATION, _TEXT
cdef object _urandom

cdef int _length_bytes(Py_ssize_t length) noexcept

@cython.locals(head=Py_ssize_t, out=bytes, limit=Py_ssize_t, count=Py_ssize_t,
               last=Py_ssize_t, last_ext=int, limit_ext=int, keys=bytes, pos=Py_ssize_t,
               start=Py_ssize_t, k=Py_ssize_t, final=bint, chunk=Py_ssize_t)
cpdef bytes build_frames(int opcode, object payload, Py_ssize_t n, bint fin,
                        Py_ssize_t max_frame_size, bint client)

cpdef bytes serialize_frames(int opcode, object payload, bint fin, Py_ssize_t max_frame_size,
                             bint client)

@cython.locals(n=Py_ssize_t, start=Py_ssize_t, chunk=Py_ssize_t, parts=list)
cpdef list serialize_parts(int opcode, object payload, bint fin, Py_ssize_t max_frame_size,
                           bint client)

cdef bytes _header(int opcode, bint fin, Py_ssize_t length)
