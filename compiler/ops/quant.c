/* quant.c: the quantization ops: QuantizeLinear and DequantizeLinear
 * (opsets 10 to 25: per tensor, per axis and blocked scales; integer,
 * float8 and float4 quantized types; output_dtype, saturate, precision),
 * DynamicQuantizeLinear, MatMulInteger, QLinearMatMul, ConvInteger and
 * QLinearConv. Shape rules and lowering; the kernels are
 * runtime/kernels/quant.c, the element types runtime/dtype.h. Semantics
 * follow docs/Operators.md and onnx/reference/ops/op_*quant*.py. */
#include "op.h"

#include <string.h>

#include "../../runtime/dtype.h"
#include "../../runtime/kernels/quant.h"

/* Types QuantizeLinear may produce (and DequantizeLinear read, with
 * int32). */
static int is_quant_type(int dt)
{
    const oc_dtype_info *t = oc_dtype_info_of(dt);
    if (t->kind == OC_KIND_SINT || t->kind == OC_KIND_UINT)
        return t->bits <= 16;
    return dt == OC_FLOAT8E4M3FN || dt == OC_FLOAT8E4M3FNUZ || dt == OC_FLOAT8E5M2 || dt == OC_FLOAT8E5M2FNUZ ||
           dt == OC_FLOAT4E2M1;
}

static int is_scale_type(int dt) { return dt == OC_FLOAT || dt == OC_FLOAT16 || dt == OC_BFLOAT16 || dt == OC_DOUBLE; }

static int64_t prod(const int64_t *dims, int from, int to)
{
    int64_t n = 1;
    for (int i = from; i < to; i++)
        n *= dims[i];
    return n;
}

/* Scale (and zero point) layout against x: per tensor (one element), per
 * axis (1-D of x's axis extent) or blocked (x's shape with
 * ceil(extent / block_size) along the axis). */
static int quant_layout(const oc_node *n, const oc_value *x, const oc_value *s, const oc_value *zp, oc_quant_params *p,
                        oc_diag *d)
{
    char a[256], b[256];
    int64_t sn = oc_value_numel(s), xn = oc_value_numel(x);
    p->outer = 1, p->axis_dim = 1, p->inner = xn, p->block = 1;
    p->s_outer = p->s_axis = p->s_inner = 0;
    int64_t block = oc_attr_int(n, "block_size", 0);
    if (block < 0)
        return oc_fail(d, "block_size must be >= 0, got %lld", (long long)block);
    /* one value each (shapes [] and [1] alike), or the scale's shape */
    if (zp && (oc_value_numel(zp) != sn ||
               (sn != 1 && (zp->rank != s->rank || memcmp(zp->dims, s->dims, sizeof(int64_t) * (size_t)s->rank)))))
        return oc_fail(d, "zero point %s does not have the scale's shape %s",
                       oc_format_dims(a, sizeof a, zp->dims, zp->rank), oc_format_dims(b, sizeof b, s->dims, s->rank));
    if (sn == 1)
        return 0;
    int64_t axis = oc_attr_int(n, "axis", 1);
    if (axis < -x->rank || axis >= x->rank)
        return oc_fail(d, "axis %lld is outside [-%d, %d)", (long long)axis, x->rank, x->rank);
    int ax = (int)(axis < 0 ? axis + x->rank : axis);
    p->outer = prod(x->dims, 0, ax);
    p->axis_dim = x->dims[ax];
    p->inner = prod(x->dims, ax + 1, x->rank);
    if (!block) {
        if (s->rank != 1 || s->dims[0] != p->axis_dim)
            return oc_fail(d, "scale %s is neither one value nor %lld values along axis %d of %s",
                           oc_format_dims(a, sizeof a, s->dims, s->rank), (long long)p->axis_dim, ax,
                           oc_format_dims(b, sizeof b, x->dims, x->rank));
        p->s_axis = 1;
        return 0;
    }
    int64_t nb = (p->axis_dim + block - 1) / block;
    int ok = s->rank == x->rank;
    for (int i = 0; ok && i < x->rank; i++)
        ok = s->dims[i] == (i == ax ? nb : x->dims[i]);
    if (!ok)
        return oc_fail(d, "blocked scale %s does not match input %s with block_size %lld on axis %d",
                       oc_format_dims(a, sizeof a, s->dims, s->rank), oc_format_dims(b, sizeof b, x->dims, x->rank),
                       (long long)block, ax);
    p->block = block;
    p->s_outer = nb * p->inner;
    p->s_axis = p->inner;
    p->s_inner = 1;
    return 0;
}

