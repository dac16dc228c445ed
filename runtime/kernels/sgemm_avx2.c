/* sgemm_avx2.c: the AVX2+FMA microkernel, B packing and tile epilogue of
 * sgemm (driver in sgemm.c, layouts in sgemm_ukr.h). Compiled with
 * -mavx2 -mfma (CMakeLists.txt); only called when oc_cpu_isa() reports at
 * least AVX2 (Zen 3, Haswell and later).
 *
 * Register tile: MR x NR = 6 rows x 16 columns = 6 x 2 ymm accumulators
 * (12 of the 16 registers), 2 for the B row, 1 for the A broadcast: per k
 * step 2 loads of B, 6 broadcasts, 12 FMAs, 6 cycles on two FMA pipes
 * (the classic Haswell shape). A last panel of 8 columns or fewer uses one
 * vector, with masked loads and stores for a partial one.
 *
 * Blocking (Zen 3: 32 KB L1D, 512 KB L2): KC = 256 (an A panel is 6 KB),
 * NB = 240 (a B block is 240 KB), MB = 576. */
#include "sgemm_ukr.h"

#if defined(OC_SGEMM_X86)
#include <immintrin.h>

#include "epilogue.h"

enum { MR = 6, NR = 16, VW = 8, KC = 256, NB = 240, MB = 576 };

#define INLINE static inline __attribute__((always_inline))

/* Lanes [0, n) set (n clamped to [0, 8]), for maskload / maskstore. */
static __m256i lane_mask(int64_t n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

INLINE void tile_nv(const int NV, int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int rows,
                    int cols, float beta, int load_c)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++)
            acc[i][v] = _mm256_setzero_ps();
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; k++) {
        __m256 bv[2];
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++)
            bv[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++)
                acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        a += MR;
        b += NV * 8;
    }
    __m256 vb = _mm256_set1_ps(beta);
    int full = cols == NV * 8;
    __m256i last = lane_mask(cols - 8 * (NV - 1));
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        if (i >= rows)
            break;
        float *cr = c + i * ldc;
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            __m256 x = acc[i][v];
            if (full || v < NV - 1) {
                if (load_c)
                    x = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8 * v), x);
                _mm256_storeu_ps(cr + 8 * v, x);
            } else {
                if (load_c)
                    x = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr + 8 * v, last), x);
                _mm256_maskstore_ps(cr + 8 * v, last, x);
            }
        }
    }
}

static void tile(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int rows, int cols, float beta,
                 int load_c)
{
    if (cols > 8)
        tile_nv(2, kc, a, b, c, ldc, rows, cols, beta, load_c);
    else
        tile_nv(1, kc, a, b, c, ldc, rows, cols, beta, load_c);
}

static void pack_b(int64_t kc, int64_t nc, const float *b, int64_t ldb, int trans_b, float *dst)
{
    for (int64_t n = 0; n < nc; n += NR) {
        int64_t cols = nc - n < NR ? nc - n : NR;
        int64_t w = (cols + VW - 1) / VW * VW;
        float *d = dst + n * kc;
        if (!trans_b) {
            const float *s = b + n;
            if (cols == NR) {
                for (int64_t k = 0; k < kc; k++, s += ldb, d += NR) {
                    _mm256_storeu_ps(d, _mm256_loadu_ps(s));
                    _mm256_storeu_ps(d + 8, _mm256_loadu_ps(s + 8));
                }
            } else {
                for (int64_t k = 0; k < kc; k++, s += ldb, d += w)
                    for (int64_t j = 0; j < w; j += 8)
                        _mm256_storeu_ps(d + j, _mm256_maskload_ps(s + j, lane_mask(cols - j)));
            }
        } else {
            for (int64_t k = 0; k < kc; k++)
                for (int64_t j = cols; j < w; j++)
                    d[k * w + j] = 0.0f;
            for (int64_t j = 0; j < cols; j++) {
                const float *s = b + (n + j) * ldb;
                for (int64_t k = 0; k < kc; k++)
                    d[k * w + j] = s[k];
            }
        }
    }
}

static void epi(const oc_sgemm_epi *e, float *c, int64_t ldc, int rows, int cols, int64_t m, int64_t n)
{
    const oc_epilogue *ep = e->ep;
    int act = ep ? ep->act : OC_ACT_NONE;
    int per_col = ep && ep->per_col;
    const float *res = ep && ep->has_residual ? e->res : NULL;
    for (int i = 0; i < rows; i++) {
        float *cr = c + i * ldc;
        const float *rr = res ? res + (m + i) * e->ldr + n : NULL;
        __m256 srow = e->shift && !per_col ? _mm256_set1_ps(e->shift[m + i]) : _mm256_setzero_ps();
        for (int j = 0; j < cols; j += 8) {
            __m256i mk = lane_mask(cols - j);
            __m256 x = _mm256_maskload_ps(cr + j, mk);
            if (e->shift)
                x = _mm256_add_ps(x, per_col ? _mm256_maskload_ps(e->shift + n + j, mk) : srow);
            if (rr)
                x = _mm256_add_ps(x, _mm256_maskload_ps(rr + j, mk));
            if (act == OC_ACT_RELU) /* max(x, 0) returns 0 for NaN, as x > 0 ? x : 0 does */
                x = _mm256_max_ps(x, _mm256_setzero_ps());
            _mm256_maskstore_ps(cr + j, mk, x);
        }
        if (act != OC_ACT_NONE && act != OC_ACT_RELU)
            oc_act_apply(act, ep->alpha, ep->beta, cr, cols);
    }
}

const oc_sgemm_ukr oc_sgemm_ukr_avx2 = {OC_ISA_AVX2, MR, NR, VW, KC, NB, MB, tile, pack_b, epi};

#endif
