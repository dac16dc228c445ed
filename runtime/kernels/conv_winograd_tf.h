/* conv_winograd_tf.h: the body of the Winograd tile transforms (interface
 * and layouts: conv_winograd_ukr.h), written as plain C loops over the
 * tiles of a segment so the compiler vectorizes them across tiles with
 * whatever vector width the including file is compiled for. Included once
 * per ISA: conv_winograd_avx512.c, conv_winograd_avx2.c (own -m flags) and
 * conv_winograd.c (portable); the includer defines OC_WINO_TABLE, the name
 * of the oc_wino_ukr table to define.
 *
 * Lanes are the segment's tiles (lane = kk * n + t for tile t of its tile
 * row kk), rounded up to OC_WINO_LANES (the extra lanes compute garbage
 * nobody keeps). For window row r, column j of every lane's window,
 *   cols_j[lane] = X[y0 + m kk + r][x0 + m t + j],
 * is a vector over the lanes; each transform is then separable: the 1-D
 * transform across the window columns of every window row, then across
 * the rows (input); rows first, then columns (output), each a handful of
 * adds and multiplies on vectors of lanes. A one-row segment gets its
 * columns without copying: the row window is split into its m phases
 * (row_phases), ph_p[t] = row[x0 + m t + p], and cols_j = ph_{j mod m}
 * shifted by j / m lanes; a several-row segment (narrow images) gathers
 * them (gather_cols).
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

#ifndef OC_WINO_TABLE
#error "define OC_WINO_TABLE before including conv_winograd_tf.h"
#endif

/* The phases of input row y's window from column x0, np + 1 entries each:
 *   ph[p][t] = row[x0 + step * t + p]   (p < step; zero outside the row)
 * with step = 2 (F(2x2)) or 4 (F(4x4)). Entries whose step columns all lie
 * inside the row are read straight from the plane (a vectorized
 * de-interleave), the few at the padded edges one by one; nothing is
 * copied first, so no vector load waits on narrower stores of the same
 * bytes. Returns 0 for a row outside the plane (all zero). */
static inline int row_phases(const float *plane, int64_t H, int64_t W, int64_t y, int64_t x0, int64_t np, int step,
                             float *restrict p0, float *restrict p1, float *restrict p2, float *restrict p3)
{
    if (y < 0 || y >= H)
        return 0;
    const float *row = plane + y * W;
    float *ph[4] = {p0, p1, p2, p3};
    /* t_lo: first t with x0 + step t >= 0; t_hi: first t past the row */
    int64_t t_lo = x0 >= 0 ? 0 : (-x0 + step - 1) / step;
    int64_t t_hi = W - x0 - step >= 0 ? (W - x0 - step) / step + 1 : 0;
    t_lo = t_lo < np + 1 ? t_lo : np + 1;
    t_hi = t_hi < t_lo ? t_lo : t_hi < np + 1 ? t_hi : np + 1;
    for (int64_t t = 0; t <= np; t++) {
        if (t == t_lo)
            t = t_hi; /* the inside run is done below */
        if (t > np)
            break;
        for (int q = 0; q < step; q++) {
            int64_t xx = x0 + step * t + q;
            ph[q][t] = xx >= 0 && xx < W ? row[xx] : 0.0f;
        }
    }
    if (t_hi > t_lo) {
        const float *src = row + (x0 + step * t_lo);
        int64_t cnt = t_hi - t_lo;
        if (step == 2) {
            float *restrict q0 = p0 + t_lo, *restrict q1 = p1 + t_lo;
            for (int64_t t = 0; t < cnt; t++) {
                q0[t] = src[2 * t];
                q1[t] = src[2 * t + 1];
            }
        } else {
            float *restrict q0 = p0 + t_lo, *restrict q1 = p1 + t_lo, *restrict q2 = p2 + t_lo, *restrict q3 = p3 + t_lo;
            for (int64_t t = 0; t < cnt; t++) {
                q0[t] = src[4 * t];
                q1[t] = src[4 * t + 1];
                q2[t] = src[4 * t + 2];
                q3[t] = src[4 * t + 3];
            }
        }
    }
    return 1;
}

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

/* cols_j (j < alpha) of window row r for a several-row segment, gathered
 * into buf[j][lane], zero outside the plane; the pointers go to cols. */
