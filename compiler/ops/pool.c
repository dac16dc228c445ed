/* pool.c: MaxPool, AveragePool, LpPool and the global pools: shape rules.
 * MaxPool's optional second output holds flat indices (int64) into the
 * input, NCHW order, as the spec defines. */
#include "op.h"

#include <string.h>

#include "../../runtime/kernels/pool.h"

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

/* Lowering: the window geometry comes from oc_window_resolve, as in the
 * shape rule, so kernel and output shape agree on pads; spatial dims are
 * right-aligned into the kernel's 3 slots. */
/* The kernels see 1 to 3 spatial dims as 3 slots, the leading ones of
 * extent 1; this copies a resolved window into those slots. */
static void window_slots(oc_pool_params *p, const oc_window *w, int nsp)
{
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - nsp); /* spatial dim in slot i, < 0 for a padding slot */
        p->in[i] = j < 0 ? 1 : w->in[j];
        p->out[i] = j < 0 ? 1 : w->out[j];
        p->k[i] = j < 0 ? 1 : w->k[j];
        p->s[i] = j < 0 ? 1 : w->s[j];
        p->dil[i] = j < 0 ? 1 : w->dil[j];
        p->pb[i] = j < 0 ? 0 : w->pb[j];
        p->pe[i] = j < 0 ? 0 : w->pe[j];
    }
}

static int lower_pool(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    int nsp = x->rank - 2;
    if (nsp < 1 || nsp > 3)
        return oc_fail(d, "%s supports 1 to 3 spatial dims, got %d", n->op_type, nsp);
    int kind = !strcmp(n->op_type, "MaxPool") ? OC_POOL_MAX : !strcmp(n->op_type, "LpPool") ? OC_POOL_LP : OC_POOL_AVG;
    int dt = x->dtype;
    if (kind == OC_POOL_MAX ? !(dt == OC_FLOAT || dt == OC_DOUBLE || dt == OC_INT8 || dt == OC_UINT8 ||
                                dt == OC_INT32 || dt == OC_INT64)
                            : !(dt == OC_FLOAT || dt == OC_DOUBLE))
        return oc_fail(d, "%s: element type %s is not supported", n->op_type, oc_dtype_name(dt));
    const int64_t *ks;
    if (oc_attr_ints(n, "kernel_shape", &ks) != nsp)
        return oc_fail(d, "'kernel_shape' must have %d entries", nsp);
    oc_window w;
    if (oc_window_resolve(n, nsp, x->dims + 2, ks, (int)oc_attr_int(n, "ceil_mode", 0), &w, d))
        return -1;
    oc_pool_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->kind = kind;
    p->dtype = dt;
    p->count_include_pad = (int)oc_attr_int(n, "count_include_pad", 0);
    p->storage_order = (int)oc_attr_int(n, "storage_order", 0);
    p->p = (int)oc_attr_int(n, "p", 2);
    p->planes = x->dims[0] * x->dims[1];
    window_slots(p, &w, nsp);
    lw->fn = oc_pool_forward;
    /* the row kernel unless MaxPool's Indices output is wanted */
    int indices = n->n_out > 1 && n->out[1] >= 0;
    if (!indices && oc_pool2d_applicable(p)) {
        lw->fn = oc_pool2d_forward;
        lw->tscratch = oc_pool2d_tscratch(p);
    }
    return 0;
}

static int lower_global_pool(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    if (x->dtype != OC_FLOAT && x->dtype != OC_DOUBLE)
        return oc_fail(d, "%s: element type %s is not supported", n->op_type, oc_dtype_name(x->dtype));
    oc_global_pool_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->kind = !strcmp(n->op_type, "GlobalMaxPool") ? OC_POOL_MAX
              : !strcmp(n->op_type, "GlobalLpPool") ? OC_POOL_LP
                                                    : OC_POOL_AVG;
    p->dtype = x->dtype;
    p->p = (int)oc_attr_int(n, "p", 2);
    p->planes = x->dims[0] * x->dims[1];
    p->plane = 1;
    for (int i = 2; i < x->rank; i++)
        p->plane *= x->dims[i];
    lw->fn = oc_global_pool_forward;
    return 0;
}

/* ---- gradient rules and onnxc's own gradient ops ----
 * (math in runtime/kernels/pool.h)
 *   MaxPool:           dX = MaxPoolGrad(dY, X)      (argmax recomputed from X)
 *   AveragePool:       dX = AveragePoolGrad(dY, X)  (X gives the shape only)
 *   GlobalAveragePool: dX = GlobalPoolGrad(dY, X), mode "avg"
 *   GlobalMaxPool:     dX = GlobalPoolGrad(dY, X), mode "max"
 * The windowed gradient ops carry the forward's attributes, so they
 * resolve the same window (pads, auto_pad, ceil_mode) as the forward. */

/* Copies the int, ints, float and string attributes of node `from` onto `to`. */
static int copy_attrs(oc_grad_ctx *cx, int from, int to)
{
    for (int i = 0; i < cx->g->nodes[from].n_attrs; i++) {
        const oc_attr *at = &cx->g->nodes[from].attrs[i];
        int rc = 0;
        if (at->type == OC_ATTR_INT)
            rc = oc_node_set_int(cx->g, to, at->name, at->i, cx->d);
        else if (at->type == OC_ATTR_INTS)
            rc = oc_node_set_ints(cx->g, to, at->name, at->n, at->ints, cx->d);
        else if (at->type == OC_ATTR_FLOAT)
            rc = oc_node_set_float(cx->g, to, at->name, at->f, cx->d);
        else if (at->type == OC_ATTR_STRING)
            rc = oc_node_set_string(cx->g, to, at->name, at->s, cx->d);
        if (rc)
            return -1;
    }
    return 0;
}

