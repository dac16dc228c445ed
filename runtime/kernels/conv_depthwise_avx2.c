/* conv_depthwise_avx2.c: the AVX2 3x3 depthwise kernels
 * (conv_depthwise_ukr.h); CMakeLists.txt sets this file's -m flags.
 * Stride 1: the plane of conv_depthwise_avx512.c with 8 lanes and plain
 * loads (taps outside the plane read zeros from guard rows, column masks
 * ANDed in; no vmaskmovps: see conv_depthwise_ukr.h). Stride 2: blocks of
 * 8 channels transposed to channel-innermost order (c8). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#include "conv_depthwise_ukr.h"
#include "clamp_avx2.h"

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
        acc = oc_clamp_avx2(_mm256_add_ps(acc, _mm256_add_ps(up, dn)), on, lo, hi);
        if (8 * c + 8 <= L) {
            _mm256_storeu_ps(y + 8 * c, acc);
        } else {
            float t[8];
            _mm256_storeu_ps(t, acc);
            memcpy(y + 8 * c, t, sizeof(float) * (size_t)(L - 8 * c));
        }
    }
}

/* ---- c8: eight channels at once, channel innermost ---- */

/* The 8 x 8 block of rows r[0..7], columns [0, 8), transposed: v[j]
 * holds column j, lane i from row i. Rows are read as 4-float halves
 * joined with vinsertf128 so that only in-lane shuffles remain (Zen 1
 * runs a 256-bit lane crossing permute as several micro-ops). */
static inline void tr8(const float *const r[8], int64_t c, __m256 v[8])
{
    for (int h = 0; h < 2; h++) {
        __m256 t[4], a[4];
        for (int i = 0; i < 4; i++)
            t[i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[i] + c + 4 * h)),
                                        _mm_loadu_ps(r[i + 4] + c + 4 * h), 1);
        a[0] = _mm256_unpacklo_ps(t[0], t[1]);
        a[1] = _mm256_unpackhi_ps(t[0], t[1]);
        a[2] = _mm256_unpacklo_ps(t[2], t[3]);
        a[3] = _mm256_unpackhi_ps(t[2], t[3]);
        v[4 * h + 0] = _mm256_shuffle_ps(a[0], a[2], 0x44);
        v[4 * h + 1] = _mm256_shuffle_ps(a[0], a[2], 0xee);
        v[4 * h + 2] = _mm256_shuffle_ps(a[1], a[3], 0x44);
        v[4 * h + 3] = _mm256_shuffle_ps(a[1], a[3], 0xee);
    }
}

/* Outputs per step of the c8 sum: independent FMA chains to cover the
 * FMA latency, with the nine weight vectors kept in registers. */
#define C8_OB 4

/* y = b + sum of the taps in (kh, kw) order, C8_OB outputs of a row at
 * a time, clamped as oc_clamp_avx2(ON) at the store. */
static inline __attribute__((always_inline)) void c8_sum(const int ON, const float *xin, int64_t Wp, int64_t OH,
                                                         int64_t OW, int64_t s, const __m256 wv[9], __m256 bv,
                                                         __m256 lo, __m256 hi, float *out)
{
    for (int64_t oh = 0; oh < OH; oh++) {
        const float *r0 = xin + oh * s * Wp * 8;
        float *o = out + oh * OW * 8;
        for (int64_t ow = 0; ow < OW; ow += C8_OB) {
            if (ow + C8_OB > OW) {
                if (OW < C8_OB)
                    break;
                ow = OW - C8_OB; /* the last group again, overlapping: a lone output is one FMA chain */
            }
            __m256 acc[C8_OB];
            for (int j = 0; j < C8_OB; j++)
                acc[j] = bv;
            for (int kh = 0; kh < 3; kh++)
                for (int kw = 0; kw < 3; kw++) {
                    const float *t = r0 + (kh * Wp + ow * s + kw) * 8;
                    for (int j = 0; j < C8_OB; j++)
                        acc[j] = _mm256_fmadd_ps(wv[3 * kh + kw], _mm256_loadu_ps(t + j * s * 8), acc[j]);
                }
            for (int j = 0; j < C8_OB; j++)
                _mm256_storeu_ps(o + (ow + j) * 8, oc_clamp_avx2(acc[j], ON, lo, hi));
        }
        for (int64_t ow = 0; OW < C8_OB && ow < OW; ow++) {
            __m256 acc = bv;
            for (int kh = 0; kh < 3; kh++)
                for (int kw = 0; kw < 3; kw++)
                    acc = _mm256_fmadd_ps(wv[3 * kh + kw], _mm256_loadu_ps(r0 + (kh * Wp + ow * s + kw) * 8), acc);
            _mm256_storeu_ps(o + ow * 8, oc_clamp_avx2(acc, ON, lo, hi));
        }
    }
}

/* Output rows per band: the band's padded input rows [(band - 1) s + 3]
 * x Wp x 8 floats stay within C8_BAND_BYTES (in L1/L2 while summed)
 * instead of the whole plane's block (112 -> 56: 408 KB, most of L2). */