static void gather_cols(const float *plane, int64_t H, int64_t W, int64_t y0, int64_t x0, int64_t k, int64_t n, int r,
                        int m, int alpha, float (*buf)[WINO_S], const float **cols)
{
    int interior = x0 >= 0 && x0 + m * (n - 1) + alpha <= W;
    for (int64_t kk = 0; kk < k; kk++) {
        int64_t y = y0 + m * kk + r;
        float *d[6];
        for (int j = 0; j < alpha; j++)
            d[j] = buf[j] + kk * n;
        if (y < 0 || y >= H) {
            for (int j = 0; j < alpha; j++)
                memset(d[j], 0, sizeof(float) * (size_t)n);
            continue;
        }
        const float *row = plane + y * W;
        if (interior) {
            const float *src = row + x0;
            for (int64_t t = 0; t < n; t++)
                for (int j = 0; j < alpha; j++)
                    d[j][t] = src[m * t + j];
        } else {
            for (int64_t t = 0; t < n; t++)
                for (int j = 0; j < alpha; j++) {
                    int64_t xx = x0 + m * t + j;
                    d[j][t] = xx >= 0 && xx < W ? row[xx] : 0.0f;
                }
        }
    }
    for (int j = 0; j < alpha; j++)
        cols[j] = buf[j];
}

/* cols_j of window row r: NULL entries (return 0) when every lane's row
 * lies outside the plane. */
static int window_cols(const float *plane, int64_t H, int64_t W, int64_t y0, int64_t x0, int64_t k, int64_t n, int r,
                       int m, int alpha, int64_t np, float (*buf)[WINO_S], const float **cols)
{
    if (k == 1) {
        if (!row_phases(plane, H, W, y0 + r, x0, np, m, buf[0], buf[1], buf[2], buf[3]))
            return 0;
        for (int j = 0; j < alpha; j++)
            cols[j] = buf[j % m] + j / m;
        return 1;
    }
    int any = 0;
    for (int64_t kk = 0; kk < k; kk++)
        any |= y0 + m * kk + r >= 0 && y0 + m * kk + r < H;
    if (!any)
        return 0;
    gather_cols(plane, H, W, y0, x0, k, n, r, m, alpha, buf, cols);
    return 1;
}

/* F(2x2, 3x3): 4x4 windows at a stride of 2. */
static void wino_in2(const float *plane, int64_t H, int64_t W, int64_t y0, int64_t x0, int64_t k, int64_t n,
                     float *restrict V, int64_t xs)
{
    float buf[4][WINO_S];
    float h[4][4][WINO_S]; /* h[r][v][lane]: window row r, column transform v */
    const float *d[4];
    int64_t np = round_lanes(k * n);
    for (int r = 0; r < 4; r++) {
        if (!window_cols(plane, H, W, y0, x0, k, n, r, 2, 4, np, buf, d)) {
            for (int v = 0; v < 4; v++)
                memset(h[r][v], 0, sizeof(float) * (size_t)np);
            continue;
        }
        in2_1d(np, d[0], d[1], d[2], d[3], h[r][0], h[r][1], h[r][2], h[r][3]);
    }
    for (int v = 0; v < 4; v++)
        in2_1d(np, h[0][v], h[1][v], h[2][v], h[3][v], V + (0 + v) * xs, V + (4 + v) * xs, V + (8 + v) * xs,
               V + (12 + v) * xs);
}

/* F(4x4, 3x3): 6x6 windows at a stride of 4. */
static void wino_in4(const float *plane, int64_t H, int64_t W, int64_t y0, int64_t x0, int64_t k, int64_t n,
                     float *restrict V, int64_t xs)
{
    float buf[6][WINO_S];
    float h[6][6][WINO_S];
    const float *d[6];
    int64_t np = round_lanes(k * n);
    for (int r = 0; r < 6; r++) {
        if (!window_cols(plane, H, W, y0, x0, k, n, r, 4, 6, np, buf, d)) {
            for (int v = 0; v < 6; v++)
                memset(h[r][v], 0, sizeof(float) * (size_t)np);
            continue;
        }
        in4_1d(np, d[0], d[1], d[2], d[3], d[4], d[5], h[r][0], h[r][1], h[r][2], h[r][3], h[r][4], h[r][5]);
    }
    for (int v = 0; v < 6; v++)
        in4_1d(np, h[0][v], h[1][v], h[2][v], h[3][v], h[4][v], h[5][v], V + (0 + v) * xs, V + (6 + v) * xs,
               V + (12 + v) * xs, V + (18 + v) * xs, V + (24 + v) * xs, V + (30 + v) * xs);
}

