/* elementwise.c: unary math and activations, broadcasting binary and
 * variadic arithmetic, comparisons, logic, Where, Clip, PRelu.
 * Shape rules only; Add/Sub/Mul/Div/Max/Min/Sum/Neg/Abs on small known
 * int64 data are evaluated here so shape arithmetic (e.g. batch *
 * channels) resolves. Gradient rules: Relu, Add, Sub, Mul, Div, Pow, Neg
 * and the activations (via onnxc's ActivationGrad op, kernels beside the
 * forward ones in runtime/kernels/elementwise.c). */
#include "op.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/kernels/elementwise.h"
#include "../../runtime/kernels/unary_int.h"

static int infer_unary(oc_infer *cx)
{
    if (!oc_infer_in(cx, 0))
        return oc_infer_fail(cx, "input 0 is missing");
    return oc_infer_same_as(cx, 0, 0);
}

static int infer_unary_bool(oc_infer *cx)
{
    oc_value *x = oc_infer_in(cx, 0);
    if (!x)
        return oc_infer_fail(cx, "input 0 is missing");
    return oc_infer_set_out(cx, 0, OC_BOOL, x->rank, x->dims);
}

/* Broadcast inputs first.. (none of these ops has an optional input, so
 * each must be there); those from same_from on must share one element
 * type, as every kernel here reads them as one (Where: X and Y, not the
 * condition; Pow: none, its exponent has a type of its own). Output dtype:
 * `dtype` or input `first`'s. */
static int broadcast_out_typed(oc_infer *cx, int first, int same_from, int dtype)
{
    oc_node *n = oc_infer_node(cx);
    const oc_value *v[64];
    int nv = 0, t0 = 0;
    for (int k = first; k < n->n_in && nv < 64; k++) {
        oc_value *x = oc_infer_in(cx, k);
        if (!x)
            return oc_infer_fail(cx, "input %d is missing", k);
        if (k >= same_from && x->dtype) {
            if (t0 && x->dtype != t0)
                return oc_infer_fail(cx, "input %d is %s, but input %d is %s: they must have one element type", k,
                                     oc_dtype_name(x->dtype), same_from, oc_dtype_name(t0));
            t0 = x->dtype;
        }
        v[nv++] = x;
    }
    if (nv == 0)
        return oc_infer_fail(cx, "no inputs");
    int r;
    int64_t dims[OC_MAX_RANK];
    if (oc_infer_broadcast(cx, nv, v, &r, dims))
        return -1;
    return oc_infer_set_out(cx, 0, dtype ? dtype : v[0]->dtype, r, dims);
}

static int broadcast_out(oc_infer *cx, int first, int dtype) { return broadcast_out_typed(cx, first, first, dtype); }

/* Integer ops that shape arithmetic uses, with the spec's integer
 * semantics (wrapping, truncating Div); *ok = 0 leaves the value to run
 * time (division by zero). */
static int64_t fold_i64(const char *op, int64_t a, int64_t b, int *ok)
{
    *ok = 1;
    if (strcmp(op, "Add") == 0 || strcmp(op, "Sum") == 0)
        return (int64_t)((uint64_t)a + (uint64_t)b);
    if (strcmp(op, "Sub") == 0)
        return (int64_t)((uint64_t)a - (uint64_t)b);
    if (strcmp(op, "Mul") == 0)
        return (int64_t)((uint64_t)a * (uint64_t)b);
    if (strcmp(op, "Max") == 0)
        return a > b ? a : b;
    if (strcmp(op, "Min") == 0)
        return a < b ? a : b;
    if (strcmp(op, "Div") == 0 && b != 0 && !(a == INT64_MIN && b == -1))
        return a / b; /* C truncation, as ONNX integer Div */
    *ok = 0;
    return 0;
}

