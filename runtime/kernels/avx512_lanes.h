/* avx512_lanes.h: lane helpers of the AVX-512 plane kernels
 * (conv_depthwise_avx512.c, pool_avx512.c); include only from files
 * compiled with -mavx512f. */
#ifndef ONNXC_KERNELS_AVX512_LANES_H
#define ONNXC_KERNELS_AVX512_LANES_H

#include <immintrin.h>
#include <stdint.h>

/* x + off as an address computed in integers: with a masked load the
 * lanes outside the plane are never read, but the vector's base may lie
 * before the plane's first float, which C's pointer arithmetic forbids. */
static inline const float *oc_lane_at(const float *x, int64_t off)
{
    return (const float *)((uintptr_t)x + (uintptr_t)(off * (int64_t)sizeof(float)));
}

/* Lanes l of a 16-float load from column c whose column c + l is in [0, W). */
static inline __mmask16 oc_lane_cols_in(int64_t c, int64_t W)
{
    int64_t lo = c < 0 ? -c : 0, hi = W - c;
    hi = hi < 16 ? hi : 16;
    if (hi <= lo)
        return 0;
    return (__mmask16)((((uint32_t)1 << hi) - 1) & ~(((uint32_t)1 << lo) - 1));
}

#endif
