/* conv_ocblock_ukr.h: the tile of the output-channel-blocked direct conv
 * (conv_ocblock.h), shared by conv_ocblock.c and its AVX-512 file.
 * Internal to runtime/kernels.
 *
 * A tile computes 32 output channels j (a block) x R outputs i:
 *   xi = x + (i < R1 ? S i : xstep + S (i - R1))     the output's window origin
 *   yi = y + (i < R1 ? i : ystep + i - R1)
 *   yi[j * L] = clamp(bias[j] + sum_t wp[32 t + j] * xi[off[t]])   for j < nvalid
 * with the sum in t order. clamp: on = 0 none, 1 ReLU (NaN -> 0), 2 Clip
 * to [lo, hi] (NaN kept), as oc_clamp_avx512. pf: the block a thread
 * multiplies next streams into L2 during this one's tiles (a hint only). 1 <= R1 <= 14, and R = R1
 * (one row) or R = 2 R1 with R1 <= 7 (two rows). S is 1 or 2. */
#ifndef ONNXC_KERNELS_CONV_OCBLOCK_UKR_H
#define ONNXC_KERNELS_CONV_OCBLOCK_UKR_H

#include <stdint.h>

typedef struct oc_cob_tile {
    const float *x;     /* padded input: the first output's window origin in channel 0's plane */
    const int32_t *off; /* T tap offsets: c * plane + kh * row + kw */
    int64_t T;
    const float *wp;    /* the block's packed W, [T][32] */
    const float *bias;  /* 32 floats */
    float *y;           /* Y at the block's first channel and the tile's first output */
    int64_t L;          /* floats from one channel of Y to the next */
    int64_t xstep, ystep;
    const float *pf;    /* NULL, or npf taps of another block's packed W to prefetch into L2 */
    int64_t npf;
    int R1, R, S, nvalid, on;
    float lo, hi;
} oc_cob_tile;

/* 0 when the tile was computed, -1 when (S, R1, R) has no AVX-512
 * instance (the caller then runs the portable tile). */
int oc_cob_tile_avx512(const oc_cob_tile *t);

#endif