/* Flat index into operand v for output element i under broadcasting. */
static int64_t bcast_index(const oc_value *y, const oc_value *v, int64_t i)
{
    int64_t idx = 0, rem = i, stride = 1;
    for (int d = y->rank - 1; d >= 0; d--) {
        int64_t c = rem % y->dims[d];
        rem /= y->dims[d];
        int k = d - (y->rank - v->rank);
        if (k >= 0) {
            idx += (v->dims[k] == 1 ? 0 : c) * stride;
            stride *= v->dims[k];
        }
    }
    return idx;
}

/* Evaluate Add/Sub/Mul/Div/Max/Min/Sum on small known int64 inputs (left
 * fold over the present inputs), so shape arithmetic resolves. */
static int fold_arith(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *y = n->out[0] >= 0 ? &cx->g->values[n->out[0]] : NULL;
    if (!y || n->n_in < 1 || n->n_in > 8)
        return 0;
    for (int k = 0; k < n->n_in; k++) {
        oc_value *v = oc_infer_in(cx, k);
        if (!v || !v->constant || v->constant->dtype != OC_INT64)
            return 0;
    }
    int64_t numel = oc_value_numel(y);
    if (numel < 0 || numel > OC_FOLD_MAX)
        return 0;
    oc_tensor *t = oc_tensor_new(OC_INT64, y->rank, y->dims, cx->d);
    if (!t)
        return -1;
    int64_t *o = t->data;
    for (int64_t i = 0; i < numel; i++) {
        const oc_value *v0 = oc_infer_in(cx, 0);
        int64_t acc = ((const int64_t *)v0->constant->data)[bcast_index(y, v0, i)];
        for (int k = 1; k < n->n_in; k++) {
            const oc_value *v = oc_infer_in(cx, k);
            int ok;
            acc = fold_i64(n->op_type, acc, ((const int64_t *)v->constant->data)[bcast_index(y, v, i)], &ok);
            if (!ok) {
                oc_tensor_free(t);
                return 0; /* leave division by zero to run time */
            }
        }
        o[i] = acc;
    }
    return oc_infer_set_const(cx, 0, t);
}

/* Neg and Abs on small known int64 data (shape arithmetic in exported
 * functions such as LayerNormalization's). */
static int infer_unary_fold(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in(cx, 0);
    if (!x)
        return oc_infer_fail(cx, "input 0 is missing");
    if (oc_infer_same_as(cx, 0, 0))
        return -1;
    if (!x->constant || x->constant->dtype != OC_INT64 || x->constant->numel > OC_FOLD_MAX)
        return 0;
    oc_tensor *t = oc_tensor_clone(x->constant, cx->d);
    if (!t)
        return -1;
    int64_t *p = t->data;
    int neg = strcmp(n->op_type, "Neg") == 0;
    for (int64_t i = 0; i < t->numel; i++)
        if (neg || p[i] < 0)
            p[i] = (int64_t)(0 - (uint64_t)p[i]);
    return oc_infer_set_const(cx, 0, t);
}

static int infer_arith(oc_infer *cx)
{
    oc_value *a = oc_infer_in(cx, 0), *b = oc_infer_in(cx, 1);
    if (!a || !b)
        return oc_infer_fail(cx, "needs two inputs");
    if (a->dtype && b->dtype && a->dtype != b->dtype)
        return oc_infer_fail(cx, "input types differ: %s and %s", oc_dtype_name(a->dtype), oc_dtype_name(b->dtype));
    if (broadcast_out(cx, 0, 0))
        return -1;
    return fold_arith(cx);
}

static int infer_broadcast(oc_infer *cx) { return broadcast_out(cx, 0, 0); }

/* Sum/Max/Min: broadcast, and fold known int64 data. */
static int infer_variadic(oc_infer *cx)
{
    if (broadcast_out(cx, 0, 0))
        return -1;
    return fold_arith(cx);
}
static int infer_compare(oc_infer *cx) { return broadcast_out(cx, 0, OC_BOOL); }

