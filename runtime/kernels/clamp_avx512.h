/* clamp_avx512.h: the fused ReLU/Clip of the AVX-512 conv kernels
 * (depthwise and direct), applied at the store; the AVX-512 twin of
 * clamp_avx2.h. NaN as the portable activations treat it (vmaxps/vminps
 * return their second operand when either is NaN): ReLU (on = 1) turns it
 * into 0, Clip (on = 2) keeps it. Include only from files compiled with
 * AVX-512. */
#ifndef ONNXC_CLAMP_AVX512_H
#define ONNXC_CLAMP_AVX512_H

#include <immintrin.h>

static inline __m512 oc_clamp_avx512(__m512 v, int on, __m512 lo, __m512 hi)
{
    if (on == 1)
        return _mm512_min_ps(hi, _mm512_max_ps(v, lo));
    if (on == 2)
        return _mm512_min_ps(hi, _mm512_max_ps(lo, v));
    return v;
}

#endif
