/* sgemm_avx512.c: the AVX-512 microkernel, B packing and tile epilogue of
 * sgemm (driver in sgemm.c, layouts in sgemm_ukr.h). Compiled with
 * -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma (CMakeLists.txt); only
 * called when oc_cpu_isa() reports AVX-512.
 *
 * Register tile: MR x NR = 8 rows x 48 columns = 8 x 3 zmm accumulators
 * (24 of the 32 registers), 3 registers for the B row, 1 for the A
 * broadcast. Per k step: 3 vector loads of B, 8 broadcasts of A, 24 FMAs;
 * with two 512-bit FMA pipes and 4-cycle latency that is 12 cycles with 3x
 * more independent accumulators than the pipes need. MR = 8 divides the
 * channel counts of CNNs (64..512), so M rarely leaves a partial tile; the
 * last panel of N uses 1, 2 or 3 vectors with a lane mask instead of a
 * padded 48-wide tile, and a remainder of 1-4 columns past a multiple of
 * 16 goes to the narrow kernel (below), so N = 49 costs 3 vectors and a
 * column, not 6 vectors.
 *
 * Measured on Zen 5 (one core, tiles from L1/L2): 8 x 48, 6 x 64, 12 x 32
 * and 14 x 32 all reach ~210 GFLOP/s (16 x 16: 196, 4 x 96: 64, register
 * spills); 8 x 48 wins on edges (MR = 8 divides the channel counts).
 *
 * Blocking (Zen 4/5: 32-48 KB L1D, 1 MB L2): KC = 384 (an A panel is
 * 8 x 384 x 4 = 12 KB in L1), NB = 336 (a B block is 384 x 336 x 4 =
 * 504 KB in L2), MB = 576 rows of A packed per block by oc_sgemm. Best or
 * tied of KC x NB in {256, 320, 384, 512} x {240, 336, 384, 480} on the
 * square and conv shapes of tools/bench/bench_sgemm.c. */
#include "sgemm_ukr.h"

#if defined(OC_SGEMM_X86)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "epilogue.h"

enum { MR = 8, NR = 48, VW = 16, KC = 384, NB = 336, MB = 576 };

#define INLINE static inline __attribute__((always_inline))

/* Stores a finished 8 x 48 tile with the common epilogues, branch-free:
 * LOADC (x += beta * C), SH (a per-row shift), RES (a residual tile) and
 * CLAMP (to [lo, hi]) are constants after inlining. ReLU clamps to
 * [0, inf] with max(x, 0) first (RELU: NaN -> 0), Clip with max(lo, x)
 * (NaN kept), so the bits are those of the general loop in tile_nv. That
 * loop tests its options for every vector, about 120 branches per tile:
 * 8-11% of a K = 64 product (ResNet-50's and MobileNet's 1x1 convs) with
 * a bias and Relu or Clip. */
INLINE void store_tile3(const int LOADC, const int SH, const int RES, const int CLAMP, const int RELU,
                        __m512 acc[MR][3], float *c, int64_t ldc, int rows, __mmask16 last, __m512 vb,
                        const float *sh, const float *res, int64_t ldr, __m512 lo, __m512 hi)
{
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        if (i >= rows)
            break;
        float *cr = c + i * ldc;
        __m512 srow = SH ? _mm512_set1_ps(sh[i]) : _mm512_setzero_ps();
#pragma GCC unroll 3
        for (int v = 0; v < 3; v++) {
            __mmask16 mk = v == 2 ? last : (__mmask16)0xffff;
            __m512 x = acc[i][v];
            if (LOADC)
                x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk, cr + 16 * v), x);
            if (SH)
                x = _mm512_add_ps(x, srow);
            if (RES)
                x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk, res + i * ldr + 16 * v));
            if (CLAMP)
                x = RELU ? _mm512_min_ps(hi, _mm512_max_ps(x, lo)) : _mm512_min_ps(hi, _mm512_max_ps(lo, x));
            _mm512_mask_storeu_ps(cr + 16 * v, mk, x);
        }
    }
}

#define STORE3_CASE(F)                                                                                           \
    case F:                                                                                                      \
        store_tile3((F) & 1, ((F) >> 1) & 1, ((F) >> 2) & 1, ((F) >> 3) & 1, ((F) >> 4) & 1, acc, c, ldc, rows, \
                    last, vb, shp, rp, ldr, lo, hi);                                                             \
        return;

/* The MR x (NV*16) tile; NV is a constant after inlining, so the
 * accumulator array lives in registers. */
