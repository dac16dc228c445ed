/* sequence.c: ONNX sequences lowered to tensors at import (see
 * sequence.h), and onnxc's SequenceSelect op that the lowering leaves for
 * positions known only at run time.
 *
 * How each op lowers (S = [s0 .. s(n-1)], the sequence's tensors):
 *   SequenceEmpty              S = []
 *   SequenceConstruct(a, ...)  S = [a, ...]
 *   SequenceLength(S)          Constant n (int64 scalar)
 *   SequenceAt(S, p)           Identity(s_p) for a constant p, else
 *                              SequenceSelect(p, s0 .. s(n-1))
 *   SequenceInsert(S, x, p)    a new list: at the end without p, at p for a
 *                              constant p, else one SequenceSelect per
 *                              element of the result
 *   SequenceErase(S, p)        likewise (without p: the last element)
 *   ConcatFromSequence(S)      Concat (new_axis: Unsqueeze each first)
 *   SplitToSequence(X, split)  Split (keepdims 0 without split: Squeeze
 *                              each piece); the number of pieces must be
 *                              known at load time: from X's declared shape,
 *                              or from split's shape or constant value
 * Positions follow ONNX: negative counts from the end; a constant one out
 * of range is an error at load time, a run-time one at run time. */
#include "sequence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "../../runtime/kernels/sequence.h"

/* ---- the table of a model's sequences ---- */

typedef struct seq {
    const oc_graph *g;
    char *name;
    int n;
    char **el; /* value names of the elements */
} seq;

struct oc_seq_table {
    int n, cap;
    seq *s;
    int counter; /* for fresh value names */
};

/* Longest sequence onnxc builds (each element is a value and may be a node). */
#define MAX_SEQ_LEN 65536

int oc_seq_op_kind(const char *op)
{
    static const char *const makes[] = {"SequenceEmpty", "SequenceConstruct", "SequenceInsert", "SequenceErase",
                                        "SplitToSequence"};
    static const char *const reads[] = {"SequenceAt", "SequenceLength", "ConcatFromSequence"};
    for (size_t i = 0; i < sizeof makes / sizeof *makes; i++)
        if (strcmp(op, makes[i]) == 0)
            return 2;
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++)
        if (strcmp(op, reads[i]) == 0)
            return 1;
    return 0;
}

static const seq *find_seq(const oc_seq_table *tab, const oc_graph *g, const char *name)
{
    for (int i = 0; tab && i < tab->n; i++)
        if (tab->s[i].g == g && strcmp(tab->s[i].name, name) == 0)
            return &tab->s[i];
    return NULL;
}

int oc_seq_has(const oc_seq_table *tab, const oc_graph *g, const char *name)
{
    return find_seq(tab, g, name) != NULL;
}

void oc_seq_table_free(oc_seq_table *tab)
{
    if (!tab)
        return;
    for (int i = 0; i < tab->n; i++) {
        for (int k = 0; k < tab->s[i].n; k++)
            free(tab->s[i].el[k]);
        free(tab->s[i].el);
        free(tab->s[i].name);
    }
    free(tab->s);
    free(tab);
}

/* Records sequence `name` of g with elements el[0..n) (copied). */
static int add_seq(oc_seq_table *tab, const oc_graph *g, const char *name, int n, const char *const *el, oc_diag *d)
{
    if (find_seq(tab, g, name))
        return oc_fail(d, "sequence '%s' is defined more than once", name);
    if (n > MAX_SEQ_LEN)
        return oc_fail(d, "sequence '%s' would hold %d tensors; onnxc builds at most %d", name, n, MAX_SEQ_LEN);
    if (tab->n == tab->cap) {
        int cap = tab->cap ? 2 * tab->cap : 8;
        seq *s = realloc(tab->s, sizeof *s * (size_t)cap);
        if (!s)
            return oc_fail(d, "out of memory");
        tab->s = s;
        tab->cap = cap;
    }
    seq *s = &tab->s[tab->n];
    memset(s, 0, sizeof *s);
    s->g = g;
    if (!(s->name = strdup(name)) || !(s->el = calloc((size_t)n + 1, sizeof *s->el))) {
        free(s->name);
        return oc_fail(d, "out of memory");
    }
    tab->n++;
    for (int k = 0; k < n; k++) {
        if (!(s->el[k] = strdup(el[k])))
            return oc_fail(d, "out of memory");
        s->n = k + 1;
    }
    return 0;
}

