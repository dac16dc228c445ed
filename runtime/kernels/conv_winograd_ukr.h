/* conv_winograd_ukr.h: the interface between the Winograd driver
 * (conv_winograd.c, plain C) and the tile transforms, which are compiled
 * once per ISA from one source (conv_winograd_tf.h, included by
 * conv_winograd_avx512.c and conv_winograd_avx2.c with their own -m flags,
 * and by conv_winograd.c for the portable build). The driver picks a table
 * with oc_cpu_isa() at run time. Internal to runtime/kernels.
 *
 * Both transforms work on a *segment*: n horizontally adjacent tiles of
 * one tile row of one image plane, vectorized across the n tiles (the
 * contiguous direction of every buffer below), so the vector lanes are
 * tiles and the transform matrices become a few adds and multiplies per
 * lane (Lavin & Gray's B, A; see conv_winograd.c for the matrices).
 *
 * Both transforms work on a *segment*: k tile rows of n tiles each (k > 1
 * only when a row holds few tiles), lanes ordered lane = kk * n + t.
 *
 * Layouts, for F(m x m, 3x3) with alpha = m + 2 and P = alpha^2 positions:
 *   input:  plane [H][W] of one channel; tile (kk, t)'s window starts at
 *           row y0 + m kk and column x0 + m t (y0 = m ty0 - pad_top,
 *           x0 = m tx0 - pad_left), alpha x alpha, zero outside the plane.
 *   V:      V[xi * xs + lane] for position xi = alpha*u + v (u: row, v:
 *           column of B^T d B).
 *   Mx:     Mx[xi * xs + lane], the products summed over channels, one
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

typedef void (*oc_wino_in_fn)(const float *plane, int64_t H, int64_t W, int64_t y0, int64_t x0, int64_t k,
                              int64_t n, float *V, int64_t xs);
typedef void (*oc_wino_out_fn)(const float *Mx, int64_t xs, int64_t k, int64_t n, float bias, const oc_epilogue *ep,
                               const float *res, float *y, int64_t ldy, int64_t rows, int64_t cols);

typedef struct oc_wino_ukr {
    /* F(2x2, 3x3) and F(4x4, 3x3) input transforms: V = B^T d B per tile. */
    oc_wino_in_fn in2, in4;
    /* Output transforms: Y tile = act(A^T Mx A + bias + residual). */
    oc_wino_out_fn out2, out4;
} oc_wino_ukr;

extern const oc_wino_ukr oc_wino_ukr_generic;
#if defined(__x86_64__) || defined(__i386__)
#define OC_WINO_X86 1
extern const oc_wino_ukr oc_wino_ukr_avx512;
extern const oc_wino_ukr oc_wino_ukr_avx2;
#endif

#endif
