/* indexing.c: ops that read or write a tensor through index tensors or
 * masks: GatherElements, GatherND, Scatter, ScatterElements, ScatterND,
 * OneHot, Compress, NonZero, and the diagonal generators Trilu and EyeLike.
 * Shape rules only. Where the output extent depends on data (NonZero,
 * Compress, OneHot's depth), it is computed from known constant data and
 * left unknown otherwise. */
#include "op.h"

#include <string.h>

#include "../../runtime/kernels/indexing.h"

static int is_index_type(int dtype) { return dtype == OC_INT64 || dtype == OC_INT32 || dtype == OC_UNDEFINED; }

/* GatherElements (opset 11+): output has the shape of indices, the type of
 * data; both must have the same rank. */
static int infer_gather_elements(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0), *idx = oc_infer_in_ranked(cx, 1);
    if (!x || !idx)
        return -1;
    if (idx->rank != x->rank)
        return oc_infer_fail(cx, "indices have rank %d but data rank %d; they must match", idx->rank, x->rank);
    if (!is_index_type(idx->dtype))
        return oc_infer_fail(cx, "indices must be int32 or int64, got %s", oc_dtype_name(idx->dtype));
    int axis;
    if (oc_infer_axis(cx, oc_attr_int(n, "axis", 0), x->rank, &axis))
        return -1;
    return oc_infer_set_out(cx, 0, x->dtype, idx->rank, idx->dims);
}

/* GatherND (opset 11, batch_dims from 12): with data rank r, indices rank q,
 * m = indices.shape[-1] and b = batch_dims, the output is
 * indices.shape[:-1] + data.shape[b + m:], of rank q + r - m - 1 - b. */
static int infer_gather_nd(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0), *idx = oc_infer_in_ranked(cx, 1);
    if (!x || !idx)
        return -1;
    int64_t b = oc_attr_int(oc_infer_node(cx), "batch_dims", 0);
    int r = x->rank, q = idx->rank;
    if (r < 1 || q < 1)
        return oc_infer_fail(cx, "data and indices must have rank >= 1, got %d and %d", r, q);
    if (b < 0 || b >= (r < q ? r : q))
        return oc_infer_fail(cx, "batch_dims %lld must be in [0, min(rank(data), rank(indices)) = %d)",
                             (long long)b, r < q ? r : q);
    if (!is_index_type(idx->dtype))
        return oc_infer_fail(cx, "indices must be int64, got %s", oc_dtype_name(idx->dtype));
    for (int i = 0; i < b; i++)
        if (x->dims[i] >= 0 && idx->dims[i] >= 0 && x->dims[i] != idx->dims[i])
            return oc_infer_fail(cx, "batch dim %d differs: data %lld, indices %lld", i, (long long)x->dims[i],
                                 (long long)idx->dims[i]);
    int64_t m = idx->dims[q - 1];
    if (m < 0)
        return oc_infer_set_out(cx, 0, x->dtype, -1, NULL); /* the rank depends on it */
    if (m < 1 || m > r - b)
        return oc_infer_fail(cx, "indices.shape[-1] = %lld must be in [1, %lld]", (long long)m, (long long)(r - b));
    int64_t dims[OC_MAX_RANK];
    int k = 0;
    for (int i = 0; i < q - 1; i++)
        dims[k++] = idx->dims[i];
    for (int i = (int)(b + m); i < r; i++)
        dims[k++] = x->dims[i];
    return oc_infer_set_out(cx, 0, x->dtype, k, dims);
}

/* Scatter (opset 9, deprecated in 11) and ScatterElements: data, indices
 * and updates; indices and updates have one shape and data's rank. */
