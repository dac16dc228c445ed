/* misc.c: ops that fit no other family: NonMaxSuppression (opset 10, 11),
 * Det (11, 22), ReverseSequence (10), TensorScatter (24), Unique (11),
 * TfIdfVectorizer (9), ImageDecoder (20), and the lowering of CumProd
 * (26; its row and shape rule are in reduce.c beside CumSum). Shape rules
 * and lowering; the kernels are runtime/kernels/misc.c.
 *
 * NonMaxSuppression, Unique and ImageDecoder have data-dependent output
 * extents: as for NonZero (indexing.c) the shape rules leave them unknown,
 * the model's declared output shape fixes them for the plan, and the
 * kernels check the data against it. A model that declares no such shape
 * cannot be planned (the planner reports the value with unknown shape). */
#include "op.h"

#include <string.h>

#include "../../runtime/kernels/misc.h"

static int is_real_type(int dt) { return dt == OC_FLOAT || dt == OC_DOUBLE || dt == OC_FLOAT16 || dt == OC_BFLOAT16; }

/* ---- NonMaxSuppression ---- */

static int infer_nms(oc_infer *cx)
{
    oc_value *b = oc_infer_in_ranked(cx, 0), *s = oc_infer_in_ranked(cx, 1);
    if (!b || !s)
        return -1;
    if (b->rank != 3 || (b->dims[2] >= 0 && b->dims[2] != 4) || s->rank != 3)
        return oc_infer_fail(cx, "expects boxes [B, N, 4] and scores [B, C, N]");
    if ((b->dtype && b->dtype != OC_FLOAT) || (s->dtype && s->dtype != OC_FLOAT))
        return oc_infer_fail(cx, "boxes and scores must be float");
    if ((b->dims[0] >= 0 && s->dims[0] >= 0 && b->dims[0] != s->dims[0]) ||
        (b->dims[1] >= 0 && s->dims[2] >= 0 && b->dims[1] != s->dims[2]))
        return oc_infer_fail(cx, "boxes [B, N, 4] and scores [B, C, N] disagree");
    int64_t dims[2] = {-1, 3};
    return oc_infer_set_out(cx, 0, OC_INT64, 2, dims);
}

static int lower_nms(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *b = &g->values[n->in[0]];
    oc_nms_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->center_point_box = oc_attr_int(n, "center_point_box", 0) != 0;
    p->boxes = b->dims[1];
    for (int k = 2; k < n->n_in; k++) {
        const oc_value *v = n->in[k] >= 0 ? &g->values[n->in[k]] : NULL;
        if (v && oc_value_numel(v) > 1)
            return oc_fail(d, "input %d must hold at most one value", k);
        if (v && k == 2 && v->dtype != OC_INT64)
            return oc_fail(d, "max_output_boxes_per_class must be int64");
        if (v && k > 2 && v->dtype != OC_FLOAT)
            return oc_fail(d, "thresholds must be float");
    }
    lw->scratch = oc_nms_scratch(p->boxes);
    lw->fn = oc_nms_forward;
    return 0;
}

/* ---- CumProd (row in reduce.c) ---- */

int oc_lower_cumprod(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d);
int oc_lower_cumprod(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    int dt = g->values[n->in[0]].dtype;
    if (dt == OC_BOOL || !oc_dtype_size(dt))
        return oc_fail(d, "CumProd over %s is not supported", oc_dtype_name(dt));
    oc_cumprod_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->exclusive = oc_attr_int(n, "exclusive", 0) != 0;
    p->reverse = oc_attr_int(n, "reverse", 0) != 0;
    lw->fn = oc_cumprod_forward;
    return 0;
}

/* ---- Det ---- */

static int infer_det(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    int r = x->rank;
    if (r < 2 || (x->dims[r - 1] >= 0 && x->dims[r - 2] >= 0 && x->dims[r - 1] != x->dims[r - 2]))
        return oc_infer_fail(cx, "input must be [..., M, M]");
    if (x->dtype && !is_real_type(x->dtype))
        return oc_infer_fail(cx, "type %s is not supported (float types only)", oc_dtype_name(x->dtype));
    if (x->dims[r - 1] > 4096)
        return oc_infer_fail(cx, "matrices of %lld x %lld are beyond the 4096 x 4096 supported",
                             (long long)x->dims[r - 1], (long long)x->dims[r - 1]);
    return oc_infer_set_out(cx, 0, x->dtype, r - 2, x->dims);
}

static int lower_det(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)d;
    const oc_value *x = &g->values[n->in[0]];
    lw->scratch = oc_det_scratch(x->dims[x->rank - 1]);
    lw->fn = oc_det_forward;
    return 0;
}

/* ---- ReverseSequence ---- */

