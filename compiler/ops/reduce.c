/* reduce.c: Softmax, LogSoftmax, Hardmax, the Reduce* family,
 * ArgMax/ArgMin, TopK and the scans CumSum/CumProd: shape rules. Reduce
 * axes are an attribute until opset 13 (ReduceSum) / 18 (the others), an
 * optional input after; TopK's k is an attribute until opset 10.
 * Gradient rules: Softmax, LogSoftmax (SoftmaxGrad), ReduceSum and
 * ReduceMean (ReduceGrad). */
#include "op.h"

/* TopK and CumSum kernels are chosen in indexing.c beside the other index ops,
 * CumProd's in misc.c. */
int oc_lower_topk(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d);
int oc_lower_cumsum(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d);
int oc_lower_cumprod(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d);

#include <string.h>

#include "../../runtime/kernels/reduce.h"

static int infer_softmax(oc_infer *cx)
{
    oc_value *x = oc_infer_in(cx, 0);
    if (!x)
        return oc_infer_fail(cx, "input 0 is missing");
    if (x->rank >= 0) {
        int a;
        int64_t dflt = cx->g->opset >= 13 ? -1 : 1;
        if (oc_infer_axis(cx, oc_attr_int(oc_infer_node(cx), "axis", dflt), x->rank, &a))
            return -1;
    }
    return oc_infer_same_as(cx, 0, 0);
}

/* Axes computed at run time: with keepdims the rank stays and only size-1
 * dims are certain; without, the rank follows from the axes count when the
 * axes tensor has a known length (axes are distinct, per the spec). */
static int reduce_runtime_axes(oc_infer *cx, const oc_value *x, int keep)
{
    oc_value *ax = oc_infer_in(cx, 1);
    int64_t dims[OC_MAX_RANK];
    if (keep) {
        for (int i = 0; i < x->rank; i++)
            dims[i] = x->dims[i] == 1 ? 1 : -1;
        return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
    }
    int64_t k = ax->rank == 1 ? ax->dims[0] : -1;
    if (k > x->rank)
        return oc_infer_fail(cx, "%lld axes for an input of rank %d", (long long)k, x->rank);
    if (k == 0) /* empty axes: all dims, or none with noop_with_empty_axes */
        return oc_attr_int(oc_infer_node(cx), "noop_with_empty_axes", 0)
                   ? oc_infer_same_as(cx, 0, 0)
                   : oc_infer_set_out(cx, 0, x->dtype, 0, NULL);
    if (k < 0)
        return oc_infer_set_out(cx, 0, x->dtype, -1, NULL);
    for (int i = 0; i < x->rank - k; i++)
        dims[i] = -1;
    return oc_infer_set_out(cx, 0, x->dtype, (int)(x->rank - k), dims);
}

static int infer_reduce(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int keep = (int)oc_attr_int(n, "keepdims", 1);
    int64_t axes[OC_MAX_RANK];
    const int64_t *a;
    int na = oc_attr_ints(n, "axes", &a);
    if (na > OC_MAX_RANK)
        return oc_infer_fail(cx, "too many axes");
    if (na >= 0) {
        memcpy(axes, a, sizeof(int64_t) * (size_t)na);
    } else {
        na = oc_infer_const_ints(cx, 1, axes, OC_MAX_RANK);
        if (na == -3)
            return -1;
        if (na == -2)
            return reduce_runtime_axes(cx, x, keep);
        if (na == -1)
            na = 0;
    }
    int red[OC_MAX_RANK] = {0};
    if (na == 0) {
        if (oc_attr_int(n, "noop_with_empty_axes", 0))
            return oc_infer_same_as(cx, 0, 0);
        for (int i = 0; i < x->rank; i++)
            red[i] = 1;
    }
    for (int i = 0; i < na; i++) {
        int ax;
        if (oc_infer_axis(cx, axes[i], x->rank, &ax))
            return -1;
        red[ax] = 1;
    }
    int64_t dims[OC_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!red[i])
            dims[r++] = x->dims[i];
        else if (keep)
            dims[r++] = 1;
    }
    return oc_infer_set_out(cx, 0, x->dtype, r, dims);
}

