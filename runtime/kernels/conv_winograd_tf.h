/* conv_winograd_tf.h: the body of the Winograd tile transforms (interface
 * and layouts: conv_winograd_ukr.h), written as plain C loops over the
 * tiles of a segment so the compiler vectorizes them across tiles with
 * whatever vector width the including file is compiled for. Included once
 * per ISA: conv_winograd_avx512.c, conv_winograd_avx2.c (own -m flags) and
 * conv_winograd.c (portable); the includer defines OC_WINO_TABLE, the name
 * of the oc_wino_ukr table to define.
 *
 * Lanes are the segment's tiles, rounded up to OC_WINO_LANES (the extra
 * lanes compute garbage nobody keeps). The driver stages each window row r
 * of a segment as one zero-padded "super row" (conv_winograd_ukr.h), in
 * which column j of lane l's window is sr[m l + j]; the input transform
 * reads those with a stride of m (the compiler de-interleaves with
 * permutes), so both 1-D passes are plain vector arithmetic: across the
 * window columns of every window row, then across the rows (input); rows
 * first, then columns (output). The staged rows were written long before
 * they are read, and every buffer a pass reads back was written by the
 * previous pass with the same vector alignment, so no load waits on a
 * store it only partly overlaps (store-to-load forwarding).
 *
 * 1-D transforms (Lavin & Gray 2016, points 0, 1, -1, 2, -2, infinity):
 *   F(2,3) input  B^T d: d0 - d2, d1 + d2, d2 - d1, d1 - d3
 *   F(2,3) output A^T m: m0 + m1 + m2, m1 - m2 - m3
 *   F(4,3) input  B^T d: 4 d0 - 5 d2 + d4, (d4 - 4 d2) +- (d3 - 4 d1),
 *                        (d4 - d2) +- 2 (d3 - d1), 4 d1 - 5 d3 + d5
 *   F(4,3) output A^T m: m0 + (m1 + m2) + (m3 + m4), (m1 - m2) + 2 (m3 - m4),
 *                        (m1 + m2) + 4 (m3 + m4), (m1 - m2) + 8 (m3 - m4) + m5 */
#include <string.h>

#include "conv_winograd_ukr.h"
#include "epilogue.h"
#include "runs.h"

#ifndef OC_WINO_TABLE
#error "define OC_WINO_TABLE before including conv_winograd_tf.h"
#endif

/* The 1-D transforms over n tiles, as functions with restrict
 * parameters (which the compiler keeps when it inlines them) so the loops
 * vectorize without run-time alias checks. */
static inline void in2_1d(int64_t n, const float *restrict d0, const float *restrict d1, const float *restrict d2,
                          const float *restrict d3, float *restrict o0, float *restrict o1, float *restrict o2,
                          float *restrict o3)
{
    for (int64_t t = 0; t < n; t++) {
        o0[t] = d0[t] - d2[t];
        o1[t] = d1[t] + d2[t];
        o2[t] = d2[t] - d1[t];
        o3[t] = d1[t] - d3[t];
    }
}

static inline void in4_1d(int64_t n, const float *restrict d0, const float *restrict d1, const float *restrict d2,
                          const float *restrict d3, const float *restrict d4, const float *restrict d5,
                          float *restrict o0, float *restrict o1, float *restrict o2, float *restrict o3,
                          float *restrict o4, float *restrict o5)
{
    for (int64_t t = 0; t < n; t++) {
        float a = d4[t] - 4.0f * d2[t], b = d3[t] - 4.0f * d1[t], c = d4[t] - d2[t], e = 2.0f * (d3[t] - d1[t]);
        o0[t] = 4.0f * d0[t] - 5.0f * d2[t] + d4[t];
        o1[t] = a + b;
        o2[t] = a - b;
        o3[t] = c + e;
        o4[t] = c - e;
        o5[t] = 4.0f * d1[t] - 5.0f * d3[t] + d5[t];
    }
}

static inline void out2_1d(int64_t n, const float *restrict m0, const float *restrict m1, const float *restrict m2,
                           const float *restrict m3, float *restrict s0, float *restrict s1)
{
    for (int64_t t = 0; t < n; t++) {
        s0[t] = m0[t] + m1[t] + m2[t];
        s1[t] = m1[t] - m2[t] - m3[t];
    }
}