static int infer_where(oc_infer *cx)
{
    oc_value *x = oc_infer_in(cx, 1);
    if (!x || !oc_infer_in(cx, 0) || !oc_infer_in(cx, 2))
        return oc_infer_fail(cx, "needs condition, X and Y");
    return broadcast_out_typed(cx, 0, 1, x->dtype);
}

static int infer_prelu(oc_infer *cx)
{
    /* slope broadcasts unidirectionally to X */
    if (!oc_infer_in(cx, 0) || !oc_infer_in(cx, 1))
        return oc_infer_fail(cx, "needs X and slope");
    return oc_infer_same_as(cx, 0, 0);
}

static int infer_pow(oc_infer *cx)
{
    oc_value *x = oc_infer_in(cx, 0);
    if (!x || !oc_infer_in(cx, 1))
        return oc_infer_fail(cx, "needs X and Y");
    return broadcast_out_typed(cx, 0, 2, x->dtype);
}


/* ---- lowering ---- */

static int lower_unary_int(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    int op = oc_unary_int_op_code(n->op_type);
    if (op < 0 || !oc_unary_int_supports(op, x->dtype))
        return oc_fail(d, "%s does not support element type %s", n->op_type, oc_dtype_name(x->dtype));
    oc_unary_int_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->op = op;
    p->dtype = x->dtype;
    p->detect_positive = oc_attr_int(n, "detect_positive", 1) != 0;
    p->detect_negative = oc_attr_int(n, "detect_negative", 1) != 0;
    lw->fn = oc_unary_int_forward;
    return 0;
}

static int lower_unary(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    int is_clip = !strcmp(n->op_type, "Clip");
    if (x->dtype != OC_FLOAT && !is_clip && oc_unary_int_op_code(n->op_type) >= 0)
        return lower_unary_int(g, n, lw, d);
    if (x->dtype != OC_FLOAT && x->dtype != OC_DOUBLE && !(is_clip && oc_dtype_size(x->dtype) &&
                                                           x->dtype != OC_FLOAT16 && x->dtype != OC_BFLOAT16))
        return oc_fail(d, "%s supports float32 and float64 only, got %s", n->op_type, oc_dtype_name(x->dtype));
    oc_unary_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    lw->fn = oc_unary_kernel(n->op_type);
    const char *op = n->op_type;
    if (!strcmp(op, "LeakyRelu"))
        p->alpha = oc_attr_float(n, "alpha", 0.01f);
    else if (!strcmp(op, "Elu") || !strcmp(op, "Celu") || !strcmp(op, "ThresholdedRelu"))
        p->alpha = oc_attr_float(n, "alpha", 1.0f);
    else if (!strcmp(op, "Selu")) {
        p->alpha = oc_attr_float(n, "alpha", 1.67326319217681884765625f);
        p->gamma = oc_attr_float(n, "gamma", 1.05070102214813232421875f);
    } else if (!strcmp(op, "HardSigmoid")) {
        p->alpha = oc_attr_float(n, "alpha", 0.2f);
        p->beta = oc_attr_float(n, "beta", 0.5f);
    } else if (!strcmp(op, "Swish")) {
        p->alpha = oc_attr_float(n, "alpha", 1.0f);
    } else if (!strcmp(op, "Gelu")) {
        p->approximate = strcmp(oc_attr_string(n, "approximate", "none"), "tanh") == 0;
    } else if (!strcmp(op, "Shrink")) {
        p->alpha = oc_attr_float(n, "bias", 0.0f);
        p->beta = oc_attr_float(n, "lambd", 0.5f);
    } else if (!strcmp(op, "Clip")) {
        /* opset < 11: bounds are attributes; later: inputs read at run time */
        p->alpha = oc_attr_float(n, "min", -INFINITY);
        p->beta = oc_attr_float(n, "max", INFINITY);
        lw->fn = oc_clip_forward;
    }
    return lw->fn ? 0 : oc_fail(d, "no kernel for %s", op);
}

