/* norm.c: normalization ops: BatchNormalization, InstanceNormalization,
 * LayerNormalization, RMSNormalization, GroupNormalization, LRN,
 * MeanVarianceNormalization, LpNormalization.
 * Shape rules; BN's running mean/var are model state, not parameters. */
#include "op.h"

#include <string.h>

#include "../../runtime/kernels/norm.h"

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

/* ---- lowering (float32 kernels, runtime/kernels/norm.c) ---- */

/* All present inputs and outputs of n must be float32. */
static int need_float(const oc_graph *g, const oc_node *n, oc_diag *d)
{
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && g->values[n->in[k]].dtype != OC_FLOAT)
            return oc_fail(d, "%s supports float32 only; input %d is %s", n->op_type, k,
                           oc_dtype_name(g->values[n->in[k]].dtype));
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && g->values[n->out[k]].dtype != OC_FLOAT)
            return oc_fail(d, "%s supports float32 only; output %d is %s", n->op_type, k,
                           oc_dtype_name(g->values[n->out[k]].dtype));
    return 0;
}

/* Input k must hold `len` elements (per-channel parameters). */
static int need_len(const oc_graph *g, const oc_node *n, int k, int64_t len, oc_diag *d)
{
    int64_t got = n->in[k] >= 0 ? oc_value_numel(&g->values[n->in[k]]) : -1;
    if (got != len)
        return oc_fail(d, "input %d must hold %lld elements, got %lld", k, (long long)len, (long long)got);
    return 0;
}

static int64_t spatial_of(const oc_value *x)
{
    int64_t s = 1;
    for (int i = 2; i < x->rank; i++)
        s *= x->dims[i];
    return s;
}

static int lower_batchnorm(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    if (need_float(g, n, d))
        return -1;
    if (oc_node_attr(n, "spatial") && oc_attr_int(n, "spatial", 1) == 0)
        return oc_fail(d, "spatial = 0 (per-activation statistics) is not supported");
    for (int k = 1; k <= 4; k++)
        if (need_len(g, n, k, x->dims[1], d))
            return -1;
    oc_batchnorm_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->epsilon = oc_attr_float(n, "epsilon", 1e-5f);
    p->momentum = oc_attr_float(n, "momentum", 0.9f);
    /* opset 14+: training_mode attribute; before, the extra outputs
     * (running mean/var, saved mean/var) mark a training node */
    int extra = 0;
    for (int k = 1; k < n->n_out; k++)
        extra |= n->out[k] >= 0;
    p->training = g->opset >= 14 ? (int)oc_attr_int(n, "training_mode", 0) : extra;
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->spatial = spatial_of(x);
    lw->fn = oc_batchnorm_forward;
    return 0;
}

static int lower_groupnorm(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    if (need_float(g, n, d))
        return -1;
    if (x->rank < 2)
        return oc_fail(d, "expected input of rank >= 2 (N, C, ...), got rank %d", x->rank);
    int inst = !strcmp(n->op_type, "InstanceNormalization");
    int64_t C = x->dims[1], G = inst ? C : oc_attr_int(n, "num_groups", 0);
    if (G < 1 || C % G)
        return oc_fail(d, "num_groups = %lld must be >= 1 and divide C = %lld", (long long)G, (long long)C);
    /* opset 18 GroupNormalization: scale/bias per group; opset 21: per channel */
    int64_t len = n->in[1] >= 0 ? oc_value_numel(&g->values[n->in[1]]) : -1;
    int per_group = !inst && len == G && G != C;
    if (need_len(g, n, 1, per_group ? G : C, d) || need_len(g, n, 2, per_group ? G : C, d))
        return -1;
    oc_groupnorm_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->epsilon = oc_attr_float(n, "epsilon", 1e-5f);
    p->per_group = per_group;
    p->n = x->dims[0];
    p->c = C;
    p->groups = G;
    p->spatial = spatial_of(x);
    lw->fn = oc_groupnorm_forward;
    return 0;
}

/* Strides of parameter input k over the normalized dims (right-aligned
 * numpy broadcast, 0 where it broadcasts); *full when it has their shape. */
static int param_strides(const oc_graph *g, const oc_node *n, int k, const oc_layernorm_params *p,
                         int64_t *str, int *full, oc_diag *d)
{
    const oc_value *v = &g->values[n->in[k]];
    if (v->rank > p->nrank)
        return oc_fail(d, "input %d has rank %d; the normalized dims have rank %d", k, v->rank, p->nrank);
    int64_t s = 1;
    *full = oc_value_numel(v) == p->inner;
    for (int i = p->nrank - 1; i >= 0; i--) {
        int j = i - (p->nrank - v->rank);
        int64_t e = j < 0 ? 1 : v->dims[j];
        if (e != 1 && e != p->ndims[i])
            return oc_fail(d, "input %d does not broadcast to the normalized dims (dim %d: %lld vs %lld)", k, i,
                           (long long)e, (long long)p->ndims[i]);
        str[i] = e == 1 ? 0 : s;
        s *= e;
    }
    return 0;
}

