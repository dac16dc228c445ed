/* conv_direct.h: direct 2-D convolution for convs with few input channels
 * (float32, NCHW): the stem of an image net, 3 channels in, 3x3 or 7x7,
 * stride 2. There im2col + SGEMM multiplies a product only K = Cin*KH*KW
 * deep (27 for MobileNet's stem), so the SGEMM's panels are short and the
 * im2col buffer (1.35 MB at 224x224) is written and read once more than
 * the work needs.
 *
 *   Y[n, m, oh, ow] = act(B[m] + R[n, m, oh, ow]
 *                         + sum_{c, kh, kw} W[m, c, kh, kw] * X[n, c, oh*sh - pt + kh, ow*sw - pl + kw])
 *
 * taps outside X read 0. Output rows are computed in bands of a few rows:
 * the input rows a band reads are copied once, zero-padded and split into
 * sw column phases (phase q holds columns q, q + sw, ...), so that for
 * every tap (c, kh, kw) the inputs of 8 consecutive outputs are one
 * unaligned vector load, phase kw % sw at offset kw / sw. The AVX2
 * micro-kernel (conv_direct_avx2.c) keeps 4 output channels x 24 outputs
 * in 12 registers, the AVX-512 one (conv_direct_avx512.c) 8 channels x 48
 * outputs in 24, and both broadcast one weight per channel and tap; W is
 * read as it is ([M][C][KH][KW], no plan-time pack). Sums start from the
 * bias and add the taps in (c, kh, kw) order; the epilogue (activation,
 * residual) is applied to each finished output row of all channels.
 * oc_conv_ref is the reference. */
#ifndef ONNXC_KERNELS_CONV_DIRECT_H
#define ONNXC_KERNELS_CONV_DIRECT_H

#include "conv.h"

#define OC_CONV_DIRECT_MAX_CIN 4    /* input channels up to which the kernel applies */
#define OC_CONV_DIRECT_MAX_TAPS 256 /* Cin * KH * KW */
#define OC_CONV_DIRECT_BAND 8       /* output rows per band (and per thread's unit) */

/* 1 when oc_conv_direct_forward handles p: 2 spatial dims, one group, at
 * most OC_CONV_DIRECT_MAX_CIN input channels and OC_CONV_DIRECT_MAX_TAPS
 * taps, dilation 1, column stride 1 or 2 (any row stride), non-negative
 * start pads, at least 8 output columns, no channel-blocked hand-over. */
int oc_conv_direct_applicable(const oc_conv_params *p);
/* 1 when lowering should pick it over im2col + SGEMM: applicable and the
 * CPU has AVX2 or AVX-512 (figures at oc_conv_direct_chosen).
 * ONNXC_CONV_DIRECT=0|1 forces the choice (measurements). */
int oc_conv_direct_chosen(const oc_conv_params *p);
/* Per-thread scratch bytes: one band's phase-split input rows and a
 * padded row. */
size_t oc_conv_direct_tscratch(const oc_conv_params *p);

/* in: X, W, optional B, optional residual R shaped like Y (ep.has_residual);
 * out: Y. Threaded over (image, band of output rows); any ISA (a portable
 * loop where neither AVX2 nor AVX-512 is allowed). */
int oc_conv_direct_forward(const oc_kargs *a);

#endif