static const struct {
    const char *op;
    int code;
} binary_ops[] = {
    {"Add", OC_BIN_ADD}, {"Sub", OC_BIN_SUB}, {"Mul", OC_BIN_MUL}, {"Div", OC_BIN_DIV}, {"Pow", OC_BIN_POW},
    {"Mod", OC_BIN_MOD}, {"Max", OC_BIN_MAX}, {"Min", OC_BIN_MIN}, {"Sum", OC_BIN_SUM}, {"Mean", OC_BIN_MEAN},
    {"Equal", OC_BIN_EQUAL}, {"Less", OC_BIN_LESS}, {"LessOrEqual", OC_BIN_LESS_EQ}, {"Greater", OC_BIN_GREATER},
    {"GreaterOrEqual", OC_BIN_GREATER_EQ}, {"And", OC_BIN_AND}, {"Or", OC_BIN_OR}, {"Xor", OC_BIN_XOR},
    {"BitwiseAnd", OC_BIN_BIT_AND}, {"BitwiseOr", OC_BIN_BIT_OR}, {"BitwiseXor", OC_BIN_BIT_XOR},
    {"PRelu", OC_BIN_PRELU}, {"Where", OC_BIN_WHERE}, {"BitShift", OC_BIN_SHIFT_LEFT},
};

static int lower_broadcast(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (!strcmp(n->op_type, "Equal") && n->n_in == 2 && n->in[0] >= 0 && g->values[n->in[0]].dtype == OC_STRING)
        return oc_lower_string_equal(g, n, lw, d); /* string_ops.c */
    oc_bcast_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->op = -1;
    for (size_t i = 0; i < sizeof binary_ops / sizeof binary_ops[0]; i++)
        if (!strcmp(binary_ops[i].op, n->op_type))
            p->op = binary_ops[i].code;
    if (p->op < 0)
        return oc_fail(d, "no kernel for %s", n->op_type);
    if (p->op == OC_BIN_SHIFT_LEFT && !strcmp(oc_attr_string(n, "direction", ""), "RIGHT"))
        p->op = OC_BIN_SHIFT_RIGHT;
    if (n->n_in > 64)
        return oc_fail(d, "at most 64 inputs are supported");
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] < 0)
            return oc_fail(d, "input %d is missing", k);
    if (n->n_in < (p->op == OC_BIN_WHERE ? 3 : 1) || n->n_out < 1 || n->out[0] < 0)
        return oc_fail(d, "%s needs %d inputs and an output", n->op_type, p->op == OC_BIN_WHERE ? 3 : 1);
    const oc_value *y = &g->values[n->out[0]];
    p->dtype = g->values[n->in[p->op == OC_BIN_WHERE ? 1 : 0]].dtype;
    if (p->dtype == OC_STRING)
        return oc_fail(d, "string tensors are not supported by %s", n->op_type);
    if (!oc_dtype_size(p->dtype) || p->dtype == OC_FLOAT16 || p->dtype == OC_BFLOAT16)
        return oc_fail(d, "element type %s is not supported", oc_dtype_name(p->dtype));
    p->fmod = (int)oc_attr_int(n, "fmod", 0);
    p->rank = y->rank;
    p->n_in = n->n_in;
    for (int i = 0; i < y->rank; i++)
        p->dims[i] = y->dims[i];
    for (int k = 0; k < n->n_in; k++) {
        oc_tensor v;
        oc_value_view(&g->values[n->in[k]], &v);
        if (p->op == OC_BIN_PRELU && k == 1 && g->opset < 7 && v.rank == 1 && y->rank >= 2 &&
            v.dims[0] == y->dims[1] && v.dims[0] != 1) {
            /* PRelu before opset 7: a 1-D slope runs along the channel axis */
            p->slope_channel = 1;
            v.rank = y->rank - 1;
            for (int i = 1; i < v.rank; i++)
                v.dims[i] = 1;
        }
        /* every dim must match the output's or be 1 (right-aligned) */
        if (v.rank > y->rank)
            return oc_fail(d, "input %d has rank %d, above the output's %d", k, v.rank, y->rank);
        for (int i = 0; i < v.rank; i++) {
            int64_t od = y->dims[y->rank - v.rank + i];
            if (v.dims[i] != od && v.dims[i] != 1)
                return oc_fail(d, "input %d of shape rank %d does not broadcast to the output (dim %d: %lld vs %lld)",
                               k, v.rank, i, (long long)v.dims[i], (long long)od);
        }
    }
    lw->fn = oc_binary_forward;
    return 0;
}