/* ---------------------------------------------------------------- QuantizeLinear */

/* Output type: the zero point's, else output_dtype (opset 21), else uint8. */
static int quantize_out_type(const oc_node *n, const oc_value *zp, int *dt, oc_diag *d)
{
    int64_t od = oc_attr_int(n, "output_dtype", 0);
    if (zp && zp->dtype && od && od != zp->dtype)
        return oc_fail(d, "output_dtype %s differs from the zero point's type %s", oc_dtype_name((int)od),
                       oc_dtype_name(zp->dtype));
    *dt = zp && zp->dtype ? zp->dtype : od ? (int)od : OC_UINT8;
    if (!is_quant_type(*dt))
        return oc_fail(d, "cannot quantize to %s", oc_dtype_name(*dt));
    return 0;
}

static int infer_quantize(oc_infer *cx)
{
    oc_value *x = oc_infer_in(cx, 0), *zp = oc_infer_in(cx, 2);
    if (!x || !oc_infer_in(cx, 1))
        return oc_infer_fail(cx, "needs x and y_scale");
    int dt = 0;
    if (quantize_out_type(oc_infer_node(cx), zp, &dt, cx->d)) {
        char lb[300];
        oc_diag_prefix(cx->d, "%s: ", oc_node_label(oc_infer_node(cx), lb, sizeof lb));
        return -1;
    }
    return oc_infer_set_out(cx, 0, dt, x->rank, x->dims);
}

/* The type x / scale is rounded to: precision (opset 23), else the wider
 * of x's and the scale's (numpy's promotion in the reference). */
static int division_type(const oc_node *n, int xt, int st, int *pt, oc_diag *d)
{
    int64_t prec = oc_attr_int(n, "precision", 0);
    if (prec) {
        if (!is_scale_type((int)prec))
            return oc_fail(d, "precision %s is not a float type", oc_dtype_name((int)prec));
        *pt = (int)prec;
        return 0;
    }
    int wx = oc_dtype_is_float(xt) ? oc_dtype_info_of(xt)->bits : 64, ws = oc_dtype_info_of(st)->bits;
    *pt = wx > ws ? (wx == 64 ? OC_DOUBLE : OC_FLOAT) : st;
    if (wx == ws && xt != st)
        *pt = OC_FLOAT; /* float16 with bfloat16 */
    return 0;
}

static int lower_quantize(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]], *s = &g->values[n->in[1]];
    const oc_value *zp = n->n_in > 2 && n->in[2] >= 0 ? &g->values[n->in[2]] : NULL, *y = &g->values[n->out[0]];
    if (!(is_scale_type(x->dtype) || x->dtype == OC_INT32) || !(is_scale_type(s->dtype) || s->dtype == OC_INT32))
        return oc_fail(d, "x is %s and y_scale %s; expected float types (or int32)", oc_dtype_name(x->dtype),
                       oc_dtype_name(s->dtype));
    int64_t sat = oc_attr_int(n, "saturate", 1);
    if (sat != 0 && sat != 1)
        return oc_fail(d, "saturate must be 0 or 1, got %lld", (long long)sat);
    oc_quant_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || quant_layout(n, x, s, zp, p, d) || division_type(n, x->dtype, s->dtype == OC_INT32 ? OC_FLOAT : s->dtype,
                                                               &p->precision, d))
        return -1;
    p->x_dtype = x->dtype;
    p->y_dtype = y->dtype;
    p->scale_dtype = s->dtype;
    p->has_zp = zp != NULL;
    p->saturate = (int)sat;
    lw->fn = oc_quantize_forward;
    return 0;
}

/* ---------------------------------------------------------------- DequantizeLinear */

static int infer_dequantize(oc_infer *cx)
{
    oc_value *x = oc_infer_in(cx, 0), *s = oc_infer_in(cx, 1);
    if (!x || !s)
        return oc_infer_fail(cx, "needs x and x_scale");
    int64_t od = oc_attr_int(oc_infer_node(cx), "output_dtype", 0);
    int dt = od ? (int)od : s->dtype;
    if (dt && !is_scale_type(dt))
        return oc_infer_fail(cx, "cannot dequantize to %s", oc_dtype_name(dt));
    return oc_infer_set_out(cx, 0, dt, x->rank, x->dims);
}

