/* conv_depthwise_avx2.c: the AVX2 3x3 depthwise planes
 * (conv_depthwise_ukr.h); CMakeLists.txt sets this file's -m flags.
 * The planes of conv_depthwise_avx512.c with 8 lanes and plain loads:
 * taps outside the plane read zeros from guard rows or row copies, and
 * column masks are ANDed in (no vmaskmovps: see conv_depthwise_ukr.h). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#include "conv_depthwise_ukr.h"

#define S2_NB 4 /* chunks of 8 outputs summed at once */

/* x + off as an address computed in integers: a chunk's first column
 * may lie left of its row (the load then reads the previous row's end,
 * masked out), and C's pointer arithmetic forbids a base before an
 * object's first float. */
static inline const float *lane_at(const float *x, int64_t off)
{
    return (const float *)((uintptr_t)x + (uintptr_t)(off * (int64_t)sizeof(float)));
}

/* Lanes l of an 8-float load from column c whose column c + l is in [0, W). */
static inline __m256i cols_in(int64_t c, int64_t W)
{
    __m256i col = _mm256_add_epi32(_mm256_set1_epi32((int)c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), col),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32((int)W), col));
}

/* As the AVX-512 clamp: ReLU (on = 1) turns NaN into 0, Clip (on = 2) keeps it. */
static inline __m256 clamp(__m256 v, int on, __m256 lo, __m256 hi)
{
    if (on == 1)
        return _mm256_min_ps(hi, _mm256_max_ps(v, lo));
    if (on == 2)
        return _mm256_min_ps(hi, _mm256_max_ps(lo, v));
    return v;
}

void oc_dw3_s1_masks_avx2(int64_t H, int64_t W, int32_t *masks, float *guard)
{
    int64_t G = OC_DW3_S1_GUARD(W);
    memset(guard, 0, sizeof(float) * (size_t)G); /* the planes are copied between these */
    memset(guard + G + H * W, 0, sizeof(float) * (size_t)G);
    int64_t L = H * W, nch = (L + 7) / 8, ow = 0; /* column of position i */
    for (int64_t c = 0; c < nch; c++) {
        int32_t *m = masks + 16 * c;
        for (int l = 0; l < 8; l++) {
            int in = 8 * c + l < L;
            m[l] = in && ow > 0 ? -1 : 0;
            m[8 + l] = in && ow < W - 1 ? -1 : 0;
            if (in && ++ow == W)
                ow = 0;
        }
    }
}

void oc_dw3_s1_plane_avx2(const float *x, int64_t H, int64_t W, const float *w, float b, float *y,
                          const int32_t *masks, float *guard, const oc_dw3_clamp *cl)
{
    int on = cl ? cl->on : 0;
    __m256 lo = _mm256_set1_ps(on ? cl->lo : 0.0f), hi = _mm256_set1_ps(on ? cl->hi : 0.0f);
    int64_t L = H * W, nch = (L + 7) / 8, G = OC_DW3_S1_GUARD(W);
    /* the plane between the zero guards oc_dw3_s1_masks_avx2 wrote: rows
     * above the first and below the last read zeros, so only the left and
     * right taps need masks */
    memcpy(guard + G, x, sizeof(float) * (size_t)L);
    const float *p = guard + G;
    __m256 w0 = _mm256_set1_ps(w[0]), w1 = _mm256_set1_ps(w[1]), w2 = _mm256_set1_ps(w[2]);
    __m256 w3 = _mm256_set1_ps(w[3]), w4 = _mm256_set1_ps(w[4]), w5 = _mm256_set1_ps(w[5]);
    __m256 w6 = _mm256_set1_ps(w[6]), w7 = _mm256_set1_ps(w[7]), w8 = _mm256_set1_ps(w[8]);
    __m256 bv = _mm256_set1_ps(b);
    for (int64_t c = 0; c < nch; c++) {
        __m256 ml = _mm256_loadu_ps((const float *)(const void *)(masks + 16 * c));
        __m256 mr = _mm256_loadu_ps((const float *)(const void *)(masks + 16 * c + 8));
        const float *q = p + 8 * c;
        __m256 acc = _mm256_fmadd_ps(w3, _mm256_and_ps(ml, _mm256_loadu_ps(q - 1)), bv);
        acc = _mm256_fmadd_ps(w4, _mm256_loadu_ps(q), acc);
        acc = _mm256_fmadd_ps(w5, _mm256_and_ps(mr, _mm256_loadu_ps(q + 1)), acc);
        __m256 up = _mm256_mul_ps(w0, _mm256_and_ps(ml, _mm256_loadu_ps(q - W - 1)));
        up = _mm256_fmadd_ps(w1, _mm256_loadu_ps(q - W), up);
        up = _mm256_fmadd_ps(w2, _mm256_and_ps(mr, _mm256_loadu_ps(q - W + 1)), up);
        __m256 dn = _mm256_mul_ps(w6, _mm256_and_ps(ml, _mm256_loadu_ps(q + W - 1)));
        dn = _mm256_fmadd_ps(w7, _mm256_loadu_ps(q + W), dn);
        dn = _mm256_fmadd_ps(w8, _mm256_and_ps(mr, _mm256_loadu_ps(q + W + 1)), dn);
        acc = clamp(_mm256_add_ps(acc, _mm256_add_ps(up, dn)), on, lo, hi);
        if (8 * c + 8 <= L) {
            _mm256_storeu_ps(y + 8 * c, acc);
        } else {
            float t[8];
            _mm256_storeu_ps(t, acc);
            memcpy(y + 8 * c, t, sizeof(float) * (size_t)(L - 8 * c));
        }
    }
}