static inline void out4_1d(int64_t n, const float *restrict m0, const float *restrict m1, const float *restrict m2,
                           const float *restrict m3, const float *restrict m4, const float *restrict m5,
                           float *restrict s0, float *restrict s1, float *restrict s2, float *restrict s3)
{
    for (int64_t t = 0; t < n; t++) {
        float a = m1[t] + m2[t], b = m1[t] - m2[t], c = m3[t] + m4[t], d = m3[t] - m4[t];
        s0[t] = m0[t] + a + c;
        s1[t] = b + 2.0f * d;
        s2[t] = a + 4.0f * c;
        s3[t] = b + 8.0f * d + m5[t];
    }
}

enum { WINO_S = OC_WINO_SEG_MAX + OC_WINO_LANES }; /* lanes a buffer holds */

static inline int64_t round_lanes(int64_t n) { return (n + OC_WINO_LANES - 1) / OC_WINO_LANES * OC_WINO_LANES; }

/* F(2x2, 3x3): 4 super rows, windows at a stride of 2. */
/* V's lanes are the tiles without the gaps: a several-row segment's
 * positions are computed into T first and copied out row piece by row
 * piece (after all of them are computed, so the copies read settled
 * stores). A several-row segment has rows of fewer than SEG_ROW_MIN (12)
 * tiles: the 28x28 maps of ResNet at batch 1 (F(4x4), rows of 7 tiles)
 * made 72 memcpy calls of 28 bytes per segment and channel, 9% of such a
 * layer's time in perf on one thread (Zen 5, `oc_conv_winograd4_forward`
 * on 128 channels), 4% with inline copies (oc_copy_run). */
static void compact_lanes(const float (*T)[WINO_S], int P, int64_t k, int64_t n, float *V, int64_t xs)
{
    for (int xi = 0; xi < P; xi++)
        for (int64_t kk = 0; kk < k; kk++)
            oc_copy_run(V + xi * xs + kk * n, T[xi] + kk * (n + 1), n);
}

static void wino_in2(const float *sr, int64_t srs, int64_t k, int64_t n, float *restrict V, int64_t xs)
{
    float h[4][4][WINO_S]; /* h[r][v][lane]: window row r, column transform v */
    float T[16][WINO_S];
    int64_t np = round_lanes(k == 1 ? n : k * (n + 1));
    for (int r = 0; r < 4; r++) {
        const float *restrict x = sr + r * srs;
        float *restrict h0 = h[r][0], *restrict h1 = h[r][1], *restrict h2 = h[r][2], *restrict h3 = h[r][3];
        for (int64_t t = 0; t < np; t++) {
            float d0 = x[2 * t], d1 = x[2 * t + 1], d2 = x[2 * t + 2], d3 = x[2 * t + 3];
            h0[t] = d0 - d2;
            h1[t] = d1 + d2;
            h2[t] = d2 - d1;
            h3[t] = d1 - d3;
        }
    }
    float *out = k == 1 ? V : T[0];
    int64_t os = k == 1 ? xs : WINO_S;
    for (int v = 0; v < 4; v++)
        in2_1d(np, h[0][v], h[1][v], h[2][v], h[3][v], out + (0 + v) * os, out + (4 + v) * os, out + (8 + v) * os,
               out + (12 + v) * os);
    if (k > 1)
        compact_lanes((const float(*)[WINO_S])T, 16, k, n, V, xs);
}