/* ---- gradient rules and onnxc's own gradient ops ---- */

static int infer_like_input1(oc_infer *cx)
{
    if (!oc_infer_in(cx, 1))
        return oc_infer_fail(cx, "input 1 is missing");
    return oc_infer_same_as(cx, 0, 1);
}

static int lower_relu_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (g->values[n->in[0]].dtype != OC_FLOAT)
        return oc_fail(d, "ReluGrad supports float32 only");
    lw->fn = oc_relu_backward;
    return oc_lower_params(lw, 1, d) ? 0 : -1;
}

static int lower_sum_to_shape(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *dy = &g->values[n->in[0]];
    oc_bcast_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    if (dy->dtype != OC_FLOAT)
        return oc_fail(d, "SumToShape supports float32 only");
    p->rank = dy->rank;
    p->n_in = 1;
    for (int i = 0; i < dy->rank; i++)
        p->dims[i] = dy->dims[i];
    lw->fn = oc_sum_to_shape;
    return 0;
}

/* Relu: dX = dY * (Y > 0) */
static int grad_relu(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    (void)need;
    int in[2] = {dy[0], cx->g->nodes[nid].out[0]};
    return oc_grad_add(cx, "ReluGrad", 1, 2, in, 1, &dx[0]) < 0 ? -1 : 0;
}

/* Add: dA = unbroadcast(dY), dB = unbroadcast(dY); Sub negates dB. */
static int grad_add_sub(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    int a = n->in[0], b = n->in[1], sub = n->op_type[0] == 'S';
    if (need[0] && (dx[0] = oc_grad_unbroadcast(cx, dy[0], a)) < 0)
        return -1;
    if (need[1]) {
        int g = dy[0];
        if (sub && oc_grad_add(cx, "Neg", 0, 1, &g, 1, &g) < 0)
            return -1;
        if ((dx[1] = oc_grad_unbroadcast(cx, g, b)) < 0)
            return -1;
    }
    return 0;
}

/* Mul: dA = unbroadcast(dY * B), dB = unbroadcast(dY * A) */
static int grad_mul(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    int a = n->in[0], b = n->in[1];
    for (int k = 0; k < 2; k++) {
        if (!need[k])
            continue;
        int in[2] = {dy[0], k == 0 ? b : a}, prod;
        if (oc_grad_add(cx, "Mul", 0, 2, in, 1, &prod) < 0 || (dx[k] = oc_grad_unbroadcast(cx, prod, k == 0 ? a : b)) < 0)
            return -1;
    }
    return 0;
}

/* Copies the scalar and string attributes of node `from` onto node `to`
 * (a gradient node reads the forward's alpha, approximate, min, ...). */
static int copy_attrs(oc_grad_ctx *cx, int from, int to)
{
    for (int i = 0; i < cx->g->nodes[from].n_attrs; i++) {
        const oc_attr *at = &cx->g->nodes[from].attrs[i];
        int rc = 0;
        if (at->type == OC_ATTR_FLOAT)
            rc = oc_node_set_float(cx->g, to, at->name, at->f, cx->d);
        else if (at->type == OC_ATTR_INT)
            rc = oc_node_set_int(cx->g, to, at->name, at->i, cx->d);
        else if (at->type == OC_ATTR_STRING)
            rc = oc_node_set_string(cx->g, to, at->name, at->s, cx->d);
        if (rc)
            return -1;
    }
    return 0;
}