static int infer_argmax(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int ax;
    if (oc_infer_axis(cx, oc_attr_int(n, "axis", 0), x->rank, &ax))
        return -1;
    int keep = (int)oc_attr_int(n, "keepdims", 1);
    int64_t dims[OC_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (i != ax)
            dims[r++] = x->dims[i];
        else if (keep)
            dims[r++] = 1;
    }
    return oc_infer_set_out(cx, 0, OC_INT64, r, dims);
}

/* TopK: values (X's type) and int64 indices, X's shape with the axis
 * dim replaced by k. */
static int infer_topk(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    if (x->rank < 1)
        return oc_infer_fail(cx, "input must have rank >= 1");
    int ax;
    if (oc_infer_axis(cx, oc_attr_int(n, "axis", -1), x->rank, &ax))
        return -1;
    int64_t k = -1;
    if (n->n_in < 2) {
        if (!oc_node_attr(n, "k"))
            return oc_infer_fail(cx, "needs 'k' (an attribute before opset 10, an input after)");
        k = oc_attr_int(n, "k", 0);
    } else {
        int64_t kv[1];
        int nk = oc_infer_const_ints(cx, 1, kv, 1);
        if (nk == -3)
            return -1;
        if (nk == 0 || nk == -1)
            return oc_infer_fail(cx, "'K' must hold one value");
        if (nk == 1)
            k = kv[0];
    }
    if (k < -1 || (k >= 0 && x->dims[ax] >= 0 && k > x->dims[ax]))
        return oc_infer_fail(cx, "k = %lld is outside [0, %lld]", (long long)k, (long long)x->dims[ax]);
    int64_t dims[OC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[ax] = k;
    if (oc_infer_set_out(cx, 0, x->dtype, x->rank, dims))
        return -1;
    return oc_infer_set_out(cx, 1, OC_INT64, x->rank, dims);
}

/* CumSum (opset 11, 14) / CumProd: same shape; axis is a scalar input. */
static int infer_cumulative(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0), *a = oc_infer_in(cx, 1);
    if (!x)
        return -1;
    if (!a)
        return oc_infer_fail(cx, "needs input 'axis'");
    if (a->constant) {
        int ax;
        if (a->constant->numel != 1)
            return oc_infer_fail(cx, "'axis' must hold one value");
        if (oc_infer_axis(cx, oc_tensor_get_i64(a->constant, 0), x->rank, &ax))
            return -1;
    }
    return oc_infer_same_as(cx, 0, 0);
}

/* ---- lowering ---- */

/* [outer, n, inner] view of x around axis `ax`; `flatten` merges all dims
 * from ax on into n (opset < 13 softmax semantics). */
static void axis_view(const oc_value *x, int ax, int flatten, int64_t *outer, int64_t *n, int64_t *inner)
{
    *outer = *n = *inner = 1;
    for (int i = 0; i < x->rank; i++) {
        if (i < ax)
            *outer *= x->dims[i];
        else if (i == ax || flatten)
            *n *= x->dims[i];
        else
            *inner *= x->dims[i];
    }
}

static int lower_softmax(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    if (x->dtype != OC_FLOAT && x->dtype != OC_DOUBLE)
        return oc_fail(d, "%s: element type %s is not supported", n->op_type, oc_dtype_name(x->dtype));
    int legacy = g->opset < 13;
    int64_t axis = oc_attr_int(n, "axis", legacy ? 1 : -1);
    int rank = x->rank;
    if (axis < -rank || axis >= (rank ? rank : 1))
        return oc_fail(d, "axis %lld is outside [-%d, %d)", (long long)axis, rank, rank);
    oc_softmax_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->kind = !strcmp(n->op_type, "Softmax") ? OC_SOFTMAX : !strcmp(n->op_type, "LogSoftmax") ? OC_LOG_SOFTMAX : OC_HARDMAX;
    p->dtype = x->dtype;
    axis_view(x, (int)(axis < 0 ? axis + rank : axis), legacy, &p->outer, &p->n, &p->inner);
    lw->fn = oc_softmax_forward;
    return 0;
}