/* F(4x4, 3x3): 6 super rows, windows at a stride of 4. */
static void wino_in4(const float *sr, int64_t srs, int64_t k, int64_t n, float *restrict V, int64_t xs)
{
    float h[6][6][WINO_S];
    float T[36][WINO_S];
    int64_t np = round_lanes(k == 1 ? n : k * (n + 1));
    for (int r = 0; r < 6; r++) {
        const float *restrict x = sr + r * srs;
        float *restrict h0 = h[r][0], *restrict h1 = h[r][1], *restrict h2 = h[r][2], *restrict h3 = h[r][3],
                        *restrict h4 = h[r][4], *restrict h5 = h[r][5];
        for (int64_t t = 0; t < np; t++) {
            float d0 = x[4 * t], d1 = x[4 * t + 1], d2 = x[4 * t + 2], d3 = x[4 * t + 3], d4 = x[4 * t + 4],
                  d5 = x[4 * t + 5];
            float a = d4 - 4.0f * d2, b = d3 - 4.0f * d1, c = d4 - d2, e = 2.0f * (d3 - d1);
            h0[t] = 4.0f * d0 - 5.0f * d2 + d4;
            h1[t] = a + b;
            h2[t] = a - b;
            h3[t] = c + e;
            h4[t] = c - e;
            h5[t] = 4.0f * d1 - 5.0f * d3 + d5;
        }
    }
    float *out = k == 1 ? V : T[0];
    int64_t os = k == 1 ? xs : WINO_S;
    for (int v = 0; v < 6; v++)
        in4_1d(np, h[0][v], h[1][v], h[2][v], h[3][v], h[4][v], h[5][v], out + (0 + v) * os, out + (6 + v) * os,
               out + (12 + v) * os, out + (18 + v) * os, out + (24 + v) * os, out + (30 + v) * os);
    if (k > 1)
        compact_lanes((const float(*)[WINO_S])T, 36, k, n, V, xs);
}

/* Output rows i < m of every lane, interleaved (o[i][m lane + j]),
 * bias included, go to the image rows of the segment's tile rows (lane
 * kk n + t): residual
 * and activation are applied to each row piece on the way (ReLU inline,
 * others through oc_act_apply, the activation code every kernel shares),
 * then it is stored. */
static void store_rows(float (*o)[4 * WINO_S], int m, int64_t k, int64_t n, const oc_epilogue *ep, const float *res,
                       float *y, int64_t ldy, int64_t rows, int64_t cols)
{
    const float *rs = ep && ep->has_residual ? res : NULL;
    int act = ep ? ep->act : 0;
    int64_t stride = m * n;
    for (int64_t kk = 0; kk < k; kk++)
        for (int i = 0; i < m; i++) {
            int64_t yr = m * kk + i;
            if (yr >= rows)
                return;
            const float *restrict piece = o[i] + kk * stride;
            float *restrict dst = y + yr * ldy;
            if (rs) {
                const float *restrict rr = rs + yr * ldy;
                if (act == OC_ACT_RELU)
                    for (int64_t c = 0; c < cols; c++) {
                        float v = piece[c] + rr[c];
                        dst[c] = v > 0 ? v : 0.0f;
                    }
                else
                    for (int64_t c = 0; c < cols; c++)
                        dst[c] = piece[c] + rr[c];
            } else if (act == OC_ACT_RELU) {
                for (int64_t c = 0; c < cols; c++)
                    dst[c] = piece[c] > 0 ? piece[c] : 0.0f;
            } else {
                memcpy(dst, piece, sizeof(float) * (size_t)cols);
            }
            if (act && act != OC_ACT_RELU)
                oc_act_apply(act, ep->alpha, ep->beta, dst, cols);
        }
}

static void wino_out2(const float *restrict Mx, int64_t xs, int64_t k, int64_t n, float bias, const oc_epilogue *ep,
                      const float *res, float *y, int64_t ldy, int64_t rows, int64_t cols)
{
    float s[2][4][WINO_S]; /* s[i][v][lane] = (A^T Mx)[i][v] */
    float o[2][4 * WINO_S];
    int64_t np = round_lanes(k * n);
    for (int v = 0; v < 4; v++)
        out2_1d(np, Mx + (0 + v) * xs, Mx + (4 + v) * xs, Mx + (8 + v) * xs, Mx + (12 + v) * xs, s[0][v], s[1][v]);
    for (int i = 0; i < 2; i++) {
        const float *restrict q0 = s[i][0], *restrict q1 = s[i][1], *restrict q2 = s[i][2], *restrict q3 = s[i][3];
        float *restrict oi = o[i];
        for (int64_t t = 0; t < np; t++) {
            oi[2 * t] = q0[t] + q1[t] + q2[t] + bias;
            oi[2 * t + 1] = q1[t] - q2[t] - q3[t] + bias;
        }
    }
    store_rows(o, 2, k, n, ep, res, y, ldy, rows, cols);
}