#define C8_BAND_BYTES (48 << 10)

/* One output of the direct sum: the taps of the rows in rp (NULL: a row
 * outside X) whose columns fall inside [0, W), in (kh, kw) order. */
static inline __attribute__((always_inline)) __m256 c8x_one(const float *const rp[3], int64_t W, int64_t iw0,
                                                           const __m256 wv[9], __m256 bv)
{
    __m256 acc = bv;
    for (int k = 0; k < 3; k++) {
        if (!rp[k])
            continue;
        for (int kw = 0; kw < 3; kw++)
            if (iw0 + kw >= 0 && iw0 + kw < W)
                acc = _mm256_fmadd_ps(wv[3 * k + kw], _mm256_loadu_ps(rp[k] + (iw0 + kw) * 8), acc);
    }
    return acc;
}

/* The sum of c8_sum read straight from a channel block x [H][W][8] (no
 * padded copy: the copy's stores were as costly as the sum on Zen 1):
 * rows outside X are skipped, outputs whose three columns are all inside
 * X go C8_OB at a time, the few at the left and right edges one by one
 * with their columns checked. Output rows [oh0, oh0 + nb) into out. */
static inline __attribute__((always_inline)) void c8_sum_direct(const int ON, const float *x, int64_t H, int64_t W,
                                                                int64_t oh0, int64_t nb, int64_t OW, int64_t s,
                                                                int64_t pt, int64_t pl, const __m256 wv[9],
                                                                __m256 bv, __m256 lo, __m256 hi, float *out)
{
    /* outputs [a, b) have every column inside X: ow s - pl >= 0 and ow s - pl + 2 <= W - 1 */
    int64_t a = (pl + s - 1) / s, b = W - 3 + pl >= 0 ? (W - 3 + pl) / s + 1 : 0;
    a = a > OW ? OW : a;
    b = b > OW ? OW : b < a ? a : b;
    for (int64_t oh = oh0; oh < oh0 + nb; oh++) {
        const float *rp[3];
        for (int k = 0; k < 3; k++) {
            int64_t ih = oh * s - pt + k;
            rp[k] = ih >= 0 && ih < H ? x + ih * W * 8 : NULL;
        }
        float *o = out + (oh - oh0) * OW * 8;
        for (int64_t ow = 0; ow < a; ow++)
            _mm256_storeu_ps(o + ow * 8, oc_clamp_avx2(c8x_one(rp, W, ow * s - pl, wv, bv), ON, lo, hi));
        for (int64_t ow = b; ow < OW; ow++)
            _mm256_storeu_ps(o + ow * 8, oc_clamp_avx2(c8x_one(rp, W, ow * s - pl, wv, bv), ON, lo, hi));
        if (b - a < C8_OB) {
            for (int64_t ow = a; ow < b; ow++)
                _mm256_storeu_ps(o + ow * 8, oc_clamp_avx2(c8x_one(rp, W, ow * s - pl, wv, bv), ON, lo, hi));
            continue;
        }
        for (int64_t ow = a; ow < b; ow += C8_OB) {
            if (ow + C8_OB > b)
                ow = b - C8_OB; /* the last group again, overlapping */
            __m256 acc[C8_OB];
            for (int j = 0; j < C8_OB; j++)
                acc[j] = bv;
            for (int k = 0; k < 3; k++) {
                if (!rp[k])
                    continue;
                const float *t = rp[k] + (ow * s - pl) * 8;
                for (int kw = 0; kw < 3; kw++)
                    for (int j = 0; j < C8_OB; j++)
                        acc[j] = _mm256_fmadd_ps(wv[3 * k + kw], _mm256_loadu_ps(t + (j * s + kw) * 8), acc[j]);
            }
            for (int j = 0; j < C8_OB; j++)
                _mm256_storeu_ps(o + (ow + j) * 8, oc_clamp_avx2(acc[j], ON, lo, hi));
        }
    }
}

