/* conv_depthwise_avx512.c: the AVX-512 3x3 depthwise planes
 * (conv_depthwise_ukr.h); CMakeLists.txt sets this file's -m flags. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "avx512_lanes.h"
#include "clamp_avx512.h"
#include "conv_depthwise_ukr.h"

void oc_dw3_s1_masks_avx512(int64_t H, int64_t W, uint16_t *masks)
{
    int64_t L = H * W, nch = (L + 15) / 16, oh = 0, ow = 0; /* row and column of position i */
    for (int64_t c = 0; c < nch; c++) {
        uint16_t valid = 0, top = 0, bottom = 0, left = 0, right = 0;
        for (int l = 0; l < 16 && 16 * c + l < L; l++) {
            uint16_t bit = (uint16_t)(1u << l);
            valid |= bit;
            top |= oh > 0 ? bit : 0;
            bottom |= oh < H - 1 ? bit : 0;
            left |= ow > 0 ? bit : 0;
            right |= ow < W - 1 ? bit : 0;
            if (++ow == W)
                ow = 0, oh++;
        }
        uint16_t *m = masks + OC_DW3_S1_MASK_STRIDE * c;
        m[0] = valid, m[1] = top, m[2] = bottom, m[3] = left, m[4] = right;
    }
}

void oc_dw3_s1_plane_avx512(const float *x, int64_t H, int64_t W, const float *w, float b, float *y,
                            const uint16_t *masks, const oc_dw3_clamp *cl)
{
    int on = cl ? cl->on : 0;
    __m512 lo = _mm512_set1_ps(on ? cl->lo : 0.0f), hi = _mm512_set1_ps(on ? cl->hi : 0.0f);
    int64_t L = H * W, nch = (L + 15) / 16;
    __m512 w0 = _mm512_set1_ps(w[0]), w1 = _mm512_set1_ps(w[1]), w2 = _mm512_set1_ps(w[2]);
    __m512 w3 = _mm512_set1_ps(w[3]), w4 = _mm512_set1_ps(w[4]), w5 = _mm512_set1_ps(w[5]);
    __m512 w6 = _mm512_set1_ps(w[6]), w7 = _mm512_set1_ps(w[7]), w8 = _mm512_set1_ps(w[8]);
    __m512 bv = _mm512_set1_ps(b);
    for (int64_t c = 0; c < nch; c++) {
        const uint16_t *m = masks + OC_DW3_S1_MASK_STRIDE * c;
        __mmask16 mv = m[0], mt = m[1], mb = m[2], ml = m[3], mr = m[4];
        int64_t i = 16 * c;
        /* the middle row first: its taps are valid wherever the output is */
        __m512 acc = _mm512_fmadd_ps(w3, _mm512_maskz_loadu_ps(ml, oc_lane_at(x, i - 1)), bv);
        acc = _mm512_fmadd_ps(w4, _mm512_maskz_loadu_ps(mv, oc_lane_at(x, i)), acc);
        acc = _mm512_fmadd_ps(w5, _mm512_maskz_loadu_ps(mr, oc_lane_at(x, i + 1)), acc);
        __m512 up = _mm512_mul_ps(w0, _mm512_maskz_loadu_ps(mt & ml, oc_lane_at(x, i - W - 1)));
        up = _mm512_fmadd_ps(w1, _mm512_maskz_loadu_ps(mt, oc_lane_at(x, i - W)), up);
        up = _mm512_fmadd_ps(w2, _mm512_maskz_loadu_ps(mt & mr, oc_lane_at(x, i - W + 1)), up);
        __m512 dn = _mm512_mul_ps(w6, _mm512_maskz_loadu_ps(mb & ml, oc_lane_at(x, i + W - 1)));
        dn = _mm512_fmadd_ps(w7, _mm512_maskz_loadu_ps(mb, oc_lane_at(x, i + W)), dn);
        dn = _mm512_fmadd_ps(w8, _mm512_maskz_loadu_ps(mb & mr, oc_lane_at(x, i + W + 1)), dn);
        acc = _mm512_add_ps(acc, _mm512_add_ps(up, dn));
        _mm512_mask_storeu_ps(y + i, mv, oc_clamp_avx512(acc, on, lo, hi));
    }
}