static int seq_axes(const oc_node *n, int *batch, int *time, oc_diag *d)
{
    int64_t b = oc_attr_int(n, "batch_axis", 1), t = oc_attr_int(n, "time_axis", 0);
    if (!((b == 0 && t == 1) || (b == 1 && t == 0)))
        return oc_fail(d, "batch_axis and time_axis must be 0 and 1 (either way), got %lld and %lld", (long long)b,
                       (long long)t);
    *batch = (int)b;
    *time = (int)t;
    return 0;
}

static int infer_reverse_sequence(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0), *sl = oc_infer_in_ranked(cx, 1);
    int b = 0, t = 0;
    if (!x || !sl)
        return -1;
    if (seq_axes(oc_infer_node(cx), &b, &t, cx->d)) {
        char lb[300];
        oc_diag_prefix(cx->d, "%s: ", oc_node_label(oc_infer_node(cx), lb, sizeof lb));
        return -1;
    }
    if (x->rank < 2 || sl->rank != 1)
        return oc_infer_fail(cx, "expects input of rank >= 2 and 1-D sequence_lens");
    if (x->dims[b] >= 0 && sl->dims[0] >= 0 && x->dims[b] != sl->dims[0])
        return oc_infer_fail(cx, "sequence_lens has %lld entries for a batch of %lld", (long long)sl->dims[0],
                             (long long)x->dims[b]);
    return oc_infer_same_as(cx, 0, 0);
}

static int lower_reverse_sequence(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_reverse_seq_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || seq_axes(n, &p->batch_axis, &p->time_axis, d))
        return -1;
    if (!(p->es = (int)oc_dtype_size(x->dtype)))
        return oc_fail(d, "element type %s is not supported", oc_dtype_name(x->dtype));
    lw->fn = oc_reverse_sequence_forward;
    return 0;
}

/* ---- TensorScatter ---- */

static int scatter_axis(const oc_node *n, int rank, int *ax, oc_diag *d)
{
    int64_t a = oc_attr_int(n, "axis", -2);
    if (a < -rank || a >= rank)
        return oc_fail(d, "axis %lld is outside [-%d, %d)", (long long)a, rank, rank);
    *ax = (int)(a < 0 ? a + rank : a);
    if (*ax == 0)
        return oc_fail(d, "axis must not be the batch dim 0");
    return 0;
}

static int infer_tensor_scatter(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *pc = oc_infer_in_ranked(cx, 0), *up = oc_infer_in_ranked(cx, 1), *wi = oc_infer_in(cx, 2);
    if (!pc || !up)
        return -1;
    int ax = 0;
    if (pc->rank < 2 || up->rank != pc->rank)
        return oc_infer_fail(cx, "past_cache and update must have the same rank >= 2");
    if (scatter_axis(n, pc->rank, &ax, cx->d)) {
        char lb[300];
        oc_diag_prefix(cx->d, "%s: ", oc_node_label(n, lb, sizeof lb));
        return -1;
    }
    for (int i = 0; i < pc->rank; i++)
        if (pc->dims[i] >= 0 && up->dims[i] >= 0 && (i == ax ? up->dims[i] > pc->dims[i] : up->dims[i] != pc->dims[i]))
            return oc_infer_fail(cx, "update does not fit past_cache in dim %d", i);
    if (pc->dtype && up->dtype && pc->dtype != up->dtype)
        return oc_infer_fail(cx, "update type %s differs from past_cache %s", oc_dtype_name(up->dtype),
                             oc_dtype_name(pc->dtype));
    if (wi && wi->rank >= 0 && wi->rank != 1)
        return oc_infer_fail(cx, "write_indices must be 1-D");
    const char *m = oc_attr_string(n, "mode", "linear");
    if (strcmp(m, "linear") && strcmp(m, "circular"))
        return oc_infer_fail(cx, "unknown mode '%s'", m);
    return oc_infer_same_as(cx, 0, 0);
}

static int lower_tensor_scatter(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_tensor_scatter_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || scatter_axis(n, x->rank, &p->axis, d))
        return -1;
    p->circular = strcmp(oc_attr_string(n, "mode", "linear"), "circular") == 0;
    if (!(p->es = (int)oc_dtype_size(x->dtype)))
        return oc_fail(d, "element type %s is not supported", oc_dtype_name(x->dtype));
    lw->fn = oc_tensor_scatter_forward;
    return 0;
}

/* ---- Unique ---- */

