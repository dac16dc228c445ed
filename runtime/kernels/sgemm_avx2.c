/* sgemm_avx2.c: the AVX2+FMA microkernel, B packing and tile epilogue of
 * sgemm (driver in sgemm.c, layouts in sgemm_ukr.h). Compiled with
 * -mavx2 -mfma (CMakeLists.txt); only called when oc_cpu_isa() reports at
 * least AVX2 (Zen 3, Haswell and later).
 *
 * Register tile: MR x NR = 6 rows x 16 columns = 6 x 2 ymm accumulators
 * (12 of the 16 registers), 2 for the B row, 1 for the A broadcast: per k
 * step 2 loads of B, 6 broadcasts, 12 FMAs, 6 cycles on two FMA pipes
 * (the classic Haswell shape). A last panel of 8 columns or fewer uses one
 * vector, with masked loads and stores for a partial one; a remainder of
 * 1-3 columns past the vector width goes to the narrow kernel instead.
 * A second table (oc_sgemm_ukr_avx2_m4) runs the same code as a 4 x 24
 * tile (4 x 3 accumulators) for packs of 4-20 rows that MR = 6 would pad
 * (sgemm.c pack_ukr_for): R, NV and the panel width are compile-time
 * parameters of the inline bodies.
 *
 * Blocking (Zen 3: 32 KB L1D, 512 KB L2): KC = 256 (an A panel is 6 KB),
 * NB = 240 (a B block is 240 KB), MB = 576. */
#include "sgemm_ukr.h"

#if defined(OC_SGEMM_X86)
#include <immintrin.h>
#include <math.h>

#include "epilogue.h"

enum { MR = 6, NR = 16, VW = 8, KC = 256, NB = 240, MB = 576 };
/* The second tile for packs whose row count the first one would pad:
 * MR4 x NR4 = 4 rows x 24 columns = 4 x 3 ymm accumulators (again 12),
 * per k 3 loads of B, 4 broadcasts, 12 FMAs. */
enum { MR4 = 4, NR4 = 24 };

#define INLINE static inline __attribute__((always_inline))

/* Lanes [0, n) set (n clamped to [0, 8]), for maskload / maskstore. */
static __m256i lane_mask(int64_t n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* A finished full R x 8 NV tile stored with the common epilogues,
 * branch-free, as store_tile3 in sgemm_avx512.c (the same flags, the
 * same operations, so the same bits as the general loop in tile_nv). */
INLINE void store_tile2(const int R, const int NV, const int LOADC, const int SH, const int RES, const int CLAMP,
                        const int RELU, __m256 acc[MR][3], float *c, int64_t ldc, int rows, __m256 vb,
                        const float *sh, const float *res, int64_t ldr, __m256 lo, __m256 hi)
{
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
        if (i >= rows)
            break;
        float *cr = c + i * ldc;
        __m256 srow = SH ? _mm256_set1_ps(sh[i]) : _mm256_setzero_ps();
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++) {
            __m256 x = acc[i][v];
            if (LOADC)
                x = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8 * v), x);
            if (SH)
                x = _mm256_add_ps(x, srow);
            if (RES)
                x = _mm256_add_ps(x, _mm256_loadu_ps(res + i * ldr + 8 * v));
            if (CLAMP)
                x = RELU ? _mm256_min_ps(hi, _mm256_max_ps(x, lo)) : _mm256_min_ps(hi, _mm256_max_ps(lo, x));
            _mm256_storeu_ps(cr + 8 * v, x);
        }
    }
}

#define STORE2_CASE(F)                                                                                           \
    case F:                                                                                                      \
        store_tile2(R, NV, (F) & 1, ((F) >> 1) & 1, ((F) >> 2) & 1, ((F) >> 3) & 1, ((F) >> 4) & 1, acc, c, ldc, \
                    rows, vb, shp, rp, ldr, lo, hi);                                                            \
        return;

/* An R-row tile of NV vectors (NV * 8 <= the tile's NR) on panels of PS
 * rows (PS = MR or MR4; R = PS, or fewer for a pack's last panel). */