INLINE void tile_nv(const int NV, int64_t kc, const float *a, const float *b, int64_t bw, float *c, int64_t ldc,
                    int rows, int cols, float beta, int load_c, const oc_sgemm_epi *e, int64_t m, int64_t n)
{
    __m512 acc[MR][3];
    /* The C tile is needed only after the k loop: start fetching it now so
     * its cache misses overlap the FMAs (C is read or written either way). */
    for (int i = 0; i < rows; i++) {
        const char *cr = (const char *)(c + i * ldc);
        for (int off = 0; off < NV * 64; off += 64)
            _mm_prefetch(cr + off, _MM_HINT_T0);
        _mm_prefetch(cr + NV * 64 - 4, _MM_HINT_T0);
    }
    /* and the residual tile the epilogue adds, for the same reason */
    if (e && e->ep && e->ep->has_residual && e->res)
        for (int i = 0; i < rows; i++) {
            const char *rr = (const char *)(e->res + (m + i) * e->ldr + n);
            for (int off = 0; off < NV * 64; off += 64)
                _mm_prefetch(rr + off, _MM_HINT_T0);
            _mm_prefetch(rr + NV * 64 - 4, _MM_HINT_T0);
        }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            acc[i][v] = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; k++) {
        __m512 bv[3];
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++)
                acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        /* A 4 KB ahead: with few columns (Winograd's products at 7x7, N =
         * 32 tiles) each A panel is used by one tile and streams from
         * memory, faster than the hardware prefetcher brings it (ResNet-18
         * layer4's 36 products at batch 8: 5.7 -> 3.0 ms) */
        _mm_prefetch((const char *)(a + 1024), _MM_HINT_T0);
        a += MR;
        b += bw;
    }
    __mmask16 last = (__mmask16)((1u << (cols - 16 * (NV - 1))) - 1u);
    __m512 vb = _mm512_set1_ps(beta);
    /* the epilogue (e != NULL): the same operations as epi() below, on the
     * registers instead of a reload of the stored tile */
    const oc_epilogue *ep = e ? e->ep : NULL;
    int act = ep ? ep->act : OC_ACT_NONE, per_col = ep && ep->per_col;
    const float *res = ep && ep->has_residual ? e->res : NULL;
    int reg_act = act == OC_ACT_NONE || act == OC_ACT_RELU || act == OC_ACT_CLIP;
    if (NV == 3 && reg_act && !per_col) { /* full-width tiles, the common epilogues: branch-free */
        const float *shp = e && e->shift ? e->shift + m : NULL, *rp = res ? res + m * e->ldr + n : NULL;
        int64_t ldr = res ? e->ldr : 0;
        __m512 lo = _mm512_set1_ps(act == OC_ACT_CLIP ? ep->alpha : 0.0f);
        __m512 hi = _mm512_set1_ps(act == OC_ACT_CLIP ? ep->beta : INFINITY);
        switch (oc_sgemm_store_flags(load_c, shp != NULL, rp != NULL, act)) {
            OC_SGEMM_STORE_CASES(STORE3_CASE)
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        if (i >= rows)
            break;
        float *cr = c + i * ldc;
        const float *rr = res ? res + (m + i) * e->ldr + n : NULL;
        __m512 srow = e && e->shift && !per_col ? _mm512_set1_ps(e->shift[m + i]) : _mm512_setzero_ps();
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++) {
            __mmask16 mk = v == NV - 1 ? last : (__mmask16)0xffff;
            __m512 x = acc[i][v];
            if (load_c)
                x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk, cr + 16 * v), x);
            if (e) {
                if (e->shift)
                    x = _mm512_add_ps(x, per_col ? _mm512_maskz_loadu_ps(mk, e->shift + n + 16 * v) : srow);
                if (rr)
                    x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk, rr + 16 * v));
                if (act == OC_ACT_RELU)
                    x = _mm512_max_ps(x, _mm512_setzero_ps());
                else if (act == OC_ACT_CLIP)
                    x = _mm512_min_ps(_mm512_set1_ps(ep->beta), _mm512_max_ps(_mm512_set1_ps(ep->alpha), x));
            }
            _mm512_mask_storeu_ps(cr + 16 * v, mk, x);
        }
    }
    /* other activations on the stored rows, after the loop (a call inside
     * it made GCC spill the later rows' accumulators around it) */
    if (e && !reg_act)
        for (int i = 0; i < rows; i++)
            oc_act_apply(act, ep->alpha, ep->beta, c + i * ldc, cols);
}

static void tile_epi(int64_t kc, const float *a, const float *b, int64_t bw, float *c, int64_t ldc, int rows,
                     int cols, float beta, int load_c, const oc_sgemm_epi *e, int64_t m, int64_t n)
{
    if (cols > 32)
        tile_nv(3, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, e, m, n);
    else if (cols > 16)
        tile_nv(2, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, e, m, n);
    else
        tile_nv(1, kc, a, b, bw, c, ldc, rows, cols, beta, load_c, e, m, n);
}

