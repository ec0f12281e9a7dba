/* framer's byte kernels: unmask-and-copy (XOR) and UTF-8 validation and
   decoding, for the compiled engine framer._fast.  See _kernels.h for
   what each entry point promises. */

#include "_kernels.h"

#include <string.h>
#include <stdint.h>

/* dst[i] = src[i] ^ key[i & 3] for i in [0, n); dst may equal src.
   Wide XOR with ordinary (not non-temporal) stores, so the result stays in
   cache for whoever reads it next: AVX2 when the CPU has it (checked once
   at run time), SSE2 on any other x86-64, 8 bytes at a time elsewhere. */
static inline void framer_xor_tail(unsigned char *dst, const unsigned char *src,
                                   Py_ssize_t i, Py_ssize_t n, const unsigned char *key)
{
    uint32_t k4;
    uint64_t k8;
    unsigned char rot[4];
    /* The key as it lines up from position i on. */
    rot[0] = key[i & 3]; rot[1] = key[(i + 1) & 3];
    rot[2] = key[(i + 2) & 3]; rot[3] = key[(i + 3) & 3];
    memcpy(&k4, rot, 4);
    k8 = ((uint64_t)k4 << 32) | k4;
    {
        Py_ssize_t start = i;
        for (; i + 8 <= n; i += 8) {
            uint64_t w;
            memcpy(&w, src + i, 8);
            w ^= k8;
            memcpy(dst + i, &w, 8);
        }
        for (; i < n; i++) dst[i] = src[i] ^ rot[(i - start) & 3];
    }
}

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FRAMER_X86 1

__attribute__((target("avx2")))
static void framer_xor_avx2(unsigned char *dst, const unsigned char *src,
                            Py_ssize_t n, const unsigned char *key)
{
    uint32_t k4;
    Py_ssize_t i = 0;
    __m256i k;
    unsigned char rot[4];
    /* Bring dst to a 32-byte boundary, so the stores (and, in place,
       the loads) of the main loop never split a cache line. */
    Py_ssize_t head = (Py_ssize_t)((32 - ((uintptr_t)dst & 31)) & 31);
    if (head > n) head = n;
    for (; i < head; i++) dst[i] = src[i] ^ key[i & 3];
    rot[0] = key[i & 3]; rot[1] = key[(i + 1) & 3];
    rot[2] = key[(i + 2) & 3]; rot[3] = key[(i + 3) & 3];
    memcpy(&k4, rot, 4);
    k = _mm256_set1_epi32((int)k4);
    for (; i + 128 <= n; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
        _mm256_store_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
        _mm256_store_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
        _mm256_store_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
        _mm256_store_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
    }
    for (; i + 32 <= n; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm256_store_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
    }
    framer_xor_tail(dst, src, i, n, key);
}

static void framer_xor_sse2(unsigned char *dst, const unsigned char *src,
                            Py_ssize_t n, const unsigned char *key)
{
    uint32_t k4;
    Py_ssize_t i = 0;
    __m128i k;
    memcpy(&k4, key, 4);
    k = _mm_set1_epi32((int)k4);
    for (; i + 64 <= n; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
        _mm_storeu_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
        _mm_storeu_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
        _mm_storeu_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
    }
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
    }
    framer_xor_tail(dst, src, i, n, key);
}

static int framer_has_avx2 = -1;

/* Whether to use the AVX2 kernels: the CPU's answer, asked once. */
static int framer_cpu_avx2(void)
{
    if (framer_has_avx2 < 0) framer_has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    return framer_has_avx2;
}
#endif

void framer_xor(unsigned char *dst, const unsigned char *src,
                       Py_ssize_t n, const unsigned char *key)
{
#ifdef FRAMER_X86
    if (n >= 32) {
        if (framer_cpu_avx2()) framer_xor_avx2(dst, src, n, key);
        else framer_xor_sse2(dst, src, n, key);
        return;
    }
#endif
    framer_xor_tail(dst, src, 0, n, key);
}


#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) \
    && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FRAMER_WORDS 1
#define FRAMER_HIGH 0x8080808080808080ULL
#endif

#ifdef FRAMER_X86
/* Whole-block UTF-8 validation with AVX2, after Keiser and Lemire,
   "Validating UTF-8 In Less Than One Instruction Per Byte" (2021): three
   nibble lookups classify each pair of adjacent bytes, and the bytes that
   must be a 3rd or 4th byte of a sequence are checked against what the
   lookups say.  p[:n] must end on a sequence boundary (an incomplete
   sequence at its end is reported as an error).  Adds the code points
   and the largest byte to *chars and *maxb; returns -1 if invalid. */
