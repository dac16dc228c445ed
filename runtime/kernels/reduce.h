/* reduce.h: kernels of the reduction family: Softmax, LogSoftmax and
 * Hardmax along one axis, the Reduce* ops over any set of axes, and
 * ArgMax/ArgMin. The compiler side (attributes, shape rules, lowering) is
 * compiler/ops/reduce.c. */
#ifndef ONNXC_KERNELS_REDUCE_H
#define ONNXC_KERNELS_REDUCE_H

#include "../plan.h"

/* Softmax family over a [outer, n, inner] view of X: the reduced axis has
 * n entries at stride inner. Opset < 13 coerces X to 2-D at axis, which is
 * the same view with inner = 1 and n = the product of the trailing dims. */
enum oc_softmax_kind { OC_SOFTMAX, OC_LOG_SOFTMAX, OC_HARDMAX };

typedef struct oc_softmax_params {
    int kind;  /* oc_softmax_kind */
    int dtype; /* float32 or float64 */
    int64_t outer, n, inner;
} oc_softmax_params;

/* oc_softmax_forward is threaded over the outer index (contiguous float32
 * rows use the vectorized exp of vmath.h); oc_softmax_ref is the plain loop. */
int oc_softmax_forward(const oc_kargs *a);
int oc_softmax_ref(const oc_kargs *a);

enum oc_reduce_op {
    OC_RED_SUM, OC_RED_MEAN, OC_RED_MAX, OC_RED_MIN, OC_RED_PROD, OC_RED_L1, OC_RED_L2,
    OC_RED_LOG_SUM, OC_RED_LOG_SUM_EXP, OC_RED_SUM_SQUARE,
};

/* Reduce* over the axes in `mask` (bit i = reduce dim i). With
 * axes_known = 0 the axes come from input 1 at run time (the output shape
 * is still static: the model declares it); the kernel checks that they
 * give the planned output size. Empty axes reduce every dim unless
 * noop_with_empty_axes, which copies X. Scratch: 16 bytes per output
 * element (accumulators, and the running max of ReduceLogSumExp). */
typedef struct oc_reduce_params {
    int op;    /* oc_reduce_op */
    int dtype; /* element type of X and Y */
    int rank;
    int64_t dims[OC_MAX_RANK]; /* X's dims */
    unsigned mask;
    int axes_known;
    int noop_with_empty_axes;
} oc_reduce_params;

int oc_reduce_forward(const oc_kargs *a);

/* ArgMax / ArgMin along one axis of a [outer, n, inner] view; int64
 * output. select_last_index picks the last of equal extremes. */
typedef struct oc_arg_params {
    int is_min;
    int select_last;
    int dtype;
    int64_t outer, n, inner;
} oc_arg_params;

int oc_arg_forward(const oc_kargs *a);

/* Backward. SoftmaxGrad(dY, Y) -> dX with the forward's oc_softmax_params
 * (float32; Softmax and LogSoftmax). ReduceGrad(dY, X) -> dX broadcasts dY
 * over the reduced dims of X times scale (ReduceSum: 1, ReduceMean:
 * 1 / count). */
int oc_softmax_backward(const oc_kargs *a);

typedef struct oc_reduce_grad_params {
    int rank;                    /* X's rank */
    int64_t dims[OC_MAX_RANK];   /* X's dims */
    int64_t strides[OC_MAX_RANK]; /* dY's strides over X's dims, 0 where reduced */
    float scale;
} oc_reduce_grad_params;

int oc_reduce_backward(const oc_kargs *a);

#endif