static int lower_dequantize(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]], *s = &g->values[n->in[1]];
    const oc_value *zp = n->n_in > 2 && n->in[2] >= 0 ? &g->values[n->in[2]] : NULL, *y = &g->values[n->out[0]];
    if (!is_quant_type(x->dtype) && x->dtype != OC_INT32)
        return oc_fail(d, "cannot dequantize %s", oc_dtype_name(x->dtype));
    if (!is_scale_type(s->dtype))
        return oc_fail(d, "x_scale is %s; expected a float type", oc_dtype_name(s->dtype));
    if (zp && zp->dtype != x->dtype)
        return oc_fail(d, "zero point is %s but x is %s", oc_dtype_name(zp->dtype), oc_dtype_name(x->dtype));
    oc_quant_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || quant_layout(n, x, s, zp, p, d))
        return -1;
    p->x_dtype = x->dtype;
    p->y_dtype = y->dtype;
    p->scale_dtype = s->dtype;
    p->has_zp = zp != NULL && oc_dtype_is_int(x->dtype); /* float8 / float4 zero points are 0 by definition */
    p->precision = OC_FLOAT;
    lw->fn = oc_dequantize_forward;
    return 0;
}

/* ---------------------------------------------------------------- DynamicQuantizeLinear */

static int infer_dynamic_quantize(oc_infer *cx)
{
    oc_value *x = oc_infer_in(cx, 0);
    if (!x)
        return oc_infer_fail(cx, "input 0 is missing");
    if (x->dtype && x->dtype != OC_FLOAT)
        return oc_infer_fail(cx, "x is %s; DynamicQuantizeLinear takes float32", oc_dtype_name(x->dtype));
    if (oc_infer_set_out(cx, 0, OC_UINT8, x->rank, x->dims) || oc_infer_set_out(cx, 1, OC_FLOAT, 0, NULL))
        return -1;
    return oc_infer_set_out(cx, 2, OC_UINT8, 0, NULL);
}

static int lower_dynamic_quantize(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)d;
    if (g->values[n->in[0]].dtype != OC_FLOAT)
        return oc_fail(d, "x is %s; DynamicQuantizeLinear takes float32", oc_dtype_name(g->values[n->in[0]].dtype));
    lw->fn = oc_dynamic_quantize_forward;
    return 0;
}

/* ---------------------------------------------------------------- MatMulInteger, QLinearMatMul */

static int is_qmm_input(int dt) { return dt == OC_INT8 || dt == OC_UINT8; }

/* numpy matmul shapes: 1-D A is [1, K] and 1-D B is [K, 1], their unit
 * dim dropped from the result; batch dims broadcast. Fills the batch
 * geometry of p when p is not NULL. */
static int qmm_shape(const oc_value *A, const oc_value *B, int *rank, int64_t *dims, oc_qmatmul_params *p, oc_diag *d)
{
    char a[256], b[256];
    if (A->rank < 1 || B->rank < 1)
        return oc_fail(d, "matmul of %s and %s: inputs need rank >= 1", oc_format_dims(a, sizeof a, A->dims, A->rank),
                       oc_format_dims(b, sizeof b, B->dims, B->rank));
    int64_t m = A->rank == 1 ? 1 : A->dims[A->rank - 2], k = A->dims[A->rank - 1];
    int64_t kb = B->rank == 1 ? B->dims[0] : B->dims[B->rank - 2], nn = B->rank == 1 ? 1 : B->dims[B->rank - 1];
    if (k >= 0 && kb >= 0 && k != kb)
        return oc_fail(d, "matmul of %s and %s: inner dims differ", oc_format_dims(a, sizeof a, A->dims, A->rank),
                       oc_format_dims(b, sizeof b, B->dims, B->rank));
    int ab = A->rank > 2 ? A->rank - 2 : 0, bb = B->rank > 2 ? B->rank - 2 : 0, br = ab > bb ? ab : bb;
    int64_t bd[OC_MAX_RANK];
    for (int i = 0; i < br; i++) {
        int ia = i - (br - ab), ib = i - (br - bb);
        int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
        if (da != db && da != 1 && db != 1 && da >= 0 && db >= 0)
            return oc_fail(d, "matmul of %s and %s: batch dims do not broadcast",
                           oc_format_dims(a, sizeof a, A->dims, A->rank), oc_format_dims(b, sizeof b, B->dims, B->rank));
        bd[i] = da == 1 ? db : da;
    }
    int r = 0;
    for (int i = 0; i < br; i++)
        dims[r++] = bd[i];
    if (A->rank > 1)
        dims[r++] = m;
    if (B->rank > 1)
        dims[r++] = nn;
    *rank = r;
    if (p) {
        p->brank = br;
        p->m = m, p->k = k, p->n = nn;
        int64_t sa = 1, sb = 1;
        for (int i = br - 1; i >= 0; i--) {
            int ia = i - (br - ab), ib = i - (br - bb);
            int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
            p->bdims[i] = bd[i];
            p->a_bstride[i] = da == 1 ? 0 : sa;
            p->b_bstride[i] = db == 1 ? 0 : sb;
            sa *= da;
            sb *= db;
        }
    }
    return 0;
}

