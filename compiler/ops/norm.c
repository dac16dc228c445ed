/* norm.c: normalization ops: BatchNormalization, InstanceNormalization,
 * LayerNormalization, RMSNormalization, GroupNormalization, LRN,
 * MeanVarianceNormalization, LpNormalization.
 * Shape rules; BN's running mean/var are model state, not parameters. */
#include "op.h"

static int infer_batchnorm(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    if (x->rank < 2)
        return oc_infer_fail(cx, "expected input of rank >= 2 (N, C, ...), got rank %d", x->rank);
    for (int k = 1; k <= 4; k++) {
        oc_value *p = oc_infer_in(cx, k);
        if (!p)
            return oc_infer_fail(cx, "input %d (scale, B, mean, var) is missing", k);
        if (p->rank >= 0 && (p->rank != 1 || (p->dims[0] >= 0 && x->dims[1] >= 0 && p->dims[0] != x->dims[1])))
            return oc_infer_fail(cx, "input %d '%s' must be 1-D of length C=%lld", k, p->name,
                                 (long long)x->dims[1]);
    }
    if (oc_infer_same_as(cx, 0, 0))
        return -1;
    /* training-mode outputs: running mean and var (opset 14+), or the older
     * mean, var, saved_mean, saved_var */
    int64_t c = x->dims[1];
    for (int k = 1; k < 5; k++)
        if (oc_infer_set_out(cx, k, x->dtype, 1, &c))
            return -1;
    return 0;
}

static int infer_layernorm(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int axis;
    if (oc_infer_axis(cx, oc_attr_int(n, "axis", -1), x->rank, &axis))
        return -1;
    if (oc_infer_same_as(cx, 0, 0))
        return -1;
    int64_t dims[OC_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i < axis ? x->dims[i] : 1;
    int st = (int)oc_attr_int(n, "stash_type", 1);
    if (oc_infer_set_out(cx, 1, st, x->rank, dims))
        return -1;
    return oc_infer_set_out(cx, 2, st, x->rank, dims);
}

/* LpNormalization: same shape; p is 1 or 2. */
static int infer_lpnorm(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int axis;
    if (oc_infer_axis(cx, oc_attr_int(n, "axis", -1), x->rank, &axis))
        return -1;
    int64_t p = oc_attr_int(n, "p", 2);
    if (p != 1 && p != 2)
        return oc_infer_fail(cx, "p must be 1 or 2, got %lld", (long long)p);
    return oc_infer_same_as(cx, 0, 0);
}

/* RMSNormalization (opset 23): Y has X's shape; axis starts the
 * normalized dims. */
static int infer_rmsnorm(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int axis;
    if (oc_infer_axis(cx, oc_attr_int(oc_infer_node(cx), "axis", -1), x->rank, &axis))
        return -1;
    return oc_infer_same_as(cx, 0, 0);
}

static int infer_same(oc_infer *cx)
{
    if (!oc_infer_in_ranked(cx, 0))
        return -1;
    return oc_infer_same_as(cx, 0, 0);
}

const oc_op oc_ops_norm[] = {
    {"BatchNormalization", 5, 5, 1, 5, infer_batchnorm, NULL, (1u << 3) | (1u << 4)},
    {"InstanceNormalization", 3, 3, 1, 1, infer_same, NULL, 0},
    {"LayerNormalization", 2, 3, 1, 3, infer_layernorm, NULL, 0},
    {"GroupNormalization", 3, 3, 1, 1, infer_same, NULL, 0},
    {"RMSNormalization", 2, 2, 1, 1, infer_rmsnorm, NULL, 0},
    {"LpNormalization", 1, 1, 1, 1, infer_lpnorm, NULL, 0},
    {"LRN", 1, 1, 1, 1, infer_same, NULL, 0},
    {"MeanVarianceNormalization", 1, 1, 1, 1, infer_same, NULL, 0},
    {0},
};