#define FRAMER_TOO_SHORT 1
#define FRAMER_TOO_LONG 2
#define FRAMER_OVERLONG_3 4
#define FRAMER_TOO_LARGE 8
#define FRAMER_SURROGATE 16
#define FRAMER_OVERLONG_2 32
#define FRAMER_TOO_LARGE_1000 64
#define FRAMER_OVERLONG_4 64
#define FRAMER_TWO_CONTS 128
#define FRAMER_CARRY (FRAMER_TOO_SHORT | FRAMER_TOO_LONG | FRAMER_TWO_CONTS)
#define FRAMER_T16(...) _mm256_setr_epi8(__VA_ARGS__, __VA_ARGS__)

__attribute__((target("avx2")))
static inline __m256i framer_utf8_block(__m256i in, __m256i prev)
{
    const __m256i lo4 = _mm256_set1_epi8(0x0F);
    /* byte 1 by its high nibble */
    const __m256i t1 = FRAMER_T16(
        FRAMER_TOO_LONG, FRAMER_TOO_LONG, FRAMER_TOO_LONG, FRAMER_TOO_LONG,
        FRAMER_TOO_LONG, FRAMER_TOO_LONG, FRAMER_TOO_LONG, FRAMER_TOO_LONG,
        (char)FRAMER_TWO_CONTS, (char)FRAMER_TWO_CONTS, (char)FRAMER_TWO_CONTS,
        (char)FRAMER_TWO_CONTS,
        FRAMER_TOO_SHORT | FRAMER_OVERLONG_2,
        FRAMER_TOO_SHORT,
        FRAMER_TOO_SHORT | FRAMER_OVERLONG_3 | FRAMER_SURROGATE,
        FRAMER_TOO_SHORT | FRAMER_TOO_LARGE | FRAMER_TOO_LARGE_1000 | FRAMER_OVERLONG_4);
    /* byte 1 by its low nibble */
    const __m256i t2 = FRAMER_T16(
        (char)(FRAMER_CARRY | FRAMER_OVERLONG_3 | FRAMER_OVERLONG_2 | FRAMER_OVERLONG_4),
        (char)(FRAMER_CARRY | FRAMER_OVERLONG_2),
        (char)FRAMER_CARRY, (char)FRAMER_CARRY,
        (char)(FRAMER_CARRY | FRAMER_TOO_LARGE),
        (char)(FRAMER_CARRY | FRAMER_TOO_LARGE | FRAMER_TOO_LARGE_1000),
        (char)(FRAMER_CARRY | FRAMER_TOO_LARGE | FRAMER_TOO_LARGE_1000),
        (char)(FRAMER_CARRY | FRAMER_TOO_LARGE | FRAMER_TOO_LARGE_1000),
        (char)(FRAMER_CARRY | FRAMER_TOO_LARGE | FRAMER_TOO_LARGE_1000),
        (char)(FRAMER_CARRY | FRAMER_TOO_LARGE | FRAMER_TOO_LARGE_1000),
        (char)(FRAMER_CARRY | FRAMER_TOO_LARGE | FRAMER_TOO_LARGE_1000),
        (char)(FRAMER_CARRY | FRAMER_TOO_LARGE | FRAMER_TOO_LARGE_1000),
        (char)(FRAMER_CARRY | FRAMER_TOO_LARGE | FRAMER_TOO_LARGE_1000),
        (char)(FRAMER_CARRY | FRAMER_TOO_LARGE | FRAMER_TOO_LARGE_1000 | FRAMER_SURROGATE),
        (char)(FRAMER_CARRY | FRAMER_TOO_LARGE | FRAMER_TOO_LARGE_1000),
        (char)(FRAMER_CARRY | FRAMER_TOO_LARGE | FRAMER_TOO_LARGE_1000));
    /* byte 2 by its high nibble */
    const __m256i t3 = FRAMER_T16(
        FRAMER_TOO_SHORT, FRAMER_TOO_SHORT, FRAMER_TOO_SHORT, FRAMER_TOO_SHORT,
        FRAMER_TOO_SHORT, FRAMER_TOO_SHORT, FRAMER_TOO_SHORT, FRAMER_TOO_SHORT,
        (char)(FRAMER_TOO_LONG | FRAMER_OVERLONG_2 | FRAMER_TWO_CONTS | FRAMER_OVERLONG_3
               | FRAMER_TOO_LARGE_1000 | FRAMER_OVERLONG_4),
        (char)(FRAMER_TOO_LONG | FRAMER_OVERLONG_2 | FRAMER_TWO_CONTS | FRAMER_OVERLONG_3
               | FRAMER_TOO_LARGE),
        (char)(FRAMER_TOO_LONG | FRAMER_OVERLONG_2 | FRAMER_TWO_CONTS | FRAMER_SURROGATE
               | FRAMER_TOO_LARGE),
        (char)(FRAMER_TOO_LONG | FRAMER_OVERLONG_2 | FRAMER_TWO_CONTS | FRAMER_SURROGATE
               | FRAMER_TOO_LARGE),
        FRAMER_TOO_SHORT, FRAMER_TOO_SHORT, FRAMER_TOO_SHORT, FRAMER_TOO_SHORT);
    __m256i carried = _mm256_permute2x128_si256(prev, in, 0x21);
    __m256i prev1 = _mm256_alignr_epi8(in, carried, 15);
    __m256i prev2 = _mm256_alignr_epi8(in, carried, 14);
    __m256i prev3 = _mm256_alignr_epi8(in, carried, 13);
    __m256i b1h = _mm256_shuffle_epi8(t1, _mm256_and_si256(_mm256_srli_epi16(prev1, 4), lo4));
    __m256i b1l = _mm256_shuffle_epi8(t2, _mm256_and_si256(prev1, lo4));
    __m256i b2h = _mm256_shuffle_epi8(t3, _mm256_and_si256(_mm256_srli_epi16(in, 4), lo4));
    __m256i special = _mm256_and_si256(_mm256_and_si256(b1h, b1l), b2h);
    __m256i third = _mm256_subs_epu8(prev2, _mm256_set1_epi8((char)(0xE0 - 0x80)));
    __m256i fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8((char)(0xF0 - 0x80)));
    __m256i must = _mm256_and_si256(_mm256_or_si256(third, fourth),
                                    _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(must, special);
}

