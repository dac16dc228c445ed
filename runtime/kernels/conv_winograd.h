/* conv_winograd.h: 3x3 stride-1 convolution by Winograd's minimal
 * filtering F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016).
 *
 * Each 2x2 output tile comes from a 4x4 input tile d and the 3x3 filter g:
 *   Y = A^T [ (G g G^T) (.) (B^T d B) ] A
 * with (.) the element-wise product over the 16 positions xi, summed over
 * input channels. Per position xi that sum is a matrix product
 *   M_xi [M, tiles] = U_xi [M, C] . V_xi [C, tiles]
 * which runs on onnxc's SGEMM: 16 products with 4 multiplies per output
 * element where direct convolution needs 9 (2.25x fewer). U = G g G^T is
 * computed and packed once at plan time (the kernel's prep), so the
 * kernel needs a constant W. Transforms use only adds and halvings, so
 * F(2x2, 3x3) stays within a few float32 ulps of direct convolution.
 *
 * Layout: X [N, C, H, W], W [M, C, 3, 3], Y [N, M, OH, OW] (NCHW, row
 * major); group 1, dilation 1, any pads. Work is split over blocks of
 * tiles (of all images), each thread transforming its block into its own
 * scratch: V [16][C][TB] then M [16][M][TB]. The bias is added in the
 * output transform; residual and activation (the fused epilogue) in a
 * threaded pass over Y afterwards. */
#ifndef ONNXC_KERNELS_CONV_WINOGRAD_H
#define ONNXC_KERNELS_CONV_WINOGRAD_H

#include "conv.h"

/* 2-D, 3x3 kernel, stride 1, dilation 1, one group. */
int oc_conv_winograd_applicable(const oc_conv_params *p);
/* Per-thread scratch: one tile block's V and M plus SGEMM scratch. */
size_t oc_conv_winograd_tscratch(const oc_conv_params *p);
/* Prep (from constant W): the 16 transformed filters U_xi, each packed. */
size_t oc_conv_winograd_prep_bytes(const oc_kargs *a);
int oc_conv_winograd_prep(const oc_kargs *a, void *dst);
/* in: X, W, optional B, optional residual; out: Y. Needs a->prep. */
int oc_conv_winograd_forward(const oc_kargs *a);

#endif