/* ---- building blocks ---- */

/* A value name not yet used in g: "<base>#<k>". */
static char *fresh(oc_graph *g, oc_seq_table *tab, const char *base)
{
    char buf[512];
    do
        snprintf(buf, sizeof buf, "%s#%d", base, tab->counter++);
    while (oc_graph_find(g, buf) >= 0);
    return strdup(buf);
}

static int add_node(oc_graph *g, const char *dom, const char *op, const char *name, int n_in, const char *const *in,
                    const char *out, oc_diag *d)
{
    const char *outs[1] = {out};
    return oc_graph_add_node_in(g, dom, op, name, n_in, in, 1, outs, d);
}

static int set_int(oc_graph *g, int nid, const char *name, int64_t v, oc_diag *d)
{
    oc_attr *a = oc_node_add_attr(g, nid, name, d);
    if (!a)
        return -1;
    a->type = OC_ATTR_INT;
    a->i = v;
    return 0;
}

static int set_ints(oc_graph *g, int nid, const char *name, const int64_t *v, int n, oc_diag *d)
{
    oc_attr *a = oc_node_add_attr(g, nid, name, d);
    if (!a)
        return -1;
    a->type = OC_ATTR_INTS;
    if (!(a->ints = malloc(sizeof(int64_t) * ((size_t)n + 1))))
        return oc_fail(d, "out of memory");
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
    a->n = n;
    return 0;
}

/* A new int64 initializer (rank 0 or 1) holding v[0..n); its name, or NULL. */
static char *const_i64(oc_graph *g, oc_seq_table *tab, const char *base, int rank, const int64_t *v, int n,
                       oc_diag *d)
{
    int64_t dims[1] = {n};
    oc_tensor *t = oc_tensor_new(OC_INT64, rank, dims, d);
    char *name = t ? fresh(g, tab, base) : NULL;
    if (t && !name)
        oc_fail(d, "out of memory");
    if (!name) {
        oc_tensor_free(t);
        return NULL;
    }
    memcpy(t->data, v, sizeof(int64_t) * (size_t)n);
    if (oc_graph_add_initializer(g, name, t, d) < 0) {
        free(name);
        return NULL;
    }
    return name;
}

/* Unsqueeze / Squeeze of `x` on one axis into `out`, in the form g's opset
 * has (axes an attribute before opset 13, an input from 13). */
static int squeeze_op(oc_graph *g, oc_seq_table *tab, const char *op, const char *name, const char *x, int64_t axis,
                      const char *out, oc_diag *d)
{
    if (g->opset < 13) {
        const char *in[1] = {x};
        int nid = add_node(g, "", op, name, 1, in, out, d);
        return nid < 0 || set_ints(g, nid, "axes", &axis, 1, d) ? -1 : 0;
    }
    char *axes = const_i64(g, tab, "axes", 1, &axis, 1, d);
    if (!axes)
        return -1;
    const char *in[2] = {x, axes};
    int nid = add_node(g, "", op, name, 2, in, out, d);
    free(axes);
    return nid < 0 ? -1 : 0;
}

/* Position input k as a load-time constant (an initializer), normalised
 * to [0, hi] for a sequence of n; 1 when constant, 0 when known only at
 * run time, -1 on error. */