static void tile(int64_t kc, const float *a, const float *b, int64_t bw, float *c, int64_t ldc, int rows, int cols,
                 float beta, int load_c)
{
    tile_epi(kc, a, b, bw, c, ldc, rows, cols, beta, load_c, NULL, 0, 0);
}

static __mmask16 lane_mask(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u); }

/* The narrow kernel (sgemm_ukr.h): r <= 4 columns over G panels of 8 rows
 * at once, one ymm per panel and column (8 rows), so a column costs one
 * FMA per 8 rows and k instead of a 16-lane vector per row: N = 49 (the
 * 7x7 maps of late CNN layers at batch 1) is 48 columns of tiles plus one
 * narrow column. G * r <= 24 accumulators; G >= 6 keeps the FMA pipes
 * busy through their latency. */
INLINE void narrow_rg(const int R, const int G, int64_t kc, const float *a, int64_t astride, int rows, const float *b,
                      int64_t bw, float *c, int64_t ldc, float beta, int load_c)
{
    __m256 acc[8][4];
#pragma GCC unroll 8
    for (int g = 0; g < G; g++)
#pragma GCC unroll 4
        for (int j = 0; j < R; j++)
            acc[g][j] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m256 bk[4];
#pragma GCC unroll 4
        for (int j = 0; j < R; j++)
            bk[j] = _mm256_broadcast_ss(b + k * bw + j);
#pragma GCC unroll 8
        for (int g = 0; g < G; g++) {
            __m256 x = _mm256_loadu_ps(a + g * astride + k * MR);
#pragma GCC unroll 4
            for (int j = 0; j < R; j++)
                acc[g][j] = _mm256_fmadd_ps(x, bk[j], acc[g][j]);
        }
    }
    /* unrolled like the loops above, so acc stays in registers (a loop
     * here indexing acc at run time made GCC keep acc in memory and store
     * all of it on every k step: half speed) */
#pragma GCC unroll 8
    for (int g = 0; g < G; g++)
#pragma GCC unroll 4
        for (int j = 0; j < R; j++) {
            float t[8];
            _mm256_storeu_ps(t, acc[g][j]);
            for (int i = 0; i < 8 && g * 8 + i < rows; i++) {
                float *cp = c + (g * 8 + i) * ldc + j;
                *cp = load_c ? fmaf(beta, *cp, t[i]) : t[i];
            }
        }
}

#define NARROW_CASE(R, G)                                                                                         \
    for (; rows >= (G) * 8 || ((G) == 1 && rows > 0); rows -= (G) * 8, a += (G) * astride, c += (G) * 8 * ldc) \
        narrow_rg(R, G, kc, a, astride, rows, b, bw, c, ldc, beta, load_c);

static void narrow(int64_t kc, const float *a, int64_t astride, int rows, const float *b, int64_t bw, int r, float *c,
                   int64_t ldc, float beta, int load_c)
{
    /* the panels left after the widest groups go in groups of 4 and 2
     * before single panels: one panel alone is a chain of R dependent FMAs
     * per k (ResNet-50's and MobileNet's M = 160, 64: 4 and 2 panels left) */
    switch (r) {
    case 1:
        NARROW_CASE(1, 8) NARROW_CASE(1, 4) NARROW_CASE(1, 2) NARROW_CASE(1, 1) break;
    case 2:
        NARROW_CASE(2, 8) NARROW_CASE(2, 4) NARROW_CASE(2, 2) NARROW_CASE(2, 1) break;
    case 3:
        NARROW_CASE(3, 8) NARROW_CASE(3, 4) NARROW_CASE(3, 2) NARROW_CASE(3, 1) break;
    default:
        NARROW_CASE(4, 6) NARROW_CASE(4, 4) NARROW_CASE(4, 2) NARROW_CASE(4, 1) break;
    }
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

/* A panels, 8 rows at a time: trans_a rows are contiguous (one vector per
 * k); otherwise 8 x 8 blocks are transposed in registers. alpha * x is
 * the same single rounding as the C fallback, so packs agree bitwise. */
static void pack_a(int64_t rows, int64_t kc, const float *a, int64_t lda, int trans_a, float alpha, float *dst,
                   int64_t stride)
{
    __m256 va = _mm256_set1_ps(alpha);
    int64_t full = rows / MR * MR;
    for (int64_t r = 0; r < full; r += MR, dst += stride) {
        if (trans_a) {
            for (int64_t k = 0; k < kc; k++)
                _mm256_storeu_ps(dst + k * MR, _mm256_mul_ps(va, _mm256_loadu_ps(a + k * lda + r)));
            continue;
        }
        const float *s = a + r * lda;
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 x[8];
            for (int i = 0; i < 8; i++)
                x[i] = _mm256_mul_ps(va, _mm256_loadu_ps(s + i * lda + k));
            transpose8(x);
            for (int j = 0; j < 8; j++)
                _mm256_storeu_ps(dst + (k + j) * MR, x[j]);
        }
        for (; k < kc; k++)
            for (int i = 0; i < MR; i++)
                dst[k * MR + i] = alpha * s[i * lda + k];
    }
    if (full < rows)
        oc_sgemm_pack_a_c(MR, rows - full, kc, trans_a ? a + full : a + full * lda, lda, trans_a, alpha, dst, stride);
}