static int infer_unique(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    if (x->dtype == OC_STRING)
        return oc_infer_fail(cx, "string tensors are not supported");
    int64_t dims[OC_MAX_RANK], cnt = -1, slices;
    int rank;
    if (oc_node_attr(n, "axis")) {
        int ax;
        if (oc_infer_axis(cx, oc_attr_int(n, "axis", 0), x->rank, &ax))
            return -1;
        memcpy(dims, x->dims, sizeof dims);
        dims[ax] = -1;
        rank = x->rank;
        slices = x->dims[ax];
    } else {
        dims[0] = -1;
        rank = 1;
        slices = oc_value_numel(x);
    }
    if (oc_infer_set_out(cx, 0, x->dtype, rank, dims) || oc_infer_set_out(cx, 1, OC_INT64, 1, &cnt) ||
        oc_infer_set_out(cx, 2, OC_INT64, 1, &slices))
        return -1;
    return oc_infer_set_out(cx, 3, OC_INT64, 1, &cnt);
}

static int lower_unique(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]];
    oc_unique_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    if (!(p->es = (int)oc_dtype_size(x->dtype)))
        return oc_fail(d, "element type %s is not supported", oc_dtype_name(x->dtype));
    p->has_axis = oc_node_attr(n, "axis") != NULL;
    if (p->has_axis) {
        int64_t ax = oc_attr_int(n, "axis", 0);
        p->axis = (int)(ax < 0 ? ax + x->rank : ax);
        p->n = x->dims[p->axis];
    } else
        p->n = oc_value_numel(x);
    p->sorted = oc_attr_int(n, "sorted", 1) != 0;
    if (p->n < 0 || p->n > ((int64_t)1 << 40))
        return oc_fail(d, "too many elements");
    lw->scratch = oc_unique_scratch(p->n);
    lw->fn = oc_unique_forward;
    return 0;
}

/* ---- TfIdfVectorizer ---- */

/* Output width: max(ngram_indexes) + 1, or -1 with an error. */
static int64_t tfidf_out_size(const oc_node *n, oc_diag *d)
{
    const int64_t *idx;
    int ni = oc_attr_ints(n, "ngram_indexes", &idx);
    if (ni < 1)
        return oc_fail(d, "needs 'ngram_indexes'"), -1;
    int64_t m = -1;
    for (int i = 0; i < ni; i++) {
        if (idx[i] < 0 || idx[i] > (1 << 24))
            return oc_fail(d, "ngram_indexes entry %lld is outside [0, 2^24]", (long long)idx[i]), -1;
        m = idx[i] > m ? idx[i] : m;
    }
    return m + 1;
}

static int infer_tfidf(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    if (x->dtype == OC_STRING || oc_node_attr(n, "pool_strings"))
        return oc_infer_fail(cx, "string inputs are not supported (onnxc has no string tensors)");
    if (x->dtype && x->dtype != OC_INT32 && x->dtype != OC_INT64)
        return oc_infer_fail(cx, "input must be int32 or int64, got %s", oc_dtype_name(x->dtype));
    if (x->rank != 1 && x->rank != 2)
        return oc_infer_fail(cx, "input must be [C] or [B, C]");
    int64_t out = tfidf_out_size(n, cx->d);
    if (out < 0) {
        char lb[300];
        oc_diag_prefix(cx->d, "%s: ", oc_node_label(n, lb, sizeof lb));
        return -1;
    }
    int64_t dims[2] = {x->dims[0], out};
    return x->rank == 1 ? oc_infer_set_out(cx, 0, OC_FLOAT, 1, &out) : oc_infer_set_out(cx, 0, OC_FLOAT, 2, dims);
}

