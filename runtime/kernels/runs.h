/* runs.h: zeroing and copying short runs of floats with inline stores
 * instead of memset / memcpy calls. The kernels that stage padded rows
 * (conv.c stage_fill, conv_winograd.c stage_rows, the Winograd input
 * transforms) write borders of 0-3 floats and pieces of a few tiles per
 * row, thousands of times per layer; as library calls those were 4-17%
 * of such layers in perf (figures at the callers). */
#ifndef ONNXC_KERNELS_RUNS_H
#define ONNXC_KERNELS_RUNS_H

#include <stdint.h>
#include <string.h>

/* d[0, n) = 0; n over 4 goes to memset. */
static inline void oc_zero_run(float *d, int64_t n)
{
    if (n > 4) {
        memset(d, 0, sizeof(float) * (size_t)n);
        return;
    }
    if (n > 0)
        d[0] = 0.0f;
    if (n > 1)
        d[1] = 0.0f;
    if (n > 2)
        d[2] = 0.0f;
    if (n > 3)
        d[3] = 0.0f;
}

/* d[0, n) = s[0, n), d and s distinct: the short runs of conv.c's gather
 * (an output row: 7-112 floats in ResNet's strided convs and stem) and of
 * the Winograd staging. Blocks of 16 floats (one vector in the AVX-512
 * clones of conv.c's callers), then one more block ending at n that
 * overlaps the last (the two buffers are distinct, so it rewrites the same
 * values); shorter runs in two overlapping halves. A plain loop for the
 * remainder was turned into a memmove call per run by gcc: 7% of a 3x3
 * stride-2 conv's time in perf. */
static inline void oc_copy_run(float *restrict d, const float *restrict s, int64_t n)
{
    if (n >= 16) {
        int64_t i = 0;
        for (; i + 16 <= n; i += 16)
            memcpy(d + i, s + i, 16 * sizeof(float));
        if (i < n)
            memcpy(d + n - 16, s + n - 16, 16 * sizeof(float));
    } else if (n >= 8) {
        memcpy(d, s, 8 * sizeof(float));
        memcpy(d + n - 8, s + n - 8, 8 * sizeof(float));
    } else if (n >= 4) {
        memcpy(d, s, 4 * sizeof(float));
        memcpy(d + n - 4, s + n - 4, 4 * sizeof(float));
    } else {
        if (n > 0)
            d[0] = s[0];
        if (n > 1)
            d[1] = s[1];
        if (n > 2)
            d[2] = s[2];
    }
}

#endif
