/* conv_direct_avx2.c: the AVX2 micro-kernel of the small-Cin direct conv
 * (conv_direct_ukr.h); CMakeLists.txt sets this file's -m flags.
 *
 * A tile is 4 output channels x NV vectors of 8 outputs (NV = 3: 12
 * accumulators). Per tap it loads NV input vectors and broadcasts the
 * 4 channels' weights one at a time: with all four broadcasts live the
 * 16 registers spill 3 accumulators to the stack in the loop (gcc 12,
 * -O3), which cost a third of the speed (MobileNet-v2's stem 3 -> 32,
 * 224x224 stride 2, one thread, Zen 1 class EPYC: 0.83 -> 0.71 ms; ResNet's
 * 7x7 stem 3 -> 64: 7.6 -> 6.35 ms, 37 GFLOP/s against 38 for the best
 * SGEMM). An empty asm on each broadcast keeps gcc from hoisting the next
 * one above the FMAs of this one. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#include "conv_direct_ukr.h"
#include "clamp_avx2.h"

#define KEEP(v) __asm__ volatile("" : "+x"(v))

static inline __attribute__((always_inline)) void tile4(const float *ph, const int32_t *off, int64_t T,
                                                        const float *w, int64_t K, const float *b, float *y,
                                                        int64_t ldy, int NV, int on, __m256 lo, __m256 hi)
{
    __m256 a00 = _mm256_set1_ps(b[0]), a01 = a00, a02 = a00;
    __m256 a10 = _mm256_set1_ps(b[1]), a11 = a10, a12 = a10;
    __m256 a20 = _mm256_set1_ps(b[2]), a21 = a20, a22 = a20;
    __m256 a30 = _mm256_set1_ps(b[3]), a31 = a30, a32 = a30;
    for (int64_t t = 0; t < T; t++) {
        const float *q = ph + off[t];
        __m256 x0 = _mm256_loadu_ps(q), x1 = x0, x2 = x0;
        if (NV > 1)
            x1 = _mm256_loadu_ps(q + 8);
        if (NV > 2)
            x2 = _mm256_loadu_ps(q + 16);
        __m256 wv = _mm256_broadcast_ss(w + t);
        a00 = _mm256_fmadd_ps(wv, x0, a00);
        if (NV > 1)
            a01 = _mm256_fmadd_ps(wv, x1, a01);
        if (NV > 2)
            a02 = _mm256_fmadd_ps(wv, x2, a02);
        KEEP(wv);
        wv = _mm256_broadcast_ss(w + K + t);
        a10 = _mm256_fmadd_ps(wv, x0, a10);
        if (NV > 1)
            a11 = _mm256_fmadd_ps(wv, x1, a11);
        if (NV > 2)
            a12 = _mm256_fmadd_ps(wv, x2, a12);
        KEEP(wv);
        wv = _mm256_broadcast_ss(w + 2 * K + t);
        a20 = _mm256_fmadd_ps(wv, x0, a20);
        if (NV > 1)
            a21 = _mm256_fmadd_ps(wv, x1, a21);
        if (NV > 2)
            a22 = _mm256_fmadd_ps(wv, x2, a22);
        KEEP(wv);
        wv = _mm256_broadcast_ss(w + 3 * K + t);
        a30 = _mm256_fmadd_ps(wv, x0, a30);
        if (NV > 1)
            a31 = _mm256_fmadd_ps(wv, x1, a31);
        if (NV > 2)
            a32 = _mm256_fmadd_ps(wv, x2, a32);
    }
    if (on) {
        a00 = oc_clamp_avx2(a00, on, lo, hi), a10 = oc_clamp_avx2(a10, on, lo, hi);
        a20 = oc_clamp_avx2(a20, on, lo, hi), a30 = oc_clamp_avx2(a30, on, lo, hi);
        if (NV > 1) {
            a01 = oc_clamp_avx2(a01, on, lo, hi), a11 = oc_clamp_avx2(a11, on, lo, hi);
            a21 = oc_clamp_avx2(a21, on, lo, hi), a31 = oc_clamp_avx2(a31, on, lo, hi);
        }
        if (NV > 2) {
            a02 = oc_clamp_avx2(a02, on, lo, hi), a12 = oc_clamp_avx2(a12, on, lo, hi);
            a22 = oc_clamp_avx2(a22, on, lo, hi), a32 = oc_clamp_avx2(a32, on, lo, hi);
        }
    }
    _mm256_storeu_ps(y, a00);
    _mm256_storeu_ps(y + ldy, a10);
    _mm256_storeu_ps(y + 2 * ldy, a20);
    _mm256_storeu_ps(y + 3 * ldy, a30);
    if (NV > 1) {
        _mm256_storeu_ps(y + 8, a01);
        _mm256_storeu_ps(y + ldy + 8, a11);
        _mm256_storeu_ps(y + 2 * ldy + 8, a21);
        _mm256_storeu_ps(y + 3 * ldy + 8, a31);
    }
    if (NV > 2) {
        _mm256_storeu_ps(y + 16, a02);
        _mm256_storeu_ps(y + ldy + 16, a12);
        _mm256_storeu_ps(y + 2 * ldy + 16, a22);
        _mm256_storeu_ps(y + 3 * ldy + 16, a32);
    }
}

void oc_cdir_row4_avx2(const float *ph, const int32_t *off, int64_t T, const float *w, int64_t K, const float *b,
                       float *y, int64_t ldy, int64_t OW, int on, float lo_, float hi_)
{
    __m256 lo = _mm256_set1_ps(lo_), hi = _mm256_set1_ps(hi_);
    int64_t nv = OW / 8, v = 0;
    for (; v + 3 <= nv; v += 3)
        tile4(ph + 8 * v, off, T, w, K, b, y + 8 * v, ldy, 3, on, lo, hi);
    if (nv - v == 2)
        tile4(ph + 8 * v, off, T, w, K, b, y + 8 * v, ldy, 2, on, lo, hi);
    else if (nv - v == 1)
        tile4(ph + 8 * v, off, T, w, K, b, y + 8 * v, ldy, 1, on, lo, hi);
    int64_t rest = OW - 8 * nv;
    if (rest) { /* the last partial vector, through a temporary */
        float tmp[4 * 8];
        tile4(ph + 8 * nv, off, T, w, K, b, tmp, 8, 1, on, lo, hi);
        for (int j = 0; j < 4; j++)
            memcpy(y + j * ldy + 8 * nv, tmp + 8 * j, sizeof(float) * (size_t)rest);
    }
}

void oc_cdir_split2_avx2(float *even, float *odd, const float *row, int64_t n)
{
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 a = _mm256_loadu_ps(row + 2 * j), b = _mm256_loadu_ps(row + 2 * j + 8);
        /* a0 a2 b0 b2 | a4 a6 b4 b6, then the middle 64-bit lanes swapped */
        __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xDD);
        _mm256_storeu_ps(even + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
        _mm256_storeu_ps(odd + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8)));
    }
    for (; j < n; j++) {
        even[j] = row[2 * j];
        odd[j] = row[2 * j + 1];
    }
}
#else
typedef int oc_conv_direct_avx2_unused; /* not an x86 build: nothing here */
#endif