static int const_position(const oc_graph *g, const char *name, int n, int hi, int64_t *pos, oc_diag *d)
{
    int id = oc_graph_find(g, name);
    if (id < 0)
        return oc_fail(d, "position '%s' is not defined", name);
    const oc_value *v = &g->values[id];
    if (v->dtype != OC_INT64 && v->dtype != OC_INT32)
        return oc_fail(d, "position '%s' must be int32 or int64", name);
    if (v->rank > 0 && !(v->rank >= 0 && v->dims[0] == 1 && v->rank == 1))
        return oc_fail(d, "position '%s' must be a scalar", name);
    if (!v->constant || v->producer >= 0)
        return 0;
    if (v->constant->numel != 1)
        return oc_fail(d, "position '%s' must be a scalar", name);
    int64_t p = v->dtype == OC_INT64 ? ((const int64_t *)v->constant->data)[0]
                                     : ((const int32_t *)v->constant->data)[0];
    if (p < -n || p > hi)
        return oc_fail(d, "position %lld is outside [%d, %d] for a sequence of %d tensors", (long long)p, -n, hi, n);
    *pos = p < 0 ? p + n : p;
    return 1;
}

/* ---- the ops ---- */

static const seq *input_seq(const oc_seq_table *tab, const oc_graph *g, int n_in, const char *const *in, oc_diag *d)
{
    const seq *s = n_in > 0 && in[0] && *in[0] ? find_seq(tab, g, in[0]) : NULL;
    if (!s)
        oc_fail(d, "input 0 '%s' is not a sequence made earlier in this graph (onnxc keeps sequences whose length is "
                   "known when the model is loaded; sequence graph inputs and sequences captured by subgraphs are "
                   "not supported)",
                n_in > 0 && in[0] ? in[0] : "");
    return s;
}

/* SequenceInsert / SequenceErase at a run-time position: element `slot`
 * of the result is a SequenceSelect of the position and the candidates. */
static char *select_slot(oc_graph *g, oc_seq_table *tab, const char *name, const char *out_seq, int mode, int slot,
                         const seq *s, const char *pos, const char *x, oc_diag *d)
{
    int n_in = 1 + s->n + (x != NULL);
    const char **in = malloc(sizeof *in * (size_t)n_in);
    char base[400], nname[480];
    snprintf(base, sizeof base, "%s[%d]", out_seq, slot);
    char *out = in ? fresh(g, tab, base) : NULL;
    if (!out) {
        free(in);
        oc_fail(d, "out of memory");
        return NULL;
    }
    in[0] = pos;
    for (int k = 0; k < s->n; k++)
        in[1 + k] = s->el[k];
    if (x)
        in[1 + s->n] = x;
    snprintf(nname, sizeof nname, "%s/select%d", name, slot);
    int nid = add_node(g, OC_DOMAIN_ONNXC, "SequenceSelect", nname, n_in, in, out, d);
    free(in);
    if (nid < 0 || set_int(g, nid, "mode", mode, d) || set_int(g, nid, "slot", slot, d)) {
        free(out);
        return NULL;
    }
    return out;
}

static int lower_insert_erase(oc_graph *g, oc_seq_table *tab, int insert, const char *name, int n_in,
                              const char *const *in, const char *out, oc_diag *d)
{
    const seq *s = input_seq(tab, g, n_in, in, d);
    if (!s)
        return -1;
    int n = s->n, len = insert ? n + 1 : n - 1, kpos = insert ? 2 : 1;
    const char *x = insert && n_in > 1 ? in[1] : NULL;
    if (insert && (!x || !*x || oc_graph_find(g, x) < 0))
        return oc_fail(d, "SequenceInsert needs a tensor of this graph to insert (input 1)");
    if (!insert && n == 0)
        return oc_fail(d, "SequenceErase on an empty sequence");
    const char *pos = n_in > kpos && in[kpos] && *in[kpos] ? in[kpos] : NULL;
    int64_t p = insert ? n : n - 1; /* without a position: at the end / the last */
    int known = pos ? const_position(g, pos, n, insert ? n : n - 1, &p, d) : 1;
    if (known < 0)
        return -1;
    char **el = calloc((size_t)len + 1, sizeof *el);
    if (!el)
        return oc_fail(d, "out of memory");
    int rc = 0;
    for (int k = 0; k < len && !rc; k++) {
        if (!known) {
            el[k] = select_slot(g, tab, name, out, insert ? OC_SEQSEL_INSERT : OC_SEQSEL_ERASE, k, s, pos, x, d);
            rc = el[k] ? 0 : -1;
            continue;
        }
        const char *src = insert ? (k < p ? s->el[k] : k == p ? x : s->el[k - 1]) : (k < p ? s->el[k] : s->el[k + 1]);
        if (!(el[k] = strdup(src)))
            rc = oc_fail(d, "out of memory");
    }
    if (!rc)
        rc = add_seq(tab, g, out, len, (const char *const *)el, d);
    for (int k = 0; k < len; k++)
        free(el[k]);
    free(el);
    return rc;
}