#define INLINE static inline __attribute__((always_inline))

/* Chunks [j, j + NB) of 8 outputs (NB <= S2_NB) of R output rows (1 or
 * 2) from their 2 R + 1 input rows (rows[r] NULL where the row is
 * padding): R * NB accumulators, so the nine FMAs of one chunk (a chain
 * of dependent adds) overlap the others', and with R = 2 the input row
 * both output rows read is loaded and shuffled once. Tap kw = 0 and 1 are
 * the even and odd columns of one pair of loads, kw = 2 the even columns
 * of a pair two columns on. The sums run in lane order (0 1 4 5 | 2 3 6
 * 7) of the chunk's outputs, what the in-lane shuffles give; one permute
 * puts them in order before the store. msk: per chunk four column masks
 * (the four loads), applied where edge[j]: a load that starts left of
 * the row or ends right of it reads its neighbours, which must count as
 * zeros. spill[q]: output row q's last partial chunk may be stored whole
 * (its extra lanes land in the next row, stored after it). */
INLINE void s2_chunks(const int R, const int NB, const float *const *rows, int64_t c, const float *w, __m256 bv,
                      const __m256 *msk, const unsigned char *edge, float *yr, int64_t j0, int64_t OW,
                      const int *spill, int on, __m256 lo, __m256 hi)
{
    __m256 acc[2][S2_NB];
#pragma GCC unroll 2
    for (int q = 0; q < R; q++)
#pragma GCC unroll 8
        for (int j = 0; j < NB; j++)
            acc[q][j] = bv;
#pragma GCC unroll 5
    for (int r = 0; r < 2 * R + 1; r++) {
        const float *row = rows[r];
        if (!row)
            continue;
#pragma GCC unroll 8
        for (int j = 0; j < NB; j++) {
            int64_t cj = c + 16 * j;
            __m256 a = _mm256_loadu_ps(lane_at(row, cj)), bb = _mm256_loadu_ps(lane_at(row, cj + 8));
            __m256 a2 = _mm256_loadu_ps(lane_at(row, cj + 2)), b2 = _mm256_loadu_ps(lane_at(row, cj + 10));
            if (edge[j]) {
                a = _mm256_and_ps(a, msk[4 * j]), bb = _mm256_and_ps(bb, msk[4 * j + 1]);
                a2 = _mm256_and_ps(a2, msk[4 * j + 2]), b2 = _mm256_and_ps(b2, msk[4 * j + 3]);
            }
            __m256 e = _mm256_shuffle_ps(a, bb, 0x88), o = _mm256_shuffle_ps(a, bb, 0xdd);
            __m256 e2 = _mm256_shuffle_ps(a2, b2, 0x88);
#pragma GCC unroll 2
            for (int q = 0; q < R; q++) {
                int kh = r - 2 * q;
                if (kh < 0 || kh > 2)
                    continue;
                acc[q][j] = _mm256_fmadd_ps(_mm256_set1_ps(w[3 * kh]), e, acc[q][j]);
                acc[q][j] = _mm256_fmadd_ps(_mm256_set1_ps(w[3 * kh + 1]), o, acc[q][j]);
                acc[q][j] = _mm256_fmadd_ps(_mm256_set1_ps(w[3 * kh + 2]), e2, acc[q][j]);
            }
        }
    }
#pragma GCC unroll 2
    for (int q = 0; q < R; q++)
#pragma GCC unroll 8
        for (int j = 0; j < NB; j++) {
            __m256 v = clamp(_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(acc[q][j]), 0xd8)), on, lo, hi);
            int64_t o = j0 + 8 * j;
            float *yq = yr + q * OW;
            if (o + 8 <= OW || spill[q]) {
                _mm256_storeu_ps(yq + o, v);
            } else {
                float t[8];
                _mm256_storeu_ps(t, v);
                memcpy(yq + o, t, sizeof(float) * (size_t)(OW - o));
            }
        }
}