/* A float32 scalar constant (not a parameter) for gradient arithmetic. */
static int grad_const(oc_grad_ctx *cx, float v)
{
    char name[64];
    oc_tensor *t = oc_tensor_new(OC_FLOAT, 0, NULL, cx->d);
    if (!t)
        return -1;
    *(float *)t->data = v;
    snprintf(name, sizeof name, "grad/const_%d", cx->counter++);
    int id = oc_graph_add_initializer(cx->g, name, t, cx->d);
    if (id >= 0)
        cx->g->values[id].flags &= ~OC_VALUE_INITIALIZER; /* a constant, not a weight */
    return id;
}

/* Activations: dX = ActivationGrad(dY, X, Y), the derivative picked by the
 * forward op's name (attribute "op") with the forward's attributes; Clip
 * also passes its bound inputs. */
static int grad_activation(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    if (!need[0])
        return 0;
    const oc_node *n = &cx->g->nodes[nid];
    int clip = !strcmp(n->op_type, "Clip");
    int in[5] = {dy[0], n->in[0], n->out[0], clip && n->n_in > 1 ? n->in[1] : -1, clip && n->n_in > 2 ? n->in[2] : -1};
    char op[64];
    snprintf(op, sizeof op, "%s", n->op_type);
    int gid = oc_grad_add(cx, "ActivationGrad", 1, clip ? 5 : 3, in, 1, &dx[0]);
    if (gid < 0 || oc_node_set_string(cx->g, gid, "op", op, cx->d) || copy_attrs(cx, nid, gid))
        return -1;
    return 0;
}

/* Neg: dX = -dY */
static int grad_neg(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    (void)nid;
    if (!need[0])
        return 0;
    int g = dy[0];
    return oc_grad_add(cx, "Neg", 0, 1, &g, 1, &dx[0]) < 0 ? -1 : 0;
}

/* Div, Y = A / B: dA = unbroadcast(dY / B), dB = unbroadcast(-(dY / B) * Y)
 * (= -dY A / B^2, without squaring B). */
static int grad_div(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    int a = n->in[0], b = n->in[1], y = n->out[0], t, u;
    if (cx->g->values[y].dtype != OC_FLOAT && cx->g->values[y].dtype != OC_DOUBLE)
        return oc_fail(cx->d, "only floating-point Div is differentiable");
    int in[2] = {dy[0], b};
    if (oc_grad_add(cx, "Div", 0, 2, in, 1, &t) < 0)
        return -1;
    if (need[0] && (dx[0] = oc_grad_unbroadcast(cx, t, a)) < 0)
        return -1;
    if (need[1]) {
        int in2[2] = {t, y};
        if (oc_grad_add(cx, "Mul", 0, 2, in2, 1, &u) < 0 || oc_grad_add(cx, "Neg", 0, 1, &u, 1, &u) < 0 ||
            (dx[1] = oc_grad_unbroadcast(cx, u, b)) < 0)
            return -1;
    }
    return 0;
}

/* Pow, Y = A ^ B: dA = unbroadcast(dY * B * A ^ (B - 1)),
 * dB = unbroadcast(dY * Y * log A). */