INLINE void tile_nv(const int R, const int PS, const int NV, int64_t kc, const float *a, const float *b, int64_t bw, float *c,
                    int64_t ldc, int rows, int cols, float beta, int load_c, const oc_sgemm_epi *e, int64_t m,
                    int64_t n)
{
    const int NRT = PS == MR ? NR : NR4; /* the tile's full width */
    __m256 acc[MR][3];
    /* The epilogue's residual tile is read only after the k loop: start
     * fetching it now so its cache misses overlap the FMAs (a Conv's
     * residual is often a whole activation that left the cache). */
    if (e && e->ep && e->ep->has_residual && e->res)
        for (int i = 0; i < rows; i++) {
            const char *rr = (const char *)(e->res + (m + i) * e->ldr + n);
            _mm_prefetch(rr, _MM_HINT_T0);
            _mm_prefetch(rr + NV * 32 - 4, _MM_HINT_T0);
        }
#pragma GCC unroll 6
    for (int i = 0; i < R; i++)
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            acc[i][v] = _mm256_setzero_ps();
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; k++) {
        __m256 bv[3];
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            bv[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 6
        for (int i = 0; i < R; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++)
                acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        _mm_prefetch((const char *)(a + 1024), _MM_HINT_T0); /* A 4 KB ahead: see sgemm_avx512.c */
        /* B read in place (bw = ldb, sgemm.c direct_b): every k is a
         * different row, often a different page, too many streams for the
         * hardware prefetcher, so the first A panel to sweep a block waited
         * on each line. Fetch this row's piece of the panel after next.
         * MobileNet-v2's 1x1 convs with 16-24 outputs at 56x56 and 112x112,
         * in the model against ORT's profiler: 0.60-0.71 -> 0.92-0.97 of
         * ORT's time (Zen 1 class EPYC). */
        if (NV * 8 == NRT && bw > NRT) {
            _mm_prefetch((const char *)(b + 2 * NRT), _MM_HINT_T0);
            if (NRT > 16) /* a 24-float row piece can span three lines */
                _mm_prefetch((const char *)(b + 2 * NRT + 16), _MM_HINT_T0);
        }
        a += PS;
        b += bw;
    }
    __m256 vb = _mm256_set1_ps(beta);
    int full = cols == NV * 8;
    __m256i last = lane_mask(cols - 8 * (NV - 1));
    /* the epilogue (e != NULL): the same operations as epi() below, on the
     * registers instead of a reload of the stored tile */
    const oc_epilogue *ep = e ? e->ep : NULL;
    int act = ep ? ep->act : OC_ACT_NONE, per_col = ep && ep->per_col;
    const float *res = ep && ep->has_residual ? e->res : NULL;
    int reg_act = act == OC_ACT_NONE || act == OC_ACT_RELU || act == OC_ACT_CLIP;
    /* column vector v of a row at cr + v * vs: 8 on, or e->cvs apart (sgemm.h) */
    const int64_t vs = e && e->cvs ? e->cvs : 8;
    if (vs != 8 && NV * 8 == NRT && full && reg_act && per_col) {
        /* channel-blocked C (conv.c out_c8): per-column shift, the vectors
         * 8 columns apart in memory; the same operations as the loop below */
        __m256 sv[3];
        const float *sh = e->shift;
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            sv[v] = sh ? _mm256_loadu_ps(sh + n + 8 * v) : _mm256_setzero_ps();
        __m256 lo = _mm256_set1_ps(act == OC_ACT_CLIP ? ep->alpha : 0.0f), hi = _mm256_set1_ps(ep->beta);
#pragma GCC unroll 6
        for (int i = 0; i < R; i++) {
            if (i >= rows)
                break;
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++) {
                __m256 x = acc[i][v];
                if (load_c)
                    x = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + i * ldc + v * vs), x);
                if (sh)
                    x = _mm256_add_ps(x, sv[v]);
                if (act == OC_ACT_RELU)
                    x = _mm256_max_ps(x, lo);
                else if (act == OC_ACT_CLIP)
                    x = _mm256_min_ps(hi, _mm256_max_ps(lo, x));
                _mm256_storeu_ps(c + i * ldc + v * vs, x);
            }
        }
        return;
    }
    if (NV * 8 == NRT && full && reg_act && !per_col && vs == 8) { /* full tiles, the common epilogues: branch-free */
        const float *shp = e && e->shift ? e->shift + m : NULL, *rp = res ? res + m * e->ldr + n : NULL;
        int64_t ldr = res ? e->ldr : 0;
        __m256 lo = _mm256_set1_ps(act == OC_ACT_CLIP ? ep->alpha : 0.0f);
        __m256 hi = _mm256_set1_ps(act == OC_ACT_CLIP ? ep->beta : INFINITY);
        switch (oc_sgemm_store_flags(load_c, shp != NULL, rp != NULL, act)) {
            OC_SGEMM_STORE_CASES(STORE2_CASE)
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
        if (i >= rows)
            break;
        float *cr = c + i * ldc;
        const float *rr = res ? res + (m + i) * e->ldr + n : NULL;
        __m256 srow = e && e->shift && !per_col ? _mm256_set1_ps(e->shift[m + i]) : _mm256_setzero_ps();
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++) {
            __m256 x = acc[i][v];
            int whole = full || v < NV - 1;
            __m256i mk = whole ? _mm256_set1_epi32(-1) : last;
            if (load_c)
                x = _mm256_fmadd_ps(vb, whole ? _mm256_loadu_ps(cr + v * vs) : _mm256_maskload_ps(cr + v * vs, last), x);
            if (e) {
                if (e->shift)
                    x = _mm256_add_ps(x, per_col ? _mm256_maskload_ps(e->shift + n + 8 * v, mk) : srow);
                if (rr)
                    x = _mm256_add_ps(x, _mm256_maskload_ps(rr + 8 * v, mk));
                if (act == OC_ACT_RELU)
                    x = _mm256_max_ps(x, _mm256_setzero_ps());
                else if (act == OC_ACT_CLIP)
                    x = _mm256_min_ps(_mm256_set1_ps(ep->beta), _mm256_max_ps(_mm256_set1_ps(ep->alpha), x));
            }
            if (whole)
                _mm256_storeu_ps(cr + v * vs, x);
            else
                _mm256_maskstore_ps(cr + v * vs, last, x);
        }
    }
    /* other activations on the stored rows, after the loop (a call inside
     * it made GCC spill the later rows' accumulators around it) */
    if (e && !reg_act)
        for (int i = 0; i < rows; i++)
            oc_act_apply(act, ep->alpha, ep->beta, c + i * ldc, cols);
}

