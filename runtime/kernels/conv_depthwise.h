/* conv_depthwise.h: direct 2-D convolution for depthwise and small-group
 * Conv (float32, NCHW), the layers of MobileNet and EfficientNet that
 * im2col + GEMM handles badly (one tiny GEMM per channel).
 *
 *   Y[n, m, oh, ow] = act(B[m] + R[n, m, oh, ow]
 *                         + sum_{c < Cg, kh, kw} W[m, c, kh, kw] * X[n, g*Cg + c, ih, iw])
 *   ih = oh*sh - pt + kh*dh,  iw = ow*sw - pl + kw*dw  (taps outside X read 0),
 *   g = m / Mg,  Cg = cin / group,  Mg = cout / group
 *
 * Depthwise is Cg = 1 (group = cin, cout = cin * multiplier). The
 * parameters are Conv's oc_conv_params (runtime/kernels/conv.h); pads are
 * pb (start), the end pad is implied by out. Inputs: X, W [M, Cg, KH, KW],
 * optional B [M], optional residual R shaped like Y (input 3, used when
 * p->ep.has_residual); the epilogue (residual, activation) is applied to
 * each output plane right after it is computed. oc_conv_ref is the
 * reference. */
#ifndef ONNXC_KERNELS_CONV_DEPTHWISE_H
#define ONNXC_KERNELS_CONV_DEPTHWISE_H

#include "conv.h"

/* Input channels per group up to which the direct kernel is used. */
#define OC_CONV_DW_MAX_CG 4

/* 1 when oc_conv_depthwise_forward handles p: 2 spatial dims, group > 1,
 * at most OC_CONV_DW_MAX_CG input channels per group, non-negative start
 * pads, positive kernel, strides and dilations. */
int oc_conv_depthwise_applicable(const oc_conv_params *p);

/* Per-thread scratch bytes (oc_kargs.tscratch slices): the zero-padded
 * input planes of one group, rows split into stride phases. */
size_t oc_conv_depthwise_tscratch(const oc_conv_params *p);
/* 1 when the 8-channel block kernel (AVX2) runs p on this CPU: one input
 * and one output channel per group, 3x3, dilation 1, stride 1 or 2 in
 * both dims, channels a multiple of 8. The planner pairs such a conv with
 * the 1x1 conv before it (oc_conv_params.in_c8 / out_c8); with in_c8 set,
 * oc_conv_depthwise_forward reads X channel-blocked whatever the CPU
 * (a portable loop where this is 0). */
int oc_conv_depthwise_c8_ok(const oc_conv_params *p);

/* Threaded over (image, group) units; needs oc_kargs.tscratch with
 * slices of at least oc_conv_depthwise_tscratch bytes. */
int oc_conv_depthwise_forward(const oc_kargs *a);

#endif
