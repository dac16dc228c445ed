/* norm.c: normalization ops: BatchNormalization, InstanceNormalization,
 * LayerNormalization, RMSNormalization, GroupNormalization, LRN,
 * MeanVarianceNormalization, LpNormalization.
 * Shape rules; BN's running mean/var are model state, not parameters.
 * Gradient rules for BatchNormalization (inference and training mode) and
 * LayerNormalization through onnxc's BatchNormGrad / LayerNormGrad ops. */
#include "op.h"
#include "fused.h"

#include <stdio.h>
#include <stdlib.h>
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
    /* oc_bn_mark (compiler/train.h) sets training_mode at any opset */
    const oc_attr *tm = oc_node_attr(n, "training_mode");
    p->training = tm ? tm->i != 0 : g->opset >= 14 ? 0 : extra;
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

/* Layer/RMS normalization geometry with X, scale, bias at inputs base,
 * base + 1, base + 2 (base 1 for LayerNormGrad, whose input 0 is dY). */
static int layernorm_geometry(const oc_graph *g, const oc_node *n, int base, oc_layernorm_params *p, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[base]];
    int64_t axis = oc_attr_int(n, "axis", -1);
    if (axis < -x->rank || axis >= x->rank)
        return oc_fail(d, "axis %lld is outside [-%d, %d)", (long long)axis, x->rank, x->rank);
    int ax = (int)(axis < 0 ? axis + x->rank : axis);
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
    if (param_strides(g, n, base + 1, p, p->sstride, &p->full_scale, d))
        return -1;
    if (n->n_in > base + 2 && n->in[base + 2] >= 0 &&
        param_strides(g, n, base + 2, p, p->bstride, &p->full_bias, d))
        return -1;
    return 0;
}

static int lower_layernorm(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (need_float(g, n, d))
        return -1;
    oc_layernorm_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || layernorm_geometry(g, n, 0, p, d))
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

/* ---- gradient rules and their ops ---- */

/* BatchNormalization in training mode when the node says so: its
 * training_mode attribute (set on every node by oc_bn_mark, compiler/train.h,
 * before autodiff), or, when absent, before opset 14 the running-statistics
 * outputs. */
static int bn_training(const oc_graph *g, const oc_node *n)
{
    const oc_attr *tm = oc_node_attr(n, "training_mode");
    if (tm)
        return tm->i != 0;
    if (g->opset >= 14)
        return 0;
    for (int k = 1; k < n->n_out; k++)
        if (n->out[k] >= 0)
            return 1;
    return 0;
}

/* BatchNormalization: dX, dScale, dB = BatchNormGrad(dY, X, scale, mean,
 * var), batch statistics in training mode (math in
 * runtime/kernels/norm.c). The running mean / var are state: no gradient. */
static int grad_batchnorm(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (dy[0] < 0)
        return 0;
    const oc_node *n = &cx->g->nodes[nid];
    int train = bn_training(cx->g, n);
    float eps = oc_attr_float(n, "epsilon", 1e-5f);
    int in[5] = {dy[0], n->in[0], n->in[1], n->in[3], n->in[4]}, out[3];
    int gid = oc_grad_add(cx, "BatchNormGrad", 1, 5, in, 3, out);
    if (gid < 0 || oc_node_set_float(cx->g, gid, "epsilon", eps, cx->d) ||
        oc_node_set_int(cx->g, gid, "training_mode", train, cx->d))
        return -1;
    for (int k = 0; k < 3; k++)
        if (need[k])
            dx[k] = out[k];
    return 0;
}

static int infer_bn_grad(oc_infer *cx)
{
    for (int k = 0; k < 3; k++)
        if (!oc_infer_in(cx, k))
            return oc_infer_fail(cx, "input %d is missing", k);
    if (oc_infer_same_as(cx, 0, 1) || oc_infer_same_as(cx, 1, 2))
        return -1;
    return oc_infer_same_as(cx, 2, 2);
}

static int lower_batchnorm_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[1]];
    if (need_float(g, n, d))
        return -1;
    if (x->rank < 2)
        return oc_fail(d, "expected X of rank >= 2 (N, C, ...), got rank %d", x->rank);
    for (int k = 2; k <= 4; k++)
        if (need_len(g, n, k, x->dims[1], d))
            return -1;
    oc_batchnorm_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->epsilon = oc_attr_float(n, "epsilon", 1e-5f);
    p->training = (int)oc_attr_int(n, "training_mode", 0);
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->spatial = spatial_of(x);
    lw->fn = oc_batchnorm_backward;
    return 0;
}

/* LayerNormalization: dX, dScale[, dBias] = LayerNormGrad(dY, X, scale[,
 * bias]); mean and inverse std are recomputed from X (math in
 * runtime/kernels/norm.c). Only Y's gradient flows (not Mean/InvStdDev's). */