/* The narrowest tile that covers rows x cols on panels of R rows: 1, 2 or
 * (4 x 24 only) 3 vectors; and for a pack's last panel with 1-4 of its 6
 * (or 1-2 of its 4) rows, a 2- or 4-row tile, which issues a third to two
 * thirds of the FMAs the full tile would spend on padding rows: a pack of
 * 32 rows is then 5 1/3 full tiles' work instead of 6. */
INLINE void tile_rw(const int R, const int PS, int64_t kc, const float *a, const float *b, int64_t bw, float *c,
                    int64_t ldc, int rows, int cols, float beta, int load_c, const oc_sgemm_epi *e, int64_t m,
                    int64_t n)
{
    if (PS == MR4 && cols > 16)
        tile_nv(R, PS, 3, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, e, m, n);
    else if (cols > 8)
        tile_nv(R, PS, 2, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, e, m, n);
    else
        tile_nv(R, PS, 1, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, e, m, n);
}

INLINE void tile_r(const int R, int64_t kc, const float *a, const float *b, int64_t bw, float *c, int64_t ldc,
                   int rows, int cols, float beta, int load_c, const oc_sgemm_epi *e, int64_t m, int64_t n)
{
    if (rows <= 2)
        tile_rw(2, R, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, e, m, n);
    else if (R == MR && rows <= 4)
        tile_rw(4, R, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, e, m, n);
    else
        tile_rw(R, R, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, e, m, n);
}

