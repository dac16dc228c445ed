/* bitcast.c: BitCast (opset 26), which reinterprets each element's bits
 * as another type of the same bit width; the output has the input's
 * shape. Shape rule and lowering; the kernel is runtime/kernels/bitcast.c.
 * Widths come from the element-type table (runtime/dtype.h). */
#include "op.h"

#include "../../runtime/dtype.h"
#include "../../runtime/kernels/bitcast.h"

/* 'to' names a type onnxc holds (not string or complex) of the input's
 * width; 0 with *to set, or an error naming both types. */
static int bitcast_target(const oc_node *n, int from, int *to, oc_diag *d)
{
    if (!oc_node_attr(n, "to"))
        return oc_fail(d, "needs attribute 'to'");
    int64_t t = oc_attr_int(n, "to", 0);
    if (t <= 0 || t >= OC_DTYPE_LIMIT || !oc_dtype_size((int)t))
        return oc_fail(d, "'to' = %lld is not an element type onnxc can hold", (long long)t);
    const oc_dtype_info *a = oc_dtype_info_of(from), *b = oc_dtype_info_of((int)t);
    if (from && a->bits != b->bits)
        return oc_fail(d, "cannot reinterpret %s (%d bits) as %s (%d bits): BitCast needs one width", a->name,
                       a->bits, b->name, b->bits);
    *to = (int)t;
    return 0;
}

static int infer_bitcast(oc_infer *cx)
{
    oc_value *x = oc_infer_in(cx, 0);
    if (!x)
        return oc_infer_fail(cx, "input 0 is missing");
    if (x->dtype && !oc_dtype_size(x->dtype))
        return oc_infer_fail(cx, "input element type %s cannot be reinterpreted", oc_dtype_name(x->dtype));
    int to;
    if (bitcast_target(oc_infer_node(cx), x->dtype, &to, cx->d)) {
        char lb[300];
        oc_diag_prefix(cx->d, "%s: ", oc_node_label(oc_infer_node(cx), lb, sizeof lb));
        return -1;
    }
    return oc_infer_set_out(cx, 0, to, x->rank, x->dims);
}

static int lower_bitcast(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    int to;
    if (!oc_dtype_size(x->dtype))
        return oc_fail(d, "input element type %s cannot be reinterpreted", oc_dtype_name(x->dtype));
    if (bitcast_target(n, x->dtype, &to, d))
        return -1;
    if (to != y->dtype)
        return oc_fail(d, "output '%s' is %s, 'to' says %s", y->name, oc_dtype_name(y->dtype), oc_dtype_name(to));
    oc_bitcast_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->from = x->dtype;
    p->to = to;
    lw->fn = oc_bitcast_forward;
    return 0;
}

const oc_op oc_ops_bitcast[] = {
    {"BitCast", 1, 1, 1, 1, infer_bitcast, NULL, 0, 0, lower_bitcast},
    {0},
};