void oc_dw3_c8_avx2(const float *x, int64_t Lin, int cb, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t s,
                    int64_t pt, int64_t pl, const float *w, const float *bias, float *y, const oc_dw3_clamp *cl,
                    float *scratch, int xc8)
{
    int64_t Wp = OC_DW3_C8_WP(OW, s), L = OH * OW;
    int64_t band = ((int64_t)C8_BAND_BYTES / (Wp * 32) - 3) / s + 1;
    band = band < 1 ? 1 : band > OH ? OH : band;
    float *xin = scratch, *out = scratch + 8 * ((band - 1) * s + 3) * Wp;
    /* channel rows: those past cb repeat the last one (their lanes are never stored) */
    const float *xc[8];
    for (int l = 0; l < 8; l++)
        xc[l] = x + (l < cb ? l : cb - 1) * Lin;
    /* weights and bias per lane, zero past cb */
    float wt[9][8], bt[8];
    for (int l = 0; l < 8; l++) {
        for (int k = 0; k < 9; k++)
            wt[k][l] = l < cb ? w[l * 9 + k] : 0.0f;
        bt[l] = l < cb && bias ? bias[l] : 0.0f;
    }
    __m256 wv[9];
    for (int k = 0; k < 9; k++)
        wv[k] = _mm256_loadu_ps(wt[k]);
    __m256 bv = _mm256_loadu_ps(bt);
    int on = cl ? cl->on : 0;
    __m256 lo = _mm256_set1_ps(cl ? cl->lo : 0.0f), hi = _mm256_set1_ps(cl ? cl->hi : 0.0f);
    /* input columns [0, cw) land at pl.. of a padded row */
    int64_t cw = W < Wp - pl ? W : Wp - pl, c8 = cw > 0 ? cw / 8 * 8 : 0;
    __m256 z = _mm256_setzero_ps();
    if (xc8) /* no padded block: the band is its outputs alone */
        band = (int64_t)C8_BAND_BYTES / (OW * 32) < 1 ? 1 : (int64_t)C8_BAND_BYTES / (OW * 32), out = scratch;
    band = band > OH ? OH : band;
    for (int64_t oh0 = 0; oh0 < OH; oh0 += band) {
        int64_t nb = OH - oh0 < band ? OH - oh0 : band, Hb = (nb - 1) * s + 3, Lb = nb * OW;
        if (xc8) {
            if (on == 1)
                c8_sum_direct(1, x, H, W, oh0, nb, OW, s, pt, pl, wv, bv, lo, hi, out);
            else if (on == 2)
                c8_sum_direct(2, x, H, W, oh0, nb, OW, s, pt, pl, wv, bv, lo, hi, out);
            else
                c8_sum_direct(0, x, H, W, oh0, nb, OW, s, pt, pl, wv, bv, lo, hi, out);
            Hb = 0;
        }
        /* the band's padded rows [Hb][Wp][8]: padded row oh0 * s + hb */
        for (int64_t hb = 0; hb < Hb; hb++) {
            int64_t ih = oh0 * s + hb - pt;
            float *d = xin + hb * Wp * 8;
            if (ih < 0 || ih >= H || cw <= 0) {
                for (int64_t q = 0; q < Wp; q++)
                    _mm256_storeu_ps(d + 8 * q, z);
                continue;
            }
            for (int64_t q = 0; q < pl; q++)
                _mm256_storeu_ps(d + 8 * q, z);
            for (int64_t q = pl + cw; q < Wp; q++)
                _mm256_storeu_ps(d + 8 * q, z);
            const float *r[8];
            for (int l = 0; l < 8; l++)
                r[l] = xc[l] + ih * W;
            float *dc = d + 8 * pl;
            for (int64_t c = 0; c < c8; c += 8) {
                __m256 v[8];
                tr8(r, c, v);
                for (int j = 0; j < 8; j++)
                    _mm256_storeu_ps(dc + 8 * (c + j), v[j]);
            }
            if (c8 < cw && cw >= 8) { /* the last 8 columns again, overlapping */
                __m256 v[8];
                tr8(r, cw - 8, v);
                for (int j = 0; j < 8; j++)
                    _mm256_storeu_ps(dc + 8 * (cw - 8 + j), v[j]);
            } else
                for (int64_t c = c8; c < cw; c++)
                    for (int l = 0; l < 8; l++)
                        dc[8 * c + l] = r[l][c];
        }
        if (xc8)
            ;
        else if (on == 1)
            c8_sum(1, xin, Wp, nb, OW, s, wv, bv, lo, hi, out);
        else if (on == 2)
            c8_sum(2, xin, Wp, nb, OW, s, wv, bv, lo, hi, out);
        else
            c8_sum(0, xin, Wp, nb, OW, s, wv, bv, lo, hi, out);
        /* back to cb planes: the band's Lb outputs start at oh0 * OW */
        float *yb = y + oh0 * OW;
        const float *po[8];
        for (int i = 0; i < 8; i++)
            po[i] = out + 8 * i;
        int64_t p = 0;
        for (; p + 8 <= Lb; p += 8) {
            const float *r[8];
            for (int i = 0; i < 8; i++)
                r[i] = po[i] + 8 * p;
            __m256 v[8];
            tr8(r, 0, v);
            for (int l = 0; l < cb; l++)
                _mm256_storeu_ps(yb + l * L + p, v[l]);
        }
        if (p < Lb && Lb >= 8) { /* the last 8 outputs again, overlapping */
            const float *r[8];
            for (int i = 0; i < 8; i++)
                r[i] = po[i] + 8 * (Lb - 8);
            __m256 v[8];
            tr8(r, 0, v);
            for (int l = 0; l < cb; l++)
                _mm256_storeu_ps(yb + l * L + Lb - 8, v[l]);
        } else
            for (; p < Lb; p++)
                for (int l = 0; l < cb; l++)
                    yb[l * L + p] = out[8 * p + l];
    }
}
#endif