#define S2_CASE(R, N)                                                                                   \
    case N:                                                                                             \
        s2_chunks(R, N, rows, c, w, bv, msk + 4 * j, edge + j, yr, 8 * j, OW, spill, on, lo, hi); \
        break;

void oc_dw3_s2_plane_avx2(const float *x, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t pt, int64_t pl,
                          const float *w, float b, float *y, const oc_dw3_clamp *cl, float *scratch)
{
    int on = cl ? cl->on : 0;
    __m256 lo = _mm256_set1_ps(on ? cl->lo : 0.0f), hi = _mm256_set1_ps(on ? cl->hi : 0.0f);
    __m256 bv = _mm256_set1_ps(b);
    int64_t nch = (OW + 7) / 8, rb_len = OC_DW3_S2_ROWBUF(W, OW, pl);
    /* scratch: the masks (32-byte aligned), the edge flags, five row copies */
    __m256 *msk = (__m256 *)(void *)(((uintptr_t)scratch + 31) & ~(uintptr_t)31);
    unsigned char *edge = (unsigned char *)(msk + 4 * nch);
    float *rowbuf = (float *)(void *)(((uintptr_t)(edge + nch) + 31) & ~(uintptr_t)31);
    for (int64_t j = 0; j < nch; j++) {
        int64_t c = 16 * j - pl; /* input column of tap 0 of output 8 j; the chunk reads c .. c + 17 */
        edge[j] = c < 0 || c + 18 > W;
        msk[4 * j] = _mm256_castsi256_ps(cols_in(c, W)), msk[4 * j + 1] = _mm256_castsi256_ps(cols_in(c + 8, W));
        msk[4 * j + 2] = _mm256_castsi256_ps(cols_in(c + 2, W)), msk[4 * j + 3] = _mm256_castsi256_ps(cols_in(c + 10, W));
    }
    /* columns a row's chunks read: -pl .. the last chunk's c + 17 */
    int64_t c0 = -pl, c1 = 16 * (nch - 1) - pl + 17;
    for (int64_t oh = 0; oh < OH; oh += 2) {
        int R = OH - oh >= 2 ? 2 : 1;
        const float *rows[5];
        for (int r = 0; r < 2 * R + 1; r++) {
            int64_t ih = 2 * oh + r - pt;
            rows[r] = NULL;
            if (ih < 0 || ih >= H)
                continue;
            if (ih * W + c0 >= 0 && ih * W + c1 < H * W) { /* the row's reads stay inside the plane */
                rows[r] = x + ih * W;
                continue;
            }
            /* else a copy with zeros around it */
            float *rb = rowbuf + r * rb_len;
            memset(rb, 0, sizeof(float) * (size_t)rb_len);
            memcpy(rb + pl, x + ih * W, sizeof(float) * (size_t)W);
            rows[r] = rb + pl;
        }
        float *yr = y + oh * OW;
        /* a whole-vector store past a row's end is safe where the next row
         * is stored later: within one call, or after the last row pair */
        int spill[2] = {R == 2 ? nch <= S2_NB : oh + 1 < OH, oh + 2 < OH};
        for (int64_t j = 0; j < nch; j += S2_NB) {
            int64_t c = 16 * j - pl;
            int nb = nch - j < S2_NB ? (int)(nch - j) : S2_NB;
            if (R == 2)
                switch (nb) {
                    S2_CASE(2, 1)
                    S2_CASE(2, 2)
                    S2_CASE(2, 3)
                default:
                    s2_chunks(2, S2_NB, rows, c, w, bv, msk + 4 * j, edge + j, yr, 8 * j, OW, spill, on, lo, hi);
                }
            else
                switch (nb) {
                    S2_CASE(1, 1)
                    S2_CASE(1, 2)
                    S2_CASE(1, 3)
                default:
                    s2_chunks(1, S2_NB, rows, c, w, bv, msk + 4 * j, edge + j, yr, 8 * j, OW, spill, on, lo, hi);
                }
        }
    }
}
#endif
