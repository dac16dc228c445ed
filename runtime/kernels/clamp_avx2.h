/* clamp_avx2.h: the fused ReLU/Clip of the AVX2 conv kernels (depthwise
 * and direct), applied at the store. ReLU (on = 1) turns NaN into 0, Clip
 * (on = 2) keeps it, as the AVX-512 depthwise kernel's clamp. Include only
 * from files compiled with AVX2. */
#ifndef ONNXC_CLAMP_AVX2_H
#define ONNXC_CLAMP_AVX2_H

#include <immintrin.h>

static inline __m256 oc_clamp_avx2(__m256 v, int on, __m256 lo, __m256 hi) {
  if (on == 1)
    return _mm256_min_ps(hi, _mm256_max_ps(v, lo));
  if (on == 2)
    return _mm256_min_ps(hi, _mm256_max_ps(lo, v));
  return v;
}

#endif