static int lower_at(oc_graph *g, oc_seq_table *tab, const char *name, int n_in, const char *const *in, const char *out,
                    oc_diag *d)
{
    const seq *s = input_seq(tab, g, n_in, in, d);
    if (!s)
        return -1;
    if (n_in < 2 || !in[1] || !*in[1])
        return oc_fail(d, "SequenceAt needs a position (input 1)");
    if (s->n == 0)
        return oc_fail(d, "SequenceAt on an empty sequence");
    int64_t p;
    int known = const_position(g, in[1], s->n, s->n - 1, &p, d);
    if (known < 0)
        return -1;
    if (known) {
        const char *x[1] = {s->el[p]};
        return add_node(g, "", "Identity", name, 1, x, out, d) < 0 ? -1 : 0;
    }
    int n_sel = 1 + s->n;
    const char **sel = malloc(sizeof *sel * (size_t)n_sel);
    if (!sel)
        return oc_fail(d, "out of memory");
    sel[0] = in[1];
    for (int k = 0; k < s->n; k++)
        sel[1 + k] = s->el[k];
    int nid = add_node(g, OC_DOMAIN_ONNXC, "SequenceSelect", name, n_sel, sel, out, d);
    free(sel);
    return nid < 0 || set_int(g, nid, "mode", OC_SEQSEL_AT, d) || set_int(g, nid, "slot", 0, d) ? -1 : 0;
}

static int lower_length(oc_graph *g, oc_seq_table *tab, const char *name, int n_in, const char *const *in,
                        const char *out, oc_diag *d)
{
    const seq *s = input_seq(tab, g, n_in, in, d);
    if (!s)
        return -1;
    int nid = oc_graph_add_node_in(g, "", "Constant", name, 0, NULL, 1, &out, d);
    if (nid < 0)
        return -1;
    oc_attr *a = oc_node_add_attr(g, nid, "value", d);
    if (!a || !(a->t = oc_tensor_new(OC_INT64, 0, NULL, d)))
        return -1;
    a->type = OC_ATTR_TENSOR;
    ((int64_t *)a->t->data)[0] = s->n;
    return 0;
}

static int lower_concat(oc_graph *g, oc_seq_table *tab, const char *name, int n_in, const char *const *in,
                        const char *out, const oc_seq_attrs *at, oc_diag *d)
{
    const seq *s = input_seq(tab, g, n_in, in, d);
    if (!s)
        return -1;
    if (!at->has_axis)
        return oc_fail(d, "ConcatFromSequence needs the 'axis' attribute");
    if (s->n == 0)
        return oc_fail(d, "ConcatFromSequence of an empty sequence (the result would have no type)");
    const char **el = calloc((size_t)s->n, sizeof *el);
    char **made = calloc((size_t)s->n, sizeof *made);
    int rc = el && made ? 0 : oc_fail(d, "out of memory");
    for (int k = 0; k < s->n && !rc; k++) {
        el[k] = s->el[k];
        if (!at->new_axis)
            continue;
        char base[400], nname[480];
        snprintf(base, sizeof base, "%s/unsqueezed%d", name, k);
        snprintf(nname, sizeof nname, "%s/unsqueeze%d", name, k);
        if (!(made[k] = fresh(g, tab, base)))
            rc = oc_fail(d, "out of memory");
        else
            rc = squeeze_op(g, tab, "Unsqueeze", nname, s->el[k], at->axis, made[k], d);
        el[k] = made[k];
    }
    if (!rc) {
        int nid = add_node(g, "", "Concat", name, s->n, el, out, d);
        rc = nid < 0 || set_int(g, nid, "axis", at->axis, d) ? -1 : 0;
    }
    for (int k = 0; made && k < s->n; k++)
        free(made[k]);
    free(made);
    free(el);
    return rc;
}

