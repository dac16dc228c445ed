/* pool_avx512.c: the AVX-512 MaxPool 3x3 stride-2 plane (pool_ukr.h);
 * CMakeLists.txt sets this file's -m flags. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <math.h>

#include "avx512_lanes.h"
#include "pool_ukr.h"

/* _mm512_max_ps(a, b) is a > b ? a : b per lane (b when either is NaN),
 * the portable kernel's comparison with the new value first. */
void oc_maxpool3s2_plane_avx512(const float *x, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t pt, int64_t pl,
                                float *y)
{
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    for (int64_t oh = 0; oh < OH; oh++) {
        int64_t r0 = 2 * oh - pt, r1 = r0 + 3;
        r0 = r0 < 0 ? 0 : r0;
        r1 = r1 > H ? H : r1;
        float *yr = y + oh * OW;
        for (int64_t j0 = 0; j0 < OW; j0 += 16) {
            int64_t c = 2 * j0 - pl; /* input column of tap 0 of output j0 */
            __mmask16 ma = oc_lane_cols_in(c, W), mb = oc_lane_cols_in(c + 16, W), ma2 = oc_lane_cols_in(c + 2, W), mb2 = oc_lane_cols_in(c + 18, W);
            const float *row = x + r0 * W;
            __m512 a, b, a2, b2;
            if ((ma & mb & ma2 & mb2) == 0xffff) { /* inside the row: plain loads */
                a = _mm512_loadu_ps(row + c), b = _mm512_loadu_ps(row + c + 16);
                a2 = _mm512_loadu_ps(row + c + 2), b2 = _mm512_loadu_ps(row + c + 18);
                for (int64_t r = r0 + 1; r < r1; r++) {
                    row = x + r * W;
                    a = _mm512_max_ps(_mm512_loadu_ps(row + c), a);
                    b = _mm512_max_ps(_mm512_loadu_ps(row + c + 16), b);
                    a2 = _mm512_max_ps(_mm512_loadu_ps(row + c + 2), a2);
                    b2 = _mm512_max_ps(_mm512_loadu_ps(row + c + 18), b2);
                }
            } else { /* the row's edges: masked loads, -inf outside x */
                a = _mm512_mask_loadu_ps(ninf, ma, oc_lane_at(row, c)), b = _mm512_mask_loadu_ps(ninf, mb, oc_lane_at(row, c + 16));
                a2 = _mm512_mask_loadu_ps(ninf, ma2, oc_lane_at(row, c + 2)), b2 = _mm512_mask_loadu_ps(ninf, mb2, oc_lane_at(row, c + 18));
                for (int64_t r = r0 + 1; r < r1; r++) {
                    row = x + r * W;
                    a = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, ma, oc_lane_at(row, c)), a);
                    b = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, mb, oc_lane_at(row, c + 16)), b);
                    a2 = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, ma2, oc_lane_at(row, c + 2)), a2);
                    b2 = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, mb2, oc_lane_at(row, c + 18)), b2);
                }
            }
            __m512 v = _mm512_permutex2var_ps(a, even, b);
            v = _mm512_max_ps(_mm512_permutex2var_ps(a, odd, b), v);
            v = _mm512_max_ps(_mm512_permutex2var_ps(a2, even, b2), v);
            __mmask16 mo = (__mmask16)(OW - j0 >= 16 ? 0xffffu : (1u << (OW - j0)) - 1);
            _mm512_mask_storeu_ps(yr + j0, mo, v);
        }
    }
}
#endif