static int infer_scatter_elements(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0), *idx = oc_infer_in_ranked(cx, 1), *u = oc_infer_in_ranked(cx, 2);
    if (!x || !idx || !u)
        return -1;
    char a[256], b[256];
    if (idx->rank != x->rank || u->rank != x->rank)
        return oc_infer_fail(cx, "data, indices and updates must have one rank, got %d, %d and %d", x->rank,
                             idx->rank, u->rank);
    for (int i = 0; i < idx->rank; i++)
        if (idx->dims[i] >= 0 && u->dims[i] >= 0 && idx->dims[i] != u->dims[i])
            return oc_infer_fail(cx, "indices %s and updates %s must have the same shape",
                                 oc_format_dims(a, sizeof a, idx->dims, idx->rank),
                                 oc_format_dims(b, sizeof b, u->dims, u->rank));
    if (x->dtype && u->dtype && x->dtype != u->dtype)
        return oc_infer_fail(cx, "updates are %s but data is %s", oc_dtype_name(u->dtype), oc_dtype_name(x->dtype));
    int axis;
    if (oc_infer_axis(cx, oc_attr_int(n, "axis", 0), x->rank, &axis))
        return -1;
    return oc_infer_same_as(cx, 0, 0);
}

/* ScatterND: updates has shape indices.shape[:-1] + data.shape[m:]. */
static int infer_scatter_nd(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0), *idx = oc_infer_in_ranked(cx, 1), *u = oc_infer_in_ranked(cx, 2);
    if (!x || !idx || !u)
        return -1;
    int r = x->rank, q = idx->rank;
    if (r < 1 || q < 1)
        return oc_infer_fail(cx, "data and indices must have rank >= 1, got %d and %d", r, q);
    /* the kernel reads updates with data's element type (found by fuzz_run) */
    if (x->dtype && u->dtype && x->dtype != u->dtype)
        return oc_infer_fail(cx, "updates are %s but data is %s", oc_dtype_name(u->dtype), oc_dtype_name(x->dtype));
    int64_t m = idx->dims[q - 1];
    if (m >= 0) {
        if (m < 1 || m > r)
            return oc_infer_fail(cx, "indices.shape[-1] = %lld must be in [1, %d]", (long long)m, r);
        int ur = q - 1 + r - (int)m;
        char a[256];
        if (u->rank != ur)
            return oc_infer_fail(cx, "updates %s must have rank %d (q - 1 + r - indices.shape[-1])",
                                 oc_format_dims(a, sizeof a, u->dims, u->rank), ur);
        for (int i = 0; i < ur; i++) {
            int64_t want = i < q - 1 ? idx->dims[i] : x->dims[m + i - (q - 1)];
            if (want >= 0 && u->dims[i] >= 0 && want != u->dims[i])
                return oc_infer_fail(cx, "updates dim %d is %lld, expected %lld", i, (long long)u->dims[i],
                                     (long long)want);
        }
    }
    return oc_infer_same_as(cx, 0, 0);
}

/* OneHot (opset 9, 11): indices, depth (one-element), values [off, on].
 * A new axis of length depth is inserted at `axis` in [-r-1, r]. */
static int infer_one_hot(oc_infer *cx)
{
    oc_value *idx = oc_infer_in_ranked(cx, 0), *depth = oc_infer_in(cx, 1), *vals = oc_infer_in(cx, 2);
    if (!idx)
        return -1;
    if (!depth || !vals)
        return oc_infer_fail(cx, "needs indices, depth and values");
    if (vals->rank >= 0 && (vals->rank != 1 || (vals->dims[0] >= 0 && vals->dims[0] != 2)))
        return oc_infer_fail(cx, "'values' must be a 2-element vector [off_value, on_value]");
    int r = idx->rank + 1;
    if (r > OC_MAX_RANK)
        return oc_infer_fail(cx, "output rank %d exceeds %d", r, OC_MAX_RANK);
    int axis;
    if (oc_infer_axis(cx, oc_attr_int(oc_infer_node(cx), "axis", -1), r, &axis))
        return -1;
    int64_t d = -1;
    if (depth->constant) {
        if (depth->constant->numel != 1)
            return oc_infer_fail(cx, "'depth' must hold one value, got %lld", (long long)depth->constant->numel);
        /* a float depth is truncated toward zero (spec: cast to int64) */
        double dv = oc_const_f64(depth->constant, 0);
        if (!(dv >= 1 && dv < 4.0e18))
            return oc_infer_fail(cx, "'depth' is %g; it must be a positive count", dv);
        d = (int64_t)dv;
    }
    int64_t dims[OC_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++)
        dims[i] = i == axis ? d : idx->dims[j++];
    return oc_infer_set_out(cx, 0, vals->dtype, r, dims);
}

