/* indexing.h: kernels of the ops that read or write through index
 * tensors or masks: GatherElements, GatherND, Scatter/ScatterElements,
 * ScatterND (with reductions), TopK, CumSum, OneHot, Trilu, NonZero,
 * Compress and EyeLike. The compiler side is compiler/ops/indexing.c.
 *
 * Indices are int32 or int64; negative ones count from the end of their
 * axis, and an index outside [-n, n) is a run-time error (oc_fail). Ops
 * whose output extent depends on data (NonZero, Compress, TopK's k,
 * OneHot's depth) run with the extent the plan fixed and fail when the
 * data asks for another. */
#ifndef ONNXC_KERNELS_INDEXING_H
#define ONNXC_KERNELS_INDEXING_H

#include "../plan.h"

enum { OC_SCATTER_NONE, OC_SCATTER_ADD, OC_SCATTER_MUL, OC_SCATTER_MAX, OC_SCATTER_MIN };

typedef struct oc_index_params {
    int es;         /* element size of the data */
    int dtype;      /* element type of the data (reductions) */
    int axis;       /* GatherElements, Scatter*, CumSum (when no input), OneHot, Compress */
    int has_axis;   /* Compress: 0 = flattened input */
    int batch_dims; /* GatherND */
    int reduction;  /* OC_SCATTER_* (ScatterElements, ScatterND) */
    /* TopK */
    int largest, sorted;
    /* CumSum */
    int exclusive, reverse;
    /* Trilu */
    int upper;
} oc_index_params;

int oc_gather_elements_forward(const oc_kargs *a);
int oc_gather_nd_forward(const oc_kargs *a);
int oc_scatter_elements_forward(const oc_kargs *a);
int oc_scatter_nd_forward(const oc_kargs *a);

/* TopK needs oc_topk_scratch(len) bytes for a slice of len elements. */
size_t oc_topk_scratch(int64_t len);
int oc_topk_forward(const oc_kargs *a);

int oc_cumsum_forward(const oc_kargs *a);
int oc_one_hot_forward(const oc_kargs *a);
int oc_trilu_forward(const oc_kargs *a);
int oc_nonzero_forward(const oc_kargs *a);
int oc_compress_forward(const oc_kargs *a);

/* EyeLike: ones on the k-th diagonal of a 2-D output. */
typedef struct oc_eye_params {
    int64_t k;
} oc_eye_params;

int oc_eye_like_forward(const oc_kargs *a);

#endif
