/* The byte kernels behind framer._fast (implemented in _kernels.c).

   The frame rules live in the engine; these functions only move and
   check bytes, so they can be built and tested on their own
   (tests/kernels/test_kernels.c). */

#ifndef FRAMER_KERNELS_H
#define FRAMER_KERNELS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* dst[i] = src[i] ^ key[i & 3] for i in [0, n); dst may equal src. */
void framer_xor(unsigned char *dst, const unsigned char *src, Py_ssize_t n,
                const unsigned char *key);

/* For tests: turn the AVX2 kernels off (the SSE2 and scalar ones then
   run) or back on where the CPU has them; returns whether they are on. */
int framer_set_avx2(int on);

/* UTF-8 for text messages, in two passes over the unmasked bytes.

   framer_utf8_check() validates bytes as they arrive (a message's pieces
   one after another, the state carried between them) and fails at the
   first byte that no valid UTF-8 text can continue: the rules are
   RFC 3629's (no overlong forms, no surrogates, nothing past U+10FFFF),
   the same as CPython's strict decoder.  On the way it counts code
   points and keeps the largest byte seen, which tells the width of the
   str to build (ASCII, UCS1, UCS2 or UCS4).

   framer_utf8_build() then makes the str in one allocation of the exact
   size and decodes the checked bytes straight into it: no intermediate
   pieces, no widening, no join. */

typedef struct {
    int need;                /* continuation bytes still to come */
    unsigned int lo, hi;     /* the range allowed for the next one */
    unsigned int maxb;       /* the largest byte seen */
    Py_ssize_t chars;        /* code points begun so far */
} framer_utf8;

static inline void framer_utf8_reset(framer_utf8 *st)
{
    st->need = 0; st->lo = 0x80; st->hi = 0xBF; st->maxb = 0; st->chars = 0;
}


/* 0 if p[:n] continues valid UTF-8 (possibly ending inside a sequence),
   -1 at the first byte that cannot. */
int framer_utf8_check(framer_utf8 *st, const unsigned char *p, Py_ssize_t n);

/* The str for p[:n], which framer_utf8_check() passed whole (need == 0);
   NULL with an exception set if it cannot be allocated. */
PyObject *framer_utf8_build(const framer_utf8 *st, const unsigned char *p, Py_ssize_t n);

#endif
