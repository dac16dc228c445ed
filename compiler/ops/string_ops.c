/* string_ops.c: the string ops: StringConcat (opset 20), StringNormalizer
 * (10), StringSplit (20), RegexFullMatch (20). Shape rules and lowering;
 * the kernels are runtime/kernels/string_ops.c, string tensors are described
 * in runtime/strtensor.h. Equal on strings lowers in elementwise.c.
 *
 * StringNormalizer's and StringSplit's output extents depend on the data
 * (stopwords removed, pieces per string): the shape rule leaves them
 * unknown, so they come from the model's declared output shape or stay
 * unknown (and planning fails), and the kernel checks the data agrees. */
#include "op.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/dtype.h"
#include "../../runtime/kernels/elementwise.h"
#include "../../runtime/kernels/string_ops.h"
#include "../../runtime/strtensor.h"

static int want_string(oc_infer *cx, const oc_value *x, int k)
{
    if (x->dtype && x->dtype != OC_STRING)
        return oc_infer_fail(cx, "input %d must be a string tensor, got %s", k, oc_dtype_name(x->dtype));
    return 0;
}

/* ---- StringConcat ---- */

static int infer_string_concat(oc_infer *cx)
{
    const oc_value *v[2];
    for (int k = 0; k < 2; k++)
        if (!(v[k] = oc_infer_in(cx, k)) || want_string(cx, v[k], k))
            return v[k] ? -1 : oc_infer_fail(cx, "input %d is missing", k);
    int r;
    int64_t dims[OC_MAX_RANK];
    if (oc_infer_broadcast(cx, 2, v, &r, dims))
        return -1;
    return oc_infer_set_out(cx, 0, OC_STRING, r, dims);
}

/* Broadcast parameters for a two-input string kernel (concat, Equal). */
static int lower_string_binary(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_kernel_fn fn, oc_diag *d)
{
    const oc_value *y = &g->values[n->out[0]];
    if (n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0)
        return oc_fail(d, "needs two inputs");
    for (int k = 0; k < 2; k++)
        if (g->values[n->in[k]].dtype != OC_STRING)
            return oc_fail(d, "input %d must be a string tensor", k);
    oc_bcast_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->op = OC_BIN_EQUAL;
    p->dtype = OC_STRING;
    p->rank = y->rank;
    p->n_in = 2;
    for (int i = 0; i < y->rank; i++)
        p->dims[i] = y->dims[i];
    lw->fn = fn;
    return 0;
}

static int lower_string_concat(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    return lower_string_binary(g, n, lw, oc_string_concat_forward, d);
}

int oc_lower_string_equal(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    return lower_string_binary(g, n, lw, oc_string_equal_forward, d);
}

/* ---- StringNormalizer ---- */

static int strnorm_action(const oc_node *n, int *action, oc_diag *d)
{
    const char *a = oc_attr_string(n, "case_change_action", "NONE");
    if (!strcmp(a, "NONE"))
        *action = OC_STRNORM_NONE;
    else if (!strcmp(a, "LOWER"))
        *action = OC_STRNORM_LOWER;
    else if (!strcmp(a, "UPPER"))
        *action = OC_STRNORM_UPPER;
    else
        return oc_fail(d, "case_change_action must be NONE, LOWER or UPPER, got '%s'", a);
    return 0;
}

static int infer_string_normalizer(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x || want_string(cx, x, 0))
        return -1;
    if (x->rank != 1 && !(x->rank == 2 && x->dims[0] == 1))
        return oc_infer_fail(cx, "input must be 1-D [C] or 2-D [1, C]");
    const char *act = oc_attr_string(n, "case_change_action", "NONE");
    if (strcmp(act, "NONE") && strcmp(act, "LOWER") && strcmp(act, "UPPER"))
        return oc_infer_fail(cx, "case_change_action must be NONE, LOWER or UPPER, got '%s'", act);
    const oc_attr *sw = oc_node_attr(n, "stopwords");
    int64_t dims[2] = {1, -1};
    int64_t c = x->dims[x->rank - 1];
    if (!sw || sw->n == 0)
        dims[1] = c; /* nothing removed */
    else if (c == 0)
        dims[1] = 1; /* an empty input gives one "" */
    if (x->rank == 1)
        dims[0] = dims[1];
    return oc_infer_set_out(cx, 0, OC_STRING, x->rank, dims);
}