static void tile_epi(int64_t kc, const float *a, const float *b, int64_t bw, float *c, int64_t ldc, int rows,
                     int cols, float beta, int load_c, const oc_sgemm_epi *e, int64_t m, int64_t n)
{
    tile_r(MR, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, e, m, n);
}

static void tile(int64_t kc, const float *a, const float *b, int64_t bw, float *c, int64_t ldc, int rows, int cols,
                 float beta, int load_c)
{
    tile_r(MR, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, NULL, 0, 0);
}

static void tile_epi4(int64_t kc, const float *a, const float *b, int64_t bw, float *c, int64_t ldc, int rows,
                      int cols, float beta, int load_c, const oc_sgemm_epi *e, int64_t m, int64_t n)
{
    tile_r(MR4, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, e, m, n);
}

static void tile4(int64_t kc, const float *a, const float *b, int64_t bw, float *c, int64_t ldc, int rows, int cols,
                  float beta, int load_c)
{
    tile_r(MR4, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, NULL, 0, 0);
}

/* The narrow kernel (sgemm_ukr.h): r <= 3 columns over G panels of R
 * rows (6, or 4 for the 4 x 24 tile) at once, one ymm per panel and
 * column. A panel row is R floats, so each load takes 8 (the rest from the
 * next k, or the slack after the last panel: packs and scratch keep 16
 * floats past it) and lanes R-7 are never stored. G * r <= 12 accumulators
 * of the 16 registers; G >= 4 covers the FMA latency. */
INLINE void narrow_rg(const int RR, const int R, const int G, int64_t kc, const float *a, int64_t astride, int rows,
                      const float *b, int64_t bw, float *c, int64_t ldc, float beta, int load_c)
{
    __m256 acc[8][3];
#pragma GCC unroll 8
    for (int g = 0; g < G; g++)
#pragma GCC unroll 3
        for (int j = 0; j < R; j++)
            acc[g][j] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m256 bk[3];
#pragma GCC unroll 3
        for (int j = 0; j < R; j++)
            bk[j] = _mm256_broadcast_ss(b + k * bw + j);
#pragma GCC unroll 8
        for (int g = 0; g < G; g++) {
            __m256 x = _mm256_loadu_ps(a + g * astride + k * RR);
#pragma GCC unroll 3
            for (int j = 0; j < R; j++)
                acc[g][j] = _mm256_fmadd_ps(x, bk[j], acc[g][j]);
        }
    }
    for (int g = 0; g < G; g++)
        for (int j = 0; j < R; j++) {
            float t[8];
            _mm256_storeu_ps(t, acc[g][j]);
            for (int i = 0; i < RR && g * RR + i < rows; i++) {
                float *cp = c + (g * RR + i) * ldc + j;
                *cp = load_c ? fmaf(beta, *cp, t[i]) : t[i];
            }
        }
}

#define NARROW_CASE(RR, R, G)                                                                                 \
    for (; rows >= (G) * (RR) || ((G) == 1 && rows > 0); rows -= (G) * (RR), a += (G) * astride, c += (G) * (RR) * ldc) \
        narrow_rg(RR, R, G, kc, a, astride, rows, b, bw, c, ldc, beta, load_c);

INLINE void narrow_r(const int RR, int64_t kc, const float *a, int64_t astride, int rows, const float *b, int64_t bw,
                     int r, float *c, int64_t ldc, float beta, int load_c)
{
    switch (r) {
    case 1:
        NARROW_CASE(RR, 1, 8) NARROW_CASE(RR, 1, 1) break;
    case 2:
        NARROW_CASE(RR, 2, 6) NARROW_CASE(RR, 2, 1) break;
    default:
        NARROW_CASE(RR, 3, 4) NARROW_CASE(RR, 3, 1) break;
    }
}

static void narrow(int64_t kc, const float *a, int64_t astride, int rows, const float *b, int64_t bw, int r, float *c,
                   int64_t ldc, float beta, int load_c)
{
    narrow_r(MR, kc, a, astride, rows, b, bw, r, c, ldc, beta, load_c);
}