static void wino_out4(const float *restrict Mx, int64_t xs, int64_t k, int64_t n, float bias, const oc_epilogue *ep,
                      const float *res, float *y, int64_t ldy, int64_t rows, int64_t cols)
{
    float s[4][6][WINO_S];
    float o[4][4 * WINO_S];
    int64_t np = round_lanes(k * n);
    for (int v = 0; v < 6; v++)
        out4_1d(np, Mx + (0 + v) * xs, Mx + (6 + v) * xs, Mx + (12 + v) * xs, Mx + (18 + v) * xs,
                Mx + (24 + v) * xs, Mx + (30 + v) * xs, s[0][v], s[1][v], s[2][v], s[3][v]);
    for (int i = 0; i < 4; i++) {
        const float *restrict q0 = s[i][0], *restrict q1 = s[i][1], *restrict q2 = s[i][2], *restrict q3 = s[i][3],
                              *restrict q4 = s[i][4], *restrict q5 = s[i][5];
        float *restrict oi = o[i];
        for (int64_t t = 0; t < np; t++) {
            float a = q1[t] + q2[t], b = q1[t] - q2[t], c = q3[t] + q4[t], d = q3[t] - q4[t];
            oi[4 * t] = q0[t] + a + c + bias;
            oi[4 * t + 1] = b + 2.0f * d + bias;
            oi[4 * t + 2] = a + 4.0f * c + bias;
            oi[4 * t + 3] = b + 8.0f * d + q5[t] + bias;
        }
    }
    store_rows(o, 4, k, n, ep, res, y, ldy, rows, cols);
}

/* U = G g G^T, separably: first Gg = G g (alpha x 3, three taps each),
 * then U = Gg G^T (alpha x alpha), vectorized over filters in chunks that
 * stay in L1. G's entries are compile-time constants, so the zeros and
 * ones fold away. */
#define WINO_FCHUNK 64
static inline void filter_tf(const float *restrict wt, int64_t n, float *restrict u, int64_t us, int alpha,
                             const float (*G)[3])
{
    for (int64_t e0 = 0; e0 < n; e0 += WINO_FCHUNK) {
        int64_t cn = n - e0 < WINO_FCHUNK ? n - e0 : WINO_FCHUNK;
        float gg[6][3][WINO_FCHUNK];
        for (int r = 0; r < alpha; r++)
            for (int j = 0; j < 3; j++) {
                const float *restrict w0 = wt + (0 + j) * n + e0, *restrict w1 = wt + (3 + j) * n + e0,
                                      *restrict w2 = wt + (6 + j) * n + e0;
                float *restrict d = gg[r][j];
                for (int64_t e = 0; e < cn; e++)
                    d[e] = G[r][0] * w0[e] + G[r][1] * w1[e] + G[r][2] * w2[e];
            }
        for (int r = 0; r < alpha; r++)
            for (int c = 0; c < alpha; c++) {
                const float *restrict a0 = gg[r][0], *restrict a1 = gg[r][1], *restrict a2 = gg[r][2];
                float *restrict d = u + (r * alpha + c) * us + e0;
                for (int64_t e = 0; e < cn; e++)
                    d[e] = a0[e] * G[c][0] + a1[e] * G[c][1] + a2[e] * G[c][2];
            }
    }
}

static void wino_filter2(const float *wt, int64_t n, float *u, int64_t us)
{
    static const float G[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
    filter_tf(wt, n, u, us, 4, G);
}

static void wino_filter4(const float *wt, int64_t n, float *u, int64_t us)
{
    static const float G[6][3] = {{0.25f, 0, 0},
                                  {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                                  {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                                  {1.0f / 24, 1.0f / 12, 1.0f / 6},
                                  {1.0f / 24, -1.0f / 12, 1.0f / 6},
                                  {0, 0, 1}};
    filter_tf(wt, n, u, us, 6, G);
}

const oc_wino_ukr OC_WINO_TABLE = {.in2 = wino_in2, .in4 = wino_in4, .out2 = wino_out2, .out4 = wino_out4,
                                   .filter2 = wino_filter2, .filter4 = wino_filter4};