static int lower_tfidf(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    static const char *const modes[] = {"TF", "IDF", "TFIDF"};
    const int64_t *counts, *idx, *pool;
    int nc = oc_attr_ints(n, "ngram_counts", &counts), ni = oc_attr_ints(n, "ngram_indexes", &idx);
    int np = oc_attr_ints(n, "pool_int64s", &pool);
    const oc_attr *wa = oc_node_attr(n, "weights");
    int nw = wa && wa->type == OC_ATTR_FLOATS ? wa->n : 0;
    int64_t out = tfidf_out_size(n, d);
    if (out < 0)
        return -1;
    if (nc < 1 || np < 1)
        return oc_fail(d, "needs 'ngram_counts' and 'pool_int64s'");
    const char *m = oc_attr_string(n, "mode", "");
    int mode = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(m, modes[i]) == 0)
            mode = i;
    if (mode < 0)
        return oc_fail(d, "unknown mode '%s'", m);
    int64_t mn = oc_attr_int(n, "min_gram_length", 0), mx = oc_attr_int(n, "max_gram_length", 0);
    int64_t skip = oc_attr_int(n, "max_skip_count", 0);
    if (mn < 1 || mx < mn || mx > 64 || skip < 0 || skip > (1 << 20))
        return oc_fail(d, "need 1 <= min_gram_length <= max_gram_length <= 64 and max_skip_count >= 0");
    if (nw && nw < out)
        return oc_fail(d, "'weights' has %d entries for %lld outputs", nw, (long long)out);
    /* the n-grams with sizes in [min, max]: pool chunks of size i + 1 from
     * ngram_counts[i]; every chunk takes the next ngram_indexes entry */
    int64_t ng = 0, id = 0;
    for (int i = 0; i < nc; i++) {
        int64_t lo = counts[i], hi = i + 1 < nc ? counts[i + 1] : np;
        if (lo < 0 || hi > np || hi < lo)
            return oc_fail(d, "ngram_counts must rise within the pool of %d values", np);
        if (i + 1 >= mn && i + 1 <= mx)
            ng += (hi - lo) / (i + 1);
    }
    size_t goff = (sizeof(oc_tfidf_params) + 7) & ~(size_t)7, poff = goff + sizeof(oc_tfidf_gram) * (size_t)ng;
    size_t woff = poff + sizeof(int64_t) * (size_t)np, total = woff + sizeof(double) * (size_t)nw;
    oc_tfidf_params *p = oc_lower_params(lw, total, d);
    if (!p)
        return -1;
    oc_tfidf_gram *grams = (oc_tfidf_gram *)((char *)p + goff);
    int64_t *pl = (int64_t *)((char *)p + poff);
    double *w = (double *)((char *)p + woff);
    int64_t at = 0;
    for (int i = 0; i < nc; i++) {
        int64_t lo = counts[i], hi = i + 1 < nc ? counts[i + 1] : np, size = i + 1;
        for (int64_t s = lo; s + size <= hi; s += size, id++) {
            if (size < mn || size > mx)
                continue;
            if (id >= ni)
                return oc_fail(d, "ngram_indexes has %d entries; the pool holds more n-grams", ni);
            grams[at++] = (oc_tfidf_gram){size, s, idx[id]};
        }
    }
    memcpy(pl, pool, sizeof(int64_t) * (size_t)np);
    for (int i = 0; i < nw; i++)
        w[i] = wa->floats[i];
    p->mode = mode;
    p->min_gram = mn;
    p->max_gram = mx;
    p->max_skip = skip;
    p->out_size = out;
    p->n_grams = at;
    p->n_pool = np;
    p->n_weights = nw;
    p->grams_off = goff;
    p->pool_off = poff;
    p->weights_off = woff;
    lw->fn = oc_tfidf_forward;
    return 0;
}

/* ---- ImageDecoder ---- */

static int pixel_format(const oc_node *n)
{
    const char *f = oc_attr_string(n, "pixel_format", "RGB");
    return strcmp(f, "RGB") == 0 ? OC_PIXEL_RGB : strcmp(f, "BGR") == 0 ? OC_PIXEL_BGR
                                               : strcmp(f, "Grayscale") == 0 ? OC_PIXEL_GRAY : -1;
}

static int infer_image_decoder(oc_infer *cx)
{
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x)
        return -1;
    if (x->rank != 1 || (x->dtype && x->dtype != OC_UINT8))
        return oc_infer_fail(cx, "encoded input must be a 1-D uint8 tensor");
    int f = pixel_format(oc_infer_node(cx));
    if (f < 0)
        return oc_infer_fail(cx, "unknown pixel_format '%s'", oc_attr_string(oc_infer_node(cx), "pixel_format", ""));
    int64_t dims[3] = {-1, -1, f == OC_PIXEL_GRAY ? 1 : 3};
    return oc_infer_set_out(cx, 0, OC_UINT8, 3, dims);
}

static int lower_image_decoder(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    oc_image_decoder_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->pixel_format = pixel_format(n);
    lw->fn = oc_image_decoder_forward;
    return 0;
}

const oc_op oc_ops_misc[] = {
    {"NonMaxSuppression", 2, 5, 1, 1, infer_nms, NULL, 0, (1u << 2) | (1u << 3) | (1u << 4), lower_nms},
    {"Det", 1, 1, 1, 1, infer_det, NULL, 0, 0, lower_det},
    {"ReverseSequence", 2, 2, 1, 1, infer_reverse_sequence, NULL, 0, 1u << 1, lower_reverse_sequence},
    {"TensorScatter", 2, 3, 1, 1, infer_tensor_scatter, NULL, 0, 1u << 2, lower_tensor_scatter},
    {"Unique", 1, 1, 1, 4, infer_unique, NULL, 0, 0, lower_unique},
    {"TfIdfVectorizer", 1, 1, 1, 1, infer_tfidf, NULL, 0, 0, lower_tfidf},
    {"ImageDecoder", 1, 1, 1, 1, infer_image_decoder, NULL, 0, 0, lower_image_decoder},
    {0},
};