static int is_qlinear(const oc_node *n) { return n->op_type[0] == 'Q'; }

/* QLinearMatMul / QLinearConv: the data inputs (0, 3) and the three scales
 * (1, 4, 6) must be there; zero points may be omitted (read as 0). */
static int qlinear_inputs_present(oc_infer *cx)
{
    static const int need[] = {0, 1, 3, 4, 6};
    for (int i = 0; i < 5; i++)
        if (!oc_infer_in(cx, need[i]))
            return oc_infer_fail(cx, "input %d is missing", need[i]);
    return 0;
}

static int infer_qmatmul(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    int q = is_qlinear(n);
    if (q && qlinear_inputs_present(cx))
        return -1;
    oc_value *A = oc_infer_in_ranked(cx, 0), *B = oc_infer_in_ranked(cx, q ? 3 : 1);
    if (!A || !B)
        return -1;
    int rank = 0;
    int64_t dims[OC_MAX_RANK];
    if (qmm_shape(A, B, &rank, dims, NULL, cx->d)) {
        char lb[300];
        oc_diag_prefix(cx->d, "%s: ", oc_node_label(n, lb, sizeof lb));
        return -1;
    }
    oc_value *yzp = q ? oc_infer_in(cx, 7) : NULL;
    return oc_infer_set_out(cx, 0, q ? (yzp ? yzp->dtype : A->dtype) : OC_INT32, rank, dims);
}

/* A zero point or scale: one value, or `len` along rows (A) / columns
 * (B); *per set to 1 for the latter. */
static int qmm_vector(const oc_graph *g, const oc_node *n, int k, int64_t len, const char *what, int *per, oc_diag *d)
{
    *per = 0;
    if (k >= n->n_in || n->in[k] < 0)
        return 0;
    const oc_value *v = &g->values[n->in[k]];
    int64_t c = oc_value_numel(v);
    if (c == 1)
        return 0;
    if (v->rank == 1 && c == len) {
        *per = 1;
        return 0;
    }
    char a[256];
    return oc_fail(d, "%s %s is neither one value nor %lld", what, oc_format_dims(a, sizeof a, v->dims, v->rank),
                   (long long)len);
}

