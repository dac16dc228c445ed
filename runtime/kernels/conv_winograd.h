/* conv_winograd.h: 3x3 stride-1 convolution by Winograd's minimal
 * filtering F(m x m, 3x3), m = 2 or 4 (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016).
 *
 * Each m x m output tile comes from an alpha x alpha input window d
 * (alpha = m + 2) and the 3x3 filter g:
 *   Y = A^T [ (G g G^T) (.) (B^T d B) ] A
 * with (.) the element-wise product over the P = alpha^2 positions xi,
 * summed over input channels. Per position xi that sum is a matrix product
 *   M_xi [M, tiles] = U_xi [M, C] . V_xi [C, tiles]
 * which runs on onnxc's SGEMM: P products, i.e. P / m^2 multiplies per
 * output element where direct convolution needs 9: 4 for F(2x2) (2.25x
 * fewer), 2.25 for F(4x4) (4x fewer). U = G g G^T is computed (in double)
 * and packed once at plan time (the kernel's prep) when W is a constant;
 * a trained W is transformed at every run instead (in float, nine
 * multiply-adds per element of U, split over threads) into the step's
 * shared scratch. U takes P/9 times W's memory (1.8x, 4x).
 *
 * A 3x3 stride-1 ConvTranspose (the data gradient of such a Conv) is the
 * same computation: the conv of its input with W transposed and rotated
 * by 180 degrees, start pads 2 - pb; the oc_conv_transpose_winograd*
 * kernels take ConvTranspose's parameters and read W that way.
 *
 * Accuracy: F(2x2)'s transforms use only adds and halvings and stay within
 * a few float32 ulps of direct convolution. F(4x4)'s use factors up to 8
 * (and 1/6, 1/24 in G), so rounding grows: measured against the float64
 * reference in tests/ops/test_conv.c (the worst relative error is printed
 * there for both), about an order of magnitude above F(2x2).
 *
 * Layout: X [N, C, H, W], W [M, C, 3, 3], Y [N, M, OH, OW] (NCHW, row
 * major); group 1, dilation 1, any pads. Work is split over blocks of
 * tiles (of all images), each thread transforming its block into its own
 * scratch: V [P][C][cap] then M [P][M][cap]. The transforms are vectorized
 * across tiles, one build per ISA chosen at run time (conv_winograd_ukr.h);
 * bias, residual and activation are applied in the output transform. */
#ifndef ONNXC_KERNELS_CONV_WINOGRAD_H
#define ONNXC_KERNELS_CONV_WINOGRAD_H

#include "conv.h"

/* 2-D, 3x3 kernel, stride 1, dilation 1, one group. */
int oc_conv_winograd_applicable(const oc_conv_params *p);
/* Per-thread scratch of F(m x m, 3x3): one tile block's V and M plus
 * SGEMM scratch. */
size_t oc_conv_winograd_tscratch(const oc_conv_params *p, int m);
/* Prep (from constant W): the P transformed filters U_xi, each packed;
 * F(2x2, 3x3), then F(4x4, 3x3). */
size_t oc_conv_winograd_prep_bytes(const oc_kargs *a);
int oc_conv_winograd_prep(const oc_kargs *a, void *dst);
size_t oc_conv_winograd4_prep_bytes(const oc_kargs *a);
int oc_conv_winograd4_prep(const oc_kargs *a, void *dst);
/* Shared scratch for a W that is not a constant (no prep): the packed U
 * and a tap-major copy of W. */
size_t oc_conv_winograd_runtime_scratch(const oc_conv_params *p, int m);
/* in: X, W, optional B, optional residual; out: Y = act(conv + B + R).
 * Uses a->prep from the matching prep when there is one, else transforms
 * W into a->scratch (oc_conv_winograd_runtime_scratch bytes). */
int oc_conv_winograd_forward(const oc_kargs *a);
int oc_conv_winograd4_forward(const oc_kargs *a);

/* ConvTranspose, 2-D, 3x3, stride 1, dilation 1, one group, start pads
 * 0..2 (p: ConvTranspose's parameters). Prep and scratch as for Conv;
 * the run-time scratch is oc_conv_winograd_runtime_scratch(p, m). */
int oc_conv_transpose_winograd_applicable(const oc_conv_params *p);
size_t oc_conv_transpose_winograd_prep_bytes(const oc_kargs *a);
int oc_conv_transpose_winograd_prep(const oc_kargs *a, void *dst);
size_t oc_conv_transpose_winograd4_prep_bytes(const oc_kargs *a);
int oc_conv_transpose_winograd4_prep(const oc_kargs *a, void *dst);
int oc_conv_transpose_winograd_forward(const oc_kargs *a);
int oc_conv_transpose_winograd4_forward(const oc_kargs *a);

/* ConvGradWeight (dW of a Conv that oc_conv_winograd_applicable accepts)
 * by F(3x3, 2x2): in dY, X (W's shape only); out dW [M, C, 3, 3]. The
 * 2x2 tiles of dY and the forward's 4x4 input windows are transformed, 16
 * products per block of tiles accumulate, and G^T Acc G gives dW (see
 * conv_winograd.c). Shared scratch: one block's U and V and the 16
 * accumulators; per thread: staged rows and SGEMM scratch. Reference:
 * oc_conv_grad_weight_ref. */
int oc_conv_grad_weight_winograd_applicable(const oc_conv_params *p);
size_t oc_conv_grad_weight_winograd_scratch(const oc_conv_params *p);
size_t oc_conv_grad_weight_winograd_tscratch(const oc_conv_params *p);
int oc_conv_grad_weight_winograd(const oc_kargs *a);

#endif
