/* conv_winograd_ukr.h: the interface between the Winograd driver
 * (conv_winograd.c, plain C) and the tile transforms, which are compiled
 * once per ISA from one source (conv_winograd_tf.h, included by
 * conv_winograd_avx512.c and conv_winograd_avx2.c with their own -m flags,
 * and by conv_winograd.c for the portable build). The driver picks a table
 * with oc_cpu_isa() at run time. Internal to runtime/kernels.
 *
 * Both transforms work on a *segment*: k tile rows of n tiles each (k > 1
 * only when a row holds few tiles). Its tiles are the vector lanes. In the
 * staged input a several-row segment has a gap lane after each tile row,
 * lane = kk (n + 1) + t, so every lane's window starts m columns after
 * the previous one's; V and Mx hold the tiles without gaps, kk n + t.
 *
 * Layouts, for F(m x m, 3x3) with alpha = m + 2 and P = alpha^2 positions:
 *   sr:     alpha staged super rows (row stride srs) of one channel: window
 *           row r of lane l, column j, is sr[r * srs + m * l + j], i.e. for
 *           tile row kk the input row m (ty0 + kk) - pad_top + r, columns
 *           from m tx0 - pad_left on, zero outside the image (the driver
 *           stages it; entries past the last lane are zero).
 *   V:      V[xi * xs + kk n + t] for position xi = alpha*u + v (u: row, v:
 *           column of B^T d B).
 *   Mx:     Mx[xi * xs + kk n + t], the products summed over channels, one
 *           output channel.
 *   output: y points at Y[row m ty0][column m tx0] of one output plane
 *           (row stride ldy); its first rows x cols (rows <= m k, cols <=
 *           m n: the bottom and right edges) are written: Y = A^T Mx A +
 *           bias, then the epilogue's residual (res, laid out like y, NULL
 *           if none) and activation. */
#ifndef ONNXC_KERNELS_CONV_WINOGRAD_UKR_H
#define ONNXC_KERNELS_CONV_WINOGRAD_UKR_H

#include <stdint.h>

#include "epilogue.h"

/* Largest segment, in tiles: bounds the transforms' stack buffers. */
#define OC_WINO_SEG_MAX 64
/* The transforms compute whole groups of OC_WINO_LANES tiles (a segment
 * of n tiles is computed as n rounded up, so no loop has a scalar tail):
 * V's rows get up to OC_WINO_LANES - 1 columns past the segment written
 * with garbage, and Mx's rows are read as far. Callers keep that much
 * slack at the end of every row and transform segments left to right. */
#define OC_WINO_LANES 16

typedef void (*oc_wino_in_fn)(const float *sr, int64_t srs, int64_t k, int64_t n, float *V, int64_t xs);
typedef void (*oc_wino_out_fn)(const float *Mx, int64_t xs, int64_t k, int64_t n, float bias, const oc_epilogue *ep,
                               const float *res, float *y, int64_t ldy, int64_t rows, int64_t cols);

/* Filter transform U = G g G^T of n filters given tap major, wt[t * n + e]
 * (t = 3 ky + kx): writes U's position xi = alpha r + c of filter e to
 * u[xi * us + e] (F(2x2): 16 positions, F(4x4): 36). */
typedef void (*oc_wino_filter_fn)(const float *wt, int64_t n, float *u, int64_t us);

typedef struct oc_wino_ukr {
    /* F(2x2, 3x3) and F(4x4, 3x3) input transforms: V = B^T d B per tile. */
    oc_wino_in_fn in2, in4;
    /* Output transforms: Y tile = act(A^T Mx A + bias + residual). */
    oc_wino_out_fn out2, out4;
    /* Filter transforms (trained weights, at every run). */
    oc_wino_filter_fn filter2, filter4;
} oc_wino_ukr;

extern const oc_wino_ukr oc_wino_ukr_generic;
#if defined(__x86_64__) || defined(__i386__)
#define OC_WINO_X86 1
extern const oc_wino_ukr oc_wino_ukr_avx512;
extern const oc_wino_ukr oc_wino_ukr_avx2;
#endif

#endif