static int grad_pow(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    int a = n->in[0], b = n->in[1], y = n->out[0];
    if (cx->g->values[a].dtype != OC_FLOAT || cx->g->values[b].dtype != OC_FLOAT)
        return oc_fail(cx->d, "only float32 Pow is differentiable");
    if (need[0]) {
        int one = grad_const(cx, 1.0f), bm1, pw, t, u;
        int i1[2] = {b, one}, i2[2] = {a, -1}, i3[2] = {dy[0], b}, i4[2] = {-1, -1};
        if (one < 0 || oc_grad_add(cx, "Sub", 0, 2, i1, 1, &bm1) < 0)
            return -1;
        i2[1] = bm1;
        if (oc_grad_add(cx, "Pow", 0, 2, i2, 1, &pw) < 0 || oc_grad_add(cx, "Mul", 0, 2, i3, 1, &t) < 0)
            return -1;
        i4[0] = t;
        i4[1] = pw;
        if (oc_grad_add(cx, "Mul", 0, 2, i4, 1, &u) < 0 || (dx[0] = oc_grad_unbroadcast(cx, u, a)) < 0)
            return -1;
    }
    if (need[1]) {
        int lg, t, u, i1[2] = {dy[0], y}, i2[2] = {-1, -1};
        if (oc_grad_add(cx, "Log", 0, 1, &a, 1, &lg) < 0 || oc_grad_add(cx, "Mul", 0, 2, i1, 1, &t) < 0)
            return -1;
        i2[0] = t;
        i2[1] = lg;
        if (oc_grad_add(cx, "Mul", 0, 2, i2, 1, &u) < 0 || (dx[1] = oc_grad_unbroadcast(cx, u, b)) < 0)
            return -1;
    }
    return 0;
}

static int lower_activation_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const char *op = oc_attr_string(n, "op", "");
    for (int k = 0; k < 3; k++)
        if (n->in[k] < 0 || g->values[n->in[k]].dtype != OC_FLOAT)
            return oc_fail(d, "ActivationGrad (%s) supports float32 only", op);
    oc_unary_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    /* the forward's attributes with the forward's defaults (lower_unary) */
    p->alpha = oc_attr_float(n, "alpha", !strcmp(op, "LeakyRelu") ? 0.01f : 1.0f);
    p->approximate = strcmp(oc_attr_string(n, "approximate", "none"), "tanh") == 0;
    if (!strcmp(op, "Clip")) {
        p->alpha = oc_attr_float(n, "min", -INFINITY);
        p->beta = oc_attr_float(n, "max", INFINITY);
        for (int k = 3; k < n->n_in; k++)
            if (n->in[k] >= 0 && g->values[n->in[k]].dtype != OC_FLOAT)
                return oc_fail(d, "ActivationGrad (Clip) supports float32 bounds only");
        lw->fn = oc_clip_backward;
        return 0;
    }
    lw->fn = oc_unary_backward_kernel(op);
    return lw->fn ? 0 : oc_fail(d, "no backward kernel for %s", op);
}

const oc_op oc_ops_elementwise_grad[] = {
    {.name = "ReluGrad", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_like_input1, .lower = lower_relu_grad, .domain = OC_DOMAIN_ONNXC},
    {.name = "SumToShape", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_like_input1, .lower = lower_sum_to_shape, .domain = OC_DOMAIN_ONNXC},
    {.name = "ActivationGrad", .min_in = 3, .max_in = 5, .min_out = 1, .max_out = 1,
     .infer = infer_like_input1, .lower = lower_activation_grad, .domain = OC_DOMAIN_ONNXC},
    {0},
};

