/* pool_ukr.h: the ISA-specific plane of the 2-D pooling kernel (pool.c),
 * MaxPool 3x3 stride 2 with dilation 1 (ResNet's, after the stem).
 * Internal to runtime/kernels; called only when oc_cpu_isa() allows the
 * file's ISA.
 *
 * One output plane y [OH, OW] from one input plane x [H, W]:
 *   y[oh, ow] = max over the taps (kh, kw) inside x of x[2 oh + kh - pt, 2 ow + kw - pl]
 * (every window has a tap inside x: oc_pool2d_applicable). 16 outputs of a
 * row per vector: each input row's columns are loaded as two pairs of
 * vectors (masked at the edges, -inf outside x), reduced over the window's
 * rows, then split into even and odd columns with permutes. The order of
 * the comparisons is p2_plane's (rows in kh order, then kw 0, 1, 2, each
 * as `a > b ? a : b`), so the bits are the same, NaN included. */
#ifndef ONNXC_KERNELS_POOL_UKR_H
#define ONNXC_KERNELS_POOL_UKR_H

#include <stdint.h>

void oc_maxpool3s2_plane_avx512(const float *x, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t pt, int64_t pl,
                                float *y);

#endif