static const struct {
    const char *op;
    int code;
} reduce_ops[] = {
    {"ReduceSum", OC_RED_SUM}, {"ReduceMean", OC_RED_MEAN}, {"ReduceMax", OC_RED_MAX}, {"ReduceMin", OC_RED_MIN},
    {"ReduceProd", OC_RED_PROD}, {"ReduceL1", OC_RED_L1}, {"ReduceL2", OC_RED_L2},
    {"ReduceLogSum", OC_RED_LOG_SUM}, {"ReduceLogSumExp", OC_RED_LOG_SUM_EXP},
    {"ReduceSumSquare", OC_RED_SUM_SQUARE},
};

/* Axes from the attribute (older opsets) or a constant input; a
 * non-constant axes input is read by the kernel at run time. */
static int lower_reduce(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    const oc_value *y = &g->values[n->out[0]];
    int dt = x->dtype;
    if (!oc_dtype_size(dt) || dt == OC_FLOAT16 || dt == OC_BFLOAT16 || dt == OC_STRING)
        return oc_fail(d, "%s: element type %s is not supported", n->op_type, oc_dtype_name(dt));
    oc_reduce_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->op = -1;
    for (size_t i = 0; i < sizeof reduce_ops / sizeof reduce_ops[0]; i++)
        if (!strcmp(reduce_ops[i].op, n->op_type))
            p->op = reduce_ops[i].code;
    if (p->op < 0)
        return oc_fail(d, "no kernel for %s", n->op_type);
    p->dtype = dt;
    p->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        p->dims[i] = x->dims[i];
    p->noop_with_empty_axes = (int)oc_attr_int(n, "noop_with_empty_axes", 0);
    const int64_t *attr;
    int na = oc_attr_ints(n, "axes", &attr);
    const oc_tensor *axt = NULL;
    if (na < 0 && n->n_in > 1 && n->in[1] >= 0) {
        axt = g->values[n->in[1]].constant;
        if (!axt) {
            p->axes_known = 0; /* read at run time; Y's declared shape fixes the size */
            goto done;
        }
        na = (int)axt->numel;
    }
    p->axes_known = 1;
    if (na <= 0) {
        if (p->noop_with_empty_axes) {
            p->axes_known = 0; /* the kernel's empty-axes path copies X */
            goto done;
        }
        p->mask = x->rank ? (1u << x->rank) - 1 : 0;
    }
    for (int i = 0; i < na; i++) {
        int64_t v = axt ? oc_tensor_get_i64(axt, i) : attr[i];
        if (v < -x->rank || v >= x->rank)
            return oc_fail(d, "axis %lld is outside [-%d, %d)", (long long)v, x->rank, x->rank);
        p->mask |= 1u << (v < 0 ? v + x->rank : v);
    }
done:
    lw->fn = oc_reduce_forward;
    lw->scratch = (size_t)oc_value_numel(y) * 2 * sizeof(double);
    return 0;
}

static int lower_argmax(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    int dt = x->dtype;
    if (dt != OC_FLOAT && dt != OC_DOUBLE && dt != OC_INT64 && dt != OC_INT32 && dt != OC_UINT8 &&
        dt != OC_INT8 && dt != OC_BOOL)
        return oc_fail(d, "%s: element type %s is not supported", n->op_type, oc_dtype_name(dt));
    int64_t axis = oc_attr_int(n, "axis", 0);
    if (axis < -x->rank || axis >= x->rank)
        return oc_fail(d, "axis %lld is outside [-%d, %d)", (long long)axis, x->rank, x->rank);
    oc_arg_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->is_min = !strcmp(n->op_type, "ArgMin");
    p->select_last = (int)oc_attr_int(n, "select_last_index", 0);
    p->dtype = dt;
    axis_view(x, (int)(axis < 0 ? axis + x->rank : axis), 0, &p->outer, &p->n, &p->inner);
    lw->fn = oc_arg_forward;
    return 0;
}

