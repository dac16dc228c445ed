/* pool.h: kernels of the pooling ops: MaxPool (with the optional int64
 * Indices output), AveragePool, LpPool over 1 to 3 spatial dims, and the
 * global pools. Layout is NC followed by the spatial dims, row-major. The
 * compiler side (attributes, shape rule, lowering) is compiler/ops/pool.c,
 * which resolves pads and auto_pad once, so the kernels see plain numbers. */
#ifndef ONNXC_KERNELS_POOL_H
#define ONNXC_KERNELS_POOL_H

#include "../plan.h"

enum oc_pool_kind { OC_POOL_MAX, OC_POOL_AVG, OC_POOL_LP };

/* Windowed pools. Spatial dims are right-aligned into 3 slots: a 1-D pool
 * of length L runs as in = {1, 1, L}, with kernel, stride and dilation 1
 * and no pads in the leading slots, so one loop nest serves all ranks. */
typedef struct oc_pool_params {
    int kind;              /* oc_pool_kind */
    int dtype;             /* element type of X and Y */
    int count_include_pad; /* AveragePool: divide by the window size inside the padded input */
    int storage_order;     /* MaxPool Indices: 0 row-major, 1 column-major spatial index */
    int p;                 /* LpPool exponent */
    int64_t planes;        /* N * C */
    int64_t in[3], out[3]; /* spatial extents */
    int64_t k[3], s[3], dil[3];
    int64_t pb[3], pe[3];  /* pads at the start and end of each spatial dim */
} oc_pool_params;

/* Y = pool(X); out[1] (MaxPool only, may be NULL) gets flat indices into
 * X: (n*C + c) * prod(in) + spatial index in the chosen storage order. */
int oc_pool_forward(const oc_kargs *a);

/* Fast path of 2-D (and 1-D) MaxPool / AveragePool, float32, threaded
 * over (n, c) planes: separable window reduction over padded rows split
 * into stride phases (see pool.c); MaxPool 3x3 stride 2 on AVX-512 CPUs
 * in an intrinsics plane (pool_ukr.h) with the same bits. Applicable when the leading spatial
 * slot is trivial and every window holds a valid tap; needs per-thread
 * scratch of oc_pool2d_tscratch bytes. With an Indices output, or outside
 * its range, it runs oc_pool_forward, which is its reference. */
int oc_pool2d_applicable(const oc_pool_params *p);
size_t oc_pool2d_tscratch(const oc_pool_params *p);
int oc_pool2d_forward(const oc_kargs *a);

/* Global pools reduce each (n, c) plane of `plane` elements to one value.
 * oc_global_pool_forward is threaded over planes (float32 Max / Average
 * reduce in vector lanes); oc_global_pool_ref is the plain loop. */
typedef struct oc_global_pool_params {
    int kind;       /* oc_pool_kind */
    int dtype;
    int p;          /* GlobalLpPool exponent */
    int64_t planes; /* N * C */
    int64_t plane;  /* product of the spatial dims */
} oc_global_pool_params;

int oc_global_pool_forward(const oc_kargs *a);
int oc_global_pool_ref(const oc_kargs *a);

/* ---- backward (training; compiler/ops/pool.c), float32 ----
 * Windowed pools, in: dY [N, C, out...], X [N, C, in...]; out: dX (X's shape),
 * with the forward's oc_pool_params:
 *   MaxPool:     dX[argmax(window o)] += dY[o], the argmax recomputed from X
 *                with the forward's rule (first maximal tap in row-major tap
 *                order wins, as PyTorch), so ties send the whole gradient to
 *                one tap;
 *   AveragePool: dX[t] += dY[o] / cnt(o) for every valid tap t of window o,
 *                cnt(o) the forward's divisor (count_include_pad aware).
 * Global pools, in: dY [N, C, 1...], X; out: dX with oc_global_pool_params:
 *   GlobalAveragePool: dX[n, c, i] = dY[n, c] / plane;
 *   GlobalMaxPool:     dX[n, c, i] = dY[n, c] at the plane's first maximum, else 0. */
int oc_pool_backward(const oc_kargs *a);
/* The general loop nest over windows, oc_pool_backward's reference: the
 * fast path (2-D MaxPool, dilation 1) searches a row of windows in vector
 * lanes and gives the same bits. */
int oc_pool_backward_ref(const oc_kargs *a);
int oc_global_pool_backward(const oc_kargs *a);

#endif
