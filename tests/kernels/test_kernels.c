/* framer's byte kernels (framer/_kernels.c) on their own, without the engine.

   Built and run by tests/test_kernels_c.py.  Every check compares a kernel
   with a plain reference: XOR with the byte-at-a-time loop, UTF-8 checking
   and building with CPython's strict decoder, at every length up to a few
   SIMD blocks, every alignment, and with the AVX2 kernels on and off.
   Prints one line per failure and exits with the number of failures. */

#include "_kernels.h"

#include <stdio.h>
#include <string.h>

static int failures = 0;

static void fail(const char *what, int a, int b, int c)
{
    if (failures < 20) printf("FAIL %s (%d, %d, %d)\n", what, a, b, c);
    failures++;
}

static void check_xor(void)
{
    static unsigned char src[600], dst[600], want[600];
    const unsigned char key[4] = {0x37, 0xFA, 0x21, 0x3D};
    int n, align, i;
    for (i = 0; i < 600; i++) src[i] = (unsigned char)(i * 131 + 7);
    for (n = 0; n <= 300; n++) {
        for (align = 0; align < 32; align++) {
            for (i = 0; i < n; i++) want[i] = src[align + i] ^ key[i & 3];
            memset(dst, 0xAA, sizeof(dst));
            framer_xor(dst + align, src + align, n, key);
            if (memcmp(dst + align, want, (size_t)n) != 0) fail("xor copy", n, align, 0);
            if (dst[align + n] != 0xAA) fail("xor wrote past the end", n, align, 0);
            memcpy(dst + align, src + align, (size_t)n);
            framer_xor(dst + align, dst + align, n, key);
            if (memcmp(dst + align, want, (size_t)n) != 0) fail("xor in place", n, align, 0);
        }
    }
}

/* Whether CPython's strict decoder takes p[:n] whole. */
static int python_accepts(const unsigned char *p, Py_ssize_t n)
{
    PyObject *text = PyUnicode_DecodeUTF8((const char *)p, n, "strict");
    if (text == NULL) {
        PyErr_Clear();
        return 0;
    }
    Py_DECREF(text);
    return 1;
}

/* Check p[:n] in two pieces split at `cut`; 1 if it is a whole valid text. */
static int kernel_accepts(const unsigned char *p, Py_ssize_t n, Py_ssize_t cut, framer_utf8 *st)
{
    framer_utf8_reset(st);
    if (framer_utf8_check(st, p, cut) < 0) return 0;
    if (framer_utf8_check(st, p + cut, n - cut) < 0) return 0;
    return st->need == 0;
}

static void check_utf8_case(const unsigned char *p, Py_ssize_t n, int label)
{
    framer_utf8 st;
    Py_ssize_t cut;
    int want = python_accepts(p, n);
    for (cut = 0; cut <= n; cut++) {
        int got = kernel_accepts(p, n, cut, &st);
        if (got != want) {
            fail("utf8 check disagrees with CPython", label, (int)n, (int)cut);
            return;
        }
    }
    if (want) {
        PyObject *expected = PyUnicode_DecodeUTF8((const char *)p, n, "strict");
        PyObject *built;
        kernel_accepts(p, n, n, &st);
        built = framer_utf8_build(&st, p, n);
        if (built == NULL || expected == NULL) {
            fail("utf8 build returned NULL", label, (int)n, 0);
        } else if (PyUnicode_Compare(built, expected) != 0
                   || PyUnicode_KIND(built) != PyUnicode_KIND(expected)) {
            fail("utf8 build differs from CPython", label, (int)n, 0);
        }
        Py_XDECREF(built);
        Py_XDECREF(expected);
    }
}

static void check_utf8(void)
{
    /* Sequences around every boundary RFC 3629 draws, valid and not. */
    static const char *const seqs[] = {
        "a", "\x7f", "\xc2\x80", "\xdf\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\xa0\x80",
        "\xe0\x9f\xbf", "\xed\x9f\xbf", "\xed\xa0\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
        "\xf0\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
        "\x80", "\xbf", "\xc2", "\xe0\xa0", "\xf0\x90\x80", "\xff", "\xfe", "\xc3\xa9",
        "\xe2\x82\xac", "\xf0\x9f\x98\x80",
    };
    static unsigned char buf[200];
    size_t nseq = sizeof(seqs) / sizeof(seqs[0]);
    size_t s;
    int pad, tail;
    for (s = 0; s < nseq; s++) {
        size_t len = strlen(seqs[s]);
        /* The sequence after `pad` ASCII bytes and before `tail` more, so it
           sits at every offset of a 32- and 64-byte block. */
        for (pad = 0; pad < 70; pad++) {
            for (tail = 0; tail < 3; tail++) {
                Py_ssize_t n = (Py_ssize_t)(pad + len + (size_t)tail);
                memset(buf, 'x', sizeof(buf));
                memcpy(buf + pad, seqs[s], len);
                check_utf8_case(buf, n, (int)s);
            }
        }
    }
}

int main(void)
{
    int round;
    Py_Initialize();
    for (round = 0; round < 2; round++) {
        /* round 0: the best kernels this CPU has; round 1: the portable ones */
        int avx2 = framer_set_avx2(round == 0);
        printf("kernels: %s\n", avx2 ? "avx2" : "portable");
        check_xor();
        check_utf8();
    }
    framer_set_avx2(1);
    Py_Finalize();
    printf("%d failures\n", failures);
    return failures > 255 ? 255 : failures;
}