static int lower_qmatmul(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    int q = is_qlinear(n);
    const oc_value *A = &g->values[n->in[0]], *B = &g->values[n->in[q ? 3 : 1]], *Y = &g->values[n->out[0]];
    if (!is_qmm_input(A->dtype) || !is_qmm_input(B->dtype))
        return oc_fail(d, "inputs are %s and %s; expected int8 or uint8", oc_dtype_name(A->dtype), oc_dtype_name(B->dtype));
    oc_qmatmul_params *p = oc_lower_params(lw, sizeof *p, d);
    int rank;
    int64_t dims[OC_MAX_RANK];
    if (!p || qmm_shape(A, B, &rank, dims, p, d))
        return -1;
    p->a_dtype = A->dtype;
    p->b_dtype = B->dtype;
    p->y_dtype = Y->dtype;
    p->requant = q;
    if (q) {
        int st = g->values[n->in[1]].dtype;
        for (int k = 4; k <= 6; k += 2)
            if (g->values[n->in[k]].dtype != st)
                return oc_fail(d, "scales of different types (%s, %s)", oc_dtype_name(st),
                               oc_dtype_name(g->values[n->in[k]].dtype));
        if (!is_scale_type(st))
            return oc_fail(d, "scales are %s; expected a float type", oc_dtype_name(st));
        if (!is_qmm_input(Y->dtype))
            return oc_fail(d, "output is %s; expected int8 or uint8", oc_dtype_name(Y->dtype));
        int one;
        p->scale_dtype = st;
        if (qmm_vector(g, n, 1, p->m, "a_scale", &p->a_scale_rows, d) ||
            qmm_vector(g, n, 2, p->m, "a_zero_point", &p->a_zp_rows, d) ||
            qmm_vector(g, n, 4, p->n, "b_scale", &p->b_scale_cols, d) ||
            qmm_vector(g, n, 5, p->n, "b_zero_point", &p->b_zp_cols, d) || qmm_vector(g, n, 6, 1, "y_scale", &one, d) ||
            qmm_vector(g, n, 7, 1, "y_zero_point", &one, d))
            return -1;
        if (n->n_in > 7 && n->in[7] >= 0 && g->values[n->in[7]].dtype != Y->dtype)
            return oc_fail(d, "y_zero_point is %s but the output is %s", oc_dtype_name(g->values[n->in[7]].dtype),
                           oc_dtype_name(Y->dtype));
    } else {
        if (qmm_vector(g, n, 2, p->m, "a_zero_point", &p->a_zp_rows, d) ||
            qmm_vector(g, n, 3, p->n, "b_zero_point", &p->b_zp_cols, d))
            return -1;
    }
    /* zero points have their input's type: (zero point, input) pairs */
    static const int pairs[2][2][2] = {{{2, 0}, {3, 1}}, {{2, 0}, {5, 3}}};
    for (int i = 0; i < 2; i++) {
        int k = pairs[q][i][0], of = pairs[q][i][1];
        if (k >= n->n_in || n->in[k] < 0)
            continue;
        if (g->values[n->in[k]].dtype != g->values[n->in[of]].dtype)
            return oc_fail(d, "zero point '%s' is %s but its input is %s", g->values[n->in[k]].name,
                           oc_dtype_name(g->values[n->in[k]].dtype), oc_dtype_name(g->values[n->in[of]].dtype));
    }
    lw->fn = oc_qmatmul_forward;
    lw->flops = 2 * p->m * p->n * p->k;
    return 0;
}

/* ---------------------------------------------------------------- ConvInteger, QLinearConv */