static int lower_split(oc_graph *g, oc_seq_table *tab, const char *name, int n_in, const char *const *in,
                       const char *out, const oc_seq_attrs *at, oc_diag *d)
{
    int xid = n_in > 0 && in[0] && *in[0] ? oc_graph_find(g, in[0]) : -1;
    if (xid < 0)
        return oc_fail(d, "SplitToSequence needs its input tensor (input 0)");
    const oc_value *x = &g->values[xid];
    if (x->rank < 1)
        return oc_fail(d, "SplitToSequence: input '%s' needs a declared shape of rank >= 1 (onnxc fixes the "
                          "sequence's length when it loads the model)",
                       x->name);
    int64_t axis = at->has_axis ? at->axis : 0;
    if (axis < -x->rank || axis >= x->rank)
        return oc_fail(d, "axis %lld is outside [%d, %d)", (long long)axis, -x->rank, x->rank);
    if (axis < 0)
        axis += x->rank;
    int64_t dim = x->dims[axis];
    const char *split = n_in > 1 && in[1] && *in[1] ? in[1] : NULL;
    int64_t *sizes = NULL; /* the pieces' lengths, when known now */
    int n = -1;
    if (split) {
        int sid = oc_graph_find(g, split);
        if (sid < 0)
            return oc_fail(d, "split '%s' is not a tensor of this graph", split);
        const oc_value *sv = &g->values[sid];
        if (sv->dtype != OC_INT64 && sv->dtype != OC_INT32)
            return oc_fail(d, "split '%s' must be int32 or int64", split);
        if (sv->rank > 1 || sv->rank < 0)
            return oc_fail(d, "split '%s' must be a scalar or a 1-D tensor with a declared shape", split);
        if (sv->constant && sv->producer < 0) {
            const oc_tensor *t = sv->constant;
            if (t->dtype != sv->dtype || t->rank != sv->rank || (sv->rank == 0 && t->numel != 1))
                return oc_fail(d, "split '%s' holds data that does not match its type", split);
            if (sv->rank == 0) {
                int64_t c = sv->dtype == OC_INT64 ? ((const int64_t *)t->data)[0] : ((const int32_t *)t->data)[0];
                if (c <= 0 || dim < 0)
                    return oc_fail(d, "SplitToSequence: split %lld needs a positive value and a known extent of "
                                      "'%s' along axis %lld",
                                   (long long)c, x->name, (long long)axis);
                n = (int)((dim + c - 1) / c);
                if ((int64_t)n != (dim + c - 1) / c || n > MAX_SEQ_LEN)
                    return oc_fail(d, "SplitToSequence would make more than %d tensors", MAX_SEQ_LEN);
                if (!(sizes = malloc(sizeof *sizes * ((size_t)n + 1))))
                    return oc_fail(d, "out of memory");
                for (int k = 0; k < n; k++)
                    sizes[k] = k < n - 1 ? c : dim - c * (n - 1);
            } else {
                if (t->numel > MAX_SEQ_LEN)
                    return oc_fail(d, "SplitToSequence would make more than %d tensors", MAX_SEQ_LEN);
                n = (int)t->numel;
                if (!(sizes = malloc(sizeof *sizes * ((size_t)n + 1))))
                    return oc_fail(d, "out of memory");
                int64_t sum = 0;
                for (int k = 0; k < n; k++) {
                    sizes[k] = sv->dtype == OC_INT64 ? ((const int64_t *)t->data)[k] : ((const int32_t *)t->data)[k];
                    if (sizes[k] < 0 || sizes[k] > ((int64_t)1 << 40)) {
                        long long bad = (long long)sizes[k];
                        free(sizes);
                        return oc_fail(d, "split '%s': length %d is %lld", split, k, bad);
                    }
                    sum += sizes[k];
                }
                if (dim >= 0 && sum != dim) {
                    free(sizes);
                    return oc_fail(d, "split '%s' sums to %lld, but '%s' has %lld along axis %lld", split,
                                   (long long)sum, x->name, (long long)dim, (long long)axis);
                }
            }
        } else if (sv->rank == 1 && sv->dims[0] >= 0 && sv->dims[0] <= MAX_SEQ_LEN) {
            /* the lengths come at run time, as Split's input 1 (onnxc's Split
             * reads it at every opset; the pieces' extents are then unknown
             * at load time, so the plan takes them only if nothing needs them) */
            n = (int)sv->dims[0];
        } else {
            return oc_fail(d, "SplitToSequence: the number of pieces must be known when the model is loaded; split "
                              "'%s' is a run-time scalar or has no declared length",
                           split);
        }
    } else {
        if (dim < 0 || dim > MAX_SEQ_LEN)
            return oc_fail(d, "SplitToSequence: the extent of '%s' along axis %lld must be declared (and at most "
                              "%d) to fix the sequence's length when the model is loaded",
                           x->name, (long long)axis, MAX_SEQ_LEN);
        n = (int)dim;
        if (!(sizes = malloc(sizeof *sizes * ((size_t)n + 1))))
            return oc_fail(d, "out of memory");
        for (int k = 0; k < n; k++)
            sizes[k] = 1;
    }
    int squeeze = !split && at->keepdims == 0;
    char **el = calloc((size_t)n + 1, sizeof *el), **piece = calloc((size_t)n + 1, sizeof *piece);
    int rc = el && piece ? 0 : oc_fail(d, "out of memory");
    char base[400], nname[480];
    for (int k = 0; k < n && !rc; k++) {
        snprintf(base, sizeof base, "%s[%d]", out, k);
        if (!(el[k] = fresh(g, tab, base)))
            rc = oc_fail(d, "out of memory");
        else if (squeeze && !(piece[k] = fresh(g, tab, base)))
            rc = oc_fail(d, "out of memory");
    }
    if (!rc && n > 0) {
        char *split_name = NULL;
        const char *sin[2] = {in[0], NULL};
        int ns = 1;
        if (sizes && g->opset >= 13) {
            if (!(split_name = const_i64(g, tab, "split", 1, sizes, n, d)))
                rc = -1;
            sin[ns++] = split_name;
        } else if (!sizes) {
            sin[ns++] = split;
        }
        int nid = rc ? -1
                     : oc_graph_add_node_in(g, "", "Split", name, ns, sin, n,
                                            (const char *const *)(squeeze ? piece : el), d);
        if (!rc && (nid < 0 || set_int(g, nid, "axis", axis, d) ||
                    (sizes && g->opset < 13 && set_ints(g, nid, "split", sizes, n, d))))
            rc = -1;
        free(split_name);
        for (int k = 0; k < n && squeeze && !rc; k++) {
            snprintf(nname, sizeof nname, "%s/squeeze%d", name, k);
            rc = squeeze_op(g, tab, "Squeeze", nname, piece[k], axis, el[k], d);
        }
    }
    if (!rc)
        rc = add_seq(tab, g, out, n, (const char *const *)el, d);
    for (int k = 0; k < n && el && piece; k++) {
        free(el[k]);
        free(piece[k]);
    }
    free(el);
    free(piece);
    free(sizes);
    return rc;
}