__attribute__((target("avx2,popcnt")))
static int framer_utf8_avx2(const unsigned char *p, Py_ssize_t n,
                            Py_ssize_t *chars, unsigned int *maxb)
{
    __m256i prev = _mm256_setzero_si256(), err = _mm256_setzero_si256();
    __m256i top = _mm256_setzero_si256(), in;
    const __m256i cont_below = _mm256_set1_epi8(-64);
    Py_ssize_t i = 0, conts = 0;
    unsigned char last[32];
    unsigned int m = *maxb;
    int j;
    for (; i < n; i += 32) {
        if (n - i >= 32) {
            in = _mm256_loadu_si256((const __m256i *)(p + i));
        } else {  /* the last, short block, padded with NULs */
            memset(last, 0, sizeof(last));
            memcpy(last, p + i, (size_t)(n - i));
            in = _mm256_loadu_si256((const __m256i *)last);
        }
        err = _mm256_or_si256(err, framer_utf8_block(in, prev));
        top = _mm256_max_epu8(top, in);
        /* continuation bytes, 0x80..0xBF, are the signed bytes below -64 */
        conts += __builtin_popcount((unsigned int)_mm256_movemask_epi8(
            _mm256_cmpgt_epi8(cont_below, in)));
        prev = in;
    }
    /* A block of NULs after the end: a sequence cut short there fails. */
    err = _mm256_or_si256(err, framer_utf8_block(_mm256_setzero_si256(), prev));
    if (!_mm256_testz_si256(err, err)) return -1;
    _mm256_storeu_si256((__m256i *)last, top);
    for (j = 0; j < 32; j++) if (last[j] > m) m = last[j];
    *maxb = m;
    *chars += n - conts;
    return 0;
}
#endif

int framer_set_avx2(int on)
{
#ifdef FRAMER_X86
    framer_has_avx2 = (on && __builtin_cpu_supports("avx2")) ? 1 : 0;
    return framer_has_avx2;
#else
    (void)on;
    return 0;
#endif
}

