/* fused.c: see fused.h. */
#include "op.h"
#include "fused.h"

#include <math.h>
#include <string.h>

int oc_fused_check_residual(oc_infer *cx, int res_in)
{
    const oc_node *n = oc_infer_node(cx);
    const oc_value *r = oc_infer_in(cx, res_in);
    if (!r)
        return 0;
    const oc_value *y = &cx->g->values[n->out[0]];
    char a[256], b[256];
    int same = r->rank == y->rank && r->dtype == y->dtype;
    for (int i = 0; same && i < y->rank; i++)
        same = r->dims[i] == y->dims[i];
    if (!same)
        return oc_infer_fail(cx, "residual '%s' %s %s must have the output's type %s %s", r->name,
                             oc_dtype_name(r->dtype), oc_format_dims(a, sizeof a, r->dims, r->rank < 0 ? 0 : r->rank),
                             oc_dtype_name(y->dtype), oc_format_dims(b, sizeof b, y->dims, y->rank < 0 ? 0 : y->rank));
    return 0;
}

int oc_fused_epilogue(const oc_graph *g, const oc_node *n, int res_in, oc_epilogue *ep, oc_diag *d)
{
    (void)g;
    const char *name = oc_attr_string(n, "activation", "");
    int act = *name ? oc_act_from_name(name) : 0;
    if (act < 0)
        return oc_fail(d, "%s: activation '%s' is not one the epilogue applies", n->op_type, name);
    float da = 0, db = 0; /* ONNX defaults */
    if (act == OC_ACT_LEAKY_RELU)
        da = 0.01f;
    else if (act == OC_ACT_HARD_SIGMOID)
        da = 0.2f, db = 0.5f;
    else if (act == OC_ACT_CLIP)
        da = -INFINITY, db = INFINITY;
    ep->act = act;
    ep->alpha = oc_attr_float(n, "activation_alpha", da);
    ep->beta = oc_attr_float(n, "activation_beta", db);
    ep->has_residual = n->n_in > res_in && n->in[res_in] >= 0;
    return 0;
}