/* Number of true elements of a known bool/numeric mask, -1 when unknown. */
static int64_t count_true(const oc_value *v)
{
    if (!v->constant)
        return -1;
    int64_t c = 0;
    for (int64_t i = 0; i < v->constant->numel; i++)
        c += oc_const_f64(v->constant, i) != 0;
    return c;
}

/* Compress (opset 9, 11): a 1-D bool condition selects slices along
 * `axis`, or elements of the flattened input when axis is absent. A
 * condition shorter than the axis selects only within its length. */
static int infer_compress(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0), *c = oc_infer_in_ranked(cx, 1);
    if (!x || !c)
        return -1;
    if (c->rank != 1)
        return oc_infer_fail(cx, "condition must be 1-D, got rank %d", c->rank);
    int64_t cnt = count_true(c);
    if (!oc_node_attr(n, "axis"))
        return oc_infer_set_out(cx, 0, x->dtype, 1, &cnt);
    int axis;
    if (oc_infer_axis(cx, oc_attr_int(n, "axis", 0), x->rank, &axis))
        return -1;
    if (c->dims[0] >= 0 && x->dims[axis] >= 0 && c->dims[0] > x->dims[axis])
        return oc_infer_fail(cx, "condition has %lld entries for an axis of length %lld", (long long)c->dims[0],
                             (long long)x->dims[axis]);
    int64_t dims[OC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = cnt;
    return oc_infer_set_out(cx, 0, x->dtype, x->rank, dims);
}

/* NonZero (opset 9, 13): int64 [rank(X), count]; the count is known only
 * for constant X. */
static int infer_nonzero(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int64_t dims[2] = {x->rank, count_true(x)};
    return oc_infer_set_out(cx, 0, OC_INT64, 2, dims);
}

/* Trilu (opset 14): same shape as input, rank >= 2; k is a scalar input. */
static int infer_trilu(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0), *k = oc_infer_in(cx, 1);
    if (!x)
        return -1;
    if (x->rank < 2)
        return oc_infer_fail(cx, "input must have rank >= 2, got %d", x->rank);
    if (k && k->rank > 0 && oc_value_numel(k) > 1)
        return oc_infer_fail(cx, "'k' must be a scalar");
    return oc_infer_same_as(cx, 0, 0);
}

/* EyeLike (opset 9, 22): a 2-D output of the input's shape; the type is
 * the 'dtype' attribute, else the input's. */
static int infer_eye_like(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    if (x->rank != 2)
        return oc_infer_fail(cx, "input must be 2-D, got rank %d", x->rank);
    int64_t dt = oc_attr_int(oc_infer_node(cx), "dtype", x->dtype);
    if (dt <= 0 || dt >= OC_DTYPE_LIMIT)
        return oc_infer_fail(cx, "'dtype' = %lld is not an ONNX element type", (long long)dt);
    return oc_infer_set_out(cx, 0, (int)dt, 2, x->dims);
}

/* ---- lowering (kernels in runtime/kernels/indexing.c) ---- */

static int lower_es(const oc_value *v, oc_diag *d, int *es)
{
    size_t s = oc_dtype_size(v->dtype);
    /* strings move as 16-byte oc_str pairs; the planner lets them reach
     * only the ops that move elements (compiler/planner.c) */
    if (!(s == 1 || s == 2 || s == 4 || s == 8 || (s == 16 && v->dtype == OC_STRING)))
        return oc_fail(d, "element type %s of '%s' is not supported", oc_dtype_name(v->dtype), v->name);
    *es = (int)s;
    return 0;
}