int framer_utf8_check(framer_utf8 *st, const unsigned char *p, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    int need = st->need;
    unsigned int lo = st->lo, hi = st->hi, maxb = st->maxb, c;
    Py_ssize_t chars = st->chars;
    while (i < n) {
        if (need) {
            c = p[i];
            if (c < lo || c > hi) return -1;
            lo = 0x80; hi = 0xBF;
            need--; i++;
            continue;
        }
#ifdef FRAMER_X86
        if (n - i >= 64 && framer_cpu_avx2()) {
            /* Validate in bulk up to the start of a sequence the piece
               cuts short (if any); the scalar code below takes the rest,
               at most 3 bytes, and carries the state to the next piece. */
            Py_ssize_t end = n, k;
            for (k = 1; k <= 3; k++) {
                c = p[n - k];
                if (c < 0x80) break;
                if (c >= 0xC0) {
                    if (k < (c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2)) end = n - k;
                    break;
                }
            }
            if (framer_utf8_avx2(p + i, end - i, &chars, &maxb) < 0) return -1;
            i = end;
            continue;
        }
#endif
#ifdef FRAMER_WORDS
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            w &= FRAMER_HIGH;
            if (w) {
                int k = __builtin_ctzll(w) >> 3;
                i += k; chars += k;
                break;
            }
            i += 8; chars += 8;
        }
        if (i >= n) break;
#endif
        c = p[i++];
        chars++;
        if (c < 0x80) continue;
        if (c > maxb) maxb = c;
        if (c < 0xC2) return -1;       /* a stray continuation, or overlong */
        if (c < 0xE0) { need = 1; }
        else if (c < 0xF0) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;  /* overlong */
            else if (c == 0xED) hi = 0x9F;  /* UTF-16 surrogates */
        }
        else if (c < 0xF5) {
            need = 3;
            if (c == 0xF0) lo = 0x90;  /* overlong */
            else if (c == 0xF4) hi = 0x8F;  /* past U+10FFFF */
        }
        else return -1;
    }
    st->need = need; st->lo = lo; st->hi = hi; st->maxb = maxb; st->chars = chars;
    return 0;
}

#ifdef FRAMER_WORDS
#define FRAMER_ASCII_RUN(T)                                             \
        while (i + 8 <= n) {                                            \
            uint64_t w;                                                 \
            int j, k;                                                   \
            memcpy(&w, p + i, 8);                                       \
            w &= FRAMER_HIGH;                                           \
            if (w) {                                                    \
                k = __builtin_ctzll(w) >> 3;                            \
                for (j = 0; j < k; j++) out[j] = (T)p[i + j];           \
                out += k; i += k;                                       \
                break;                                                  \
            }                                                           \
            for (j = 0; j < 8; j++) out[j] = (T)p[i + j];               \
            out += 8; i += 8;                                           \
        }                                                               \
        if (i >= n) break;
#else
#define FRAMER_ASCII_RUN(T)
#endif

/* Decode checked UTF-8 into code units of type T (wide enough). */
#define FRAMER_DECODE(NAME, T)                                          \
    static void NAME(T *out, const unsigned char *p, Py_ssize_t n)      \
    {                                                                   \
        Py_ssize_t i = 0;                                               \
        unsigned int c;                                                 \
        while (i < n) {                                                 \
            FRAMER_ASCII_RUN(T)                                         \
            c = p[i];                                                   \
            if (c < 0x80) { *out++ = (T)c; i++; }                       \
            else if (c < 0xE0) {                                        \
                *out++ = (T)(((c & 0x1F) << 6) | (p[i + 1] & 0x3F));    \
                i += 2;                                                 \
            }                                                           \
            else if (c < 0xF0) {                                        \
                *out++ = (T)(((c & 0x0F) << 12) | ((p[i + 1] & 0x3F) << 6) \
                             | (p[i + 2] & 0x3F));                      \
                i += 3;                                                 \
            }                                                           \
            else {                                                      \
                *out++ = (T)(((c & 0x07) << 18) | ((p[i + 1] & 0x3F) << 12) \
                             | ((p[i + 2] & 0x3F) << 6) | (p[i + 3] & 0x3F)); \
                i += 4;                                                 \
            }                                                           \
        }                                                               \
    }

FRAMER_DECODE(framer_decode_ucs1, Py_UCS1)
FRAMER_DECODE(framer_decode_ucs2, Py_UCS2)
FRAMER_DECODE(framer_decode_ucs4, Py_UCS4)

#if defined(FRAMER_X86) && defined(FRAMER_WORDS)
/* Decoding checked UTF-8 16 bytes at a time: the next 16 bytes are
   widened and stored as if ASCII, and the output moves on by as many as
   were ASCII; a multibyte sequence is then decoded without branching on
   its length.  Stops 16 units short of the end of the output, where the
   scalar loop takes over. */