static int lower_layernorm(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    if (need_float(g, n, d))
        return -1;
    int64_t axis = oc_attr_int(n, "axis", -1);
    if (axis < -x->rank || axis >= x->rank)
        return oc_fail(d, "axis %lld is outside [-%d, %d)", (long long)axis, x->rank, x->rank);
    int ax = (int)(axis < 0 ? axis + x->rank : axis);
    oc_layernorm_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->epsilon = oc_attr_float(n, "epsilon", 1e-5f);
    p->rms = !strcmp(n->op_type, "RMSNormalization");
    p->outer = p->inner = 1;
    p->nrank = x->rank - ax;
    for (int i = 0; i < x->rank; i++) {
        if (i < ax)
            p->outer *= x->dims[i];
        else
            p->inner *= p->ndims[i - ax] = x->dims[i];
    }
    if (param_strides(g, n, 1, p, p->sstride, &p->full_scale, d))
        return -1;
    if (n->n_in > 2 && n->in[2] >= 0 && param_strides(g, n, 2, p, p->bstride, &p->full_bias, d))
        return -1;
    lw->fn = oc_layernorm_forward;
    return 0;
}

static int lower_lpnorm(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    if (need_float(g, n, d))
        return -1;
    int64_t axis = oc_attr_int(n, "axis", -1);
    if (axis < -x->rank || axis >= x->rank)
        return oc_fail(d, "axis %lld is outside [-%d, %d)", (long long)axis, x->rank, x->rank);
    int ax = (int)(axis < 0 ? axis + x->rank : axis);
    oc_lpnorm_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->p = (int)oc_attr_int(n, "p", 2);
    p->outer = p->n = p->inner = 1;
    for (int i = 0; i < x->rank; i++)
        *(i < ax ? &p->outer : i == ax ? &p->n : &p->inner) *= x->dims[i];
    lw->fn = oc_lpnorm_forward;
    return 0;
}

static int lower_lrn(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    if (need_float(g, n, d))
        return -1;
    if (x->rank < 2)
        return oc_fail(d, "expected input of rank >= 2 (N, C, ...), got rank %d", x->rank);
    oc_lrn_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->alpha = oc_attr_float(n, "alpha", 1e-4f);
    p->beta = oc_attr_float(n, "beta", 0.75f);
    p->bias = oc_attr_float(n, "bias", 1.0f);
    p->size = oc_attr_int(n, "size", 0);
    if (p->size < 1)
        return oc_fail(d, "'size' must be >= 1, got %lld", (long long)p->size);
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->spatial = spatial_of(x);
    lw->fn = oc_lrn_forward;
    return 0;
}

static int lower_mvn(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    if (need_float(g, n, d))
        return -1;
    oc_mvn_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    const int64_t *axes;
    static const int64_t dflt[] = {0, 2, 3}; /* N and the spatial dims of NCHW */
    int na = oc_attr_ints(n, "axes", &axes);
    if (na < 0) {
        axes = dflt;
        na = 3;
    }
    p->rank = x->rank;
    for (int i = 0; i < na; i++) {
        if (axes[i] < -x->rank || axes[i] >= x->rank)
            return oc_fail(d, "axis %lld is outside [-%d, %d)", (long long)axes[i], x->rank, x->rank);
        p->mask |= 1u << (axes[i] < 0 ? axes[i] + x->rank : axes[i]);
    }
    p->groups = 1;
    for (int i = 0; i < x->rank; i++) {
        p->dims[i] = x->dims[i];
        if (!((p->mask >> i) & 1))
            p->groups *= x->dims[i];
    }
    lw->fn = oc_mvn_forward;
    lw->scratch = (size_t)p->groups * 2 * sizeof(double);
    return 0;
}

const oc_op oc_ops_norm[] = {
    {"BatchNormalization", 5, 5, 1, 5, infer_batchnorm, NULL, (1u << 3) | (1u << 4), 0, lower_batchnorm},
    {"InstanceNormalization", 3, 3, 1, 1, infer_same, NULL, 0, 0, lower_groupnorm},
    {"LayerNormalization", 2, 3, 1, 3, infer_layernorm, NULL, 0, 0, lower_layernorm},
    {"GroupNormalization", 3, 3, 1, 1, infer_same, NULL, 0, 0, lower_groupnorm},
    {"RMSNormalization", 2, 2, 1, 1, infer_rmsnorm, NULL, 0, 0, lower_layernorm},
    {"LpNormalization", 1, 1, 1, 1, infer_lpnorm, NULL, 0, 0, lower_lpnorm},
    {"LRN", 1, 1, 1, 1, infer_same, NULL, 0, 0, lower_lrn},
    {"MeanVarianceNormalization", 1, 1, 1, 1, infer_same, NULL, 0, 0, lower_mvn},
    {0},
};