/* Common parameter block: data element size and type, axis (attribute
 * `axis` with default dflt, normalized against rank). */
static oc_index_params *index_params(const oc_graph *g, const oc_node *n, const oc_value *data, int rank,
                                     int64_t dflt, oc_lowered *lw, oc_diag *d)
{
    oc_index_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || lower_es(data, d, &p->es))
        return NULL;
    (void)g;
    p->dtype = data->dtype;
    int64_t a = oc_attr_int(n, "axis", dflt);
    if (rank > 0 && (a < -rank || a >= rank)) {
        oc_fail(d, "axis %lld is outside [-%d, %d)", (long long)a, rank, rank);
        return NULL;
    }
    p->axis = (int)(a < 0 ? a + rank : a);
    return p;
}

static int check_indices(const oc_graph *g, const oc_node *n, int k, oc_diag *d)
{
    int t = g->values[n->in[k]].dtype;
    if (t != OC_INT32 && t != OC_INT64)
        return oc_fail(d, "indices must be int32 or int64, got %s", oc_dtype_name(t));
    return 0;
}

static int lower_gather_elements(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    if (check_indices(g, n, 1, d) || !index_params(g, n, x, x->rank, 0, lw, d))
        return -1;
    lw->fn = oc_gather_elements_forward;
    return 0;
}

static int lower_gather_nd(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_index_params *p;
    if (check_indices(g, n, 1, d) || !(p = index_params(g, n, x, 0, 0, lw, d)))
        return -1;
    p->batch_dims = (int)oc_attr_int(n, "batch_dims", 0);
    lw->fn = oc_gather_nd_forward;
    return 0;
}

static int reduction_of(const oc_node *n, int *red, oc_diag *d)
{
    const char *r = oc_attr_string(n, "reduction", "none");
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    static const int codes[] = {OC_SCATTER_NONE, OC_SCATTER_ADD, OC_SCATTER_MUL, OC_SCATTER_MAX, OC_SCATTER_MIN};
    for (int i = 0; i < 5; i++)
        if (!strcmp(r, names[i])) {
            *red = codes[i];
            return 0;
        }
    return oc_fail(d, "unknown reduction '%s'", r);
}

static int lower_scatter_elements(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_index_params *p;
    if (check_indices(g, n, 1, d) || !(p = index_params(g, n, x, x->rank, 0, lw, d)))
        return -1;
    if (reduction_of(n, &p->reduction, d))
        return -1;
    lw->fn = oc_scatter_elements_forward;
    return 0;
}

static int lower_scatter_nd(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_index_params *p;
    if (check_indices(g, n, 1, d) || !(p = index_params(g, n, x, 0, 0, lw, d)))
        return -1;
    if (reduction_of(n, &p->reduction, d))
        return -1;
    lw->fn = oc_scatter_nd_forward;
    return 0;
}

/* OneHot: axis counts in the output's rank; the element type is the
 * values' (any dense type), indices may be of any numeric type. */
static int lower_one_hot(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *y = &g->values[n->out[0]];
    if (!oc_dtype_size(g->values[n->in[0]].dtype))
        return oc_fail(d, "indices of type %s are not supported", oc_dtype_name(g->values[n->in[0]].dtype));
    if (!index_params(g, n, y, y->rank, -1, lw, d))
        return -1;
    lw->fn = oc_one_hot_forward;
    return 0;
}

static int lower_trilu(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_index_params *p;
    if (!(p = index_params(g, n, x, 0, 0, lw, d)))
        return -1;
    p->upper = (int)oc_attr_int(n, "upper", 1);
    lw->fn = oc_trilu_forward;
    return 0;
}