/* ---- gradient rules and their ops ---- */

/* Softmax / LogSoftmax: dX = SoftmaxGrad(dY, Y) (the math is in
 * runtime/kernels/reduce.c); the grad node keeps the forward's axis. */
static int grad_softmax(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (!need[0])
        return 0;
    const oc_node *n = &cx->g->nodes[nid];
    int in[2] = {dy[0], n->out[0]}, log = !strcmp(n->op_type, "LogSoftmax");
    const oc_attr *ax = oc_node_attr(n, "axis");
    int has_axis = ax != NULL;
    int64_t axis = has_axis ? ax->i : 0;
    int gid = oc_grad_add(cx, "SoftmaxGrad", 1, 2, in, 1, &dx[0]);
    if (gid < 0 || oc_node_set_int(cx->g, gid, "log", log, cx->d) ||
        (has_axis && oc_node_set_int(cx->g, gid, "axis", axis, cx->d)))
        return -1;
    return 0;
}

static int lower_softmax_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *y = &g->values[n->in[1]];
    if (y->dtype != OC_FLOAT || g->values[n->in[0]].dtype != OC_FLOAT)
        return oc_fail(d, "SoftmaxGrad supports float32 only");
    int legacy = g->opset < 13; /* same axis default and 2-D coercion as the forward */
    int64_t axis = oc_attr_int(n, "axis", legacy ? 1 : -1);
    int rank = y->rank;
    if (axis < -rank || axis >= (rank ? rank : 1))
        return oc_fail(d, "axis %lld is outside [-%d, %d)", (long long)axis, rank, rank);
    oc_softmax_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->kind = oc_attr_int(n, "log", 0) ? OC_LOG_SOFTMAX : OC_SOFTMAX;
    p->dtype = OC_FLOAT;
    axis_view(y, (int)(axis < 0 ? axis + rank : axis), legacy, &p->outer, &p->n, &p->inner);
    lw->fn = oc_softmax_backward;
    return 0;
}

/* ReduceSum / ReduceMean: dX = ReduceGrad(dY, X), dY broadcast back over
 * the reduced dims (scaled by 1 / count for the mean). The axes are
 * resolved here into a bit mask, so they must be known at compile time. */
static int grad_reduce(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (!need[0])
        return 0;
    const oc_node *n = &cx->g->nodes[nid];
    const oc_value *x = &cx->g->values[n->in[0]];
    const int64_t *attr;
    int na = oc_attr_ints(n, "axes", &attr);
    const oc_tensor *axt = NULL;
    if (na < 0 && n->n_in > 1 && n->in[1] >= 0) {
        if (!(axt = cx->g->values[n->in[1]].constant))
            return oc_fail(cx->d, "the axes must be known at compile time to differentiate %s", n->op_type);
        na = (int)axt->numel;
    }
    unsigned mask = 0;
    if (na <= 0)
        mask = oc_attr_int(n, "noop_with_empty_axes", 0) ? 0u : (x->rank ? (1u << x->rank) - 1 : 0u);
    for (int i = 0; i < na; i++) {
        int64_t v = axt ? oc_tensor_get_i64(axt, i) : attr[i];
        if (v < -x->rank || v >= x->rank)
            return oc_fail(cx->d, "axis %lld is outside [-%d, %d)", (long long)v, x->rank, x->rank);
        mask |= 1u << (v < 0 ? v + x->rank : v);
    }
    int mean = !strcmp(n->op_type, "ReduceMean");
    int in[2] = {dy[0], n->in[0]};
    int gid = oc_grad_add(cx, "ReduceGrad", 1, 2, in, 1, &dx[0]);
    if (gid < 0 || oc_node_set_int(cx->g, gid, "mask", (int64_t)mask, cx->d) ||
        oc_node_set_int(cx->g, gid, "mean", mean, cx->d))
        return -1;
    return 0;
}