static int grad_pool(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (!need[0] || dy[0] < 0)
        return 0;
    const char *op = cx->g->nodes[nid].op_type;
    int max = !strcmp(op, "MaxPool") || !strcmp(op, "GlobalMaxPool");
    int global = !strncmp(op, "Global", 6);
    int in[2] = {dy[0], cx->g->nodes[nid].in[0]};
    int gid = oc_grad_add(cx, global ? "GlobalPoolGrad" : max ? "MaxPoolGrad" : "AveragePoolGrad", 1, 2, in, 1, &dx[0]);
    if (gid < 0)
        return -1;
    if (global)
        return oc_node_set_string(cx->g, gid, "mode", max ? "max" : "avg", cx->d);
    return copy_attrs(cx, nid, gid);
}

/* Gradient ops: dX has X's (input 1's) type. */
static int infer_pool_grad(oc_infer *cx)
{
    oc_value *dy = oc_infer_in_ranked(cx, 0), *x = oc_infer_in_ranked(cx, 1);
    if (!dy || !x)
        return -1;
    if (x->rank < 3 || dy->rank != x->rank)
        return oc_infer_fail(cx, "dY and X must have the same rank >= 3");
    return oc_infer_same_as(cx, 0, 1);
}

/* The forward's oc_pool_params rebuilt from X = input 1 and the copied
 * attributes, checked against dY's extents. */
static int lower_pool_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *dy = &g->values[n->in[0]], *x = &g->values[n->in[1]];
    int nsp = x->rank - 2;
    if (nsp < 1 || nsp > 3 || dy->rank != x->rank)
        return oc_fail(d, "%s supports 1 to 3 spatial dims, got %d", n->op_type, nsp);
    if (x->dtype != OC_FLOAT || dy->dtype != OC_FLOAT)
        return oc_fail(d, "%s supports float32 only, got %s", n->op_type, oc_dtype_name(x->dtype));
    const int64_t *ks;
    if (oc_attr_ints(n, "kernel_shape", &ks) != nsp)
        return oc_fail(d, "'kernel_shape' must have %d entries", nsp);
    oc_window w;
    if (oc_window_resolve(n, nsp, x->dims + 2, ks, (int)oc_attr_int(n, "ceil_mode", 0), &w, d))
        return -1;
    for (int i = 0; i < 2 + nsp; i++)
        if (dy->dims[i] != (i < 2 ? x->dims[i] : w.out[i - 2]))
            return oc_fail(d, "%s: dY's dim %d is %lld, the forward window gives %lld", n->op_type, i,
                           (long long)dy->dims[i], (long long)(i < 2 ? x->dims[i] : w.out[i - 2]));
    oc_pool_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->kind = !strcmp(n->op_type, "MaxPoolGrad") ? OC_POOL_MAX : OC_POOL_AVG;
    p->dtype = x->dtype;
    p->count_include_pad = (int)oc_attr_int(n, "count_include_pad", 0);
    p->planes = x->dims[0] * x->dims[1];
    window_slots(p, &w, nsp);
    lw->fn = oc_pool_backward;
    return 0;
}

static int lower_global_pool_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[1]];
    if (x->dtype != OC_FLOAT || g->values[n->in[0]].dtype != OC_FLOAT)
        return oc_fail(d, "GlobalPoolGrad supports float32 only, got %s", oc_dtype_name(x->dtype));
    const char *mode = oc_attr_string(n, "mode", "avg");
    if (strcmp(mode, "avg") && strcmp(mode, "max"))
        return oc_fail(d, "GlobalPoolGrad: mode must be avg or max, got '%s'", mode);
    oc_global_pool_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->kind = !strcmp(mode, "max") ? OC_POOL_MAX : OC_POOL_AVG;
    p->dtype = x->dtype;
    p->planes = x->dims[0] * x->dims[1];
    p->plane = 1;
    for (int i = 2; i < x->rank; i++)
        p->plane *= x->dims[i];
    lw->fn = oc_global_pool_backward;
    return 0;
}

const oc_op oc_ops_pool_grad[] = {
    {.name = "MaxPoolGrad", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_pool_grad, .lower = lower_pool_grad, .domain = OC_DOMAIN_ONNXC},
    {.name = "AveragePoolGrad", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_pool_grad, .lower = lower_pool_grad, .domain = OC_DOMAIN_ONNXC},
    {.name = "GlobalPoolGrad", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_pool_grad, .lower = lower_global_pool_grad, .domain = OC_DOMAIN_ONNXC},
    {0},
};

const oc_op oc_ops_pool[] = {
    {"MaxPool", 1, 1, 1, 2, infer_pool, NULL, 0, 0, lower_pool, grad_pool},
    {"AveragePool", 1, 1, 1, 1, infer_pool, NULL, 0, 0, lower_pool, grad_pool},
    {"LpPool", 1, 1, 1, 1, infer_pool, NULL, 0, 0, lower_pool},
    {"GlobalAveragePool", 1, 1, 1, 1, infer_global_pool, NULL, 0, 0, lower_global_pool, grad_pool},
    {"GlobalMaxPool", 1, 1, 1, 1, infer_global_pool, NULL, 0, 0, lower_global_pool, grad_pool},
    {"GlobalLpPool", 1, 1, 1, 1, infer_global_pool, NULL, 0, 0, lower_global_pool},
    {0},
};