static int grad_layernorm(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    if (dy[0] < 0)
        return 0;
    for (int k = 1; k < n->n_out; k++)
        if (dy[k] >= 0)
            return oc_fail(cx->d, "gradients through the Mean / InvStdDev outputs are not supported");
    int has_bias = n->n_in > 2 && n->in[2] >= 0;
    int in[4] = {dy[0], n->in[0], n->in[1], has_bias ? n->in[2] : -1}, out[3];
    int gid = oc_grad_add(cx, "LayerNormGrad", 1, has_bias ? 4 : 3, in, has_bias ? 3 : 2, out);
    if (gid < 0)
        return -1;
    n = &cx->g->nodes[nid];
    int64_t axis = oc_attr_int(n, "axis", -1);
    float eps = oc_attr_float(n, "epsilon", 1e-5f);
    if (oc_node_set_int(cx->g, gid, "axis", axis, cx->d) || oc_node_set_float(cx->g, gid, "epsilon", eps, cx->d))
        return -1;
    for (int k = 0; k < (has_bias ? 3 : 2); k++)
        if (need[k])
            dx[k] = out[k];
    return 0;
}

static int infer_ln_grad(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    for (int k = 0; k < 3; k++)
        if (!oc_infer_in(cx, k))
            return oc_infer_fail(cx, "input %d is missing", k);
    if (oc_infer_same_as(cx, 0, 1) || oc_infer_same_as(cx, 1, 2))
        return -1;
    return n->n_in > 3 && n->in[3] >= 0 ? oc_infer_same_as(cx, 2, 3) : 0;
}

static int lower_layernorm_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (need_float(g, n, d))
        return -1;
    oc_layernorm_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || layernorm_geometry(g, n, 1, p, d))
        return -1;
    p->rms = 0;
    lw->fn = oc_layernorm_backward;
    lw->scratch = (size_t)p->inner * 2 * sizeof(double);
    return 0;
}

const oc_op oc_ops_norm_grad[] = {
    {.name = "BatchNormGrad", .min_in = 5, .max_in = 5, .min_out = 3, .max_out = 3,
     .infer = infer_bn_grad, .lower = lower_batchnorm_grad, .domain = OC_DOMAIN_ONNXC},
    {.name = "LayerNormGrad", .min_in = 3, .max_in = 4, .min_out = 2, .max_out = 3,
     .infer = infer_ln_grad, .lower = lower_layernorm_grad, .domain = OC_DOMAIN_ONNXC},
    {0},
};

/* FusedBatchNormalization (ai.onnxc, written by compiler/passes/fuse.c):
 * BatchNormalization(X, scale, B, mean, var[, R]) whose output 0 is
 * act(y + R): R (input 5, optional) has Y's shape, the activation comes
 * from the `activation`, `activation_alpha`, `activation_beta` attributes
 * of fused.h; the kernel applies both to each finished plane. The pass
 * runs after autodiff, so the op needs no gradient rule. */
static int infer_fused_batchnorm(oc_infer *cx)
{
    return infer_batchnorm(cx) || oc_fused_check_residual(cx, 5) ? -1 : 0;
}

/* inputs 3 and 4 are the running statistics; the residual is input 5 */
static int lower_fused_batchnorm(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (lower_batchnorm(g, n, lw, d))
        return -1;
    return oc_fused_epilogue(g, n, 5, &((oc_batchnorm_params *)lw->params)->ep, d);
}

const oc_op oc_ops_norm[] = {
    {"BatchNormalization", 5, 5, 1, 5, infer_batchnorm, NULL, (1u << 3) | (1u << 4), 0, lower_batchnorm, grad_batchnorm},
    {"FusedBatchNormalization", 5, 6, 1, 5, infer_fused_batchnorm, NULL, (1u << 3) | (1u << 4), 0, lower_fused_batchnorm,
     .domain = OC_DOMAIN_ONNXC},
    {"InstanceNormalization", 3, 3, 1, 1, infer_same, NULL, 0, 0, lower_groupnorm},
    {"LayerNormalization", 2, 3, 1, 3, infer_layernorm, NULL, 0, 0, lower_layernorm, grad_layernorm},
    {"GroupNormalization", 3, 3, 1, 1, infer_same, NULL, 0, 0, lower_groupnorm},
    {"RMSNormalization", 2, 2, 1, 1, infer_rmsnorm, NULL, 0, 0, lower_layernorm},
    {"LpNormalization", 1, 1, 1, 1, infer_lpnorm, NULL, 0, 0, lower_lpnorm},
    {"LRN", 1, 1, 1, 1, infer_same, NULL, 0, 0, lower_lrn},
    {"MeanVarianceNormalization", 1, 1, 1, 1, infer_same, NULL, 0, 0, lower_mvn},
    {0},
};
