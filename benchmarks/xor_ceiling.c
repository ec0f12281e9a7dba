/* The ceiling for unmasking in place, in C, without Python in the way.

   XORs one buffer in place with a 4-byte key, as framer's and aiohttp's
   in-place unmask do, with three loops: 8 bytes at a time, AVX2 (4 x 32 B per
   iteration, aligned) and AVX-512 (4 x 64 B), and prints GB/s per size.  At
   32 KiB the buffer sits in L1 and the vector width matters; from 64 KiB on
   it streams from L2 and every vector loop runs at the same speed, which is
   the most any in-place unmask can reach there.

       gcc -O2 -o /tmp/xor_ceiling benchmarks/xor_ceiling.c && /tmp/xor_ceiling
*/
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((noinline)) static void xor_u64(unsigned char *d, size_t n, uint32_t k4)
{
    uint64_t k = ((uint64_t)k4 << 32) | k4;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, d + i, 8);
        w ^= k;
        memcpy(d + i, &w, 8);
    }
}

__attribute__((target("avx2"), noinline)) static void xor_avx2(unsigned char *d, size_t n, uint32_t k4)
{
    __m256i k = _mm256_set1_epi32((int)k4);
    for (size_t i = 0; i + 128 <= n; i += 128)
        for (int j = 0; j < 128; j += 32) {
            __m256i *p = (__m256i *)(d + i + j);
            _mm256_store_si256(p, _mm256_xor_si256(_mm256_load_si256(p), k));
        }
}

__attribute__((target("avx512f"), noinline)) static void xor_avx512(unsigned char *d, size_t n, uint32_t k4)
{
    __m512i k = _mm512_set1_epi32((int)k4);
    for (size_t i = 0; i + 256 <= n; i += 256)
        for (int j = 0; j < 256; j += 64) {
            void *p = d + i + j;
            _mm512_store_si512(p, _mm512_xor_si512(_mm512_load_si512(p), k));
        }
}

int main(void)
{
    struct { const char *name; void (*fn)(unsigned char *, size_t, uint32_t); int ok; } loops[] = {
        {"8 bytes", xor_u64, 1},
        {"AVX2", xor_avx2, __builtin_cpu_supports("avx2")},
        {"AVX-512", xor_avx512, __builtin_cpu_supports("avx512f")},
    };
    for (size_t n = 32768; n <= 1048576; n *= 2) {
        unsigned char *d = aligned_alloc(64, n);
        memset(d, 1, n);
        for (int v = 0; v < 3; v++) {
            double best = 1e9;
            if (!loops[v].ok)
                continue;
            for (int r = 0; r < 7; r++) {
                int iterations = (int)(20000 * 32768 / n);
                double t = now();
                for (int j = 0; j < iterations; j++)
                    loops[v].fn(d, n, 0x12345678u + (uint32_t)j);
                t = (now() - t) / iterations;
                if (t < best)
                    best = t;
            }
            printf("%8zu B  %-8s %6.1f GB/s\n", n, loops[v].name, n / best / 1e9);
        }
        free(d);
    }
    return 0;
}