static int infer_qconv(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    int q = is_qlinear(n);
    if (q && qlinear_inputs_present(cx))
        return -1;
    oc_value *x = oc_infer_in_ranked(cx, 0), *w = oc_infer_in_ranked(cx, q ? 3 : 1);
    if (!x || !w)
        return -1;
    char a[256], b[256];
    if (x->rank < 3 || w->rank != x->rank || x->rank - 2 > OC_QCONV_MAX_SPATIAL)
        return oc_infer_fail(cx, "expected X of rank 3 to %d and W of the same rank, got X %s and W %s",
                             OC_QCONV_MAX_SPATIAL + 2, oc_format_dims(a, sizeof a, x->dims, x->rank),
                             oc_format_dims(b, sizeof b, w->dims, w->rank));
    int nsp = x->rank - 2;
    int64_t group = oc_attr_int(n, "group", 1);
    if (group < 1 || (w->dims[0] >= 0 && w->dims[0] % group) ||
        (x->dims[1] >= 0 && w->dims[1] >= 0 && x->dims[1] != w->dims[1] * group))
        return oc_infer_fail(cx, "input %s, weight %s and group %lld do not agree",
                             oc_format_dims(a, sizeof a, x->dims, x->rank), oc_format_dims(b, sizeof b, w->dims, w->rank),
                             (long long)group);
    int64_t k[OC_MAX_SPATIAL];
    const int64_t *ks;
    int nk = oc_attr_ints(n, "kernel_shape", &ks);
    if (nk >= 0 && nk != nsp)
        return oc_infer_fail(cx, "'kernel_shape' has %d entries for %d spatial dims", nk, nsp);
    for (int i = 0; i < nsp; i++) {
        k[i] = w->dims[2 + i];
        if ((nk >= 0 && ks[i] != k[i]) || k[i] < 0)
            return oc_infer_fail(cx, "kernel_shape does not match weight %s", oc_format_dims(b, sizeof b, w->dims, w->rank));
    }
    oc_window win;
    if (oc_window_resolve(n, nsp, x->dims + 2, k, 0, &win, cx->d))
        return -1;
    int64_t dims[OC_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = w->dims[0];
    memcpy(dims + 2, win.out, sizeof(int64_t) * (size_t)nsp);
    oc_value *yzp = q ? oc_infer_in(cx, 7) : NULL;
    return oc_infer_set_out(cx, 0, q ? (yzp ? yzp->dtype : x->dtype) : OC_INT32, x->rank, dims);
}

static int lower_qconv(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    int q = is_qlinear(n);
    const oc_value *x = &g->values[n->in[0]], *w = &g->values[n->in[q ? 3 : 1]], *y = &g->values[n->out[0]];
    if (!is_qmm_input(x->dtype) || !is_qmm_input(w->dtype))
        return oc_fail(d, "inputs are %s and %s; expected int8 or uint8", oc_dtype_name(x->dtype), oc_dtype_name(w->dtype));
    oc_qconv_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->nsp = x->rank - 2;
    p->batch = x->dims[0], p->cin = x->dims[1], p->cout = w->dims[0];
    p->group = oc_attr_int(n, "group", 1);
    for (int i = 0; i < p->nsp; i++)
        p->in[i] = x->dims[2 + i], p->k[i] = w->dims[2 + i];
    oc_window win;
    if (oc_window_resolve(n, p->nsp, p->in, p->k, 0, &win, d))
        return -1;
    for (int i = 0; i < p->nsp; i++)
        p->out[i] = win.out[i], p->s[i] = win.s[i], p->dil[i] = win.dil[i], p->pb[i] = win.pb[i];
    p->x_dtype = x->dtype, p->w_dtype = w->dtype, p->y_dtype = y->dtype;
    p->requant = q;
    int xzp = 2, wzp = q ? 5 : 3, one;
    if (qmm_vector(g, n, xzp, 1, "x_zero_point", &one, d) ||
        qmm_vector(g, n, wzp, p->cout, "w_zero_point", &p->w_zp_per_channel, d))
        return -1;
    if (q) {
        int st = g->values[n->in[1]].dtype;
        if (!is_scale_type(st) || g->values[n->in[4]].dtype != st || g->values[n->in[6]].dtype != st)
            return oc_fail(d, "scales must share one float type");
        if (!is_qmm_input(y->dtype))
            return oc_fail(d, "output is %s; expected int8 or uint8", oc_dtype_name(y->dtype));
        p->scale_dtype = st;
        if (qmm_vector(g, n, 1, 1, "x_scale", &one, d) ||
            qmm_vector(g, n, 4, p->cout, "w_scale", &p->w_scale_per_channel, d) ||
            qmm_vector(g, n, 6, 1, "y_scale", &one, d) || qmm_vector(g, n, 7, 1, "y_zero_point", &one, d))
            return -1;
        if (n->n_in > 8 && n->in[8] >= 0) {
            const oc_value *bias = &g->values[n->in[8]];
            if (bias->dtype != OC_INT32 || oc_value_numel(bias) != p->cout)
                return oc_fail(d, "bias must be int32 with %lld values", (long long)p->cout);
            p->has_bias = 1;
        }
    }
    lw->fn = oc_qconv_forward;
    lw->flops = 2 * oc_value_numel(y) * (p->cin / p->group) * prod(p->k, 0, p->nsp);
    return 0;
}

const oc_op oc_ops_quant[] = {
    {"QuantizeLinear", 2, 3, 1, 1, infer_quantize, NULL, 0, (1u << 1) | (1u << 2), lower_quantize},
    {"DequantizeLinear", 2, 3, 1, 1, infer_dequantize, NULL, 0, (1u << 1) | (1u << 2), lower_dequantize},
    {"DynamicQuantizeLinear", 1, 1, 1, 3, infer_dynamic_quantize, NULL, 0, 0, lower_dynamic_quantize},
    {"MatMulInteger", 2, 4, 1, 1, infer_qmatmul, NULL, 0, (1u << 2) | (1u << 3), lower_qmatmul},
    {"QLinearMatMul", 8, 8, 1, 1, infer_qmatmul, NULL, 0, 0xf6u, lower_qmatmul},
    {"ConvInteger", 2, 4, 1, 1, infer_qconv, NULL, 0, (1u << 2) | (1u << 3), lower_qconv},
    {"QLinearConv", 8, 9, 1, 1, infer_qconv, NULL, 0, 0xf6u, lower_qconv},
    {0},
};