/* op(B) = B^T (B stored N x K): 8 columns x 8 k at a time, transposed in
 * registers; leftover columns and k one by one; padding columns zero. */
static void pack_b_trans(int64_t kc, int64_t nc, const float *b, int64_t ldb, float *dst)
{
    int64_t k8 = kc / 8 * 8;
    for (int64_t n = 0; n < nc; n += NR) {
        int64_t cols = nc - n < NR ? nc - n : NR;
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

/* Rows ahead of the one being packed that pack_b prefetches: B often
 * comes from DRAM (a large im2col matrix), row after row. */
enum { PACK_PREFETCH_ROWS = 4 };

static void pack_b(int64_t kc, int64_t nc, const float *b, int64_t ldb, int trans_b, float *dst)
{
    if (!trans_b) {
        /* Row by row: each row of B is read once, contiguously, and its
         * pieces go to the panels (which live in L2). */
        int64_t wlast = ((nc % NR ? nc % NR : NR) + VW - 1) / VW * VW, nfull = nc / NR * NR;
        for (int64_t k = 0; k < kc; k++) {
            const float *s = b + k * ldb;
            if (k + PACK_PREFETCH_ROWS < kc)
                for (int64_t j = 0; j < nc; j += 16)
                    _mm_prefetch((const char *)(s + PACK_PREFETCH_ROWS * ldb + j), _MM_HINT_T0);
            int64_t n = 0;
            for (; n < nfull; n += NR) {
                float *d = dst + n * kc + k * NR;
                _mm512_storeu_ps(d, _mm512_loadu_ps(s + n));
                _mm512_storeu_ps(d + 16, _mm512_loadu_ps(s + n + 16));
                _mm512_storeu_ps(d + 32, _mm512_loadu_ps(s + n + 32));
            }
            if (n < nc) {
                float *d = dst + n * kc + k * wlast;
                for (int64_t j = 0; j < wlast; j += 16)
                    _mm512_storeu_ps(d + j, _mm512_maskz_loadu_ps(lane_mask(nc - n - j), s + n + j));
            }
        }
        return;
    }
    pack_b_trans(kc, nc, b, ldb, dst);
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
        __m512 srow = e->shift && !per_col ? _mm512_set1_ps(e->shift[m + i]) : _mm512_setzero_ps();
        for (int j = 0; j < cols; j += 16) {
            __mmask16 mk = lane_mask(cols - j);
            __m512 x = _mm512_maskz_loadu_ps(mk, cr + j);
            if (e->shift)
                x = _mm512_add_ps(x, per_col ? _mm512_maskz_loadu_ps(mk, e->shift + n + j) : srow);
            if (rr)
                x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk, rr + j));
            if (act == OC_ACT_RELU) /* max(x, 0) returns 0 for NaN, as x > 0 ? x : 0 does */
                x = _mm512_max_ps(x, _mm512_setzero_ps());
            else if (act == OC_ACT_CLIP) /* v < lo ? lo : v, then v > hi ? hi : v: NaN passes, as in oc_act_apply */
                x = _mm512_min_ps(_mm512_set1_ps(ep->beta), _mm512_max_ps(_mm512_set1_ps(ep->alpha), x));
            _mm512_mask_storeu_ps(cr + j, mk, x);
        }
        if (act != OC_ACT_NONE && act != OC_ACT_RELU && act != OC_ACT_CLIP)
            oc_act_apply(act, ep->alpha, ep->beta, cr, cols);
    }
}

const oc_sgemm_ukr oc_sgemm_ukr_avx512 = {.isa = OC_ISA_AVX512, .mr = MR, .nr = NR, .vw = VW, .kc = KC, .nb = NB,
                                          .mb = MB, .tile = tile, .narrow = narrow, .narrow_max = 4,
                                          .narrow_panels = 24, .pack_a = pack_a, .pack_b = pack_b, .epi = epi,
                                          .tile_epi = tile_epi};

#endif
