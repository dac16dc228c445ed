/* pool.c: MaxPool, AveragePool, LpPool and the global pools: shape rules.
 * MaxPool's optional second output holds flat indices (int64) into the
 * input, NCHW order, as the spec defines. */
#include "op.h"

#include <string.h>

static int infer_pool(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    if (x->rank < 3)
        return oc_infer_fail(cx, "expected input of rank >= 3 (N, C, spatial...), got rank %d", x->rank);
    int nsp = x->rank - 2;
    const int64_t *ks;
    int nk = oc_attr_ints(n, "kernel_shape", &ks);
    if (nk != nsp)
        return oc_infer_fail(cx, "'kernel_shape' must have %d entries, got %d", nsp, nk < 0 ? 0 : nk);
    oc_window w;
    if (oc_window_resolve(n, nsp, x->dims + 2, ks, (int)oc_attr_int(n, "ceil_mode", 0), &w, cx->d))
        return -1;
    int64_t dims[OC_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    memcpy(dims + 2, w.out, sizeof(int64_t) * (size_t)nsp);
    if (oc_infer_set_out(cx, 0, x->dtype, x->rank, dims))
        return -1;
    return oc_infer_set_out(cx, 1, OC_INT64, x->rank, dims);
}

static int infer_global_pool(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    if (x->rank < 3)
        return oc_infer_fail(cx, "expected input of rank >= 3 (N, C, spatial...), got rank %d", x->rank);
    int64_t dims[OC_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i < 2 ? x->dims[i] : 1;
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

const oc_op oc_ops_pool[] = {
    {"MaxPool", 1, 1, 1, 2, infer_pool, NULL, 0},
    {"AveragePool", 1, 1, 1, 1, infer_pool, NULL, 0},
    {"LpPool", 1, 1, 1, 1, infer_pool, NULL, 0},
    {"GlobalAveragePool", 1, 1, 1, 1, infer_global_pool, NULL, 0},
    {"GlobalMaxPool", 1, 1, 1, 1, infer_global_pool, NULL, 0},
    {"GlobalLpPool", 1, 1, 1, 1, infer_global_pool, NULL, 0},
    {0},
};