/* NonZero and Compress produce as many elements as the data selects; the
 * plan needs that count (known constant input, or a declared output
 * shape) and the kernels check it. */
static int lower_nonzero(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (!oc_dtype_size(g->values[n->in[0]].dtype))
        return oc_fail(d, "element type %s is not supported", oc_dtype_name(g->values[n->in[0]].dtype));
    lw->fn = oc_nonzero_forward;
    return 0;
}

static int lower_compress(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_index_params *p;
    if (!oc_dtype_size(g->values[n->in[1]].dtype))
        return oc_fail(d, "condition of type %s is not supported", oc_dtype_name(g->values[n->in[1]].dtype));
    if (!(p = index_params(g, n, x, x->rank, 0, lw, d)))
        return -1;
    p->has_axis = oc_node_attr(n, "axis") != NULL;
    lw->fn = oc_compress_forward;
    return 0;
}

static int lower_eye_like(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *y = &g->values[n->out[0]];
    int es;
    if (lower_es(y, d, &es))
        return -1;
    oc_eye_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->k = oc_attr_int(n, "k", 0);
    lw->fn = oc_eye_like_forward;
    return 0;
}

/* TopK and CumSum have their rows (and shape rules) in reduce.c; these
 * lower functions are exported for them. TopK: k is fixed by the plan
 * (output extent along axis) and checked against input 1 at run time. */
int oc_lower_topk(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d);
int oc_lower_topk(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_index_params *p;
    if (!(p = index_params(g, n, x, x->rank, -1, lw, d)))
        return -1;
    if (x->dtype == OC_BOOL)
        return oc_fail(d, "TopK over bool is not supported");
    p->largest = (int)oc_attr_int(n, "largest", 1);
    p->sorted = (int)oc_attr_int(n, "sorted", 1);
    lw->scratch = oc_topk_scratch(x->rank ? x->dims[p->axis] : 1);
    lw->fn = oc_topk_forward;
    return 0;
}

/* CumSum: the axis is input 1, read at run time (constant or not). */
int oc_lower_cumsum(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d);
int oc_lower_cumsum(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_index_params *p;
    if (!(p = index_params(g, n, x, 0, 0, lw, d)))
        return -1;
    if (x->dtype == OC_BOOL)
        return oc_fail(d, "CumSum over bool is not supported");
    if (n->n_in < 2 || n->in[1] < 0)
        return oc_fail(d, "needs the axis input");
    p->exclusive = (int)oc_attr_int(n, "exclusive", 0);
    p->reverse = (int)oc_attr_int(n, "reverse", 0);
    lw->fn = oc_cumsum_forward;
    return 0;
}

const oc_op oc_ops_indexing[] = {
    {"GatherElements", 2, 2, 1, 1, infer_gather_elements, NULL, 0, 0, lower_gather_elements},
    {"GatherND", 2, 2, 1, 1, infer_gather_nd, NULL, 0, 0, lower_gather_nd},
    {"Scatter", 3, 3, 1, 1, infer_scatter_elements, NULL, 0, 0, lower_scatter_elements},
    {"ScatterElements", 3, 3, 1, 1, infer_scatter_elements, NULL, 0, 0, lower_scatter_elements},
    {"ScatterND", 3, 3, 1, 1, infer_scatter_nd, NULL, 0, 0, lower_scatter_nd},
    {"OneHot", 3, 3, 1, 1, infer_one_hot, NULL, 0, (1u << 1) | (1u << 2), lower_one_hot},
    {"Compress", 2, 2, 1, 1, infer_compress, NULL, 0, 1u << 1, lower_compress},
    {"NonZero", 1, 1, 1, 1, infer_nonzero, NULL, 0, 0, lower_nonzero},
    {"Trilu", 1, 2, 1, 1, infer_trilu, NULL, 0, 1u << 1, lower_trilu},
    {"EyeLike", 1, 1, 1, 1, infer_eye_like, NULL, 0, 0, lower_eye_like},
    {0},
};