/* The even taps (columns c, c + 2, ...), odd taps (c + 1, ...) and the
 * even taps from c + 2 of one input row, 16 outputs' worth. */
typedef struct dw3_s2_row {
    __m512 e, o, e2;
} dw3_s2_row;

static inline dw3_s2_row s2_row(const float *row, int64_t c, __mmask16 ma, __mmask16 mb, __mmask16 ma2,
                                __mmask16 mb2, __m512i even, __m512i odd)
{
    __m512 a = _mm512_maskz_loadu_ps(ma, oc_lane_at(row, c)), bb = _mm512_maskz_loadu_ps(mb, oc_lane_at(row, c + 16));
    __m512 a2 = _mm512_maskz_loadu_ps(ma2, oc_lane_at(row, c + 2)),
           b2 = _mm512_maskz_loadu_ps(mb2, oc_lane_at(row, c + 18));
    dw3_s2_row r = {_mm512_permutex2var_ps(a, even, bb), _mm512_permutex2var_ps(a, odd, bb),
                    _mm512_permutex2var_ps(a2, even, b2)};
    return r;
}

/* Output row oh reads input rows 2 oh - pt + kh; its last row is the next
 * output row's first, so that row's vectors are kept instead of loaded
 * and permuted again: 2 rows of 4 loads and 3 permutes per 16 outputs
 * instead of 3 (the permutes bound the loop). Same taps in the same order,
 * rows outside the image skipped as before: the same bits. MobileNet-v2's
 * 96 channels 112 -> 56 (Zen 5, one thread, oc_conv_depthwise_forward,
 * best of 300, alternating builds): 0.156-0.160 -> 0.128-0.138 ms. */
void oc_dw3_s2_plane_avx512(const float *x, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t pt, int64_t pl,
                            const float *w, float b, float *y, const oc_dw3_clamp *cl)
{
    int on = cl ? cl->on : 0;
    __m512 lo = _mm512_set1_ps(on ? cl->lo : 0.0f), hi = _mm512_set1_ps(on ? cl->hi : 0.0f);
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    __m512 wv[9];
    for (int k = 0; k < 9; k++)
        wv[k] = _mm512_set1_ps(w[k]);
    __m512 bv = _mm512_set1_ps(b);
    for (int64_t j0 = 0; j0 < OW; j0 += 16) {
        int64_t c = 2 * j0 - pl; /* input column of tap 0 of output j0 */
        __mmask16 ma = oc_lane_cols_in(c, W), mb = oc_lane_cols_in(c + 16, W), ma2 = oc_lane_cols_in(c + 2, W), mb2 = oc_lane_cols_in(c + 18, W);
        __mmask16 mo = (__mmask16)(OW - j0 >= 16 ? 0xffffu : (1u << (OW - j0)) - 1);
        dw3_s2_row kept = {bv, bv, bv};
        int64_t kept_ih = -1; /* the input row in kept (-1: none) */
        for (int64_t oh = 0; oh < OH; oh++) {
            __m512 acc = bv;
#pragma GCC unroll 3
            for (int kh = 0; kh < 3; kh++) {
                int64_t ih = 2 * oh + kh - pt;
                if (ih < 0 || ih >= H)
                    continue;
                dw3_s2_row r = kh == 0 && ih == kept_ih ? kept : s2_row(x + ih * W, c, ma, mb, ma2, mb2, even, odd);
                acc = _mm512_fmadd_ps(wv[3 * kh], r.e, acc);
                acc = _mm512_fmadd_ps(wv[3 * kh + 1], r.o, acc);
                acc = _mm512_fmadd_ps(wv[3 * kh + 2], r.e2, acc);
                if (kh == 2)
                    kept = r, kept_ih = ih;
            }
            _mm512_mask_storeu_ps(y + oh * OW + j0, mo, oc_clamp_avx512(acc, on, lo, hi));
        }
    }
}
#endif
