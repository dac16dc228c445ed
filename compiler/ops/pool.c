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
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - nsp); /* spatial dim in slot i, < 0 for a padding slot */
        p->in[i] = j < 0 ? 1 : w.in[j];
        p->out[i] = j < 0 ? 1 : w.out[j];
        p->k[i] = j < 0 ? 1 : w.k[j];
        p->s[i] = j < 0 ? 1 : w.s[j];
        p->dil[i] = j < 0 ? 1 : w.dil[j];
        p->pb[i] = j < 0 ? 0 : w.pb[j];
        p->pe[i] = j < 0 ? 0 : w.pe[j];
    }
    lw->fn = oc_pool_forward;
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

const oc_op oc_ops_pool[] = {
    {"MaxPool", 1, 1, 1, 2, infer_pool, NULL, 0, 0, lower_pool},
    {"AveragePool", 1, 1, 1, 1, infer_pool, NULL, 0, 0, lower_pool},
    {"LpPool", 1, 1, 1, 1, infer_pool, NULL, 0, 0, lower_pool},
    {"GlobalAveragePool", 1, 1, 1, 1, infer_global_pool, NULL, 0, 0, lower_global_pool},
    {"GlobalMaxPool", 1, 1, 1, 1, infer_global_pool, NULL, 0, 0, lower_global_pool},
    {"GlobalLpPool", 1, 1, 1, 1, infer_global_pool, NULL, 0, 0, lower_global_pool},
    {0},
};
