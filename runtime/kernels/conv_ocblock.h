/* conv_ocblock.h: direct 2-D convolution vectorized over output channels
 * (float32, NCHW in and out), for the convs where im2col + SGEMM spends
 * most outside the multiply: stride-2 convs with many channels (ResNet's
 * 3x3 stride-2 convs). There the col is 2.25x the input, gathered with
 * stride-2 reads, and at batch 1 on two threads the threads first build
 * one shared col and then split W's rows, so the gather does not scale.
 *
 *   Y[n, m, oh, ow] = act(B[m] + R[n, m, oh, ow]
 *                         + sum_{c, kh, kw} W[m, c, kh, kw] * X[n, c, oh*sh - pt + kh, ow*sw - pl + kw])
 *
 * taps outside X read 0. W (a constant) is packed once at plan time into
 * blocks of 32 output channels, [M/32][C][KH][KW][32], a last partial
 * block padded with zero channels. Each image is first copied into
 * zero-padded planes (shared scratch: C planes of the rows and columns the
 * windows read), so no tap needs a bounds test. A tile is 32 output
 * channels (2 vectors of 16) x up to 14 outputs along one output row, or
 * along two rows of up to 7 (a 7x7 output): 28 accumulators. Per tap
 * (c, kh, kw) it loads the block's 32 weights and broadcasts each
 * output's input, 2 FMAs per output; outputs of a row are sw floats apart
 * in the padded plane, so the broadcasts take constant displacements.
 * Sums start from the bias and add the taps in (c, kh, kw) order; ReLU or
 * Clip alone is applied at the store (one scatter per output and vector:
 * Y is channel-major); any other epilogue (activation, residual) runs on
 * the finished rows of each block. Threads split the images when there
 * are enough (each copies its own into its own planes), else (block of 32
 * channels, group of output rows) of one image at a time. The tiles are AVX-512
 * (conv_ocblock_avx512.c); other ISAs run the same tiles in plain C.
 * oc_conv_ref is the reference. */
#ifndef ONNXC_KERNELS_CONV_OCBLOCK_H
#define ONNXC_KERNELS_CONV_OCBLOCK_H

#include "conv.h"

#define OC_CONV_OCBLOCK_MB 32 /* output channels per block */

/* 1 when oc_conv_ocblock_forward handles p: 2 spatial dims, one group,
 * dilation 1, column stride 1 or 2 (any row stride), non-negative start
 * pads, kernel extents up to 16, no channel-blocked hand-over, and offsets
 * that fit in int32. */
int oc_conv_ocblock_applicable(const oc_conv_params *p);
/* 1 when lowering should pick it for a conv with a constant W: applicable,
 * AVX-512, stride 2 in both dims, a 3x3 kernel, at least 128 input and 32
 * output channels, output rows of 14 or more (figures at the definition).
 * ONNXC_CONV_OCBLOCK=0|1 forces the choice among applicable convs
 * (measurements). */
int oc_conv_ocblock_chosen(const oc_conv_params *p);
/* Shared scratch bytes: one image's padded planes and the tap offsets;
 * per-thread scratch: one image's padded planes (when the threads split
 * the images). */
size_t oc_conv_ocblock_scratch(const oc_conv_params *p);
size_t oc_conv_ocblock_tscratch(const oc_conv_params *p);
/* Plan-time preparation from the constant W (input 1): the packed blocks. */
size_t oc_conv_ocblock_prep_bytes(const oc_kargs *a);
int oc_conv_ocblock_prep(const oc_kargs *a, void *dst);

/* in: X, W, optional B, optional residual R shaped like Y (ep.has_residual);
 * out: Y. Needs the prepared W (a->prep) and the shared scratch. */
int oc_conv_ocblock_forward(const oc_kargs *a);

#endif