static int lower_string_normalizer(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    int action = OC_STRNORM_NONE;
    if (strnorm_action(n, &action, d))
        return -1;
    const oc_attr *sw = oc_node_attr(n, "stopwords");
    int ns = sw && sw->strings ? sw->n : 0;
    size_t bytes = 0;
    for (int k = 0; k < ns; k++) {
        size_t l = strlen(sw->strings[k]);
        if (l > (size_t)OC_MAX_STRING_BYTES || bytes > (size_t)OC_MAX_TENSOR_BYTES - l - 1)
            return oc_fail(d, "stopwords are larger than onnxc's limit");
        bytes += l + 1;
    }
    oc_strnorm_params *p = oc_lower_params(lw, sizeof *p + bytes, d);
    if (!p)
        return -1;
    p->action = action;
    p->case_sensitive = oc_attr_int(n, "is_case_sensitive", 0) != 0;
    p->n_stop = ns;
    p->stop_bytes = (int64_t)bytes;
    char *w = (char *)(p + 1);
    for (int k = 0; k < ns; k++) {
        size_t l = strlen(sw->strings[k]);
        memcpy(w, sw->strings[k], l + 1);
        w += l + 1;
    }
    lw->fn = oc_string_normalizer_forward;
    return 0;
}

/* ---- StringSplit ---- */

static int infer_string_split(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x || want_string(cx, x, 0))
        return -1;
    if (x->rank >= OC_MAX_RANK)
        return oc_infer_fail(cx, "input rank %d leaves no room for the pieces' axis", x->rank);
    const oc_attr *dl = oc_node_attr(n, "delimiter");
    if (dl && dl->s && memchr(dl->s, 0, dl->s_len))
        return oc_infer_fail(cx, "delimiter contains a NUL byte");
    int64_t dims[OC_MAX_RANK];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    int64_t numel = oc_value_numel(x);
    dims[x->rank] = numel == 0 ? 0 : -1; /* the most pieces: known from data only */
    if (oc_infer_set_out(cx, 0, OC_STRING, x->rank + 1, dims))
        return -1;
    return n->n_out > 1 ? oc_infer_set_out(cx, 1, OC_INT64, x->rank, x->dims) : 0;
}

static int lower_string_split(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    const oc_attr *dl = oc_node_attr(n, "delimiter");
    size_t len = dl && dl->s ? dl->s_len : 0;
    if (len > 4096)
        return oc_fail(d, "delimiter of %zu bytes is longer than onnxc's 4096", len);
    if (len && memchr(dl->s, 0, len))
        return oc_fail(d, "delimiter contains a NUL byte");
    oc_strsplit_params *p = oc_lower_params(lw, sizeof *p + len + 1, d);
    if (!p)
        return -1;
    p->maxsplit = oc_node_attr(n, "maxsplit") ? oc_attr_int(n, "maxsplit", -1) : -1;
    if (p->maxsplit < 0)
        p->maxsplit = -1;
    p->delim_len = (int64_t)len;
    if (len)
        memcpy(p + 1, dl->s, len);
    lw->fn = oc_string_split_forward;
    return 0;
}

/* ---- RegexFullMatch ---- */

static int infer_regex_full_match(oc_infer *cx)
{
    oc_value *x = oc_infer_in(cx, 0);
    if (!x)
        return oc_infer_fail(cx, "input 0 is missing");
    if (want_string(cx, x, 0))
        return -1;
    if (!oc_node_attr(oc_infer_node(cx), "pattern"))
        return oc_infer_fail(cx, "needs attribute 'pattern'");
    return oc_infer_set_out(cx, 0, OC_BOOL, x->rank, x->dims);
}

static int lower_regex_full_match(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    const oc_attr *pa = oc_node_attr(n, "pattern");
    if (!pa || !pa->s)
        return oc_fail(d, "needs attribute 'pattern'");
    if (pa->s_len > 4096)
        return oc_fail(d, "pattern of %zu bytes is longer than onnxc's 4096", pa->s_len);
    if (memchr(pa->s, 0, pa->s_len))
        return oc_fail(d, "pattern contains a NUL byte");
    size_t cap = pa->s_len * 12 + 16; /* the longest rewrite: \d -> [[:digit:]] */
    char *re = malloc(cap);
    if (!re)
        return oc_fail(d, "out of memory");
    const char *why;
    if (oc_regex_translate(pa->s, pa->s_len, re, cap, &why)) {
        oc_fail(d, "pattern '%s': %s", pa->s, why);
        free(re);
        return -1;
    }
    size_t len = strlen(re);
    oc_regex_params *p = oc_lower_params(lw, sizeof *p + len + 1, d);
    if (p) {
        p->len = (int64_t)len;
        memcpy(p + 1, re, len + 1);
        lw->fn = oc_regex_full_match_forward;
    }
    free(re);
    return p ? 0 : -1;
}

const oc_op oc_ops_strings[] = {
    {"StringConcat", 2, 2, 1, 1, infer_string_concat, NULL, 0, 0, lower_string_concat},
    {"StringNormalizer", 1, 1, 1, 1, infer_string_normalizer, NULL, 0, 0, lower_string_normalizer},
    {"StringSplit", 1, 1, 1, 2, infer_string_split, NULL, 0, 0, lower_string_split},
    {"RegexFullMatch", 1, 1, 1, 1, infer_regex_full_match, NULL, 0, 0, lower_regex_full_match},
    {0},
};