const oc_op oc_ops_elementwise[] = {
    /* unary math and activations */
    {"Relu", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary, grad_relu},
    {"LeakyRelu", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary, grad_activation},
    {"Elu", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary, grad_activation},
    {"Selu", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Celu", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Sigmoid", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary, grad_activation},
    {"HardSigmoid", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"HardSwish", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Tanh", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary, grad_activation},
    {"Softplus", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary, grad_activation},
    {"Softsign", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Gelu", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary, grad_activation},
    {"Mish", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Swish", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary, grad_activation},
    {"ThresholdedRelu", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Erf", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary, grad_activation},
    {"Exp", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary, grad_activation},
    {"Log", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary, grad_activation},
    {"Sqrt", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary, grad_activation},
    {"Abs", 1, 1, 1, 1, infer_unary_fold, NULL, 0, 0, lower_unary},
    {"Neg", 1, 1, 1, 1, infer_unary_fold, NULL, 0, 0, lower_unary, grad_neg},
    {"Reciprocal", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Floor", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Ceil", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Round", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Sign", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Sin", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Cos", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Tan", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Asin", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Acos", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Atan", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Sinh", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Cosh", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Asinh", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Acosh", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Atanh", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"Not", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary_int},
    {"BitwiseNot", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary_int},
    {"IsNaN", 1, 1, 1, 1, infer_unary_bool, NULL, 0, 0, lower_unary_int},
    {"IsInf", 1, 1, 1, 1, infer_unary_bool, NULL, 0, 0, lower_unary_int},
    {"Clip", 1, 3, 1, 1, infer_unary, NULL, 0, (1u << 1) | (1u << 2), lower_unary, grad_activation},
    {"Shrink", 1, 1, 1, 1, infer_unary, NULL, 0, 0, lower_unary},
    {"PRelu", 2, 2, 1, 1, infer_prelu, NULL, 0, 0, lower_broadcast},
    /* binary / variadic with numpy broadcasting */
    {"Add", 2, 2, 1, 1, infer_arith, NULL, 0, 0, lower_broadcast, grad_add_sub},
    {"Sub", 2, 2, 1, 1, infer_arith, NULL, 0, 0, lower_broadcast, grad_add_sub},
    {"Mul", 2, 2, 1, 1, infer_arith, NULL, 0, 0, lower_broadcast, grad_mul},
    {"Div", 2, 2, 1, 1, infer_arith, NULL, 0, 0, lower_broadcast, grad_div},
    {"Mod", 2, 2, 1, 1, infer_broadcast, NULL, 0, 0, lower_broadcast},
    {"Pow", 2, 2, 1, 1, infer_pow, NULL, 0, 0, lower_broadcast, grad_pow},
    {"BitShift", 2, 2, 1, 1, infer_broadcast, NULL, 0, 0, lower_broadcast},
    {"BitwiseAnd", 2, 2, 1, 1, infer_broadcast, NULL, 0, 0, lower_broadcast},
    {"BitwiseOr", 2, 2, 1, 1, infer_broadcast, NULL, 0, 0, lower_broadcast},
    {"BitwiseXor", 2, 2, 1, 1, infer_broadcast, NULL, 0, 0, lower_broadcast},
    {"Sum", 1, 64, 1, 1, infer_variadic, NULL, 0, 0, lower_broadcast},
    {"Mean", 1, 64, 1, 1, infer_broadcast, NULL, 0, 0, lower_broadcast},
    {"Max", 1, 64, 1, 1, infer_variadic, NULL, 0, 0, lower_broadcast},
    {"Min", 1, 64, 1, 1, infer_variadic, NULL, 0, 0, lower_broadcast},
    {"And", 2, 2, 1, 1, infer_compare, NULL, 0, 0, lower_broadcast},
    {"Or", 2, 2, 1, 1, infer_compare, NULL, 0, 0, lower_broadcast},
    {"Xor", 2, 2, 1, 1, infer_compare, NULL, 0, 0, lower_broadcast},
    {"Equal", 2, 2, 1, 1, infer_compare, NULL, 0, 0, lower_broadcast},
    {"Less", 2, 2, 1, 1, infer_compare, NULL, 0, 0, lower_broadcast},
    {"LessOrEqual", 2, 2, 1, 1, infer_compare, NULL, 0, 0, lower_broadcast},
    {"Greater", 2, 2, 1, 1, infer_compare, NULL, 0, 0, lower_broadcast},
    {"GreaterOrEqual", 2, 2, 1, 1, infer_compare, NULL, 0, 0, lower_broadcast},
    {"Where", 3, 3, 1, 1, infer_where, NULL, 0, 0, lower_broadcast},
    {0},
};