int oc_seq_lower(oc_graph *g, oc_seq_table **tab, const char *op, const char *name, int n_in, const char *const *in,
                 int n_out, const char *const *out, const oc_seq_attrs *at, oc_diag *d)
{
    if (!*tab && !(*tab = calloc(1, sizeof **tab)))
        return oc_fail(d, "out of memory");
    if (n_out != 1 || !out[0] || !*out[0])
        return oc_fail(d, "%s needs exactly one named output", op);
    const char *o = out[0];
    oc_seq_table *t = *tab;
    if (strcmp(op, "SequenceEmpty") == 0)
        return add_seq(t, g, o, 0, NULL, d);
    if (strcmp(op, "SequenceConstruct") == 0) {
        if (n_in < 1)
            return oc_fail(d, "SequenceConstruct needs at least one tensor");
        for (int k = 0; k < n_in; k++)
            if (!in[k] || !*in[k] || oc_graph_find(g, in[k]) < 0)
                return oc_fail(d, "SequenceConstruct input %d '%s' is not a tensor of this graph", k,
                               in[k] ? in[k] : "");
        return add_seq(t, g, o, n_in, in, d);
    }
    if (strcmp(op, "SequenceInsert") == 0 || strcmp(op, "SequenceErase") == 0)
        return lower_insert_erase(g, t, op[8] == 'I', name, n_in, in, o, d);
    if (strcmp(op, "SequenceAt") == 0)
        return lower_at(g, t, name, n_in, in, o, d);
    if (strcmp(op, "SequenceLength") == 0)
        return lower_length(g, t, name, n_in, in, o, d);
    if (strcmp(op, "ConcatFromSequence") == 0)
        return lower_concat(g, t, name, n_in, in, o, at, d);
    if (strcmp(op, "SplitToSequence") == 0)
        return lower_split(g, t, name, n_in, in, o, at, d);
    return oc_fail(d, "internal error: %s is not a sequence op", op);
}