#define FRAMER_WIDEN_1(out, v) _mm_storeu_si128((__m128i *)(out), (v))
#define FRAMER_WIDEN_2(out, v) do {                                     \
        __m128i z_ = _mm_setzero_si128();                               \
        _mm_storeu_si128((__m128i *)(out), _mm_unpacklo_epi8((v), z_)); \
        _mm_storeu_si128((__m128i *)(out) + 1, _mm_unpackhi_epi8((v), z_)); \
    } while (0)
#define FRAMER_WIDEN_4(out, v) do {                                     \
        __m128i z_ = _mm_setzero_si128();                               \
        __m128i l_ = _mm_unpacklo_epi8((v), z_), h_ = _mm_unpackhi_epi8((v), z_); \
        _mm_storeu_si128((__m128i *)(out), _mm_unpacklo_epi16(l_, z_)); \
        _mm_storeu_si128((__m128i *)(out) + 1, _mm_unpackhi_epi16(l_, z_)); \
        _mm_storeu_si128((__m128i *)(out) + 2, _mm_unpacklo_epi16(h_, z_)); \
        _mm_storeu_si128((__m128i *)(out) + 3, _mm_unpackhi_epi16(h_, z_)); \
    } while (0)
#define FRAMER_DECODE_FAST(NAME, SLOW, T, WIDEN)                        \
    static void NAME(T *out, T *out_end, const unsigned char *p, Py_ssize_t n) \
    {                                                                   \
        Py_ssize_t i = 0;                                               \
        while (n - i >= 16 && out_end - out >= 16) {                    \
            __m128i v = _mm_loadu_si128((const __m128i *)(p + i));      \
            unsigned int mask = (unsigned int)_mm_movemask_epi8(v);     \
            int k = mask ? __builtin_ctz(mask) : 16;                    \
            uint32_t w, c, b1, b2, b3, cp2, cp3, cp4;                   \
            WIDEN(out, v);                                              \
            out += k; i += k;                                           \
            if (k == 16) continue;                                      \
            if (n - i < 4) break;                                       \
            memcpy(&w, p + i, 4);                                       \
            c = w & 0xFF;                                               \
            b1 = (w >> 8) & 0x3F; b2 = (w >> 16) & 0x3F; b3 = (w >> 24) & 0x3F; \
            cp2 = ((c & 0x1F) << 6) | b1;                               \
            cp3 = ((c & 0x0F) << 12) | (b1 << 6) | b2;                  \
            cp4 = ((c & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3;     \
            *out++ = (T)(c < 0xE0 ? cp2 : c < 0xF0 ? cp3 : cp4);        \
            i += 2 + (c >= 0xE0) + (c >= 0xF0);                         \
        }                                                               \
        SLOW(out, p + i, n - i);                                        \
    }
FRAMER_DECODE_FAST(framer_decode_ucs1_fast, framer_decode_ucs1, Py_UCS1, FRAMER_WIDEN_1)
FRAMER_DECODE_FAST(framer_decode_ucs2_fast, framer_decode_ucs2, Py_UCS2, FRAMER_WIDEN_2)
FRAMER_DECODE_FAST(framer_decode_ucs4_fast, framer_decode_ucs4, Py_UCS4, FRAMER_WIDEN_4)
#define FRAMER_DECODE_INTO(NAME, T, text, p, n) \
    NAME##_fast((T *)PyUnicode_DATA(text), (T *)PyUnicode_DATA(text) + PyUnicode_GET_LENGTH(text), p, n)
#else
#define FRAMER_DECODE_INTO(NAME, T, text, p, n) NAME((T *)PyUnicode_DATA(text), p, n)
#endif

PyObject *framer_utf8_build(const framer_utf8 *st, const unsigned char *p,
                                   Py_ssize_t n)
{
    unsigned int m = st->maxb;
    Py_UCS4 maxchar = m < 0x80 ? 0x7F : m < 0xC4 ? 0xFF : m < 0xF0 ? 0xFFFF : 0x10FFFF;
    PyObject *text = PyUnicode_New(st->chars, maxchar);
    if (text == NULL) return NULL;
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        if (maxchar == 0x7F) memcpy(PyUnicode_DATA(text), p, (size_t)n);
        else FRAMER_DECODE_INTO(framer_decode_ucs1, Py_UCS1, text, p, n);
        break;
    case PyUnicode_2BYTE_KIND:
        FRAMER_DECODE_INTO(framer_decode_ucs2, Py_UCS2, text, p, n);
        break;
    default:
        FRAMER_DECODE_INTO(framer_decode_ucs4, Py_UCS4, text, p, n);
        break;
    }
    return text;
}
