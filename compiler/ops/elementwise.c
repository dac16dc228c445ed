/* elementwise.c: unary math and activations, broadcasting binary and
 * variadic arithmetic, comparisons, logic, Where, Clip, PRelu.
 * Shape rules only; Add/Sub/Mul/Div on small known int64 data are
 * evaluated here so shape arithmetic (e.g. batch * channels) resolves. */
#include "op.h"

#include <string.h>

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

/* Broadcast all present inputs; output dtype: `dtype` or input 0's. */
static int broadcast_out(oc_infer *cx, int first, int dtype)
{
    oc_node *n = oc_infer_node(cx);
    const oc_value *v[64];
    int nv = 0;
    for (int k = first; k < n->n_in && nv < 64; k++) {
        oc_value *x = oc_infer_in(cx, k);
        if (x)
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

static int64_t fold_i64(const char *op, int64_t a, int64_t b, int *ok)
{
    *ok = 1;
    switch (op[0]) {
    case 'A': return (int64_t)((uint64_t)a + (uint64_t)b);
    case 'S': return (int64_t)((uint64_t)a - (uint64_t)b);
    case 'M': return (int64_t)((uint64_t)a * (uint64_t)b);
    case 'D':
        if (b == 0 || (a == INT64_MIN && b == -1)) {
            *ok = 0;
            return 0;
        }
        return a / b; /* C truncation, as ONNX integer Div */
    }
    *ok = 0;
    return 0;
}

/* Evaluate Add/Sub/Mul/Div on small known int64 inputs. */
static int fold_arith(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *a = oc_infer_in(cx, 0), *b = oc_infer_in(cx, 1);
    oc_value *y = n->out[0] >= 0 ? &cx->g->values[n->out[0]] : NULL;
    if (!a || !b || !y || !a->constant || !b->constant || a->dtype != OC_INT64 || b->dtype != OC_INT64)
        return 0;
    int64_t numel = oc_value_numel(y);
    if (numel < 0 || numel > OC_FOLD_MAX)
        return 0;
    oc_tensor *t = oc_tensor_new(OC_INT64, y->rank, y->dims, cx->d);
    if (!t)
        return -1;
    int64_t *o = t->data;
    for (int64_t i = 0; i < numel; i++) {
        /* index into each operand by broadcasting */
        int64_t ia = 0, ib = 0, rem = i, sa = 1, sb = 1;
        for (int d = y->rank - 1; d >= 0; d--) {
            int64_t c = rem % y->dims[d];
            rem /= y->dims[d];
            int ka = d - (y->rank - a->rank), kb = d - (y->rank - b->rank);
            if (ka >= 0) {
                ia += (a->dims[ka] == 1 ? 0 : c) * sa;
                sa *= a->dims[ka];
            }
            if (kb >= 0) {
                ib += (b->dims[kb] == 1 ? 0 : c) * sb;
                sb *= b->dims[kb];
            }
        }
        int ok;
        o[i] = fold_i64(n->op_type, ((int64_t *)a->constant->data)[ia], ((int64_t *)b->constant->data)[ib], &ok);
        if (!ok) {
            oc_tensor_free(t);
            return 0; /* leave division by zero to run time */
        }
    }
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
static int infer_compare(oc_infer *cx) { return broadcast_out(cx, 0, OC_BOOL); }

static int infer_where(oc_infer *cx)
{
    oc_value *x = oc_infer_in(cx, 1);
    if (!x || !oc_infer_in(cx, 0) || !oc_infer_in(cx, 2))
        return oc_infer_fail(cx, "needs condition, X and Y");
    return broadcast_out(cx, 0, x->dtype);
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
    return broadcast_out(cx, 0, x->dtype);
}

const oc_op oc_ops_elementwise[] = {
    /* unary math and activations */
    {"Relu", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"LeakyRelu", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Elu", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Selu", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Celu", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Sigmoid", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"HardSigmoid", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"HardSwish", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Tanh", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Softplus", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Softsign", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Gelu", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Mish", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Swish", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"ThresholdedRelu", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Erf", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Exp", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Log", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Sqrt", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Abs", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Neg", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Reciprocal", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Floor", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Ceil", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Round", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Sign", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Sin", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Cos", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Tan", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Asin", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Acos", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Atan", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Sinh", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Cosh", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Asinh", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Acosh", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Atanh", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"Not", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"BitwiseNot", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"IsNaN", 1, 1, 1, 1, infer_unary_bool, NULL, 0},
    {"IsInf", 1, 1, 1, 1, infer_unary_bool, NULL, 0},
    {"Clip", 1, 3, 1, 1, infer_unary, NULL, 0, (1u << 1) | (1u << 2)},
    {"Shrink", 1, 1, 1, 1, infer_unary, NULL, 0},
    {"PRelu", 2, 2, 1, 1, infer_prelu, NULL, 0},
    /* binary / variadic with numpy broadcasting */
    {"Add", 2, 2, 1, 1, infer_arith, NULL, 0},
    {"Sub", 2, 2, 1, 1, infer_arith, NULL, 0},
    {"Mul", 2, 2, 1, 1, infer_arith, NULL, 0},
    {"Div", 2, 2, 1, 1, infer_arith, NULL, 0},
    {"Mod", 2, 2, 1, 1, infer_broadcast, NULL, 0},
    {"Pow", 2, 2, 1, 1, infer_pow, NULL, 0},
    {"BitShift", 2, 2, 1, 1, infer_broadcast, NULL, 0},
    {"BitwiseAnd", 2, 2, 1, 1, infer_broadcast, NULL, 0},
    {"BitwiseOr", 2, 2, 1, 1, infer_broadcast, NULL, 0},
    {"BitwiseXor", 2, 2, 1, 1, infer_broadcast, NULL, 0},
    {"Sum", 1, 64, 1, 1, infer_broadcast, NULL, 0},
    {"Mean", 1, 64, 1, 1, infer_broadcast, NULL, 0},
    {"Max", 1, 64, 1, 1, infer_broadcast, NULL, 0},
    {"Min", 1, 64, 1, 1, infer_broadcast, NULL, 0},
    {"And", 2, 2, 1, 1, infer_compare, NULL, 0},
    {"Or", 2, 2, 1, 1, infer_compare, NULL, 0},
    {"Xor", 2, 2, 1, 1, infer_compare, NULL, 0},
    {"Equal", 2, 2, 1, 1, infer_compare, NULL, 0},
    {"Less", 2, 2, 1, 1, infer_compare, NULL, 0},
    {"LessOrEqual", 2, 2, 1, 1, infer_compare, NULL, 0},
    {"Greater", 2, 2, 1, 1, infer_compare, NULL, 0},
    {"GreaterOrEqual", 2, 2, 1, 1, infer_compare, NULL, 0},
    {"Where", 3, 3, 1, 1, infer_where, NULL, 0},
    {0},
};
