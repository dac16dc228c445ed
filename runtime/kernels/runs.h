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

/* d[0, n) = s[0, n), d and s not overlapping: up to 16 floats as two
 * fixed-size copies (inlined moves), the second overlapping the first;
 * longer runs go to memcpy. */
static inline void oc_copy_run(float *restrict d, const float *restrict s, int64_t n)
{
    if (n > 16) {
        memcpy(d, s, sizeof(float) * (size_t)n);
    } else if (n >= 8) {
        memcpy(d, s, 32);
        memcpy(d + n - 8, s + n - 8, 32);
    } else if (n >= 4) {
        memcpy(d, s, 16);
        memcpy(d + n - 4, s + n - 4, 16);
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
