# The engine's C byte kernels, as the compiled reader and writer see them (see
# _kernels_c.pyx).
#
# _reader_c.pxd and _writer_c.pxd cimport these names over the Python ones
# _reader_py.py and _writer_py.py import from _kernels_py: same names, same
# meaning, C speed.

cimport cython
from cpython.object cimport PyObject

cdef extern from "_kernels.h":
    void framer_xor(unsigned char* dst, const unsigned char* src, Py_ssize_t n,
                    const unsigned char* key) nogil
    ctypedef struct framer_utf8:
        int need
    void framer_utf8_reset(framer_utf8* st) nogil
    int framer_utf8_check(framer_utf8* st, const unsigned char* p, Py_ssize_t n) nogil
    object framer_utf8_build(const framer_utf8* st, const unsigned char* p, Py_ssize_t n)
    int framer_set_avx2(int on)

# A mask key: its 4 bytes as they are on the wire, in one word (0: not masked,
# and a key of four zero bytes masks nothing, so the two agree).
ctypedef unsigned int Key


@cython.final
cdef class MessageBuffer:
    cdef readonly Py_ssize_t size
    cdef Py_ssize_t _limit
    # A bytes object used as a growable buffer (NULL when none) and its capacity.
    cdef PyObject* _buf
    cdef Py_ssize_t _cap
    cdef framer_utf8 _utf8

    cdef int append(self, bytes data, Py_ssize_t pos, Py_ssize_t n, Key key,
                    unsigned long long offset, bint text, unsigned long long announced,
                    bint more) except -1
    cdef int add(self, bytes chunk, bint text) except -1
    cdef bytes take_bytes(self)
    cdef object take_text(self)
    cdef int clear(self) except -1
    cdef unsigned char* _room(self, Py_ssize_t n, bint text, unsigned long long announced,
                              bint more) except NULL


cpdef Key no_key() noexcept
cpdef Key read_key(bytes data, Py_ssize_t pos) noexcept
cpdef MessageBuffer message_buffer(Py_ssize_t limit)
cpdef bytes unmask(bytes data, Py_ssize_t pos, Py_ssize_t n, Key key, unsigned long long offset)
cpdef bytes whole_bytes(bytes data, Py_ssize_t pos, Py_ssize_t n, Key key)
cpdef object whole_text(bytes data, Py_ssize_t pos, Py_ssize_t n, Key key)
cpdef object message_event(object cls, object data)
cpdef object control_event(object cls, bytes payload)
cdef void xor(unsigned char* dst, const unsigned char* src, Py_ssize_t n,
              const unsigned char* key) noexcept nogil


# -- the send side (see _kernels_py)

cpdef bytes frames_buffer(Py_ssize_t size)
cpdef bytes frames_bytes(bytes out)
cpdef str utf8(str text)
cpdef Py_ssize_t utf8_size(str text) except -1
cpdef bytes frame(int b0, int ext, Py_ssize_t length, object src, Py_ssize_t start,
                  Py_ssize_t n, bytes keys, Py_ssize_t at)
cpdef Py_ssize_t put_frame(bytes out, Py_ssize_t pos, int b0, int ext, Py_ssize_t length,
                          object src, Py_ssize_t start, Py_ssize_t n, bytes keys,
                          Py_ssize_t at) except -1


# -- the event queue (see _kernels_py)

cdef class Drain:
    cdef object _queue

cpdef Drain drain(object queue)
