/* conv_direct_avx512.c: the AVX-512 micro-kernel of the small-Cin direct
 * conv (conv_direct_ukr.h); CMakeLists.txt sets this file's -m flags.
 *
 * A tile is 8 output channels x NV vectors of 16 outputs (NV = 3: 24 of
 * the 32 registers accumulate, 3 hold the tap's inputs, 1 the broadcast
 * weight). Per tap: NV unaligned loads from the band's phase row, 8
 * broadcasts, 8 NV FMAs: the SGEMM tile's ratio (sgemm_avx512.c), without
 * the im2col copy of K x N that the stem's 27- or 147-deep product
 * otherwise reads. A last partial vector is loaded and stored under a lane
 * mask. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "clamp_avx512.h"
#include "conv_direct_ukr.h"

/* 8 channels x NV vectors at ph / y; the last vector under mask ml. The
 * accumulators are named, not an array: gcc kept a 8 x 3 array in memory
 * and stored it back on every tap (65-70 GFLOP/s on ResNet's stem). */
#define ACC_DECL(j) __m512 a##j##0 = _mm512_set1_ps(b[j]), a##j##1 = a##j##0, a##j##2 = a##j##0
#define ACC_FMA(j)                                                                                                     \
    do {                                                                                                               \
        __m512 wv = _mm512_set1_ps(w[(j) * K + t]);                                                                    \
        a##j##0 = _mm512_fmadd_ps(wv, x0, a##j##0);                                                                    \
        if (NV > 1)                                                                                                    \
            a##j##1 = _mm512_fmadd_ps(wv, x1, a##j##1);                                                                \
        if (NV > 2)                                                                                                    \
            a##j##2 = _mm512_fmadd_ps(wv, x2, a##j##2);                                                                \
    } while (0)
#define ACC_STORE(j)                                                                                                   \
    do {                                                                                                               \
        float *yj = y + (j) * ldy;                                                                                     \
        if (NV == 1)                                                                                                   \
            _mm512_mask_storeu_ps(yj, ml, oc_clamp_avx512(a##j##0, on, lo, hi));                                       \
        else                                                                                                           \
            _mm512_storeu_ps(yj, oc_clamp_avx512(a##j##0, on, lo, hi));                                                \
        if (NV == 2)                                                                                                   \
            _mm512_mask_storeu_ps(yj + 16, ml, oc_clamp_avx512(a##j##1, on, lo, hi));                                  \
        else if (NV > 2)                                                                                               \
            _mm512_storeu_ps(yj + 16, oc_clamp_avx512(a##j##1, on, lo, hi));                                           \
        if (NV > 2)                                                                                                    \
            _mm512_mask_storeu_ps(yj + 32, ml, oc_clamp_avx512(a##j##2, on, lo, hi));                                  \
    } while (0)

static inline __attribute__((always_inline)) void tile8(const float *ph, const int32_t *off, int64_t T,
                                                        const float *w, int64_t K, const float *b, float *y,
                                                        int64_t ldy, int NV, __mmask16 ml, int on, __m512 lo,
                                                        __m512 hi)
{
    ACC_DECL(0);
    ACC_DECL(1);
    ACC_DECL(2);
    ACC_DECL(3);
    ACC_DECL(4);
    ACC_DECL(5);
    ACC_DECL(6);
    ACC_DECL(7);
    for (int64_t t = 0; t < T; t++) {
        const float *q = ph + off[t];
        __m512 x0, x1 = _mm512_setzero_ps(), x2 = _mm512_setzero_ps();
        if (NV == 1)
            x0 = _mm512_maskz_loadu_ps(ml, q);
        else
            x0 = _mm512_loadu_ps(q);
        if (NV == 2)
            x1 = _mm512_maskz_loadu_ps(ml, q + 16);
        else if (NV > 2)
            x1 = _mm512_loadu_ps(q + 16);
        if (NV > 2)
            x2 = _mm512_maskz_loadu_ps(ml, q + 32);
        ACC_FMA(0);
        ACC_FMA(1);
        ACC_FMA(2);
        ACC_FMA(3);
        ACC_FMA(4);
        ACC_FMA(5);
        ACC_FMA(6);
        ACC_FMA(7);
    }
    ACC_STORE(0);
    ACC_STORE(1);
    ACC_STORE(2);
    ACC_STORE(3);
    ACC_STORE(4);
    ACC_STORE(5);
    ACC_STORE(6);
    ACC_STORE(7);
}

void oc_cdir_row8_avx512(const float *ph, const int32_t *off, int64_t T, const float *w, int64_t K, const float *b,
                         float *y, int64_t ldy, int64_t OW, int on, float lo_, float hi_)
{
    __m512 lo = _mm512_set1_ps(lo_), hi = _mm512_set1_ps(hi_);
    int64_t nv = OW / 16, v = 0;
    /* tiles of 3 vectors; a remainder of 1 after them goes as 2 + 2 (a
     * 1-vector tile loads 9 times for 8 FMAs): 7 vectors (112 outputs,
     * both stems) as 3 + 2 + 2 */
    int64_t n3 = nv % 3 == 1 && nv >= 4 ? nv / 3 - 1 : nv / 3;
    for (; v < 3 * n3; v += 3)
        tile8(ph + 16 * v, off, T, w, K, b, y + 16 * v, ldy, 3, 0xFFFF, on, lo, hi);
    for (; v + 2 <= nv; v += 2)
        tile8(ph + 16 * v, off, T, w, K, b, y + 16 * v, ldy, 2, 0xFFFF, on, lo, hi);
    if (v < nv)
        tile8(ph + 16 * v, off, T, w, K, b, y + 16 * v, ldy, 1, 0xFFFF, on, lo, hi);
    int rest = (int)(OW - 16 * nv);
    if (rest)
        tile8(ph + 16 * nv, off, T, w, K, b, y + 16 * nv, ldy, 1, (__mmask16)((1u << rest) - 1u), on, lo, hi);
}
#else
typedef int oc_conv_direct_avx512_unused; /* not an x86 build: nothing here */
#endif