/* Output row i of every lane, interleaved (o[m lane + j]), goes to the
 * tile rows' image rows: bias is in o; residual and activation are applied
 * on each finished row piece (oc_epilogue_apply: the shared activation
 * code), then it is stored. */
static void store_rows(float *o, int m, int i, int64_t k, int64_t n, const oc_epilogue *ep, const float *res,
                       float *y, int64_t ldy, int64_t rows, int64_t cols)
{
    for (int64_t kk = 0; kk < k; kk++) {
        int64_t yr = m * kk + i;
        if (yr >= rows)
            break;
        float *piece = o + m * kk * n;
        if (oc_epilogue_active(ep))
            oc_epilogue_apply(ep, piece, 0, 1, cols, 0, 0, NULL, res ? res + yr * ldy : NULL, 0);
        memcpy(y + yr * ldy, piece, sizeof(float) * (size_t)cols);
    }
}

static void wino_out2(const float *restrict Mx, int64_t xs, int64_t k, int64_t n, float bias, const oc_epilogue *ep,
                      const float *res, float *y, int64_t ldy, int64_t rows, int64_t cols)
{
    float s[2][4][WINO_S]; /* s[i][v][lane] = (A^T Mx)[i][v] */
    float o[2 * WINO_S];
    int64_t np = round_lanes(k * n);
    for (int v = 0; v < 4; v++)
        out2_1d(np, Mx + (0 + v) * xs, Mx + (4 + v) * xs, Mx + (8 + v) * xs, Mx + (12 + v) * xs, s[0][v], s[1][v]);
    for (int i = 0; i < 2; i++) {
        const float *restrict q0 = s[i][0], *restrict q1 = s[i][1], *restrict q2 = s[i][2], *restrict q3 = s[i][3];
        for (int64_t t = 0; t < np; t++) {
            o[2 * t] = q0[t] + q1[t] + q2[t] + bias;
            o[2 * t + 1] = q1[t] - q2[t] - q3[t] + bias;
        }
        store_rows(o, 2, i, k, n, ep, res, y, ldy, rows, cols);
    }
}

static void wino_out4(const float *restrict Mx, int64_t xs, int64_t k, int64_t n, float bias, const oc_epilogue *ep,
                      const float *res, float *y, int64_t ldy, int64_t rows, int64_t cols)
{
    float s[4][6][WINO_S];
    float o[4 * WINO_S];
    int64_t np = round_lanes(k * n);
    for (int v = 0; v < 6; v++)
        out4_1d(np, Mx + (0 + v) * xs, Mx + (6 + v) * xs, Mx + (12 + v) * xs, Mx + (18 + v) * xs,
                Mx + (24 + v) * xs, Mx + (30 + v) * xs, s[0][v], s[1][v], s[2][v], s[3][v]);
    for (int i = 0; i < 4; i++) {
        const float *restrict q0 = s[i][0], *restrict q1 = s[i][1], *restrict q2 = s[i][2], *restrict q3 = s[i][3],
                              *restrict q4 = s[i][4], *restrict q5 = s[i][5];
        for (int64_t t = 0; t < np; t++) {
            float a = q1[t] + q2[t], b = q1[t] - q2[t], c = q3[t] + q4[t], d = q3[t] - q4[t];
            o[4 * t] = q0[t] + a + c + bias;
            o[4 * t + 1] = b + 2.0f * d + bias;
            o[4 * t + 2] = a + 4.0f * c + bias;
            o[4 * t + 3] = b + 8.0f * d + q5[t] + bias;
        }
        store_rows(o, 4, i, k, n, ep, res, y, ldy, rows, cols);
    }
}

const oc_wino_ukr OC_WINO_TABLE = {.in2 = wino_in2, .in4 = wino_in4, .out2 = wino_out2, .out4 = wino_out4};