static void narrow4(int64_t kc, const float *a, int64_t astride, int rows, const float *b, int64_t bw, int r, float *c,
                    int64_t ldc, float beta, int load_c)
{
    narrow_r(MR4, kc, a, astride, rows, b, bw, r, c, ldc, beta, load_c);
}

/* In-register 8 x 8 transpose: x[i][j] becomes x[j][i]. */
static inline void transpose8(__m256 x[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(x[i], x[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(x[i], x[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int i = 0; i < 4; i++) {
        x[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        x[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/* A panels, R rows at a time (6, or 4 for the 4 x 24 tile): trans_a
 * rows are contiguous (a masked vector per k); otherwise R rows x 8 k
 * (the other rows zero) are transposed in registers and R lanes of each
 * result stored. */
INLINE void pack_a_r(const int R, int64_t rows, int64_t kc, const float *a, int64_t lda, int trans_a, float alpha,
                     float *dst, int64_t stride)
{
    __m256 va = _mm256_set1_ps(alpha);
    __m256i lanes = lane_mask(R);
    int64_t full = rows / R * R;
    for (int64_t r = 0; r < full; r += R, dst += stride) {
        if (trans_a) {
            /* R adjacent floats a row: plain 8-float loads while the block
             * has 8 rows from r on (vmaskmovps is slow on Zen 1), plain
             * stores but for each panel's last k (lanes R.. land on the
             * next k's slots, rewritten next) */
            const float *s = a + r;
            int64_t k = 0;
            if (r + 8 <= rows)
                for (; k + 1 < kc; k++)
                    _mm256_storeu_ps(dst + k * R, _mm256_mul_ps(va, _mm256_loadu_ps(s + k * lda)));
            for (; k < kc; k++)
                _mm256_maskstore_ps(dst + k * R, lanes, _mm256_mul_ps(va, _mm256_maskload_ps(s + k * lda, lanes)));
            continue;
        }
        const float *s = a + r * lda;
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 x[8];
            for (int i = 0; i < 8; i++)
                x[i] = i < R ? _mm256_mul_ps(va, _mm256_loadu_ps(s + i * lda + k)) : _mm256_setzero_ps();
            transpose8(x);
            for (int j = 0; j < 8; j++)
                _mm256_maskstore_ps(dst + (k + j) * R, lanes, x[j]);
        }
        for (; k < kc; k++)
            for (int i = 0; i < R; i++)
                dst[k * R + i] = alpha * s[i * lda + k];
    }
    if (full < rows)
        oc_sgemm_pack_a_c(R, rows - full, kc, trans_a ? a + full : a + full * lda, lda, trans_a, alpha, dst, stride);
}

static void pack_a(int64_t rows, int64_t kc, const float *a, int64_t lda, int trans_a, float alpha, float *dst,
                   int64_t stride)
{
    pack_a_r(MR, rows, kc, a, lda, trans_a, alpha, dst, stride);
}

static void pack_a4(int64_t rows, int64_t kc, const float *a, int64_t lda, int trans_a, float alpha, float *dst,
                    int64_t stride)
{
    pack_a_r(MR4, rows, kc, a, lda, trans_a, alpha, dst, stride);
}

/* op(B) = B^T (B stored N x K): 8 columns x 8 k at a time, transposed in
 * registers; leftover columns and k one by one; padding columns zero. */
INLINE void pack_b_trans(const int P, int64_t kc, int64_t nc, const float *b, int64_t ldb, float *dst)
{
    int64_t k8 = kc / 8 * 8;
    for (int64_t n = 0; n < nc; n += P) {
        int64_t cols = nc - n < P ? nc - n : P;
        int64_t w = (cols + VW - 1) / VW * VW, j8 = cols / 8 * 8;
        float *d = dst + n * kc;
        for (int64_t j = 0; j < j8; j += 8) {
            const float *s = b + (n + j) * ldb;
            for (int64_t k = 0; k < k8; k += 8) {
                __m256 x[8];
                for (int i = 0; i < 8; i++)
                    x[i] = _mm256_loadu_ps(s + i * ldb + k);
                transpose8(x);
                for (int i = 0; i < 8; i++)
                    _mm256_storeu_ps(d + (k + i) * w + j, x[i]);
            }
            for (int64_t k = k8; k < kc; k++)
                for (int i = 0; i < 8; i++)
                    d[k * w + j + i] = s[i * ldb + k];
        }
        for (int64_t j = j8; j < w; j++)
            for (int64_t k = 0; k < kc; k++)
                d[k * w + j] = j < cols ? b[(n + j) * ldb + k] : 0.0f;
    }
}

/* Rows ahead of the one being packed that pack_b prefetches (B often
 * comes from DRAM, row after row). */
enum { PACK_PREFETCH_ROWS = 4 };

/* B panels P columns wide (NR, or NR4 for the 4 x 24 tile). */
INLINE void pack_b_p(const int P, int64_t kc, int64_t nc, const float *b, int64_t ldb, int trans_b, float *dst)
{
    if (trans_b) {
        pack_b_trans(P, kc, nc, b, ldb, dst);
        return;
    }
    /* Row by row: each row of B is read once, contiguously, and its pieces
     * go to the panels (which live in L2). */
    int64_t wlast = ((nc % P ? nc % P : P) + VW - 1) / VW * VW, nfull = nc / P * P;
    for (int64_t k = 0; k < kc; k++) {
        const float *s = b + k * ldb;
        if (k + PACK_PREFETCH_ROWS < kc)
            for (int64_t j = 0; j < nc; j += 16)
                _mm_prefetch((const char *)(s + PACK_PREFETCH_ROWS * ldb + j), _MM_HINT_T0);
        int64_t n = 0;
        for (; n < nfull; n += P) {
            float *d = dst + n * kc + k * P;
#pragma GCC unroll 3
            for (int v = 0; v < P / 8; v++)
                _mm256_storeu_ps(d + 8 * v, _mm256_loadu_ps(s + n + 8 * v));
        }
        if (n < nc) {
            float *d = dst + n * kc + k * wlast;
            for (int64_t j = 0; j < wlast; j += 8)
                _mm256_storeu_ps(d + j, _mm256_maskload_ps(s + n + j, lane_mask(nc - n - j)));
        }
    }
}

static void pack_b(int64_t kc, int64_t nc, const float *b, int64_t ldb, int trans_b, float *dst)
{
    pack_b_p(NR, kc, nc, b, ldb, trans_b, dst);
}

static void pack_b4(int64_t kc, int64_t nc, const float *b, int64_t ldb, int trans_b, float *dst)
{
    pack_b_p(NR4, kc, nc, b, ldb, trans_b, dst);
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
            else if (act == OC_ACT_CLIP) /* v < lo ? lo : v, then v > hi ? hi : v: NaN passes, as in oc_act_apply */
                x = _mm256_min_ps(_mm256_set1_ps(ep->beta), _mm256_max_ps(_mm256_set1_ps(ep->alpha), x));
            _mm256_maskstore_ps(cr + j, mk, x);
        }
        if (act != OC_ACT_NONE && act != OC_ACT_RELU && act != OC_ACT_CLIP)
            oc_act_apply(act, ep->alpha, ep->beta, cr, cols);
    }
}

const oc_sgemm_ukr oc_sgemm_ukr_avx2 = {.isa = OC_ISA_AVX2, .mr = MR, .nr = NR, .vw = VW, .kc = KC, .nb = NB,
                                        .mb = MB, .tile = tile, .narrow = narrow, .narrow_max = 3,
                                        .narrow_panels = 24, .pack_a = pack_a, .pack_b = pack_b, .epi = epi,
                                        .tile_epi = tile_epi};

const oc_sgemm_ukr oc_sgemm_ukr_avx2_m4 = {.isa = OC_ISA_AVX2, .mr = MR4, .nr = NR4, .vw = VW, .kc = KC, .nb = NB,
                                           .mb = MB, .tile = tile4, .narrow = narrow4, .narrow_max = 3,
                                           .narrow_panels = 36, .pack_a = pack_a4, .pack_b = pack_b4, .epi = epi,
                                           .tile_epi = tile_epi4};

#endif