static int lower_reduce_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *dy = &g->values[n->in[0]], *x = &g->values[n->in[1]];
    if (dy->dtype != OC_FLOAT || x->dtype != OC_FLOAT)
        return oc_fail(d, "ReduceGrad supports float32 only");
    oc_reduce_grad_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    unsigned mask = (unsigned)oc_attr_int(n, "mask", 0);
    int64_t s = 1, count = 1;
    p->rank = x->rank;
    for (int i = x->rank - 1; i >= 0; i--) {
        p->dims[i] = x->dims[i];
        if ((mask >> i) & 1) {
            p->strides[i] = 0;
            count *= x->dims[i];
        } else {
            p->strides[i] = x->dims[i] == 1 ? 0 : s;
            s *= x->dims[i];
        }
    }
    if (s != oc_value_numel(dy))
        return oc_fail(d, "ReduceGrad: dY has %lld elements, the reduction of X gives %lld",
                       (long long)oc_value_numel(dy), (long long)s);
    p->scale = oc_attr_int(n, "mean", 0) && count > 0 ? (float)(1.0 / (double)count) : 1.0f;
    lw->fn = oc_reduce_backward;
    return 0;
}

static int infer_like_input(oc_infer *cx, int k)
{
    if (!oc_infer_in(cx, k))
        return oc_infer_fail(cx, "input %d is missing", k);
    return oc_infer_same_as(cx, 0, k);
}
static int infer_like_input1(oc_infer *cx) { return infer_like_input(cx, 1); }

const oc_op oc_ops_reduce_grad[] = {
    {.name = "SoftmaxGrad", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_like_input1, .lower = lower_softmax_grad, .domain = OC_DOMAIN_ONNXC},
    {.name = "ReduceGrad", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_like_input1, .lower = lower_reduce_grad, .domain = OC_DOMAIN_ONNXC},
    {0},
};

const oc_op oc_ops_reduce[] = {
    {"Softmax", 1, 1, 1, 1, infer_softmax, NULL, 0, 0, lower_softmax, grad_softmax},
    {"LogSoftmax", 1, 1, 1, 1, infer_softmax, NULL, 0, 0, lower_softmax, grad_softmax},
    {"Hardmax", 1, 1, 1, 1, infer_softmax, NULL, 0, 0, lower_softmax},
    {"ReduceSum", 1, 2, 1, 1, infer_reduce, NULL, 0, 0, lower_reduce, grad_reduce},
    {"ReduceMean", 1, 2, 1, 1, infer_reduce, NULL, 0, 0, lower_reduce, grad_reduce},
    {"ReduceMax", 1, 2, 1, 1, infer_reduce, NULL, 0, 0, lower_reduce},
    {"ReduceMin", 1, 2, 1, 1, infer_reduce, NULL, 0, 0, lower_reduce},
    {"ReduceProd", 1, 2, 1, 1, infer_reduce, NULL, 0, 0, lower_reduce},
    {"ReduceL1", 1, 2, 1, 1, infer_reduce, NULL, 0, 0, lower_reduce},
    {"ReduceL2", 1, 2, 1, 1, infer_reduce, NULL, 0, 0, lower_reduce},
    {"ReduceLogSum", 1, 2, 1, 1, infer_reduce, NULL, 0, 0, lower_reduce},
    {"ReduceLogSumExp", 1, 2, 1, 1, infer_reduce, NULL, 0, 0, lower_reduce},
    {"ReduceSumSquare", 1, 2, 1, 1, infer_reduce, NULL, 0, 0, lower_reduce},
    {"ArgMax", 1, 1, 1, 1, infer_argmax, NULL, 0, 0, lower_argmax},
    {"ArgMin", 1, 1, 1, 1, infer_argmax, NULL, 0, 0, lower_argmax},
    {"TopK", 1, 2, 2, 2, infer_topk, NULL, 0, 1u << 1, oc_lower_topk},
    {"CumSum", 2, 2, 1, 1, infer_cumulative, NULL, 0, 1u << 1, oc_lower_cumsum},
    {"CumProd", 2, 2, 1, 1, infer_cumulative, NULL, 0, 1u << 1, oc_lower_cumprod},
    {0},
};