/* ---- SequenceSelect (ai.onnxc): attributes mode, slot ---- */

static int infer_seqsel(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    const oc_value *pos = oc_infer_in(cx, 0);
    if (!pos || (pos->dtype != OC_INT64 && pos->dtype != OC_INT32))
        return oc_infer_fail(cx, "the position must be an int32 or int64 scalar");
    if (pos->rank >= 0 && oc_value_numel(pos) > 1)
        return oc_infer_fail(cx, "the position must be a scalar");
    /* the output: the candidates' common type; a dim where they differ is
     * unknown (the plan then refuses the value, naming it) */
    const oc_value *c0 = oc_infer_in(cx, 1);
    if (!c0)
        return oc_infer_fail(cx, "no candidate tensors");
    int rank = c0->rank;
    int64_t dims[OC_MAX_RANK];
    for (int i = 0; i < rank; i++)
        dims[i] = c0->dims[i];
    for (int k = 2; k < n->n_in; k++) {
        const oc_value *c = oc_infer_in(cx, k);
        if (!c || c->dtype != c0->dtype)
            return oc_infer_fail(cx, "the sequence's tensors must share one element type");
        if (c->rank != rank)
            rank = -1;
        for (int i = 0; i < rank; i++)
            if (c->dims[i] != dims[i])
                dims[i] = -1;
    }
    return oc_infer_set_out(cx, 0, c0->dtype, rank, dims);
}

static int lower_seqsel(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    oc_seqsel_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    p->mode = (int)oc_attr_int(n, "mode", OC_SEQSEL_AT);
    p->slot = (int)oc_attr_int(n, "slot", 0);
    p->length = n->n_in - 1 - (p->mode == OC_SEQSEL_INSERT);
    if (p->mode < OC_SEQSEL_AT || p->mode > OC_SEQSEL_ERASE || p->length < 0)
        return oc_fail(d, "internal error: SequenceSelect mode %d with %d inputs", p->mode, n->n_in);
    lw->fn = oc_seqsel_forward;
    return 0;
}

const oc_op oc_ops_sequence[] = {
    {"SequenceSelect", 2, 1 + 1 + MAX_SEQ_LEN, 1, 1, infer_seqsel, NULL, 0, 0, lower_seqsel,
     .domain = OC_DOMAIN_ONNXC},
    {0},
};
