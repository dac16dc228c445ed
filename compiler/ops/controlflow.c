/* controlflow.c: If (Loop and Scan to come). Shape rules and lowering;
 * the kernels are runtime/kernels/controlflow.c.
 *
 * A subgraph is an oc_graph of its own (graph.h: parent, captured inputs
 * bound to the node's implicit inputs). The shape rule copies the outer
 * types (and known data) into the captured inputs and runs shape
 * inference (with folding) over the subgraph; lowering plans the subgraph with the same
 * planner (its own arena and scratch), and the step owns the sub-plans.
 *
 * If (ONNX If-1..21): with a known condition the If is the chosen branch,
 * and the branch's known outputs become the If's (so a shape computed in
 * a branch stays static downstream). Otherwise both branches must give
 * every output the same static type: onnxc plans fixed shapes and cannot
 * yet size an output by the branch taken at run time (such an output
 * keeps an unknown shape, which the planner refuses naming the node).
 *
 * Loop's stacked outputs likewise need their extent known when planning:
 * the trip count M as a constant (or a graph input baked as a shape
 * input), or else the extent the model declares for them, which the
 * kernel checks M against at run time. */
#include "op.h"

#include <stdlib.h>
#include <string.h>

#include "../passes/pass.h"
#include "../planner.h"
#include "../../runtime/kernels/controlflow.h"

static oc_graph *subgraph_attr(const oc_node *n, const char *name)
{
    const oc_attr *a = oc_node_attr(n, name);
    return a && a->type == OC_ATTR_GRAPH ? a->g : NULL;
}

/* Outer types and known data into the subgraph's captured inputs, then
 * shape inference over the subgraph, folding small known values as the
 * fold pass does (a branch that splits a baked shape gives known extents,
 * which the outer graph needs to stay static). 1 (no inference) while a
 * captured value's shape is unknown: the caller leaves its outputs
 * unknown, and a later inference (the fold pass) tries again. */
static int infer_subgraph(oc_infer *cx, oc_graph *sub, const char *what)
{
    char lb[300];
    oc_node *n = oc_infer_node(cx);
    oc_graph *g = cx->g;
    for (int c = 0; c < sub->n_captured; c++) { /* an outer shape not known yet: infer later */
        int slot = sub->capture_slot ? sub->capture_slot[c] : -1;
        if (slot >= 0 && slot < n->n_in && n->in[slot] >= 0 && g->values[n->in[slot]].rank < 0)
            return 1;
    }
    for (int c = 0; c < sub->n_captured; c++) {
        oc_value *iv = &sub->values[sub->inputs[sub->n_inputs - sub->n_captured + c]];
        int slot = sub->capture_slot ? sub->capture_slot[c] : -1;
        if (slot < 0 || slot >= n->n_in || n->in[slot] < 0)
            return oc_infer_fail(cx, "%s: internal error: captured value '%s' is not bound", what, iv->name);
        const oc_value *ov = &g->values[n->in[slot]];
        oc_value_set_type(iv, ov->dtype, ov->rank, ov->rank >= 0 ? ov->dims : NULL);
        oc_tensor_free(iv->constant);
        iv->constant = NULL;
        if (ov->constant && !(iv->constant = oc_tensor_clone(ov->constant, cx->d)))
            return -1;
    }
    if (oc_fold_constants(sub, cx->d) < 0) {
        oc_diag_prefix(cx->d, "%s %s: ", oc_node_label(n, lb, sizeof lb), what);
        return -1;
    }
    return 0;
}

static int same_type(const oc_value *a, const oc_value *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank || a->rank < 0)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i] || a->dims[i] < 0)
            return 0;
    return 1;
}

/* Outputs left unknown until a later inference. */
static int unknown_outputs(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && oc_infer_set_out(cx, k, cx->g->values[n->out[k]].dtype, -1, NULL))
            return -1;
    return 0;
}

/* The condition's value when known: 1 / 0, or -1 when only known at run time. */
static int known_condition(oc_infer *cx)
{
    const oc_value *c = oc_infer_in(cx, 0);
    if (!c || !c->constant || c->constant->numel != 1)
        return -1;
    return oc_const_f64(c->constant, 0) != 0.0;
}

static int infer_if(oc_infer *cx)
{
    char sa[256];
    oc_node *n = oc_infer_node(cx);
    oc_graph *br[2] = {subgraph_attr(n, "then_branch"), subgraph_attr(n, "else_branch")};
    static const char *const names[2] = {"then_branch", "else_branch"};
    const oc_value *c = oc_infer_in(cx, 0);
    if (!c)
        return oc_infer_fail(cx, "has no condition input");
    if (c->rank >= 0 && oc_value_numel(c) >= 0 && oc_value_numel(c) != 1)
        return oc_infer_fail(cx, "the condition must hold one element, got %s", oc_format_dims(sa, sizeof sa, c->dims, c->rank));
    for (int b = 0; b < 2; b++) {
        if (!br[b])
            return oc_infer_fail(cx, "attribute '%s' (a graph) is missing", names[b]);
        if (br[b]->n_inputs != br[b]->n_captured)
            return oc_infer_fail(cx, "%s declares %d inputs; If branches take none", names[b],
                                 br[b]->n_inputs - br[b]->n_captured);
        if (br[b]->n_outputs != n->n_out)
            return oc_infer_fail(cx, "%s has %d outputs, the node %d", names[b], br[b]->n_outputs, n->n_out);
    }
    int take = known_condition(cx);
    /* With the condition unknown, a branch may not infer yet (its shapes
     * can hinge on values the fold pass computes, such as the condition
     * itself): its outputs stay unknown for now, and if they still are
     * when planning, the planner refuses them naming this node. */
    oc_diag quiet;
    oc_diag_init(&quiet);
    oc_infer qx = {cx->g, cx->nid, &quiet};
    for (int b = 0; b < 2; b++) {
        int rc = take < 0 ? infer_subgraph(&qx, br[b], names[b]) : take == !b ? infer_subgraph(cx, br[b], names[b]) : 0;
        if (rc < 0 && take >= 0)
            return -1;
        if (rc)
            return unknown_outputs(cx);
    }
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        if (take >= 0) { /* the If is the chosen branch */
            const oc_value *v = &br[take ? 0 : 1]->values[br[take ? 0 : 1]->outputs[k]];
            if (v->constant && v->constant->numel <= OC_FOLD_MAX) {
                oc_tensor *t = oc_tensor_clone(v->constant, cx->d);
                if (!t || oc_infer_set_const(cx, k, t))
                    return -1;
            } else if (oc_infer_set_out(cx, k, v->dtype, v->rank, v->rank >= 0 ? v->dims : NULL)) {
                return -1;
            }
            continue;
        }
        const oc_value *tv = &br[0]->values[br[0]->outputs[k]], *ev = &br[1]->values[br[1]->outputs[k]];
        if (!same_type(tv, ev)) {
            /* The condition may become known later (the fold pass); if
             * not, the planner refuses the unknown shape naming this node. */
            if (tv->dtype && ev->dtype && tv->dtype != ev->dtype)
                return oc_infer_fail(cx, "output %d is %s in then_branch but %s in else_branch", k,
                                     oc_dtype_name(tv->dtype), oc_dtype_name(ev->dtype));
            if (oc_infer_set_out(cx, k, tv->dtype ? tv->dtype : ev->dtype, -1, NULL))
                return -1;
            continue;
        }
        if (oc_infer_set_out(cx, k, tv->dtype, tv->rank, tv->dims))
            return -1;
    }
    return 0;
}

/* Plans subgraph `sub` (one thread: a control-flow step runs its body
 * inside one step of the outer plan) and checks its outputs against the
 * node's. */
static oc_plan *plan_subgraph(const oc_graph *g, const oc_node *n, const oc_graph *sub, const char *what, oc_diag *d)
{
    char lb[300];
    oc_plan_opts po = {0};
    po.threads = 1;
    oc_plan *sp = oc_plan_build(sub, &po, d);
    if (!sp) {
        oc_diag_prefix(d, "%s %s: ", oc_node_label(n, lb, sizeof lb), what);
        return NULL;
    }
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        const oc_value *v = &g->values[n->out[k]];
        const oc_tensor *t = &sp->tensors[sp->outputs[k]];
        if (t->dtype != v->dtype || t->numel != oc_value_numel(v)) {
            oc_fail(d, "%s %s: output %d does not have the node's planned type", oc_node_label(n, lb, sizeof lb), what, k);
            oc_plan_free(sp);
            return NULL;
        }
    }
    return sp;
}

static int lower_if(const oc_graph *g, const oc_node *n, oc_lowered *out, oc_diag *d)
{
    char lb[300];
    const oc_graph *br[2] = {subgraph_attr(n, "then_branch"), subgraph_attr(n, "else_branch")};
    static const char *const names[2] = {"then_branch", "else_branch"};
    if (!br[0] || !br[1])
        return oc_fail(d, "%s: a branch is missing", oc_node_label(n, lb, sizeof lb));
    oc_if_params *p = oc_lower_params(out, sizeof *p + sizeof(int) * (size_t)(br[0]->n_inputs + br[1]->n_inputs + 1), d);
    if (!p)
        return -1;
    int off = 0;
    for (int b = 0; b < 2; b++) {
        p->n_in[b] = br[b]->n_inputs;
        for (int k = 0; k < br[b]->n_inputs; k++) {
            int c = k - (br[b]->n_inputs - br[b]->n_captured);
            p->slot[off++] = c >= 0 && br[b]->capture_slot ? br[b]->capture_slot[c] : -1;
        }
    }
    if (!(out->sub = calloc(2, sizeof *out->sub)))
        return oc_fail(d, "out of memory");
    out->n_sub = 2;
    /* a condition known when planning: only that branch is planned (the
     * other was never inferred) */
    const oc_value *c = n->in[0] >= 0 ? &g->values[n->in[0]] : NULL;
    int take = c && c->constant && c->constant->numel == 1 ? oc_const_f64(c->constant, 0) != 0.0 : -1;
    for (int b = 0; b < 2; b++)
        if ((take < 0 || take == !b) && !(out->sub[b] = plan_subgraph(g, n, br[b], names[b], d)))
            return -1;
    out->fn = oc_if_forward;
    return 0;
}

/* ---- Scan and Loop: a body with formal inputs ---- */

/* Formal input k of the body gets a type (and no data: it changes per
 * iteration). */
static void set_formal(oc_graph *body, int k, int dtype, int rank, const int64_t *dims)
{
    oc_value *v = &body->values[body->inputs[k]];
    oc_value_set_type(v, dtype, rank, dims);
    oc_tensor_free(v->constant);
    v->constant = NULL;
}

static const oc_value *body_out(const oc_graph *body, int k) { return &body->values[body->outputs[k]]; }

/* The body's state output k must keep the type of state input `in`. */
static int check_state(oc_infer *cx, const oc_graph *body, int out_k, const oc_value *in, int k)
{
    char sa[256], sb[256];
    const oc_value *o = body_out(body, out_k);
    if (!same_type(o, in))
        return oc_infer_fail(cx,
                             "state %d enters the body as %s %s and leaves it as %s %s; onnxc plans static shapes "
                             "and needs a state to keep its type",
                             k, oc_dtype_name(in->dtype), oc_format_dims(sa, sizeof sa, in->dims, in->rank < 0 ? 0 : in->rank),
                             oc_dtype_name(o->dtype), oc_format_dims(sb, sizeof sb, o->dims, o->rank < 0 ? 0 : o->rank));
    return 0;
}

/* Scan's layout, shared by its shape rule and lowering. */
typedef struct scan_layout {
    int v8;                 /* Scan-8: batch axis 0, scan axis 1, sequence_lens input */
    int first, N, M, K;
    int in_axis[OC_SCAN_MAX], in_rev[OC_SCAN_MAX], out_axis[OC_SCAN_MAX], out_rev[OC_SCAN_MAX];
    int64_t len, batch;
} scan_layout;

static int scan_axes(oc_infer *cx, const oc_node *n, const char *name, int count, int *out)
{
    const int64_t *v;
    int c = oc_attr_ints(n, name, &v);
    for (int i = 0; i < count; i++)
        out[i] = 0;
    if (c < 0)
        return 0;
    if (c != count)
        return oc_infer_fail(cx, "attribute '%s' has %d entries, expected %d", name, c, count);
    for (int i = 0; i < count; i++) {
        if (v[i] < -OC_MAX_RANK || v[i] > OC_MAX_RANK)
            return oc_infer_fail(cx, "attribute '%s' entry %d is out of range", name, i);
        out[i] = (int)v[i];
    }
    return 0;
}

static int scan_layout_of(oc_infer *cx, scan_layout *L)
{
    oc_node *n = oc_infer_node(cx);
    int n_exp = n->n_in - n->n_implicit;
    memset(L, 0, sizeof *L);
    L->v8 = cx->g->opset < 9;
    L->first = L->v8 ? 1 : 0;
    int64_t m = oc_attr_int(n, "num_scan_inputs", -1);
    if (m < 1 || m > OC_SCAN_MAX || m > n_exp - L->first)
        return oc_infer_fail(cx, "num_scan_inputs %lld must be in 1..%d and at most the inputs", (long long)m,
                             OC_SCAN_MAX);
    L->M = (int)m;
    L->N = n_exp - L->first - L->M;
    L->K = n->n_out - L->N;
    if (L->N > OC_SCAN_MAX || L->K < 0 || L->K > OC_SCAN_MAX)
        return oc_infer_fail(cx, "takes %d states and gives %d scan outputs; onnxc supports up to %d and the outputs "
                                 "must cover the states", L->N, L->K, OC_SCAN_MAX);
    if (L->v8 && n->in[0] >= 0)
        return oc_infer_fail(cx, "sequence_lens is not supported yet (every sequence must have the full length)");
    if (L->v8 && (oc_node_attr(n, "axes") || oc_node_attr(n, "scan_input_axes")))
        return oc_infer_fail(cx, "Scan-8 axes are not supported");
    if (!L->v8 && (scan_axes(cx, n, "scan_input_axes", L->M, L->in_axis) ||
                   scan_axes(cx, n, "scan_output_axes", L->K, L->out_axis)))
        return -1;
    if (scan_axes(cx, n, L->v8 ? "directions" : "scan_input_directions", L->M, L->in_rev) ||
        (!L->v8 && scan_axes(cx, n, "scan_output_directions", L->K, L->out_rev)))
        return -1;
    L->len = -1;
    L->batch = 1;
    for (int i = 0; i < L->M; i++) {
        const oc_value *x = oc_infer_in_ranked(cx, L->first + L->N + i);
        if (!x)
            return -1;
        if (L->v8) {
            if (x->rank < 2)
                return oc_infer_fail(cx, "scan input %d must have a batch and a sequence axis", i);
            L->in_axis[i] = 1;
            if (i == 0)
                L->batch = x->dims[0];
            else if (x->dims[0] != L->batch)
                return oc_infer_fail(cx, "scan inputs disagree on the batch size");
        } else if (oc_infer_axis(cx, L->in_axis[i], x->rank, &L->in_axis[i])) {
            return -1;
        }
        int64_t e = x->dims[L->in_axis[i]];
        if (e < 0)
            return oc_infer_fail(cx, "scan input %d has an unknown sequence length", i);
        if (L->len >= 0 && e != L->len)
            return oc_infer_fail(cx, "scan inputs have different sequence lengths (%lld and %lld)", (long long)L->len,
                                 (long long)e);
        L->len = e;
        if (L->in_rev[i] != 0 && L->in_rev[i] != 1)
            return oc_infer_fail(cx, "scan directions must be 0 or 1");
    }
    for (int j = 0; j < L->K; j++)
        if (L->out_rev[j] != 0 && L->out_rev[j] != 1)
            return oc_infer_fail(cx, "scan directions must be 0 or 1");
    return 0;
}

static int infer_scan(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_graph *body = subgraph_attr(n, "body");
    scan_layout L;
    if (!body)
        return oc_infer_fail(cx, "attribute 'body' (a graph) is missing");
    if (scan_layout_of(cx, &L))
        return -1;
    if (body->n_inputs - body->n_captured != L.N + L.M || body->n_outputs != L.N + L.K)
        return oc_infer_fail(cx, "the body takes %d inputs and gives %d outputs; expected %d and %d",
                             body->n_inputs - body->n_captured, body->n_outputs, L.N + L.M, L.N + L.K);
    int64_t dims[OC_MAX_RANK];
    const oc_value *st[OC_SCAN_MAX];
    oc_value per[OC_SCAN_MAX]; /* state types as the body sees them */
    for (int k = 0; k < L.N; k++) {
        if (!(st[k] = oc_infer_in_ranked(cx, L.first + k)))
            return -1;
        int drop = L.v8;
        if (drop && (st[k]->rank < 1 || st[k]->dims[0] != L.batch))
            return oc_infer_fail(cx, "state %d must lead with the batch axis", k);
        memset(&per[k], 0, sizeof per[k]);
        per[k].dtype = st[k]->dtype;
        per[k].rank = st[k]->rank - drop;
        for (int i = 0; i < per[k].rank; i++)
            per[k].dims[i] = st[k]->dims[i + drop];
        set_formal(body, k, per[k].dtype, per[k].rank, per[k].dims);
    }
    for (int i = 0; i < L.M; i++) {
        const oc_value *x = oc_infer_in(cx, L.first + L.N + i);
        int r = 0;
        for (int a = L.v8 ? 1 : 0; a < x->rank; a++)
            if (a != L.in_axis[i])
                dims[r++] = x->dims[a];
        set_formal(body, L.N + i, x->dtype, r, dims);
    }
    int rc = infer_subgraph(cx, body, "body");
    if (rc)
        return rc < 0 ? -1 : unknown_outputs(cx);
    for (int k = 0; k < L.N; k++) {
        if (check_state(cx, body, k, &per[k], k))
            return -1;
        if (n->out[k] >= 0 && oc_infer_set_out(cx, k, st[k]->dtype, st[k]->rank, st[k]->dims))
            return -1;
    }
    for (int j = 0; j < L.K; j++) {
        const oc_value *o = body_out(body, L.N + j);
        if (o->rank < 0 || o->rank + 1 + L.v8 > OC_MAX_RANK)
            return oc_infer_fail(cx, "scan output %d has an unknown or too large rank", j);
        int r = 0, axis = L.out_axis[j];
        if (L.v8) {
            dims[r++] = L.batch;
            axis = 0;
        } else if (oc_infer_axis(cx, axis, o->rank + 1, &axis)) {
            return -1;
        }
        for (int a = 0; a <= o->rank; a++)
            dims[r++] = a == axis ? L.len : o->dims[a < axis ? a : a - 1];
        if (n->out[L.N + j] >= 0 && oc_infer_set_out(cx, L.N + j, o->dtype, r, dims))
            return -1;
    }
    return 0;
}

/* slot[] of a body: -1 for its formal inputs, the node input of each
 * captured one. */
static void body_slots(const oc_graph *body, int *slot)
{
    int formal = body->n_inputs - body->n_captured;
    for (int k = 0; k < body->n_inputs; k++)
        slot[k] = k >= formal && body->capture_slot ? body->capture_slot[k - formal] : -1;
}

static int64_t bytes_of(const oc_value *v, int from, int to) /* dims [from, to) times the element size */
{
    int64_t b = (int64_t)oc_dtype_size(v->dtype);
    for (int i = from; i < to; i++)
        b *= v->dims[i];
    return b;
}

static int lower_scan(const oc_graph *g, const oc_node *n, oc_lowered *out, oc_diag *d)
{
    char lb[300];
    const oc_graph *body = subgraph_attr(n, "body");
    oc_infer cx = {(oc_graph *)g, (int)(n - g->nodes), d};
    scan_layout L;
    if (!body || scan_layout_of(&cx, &L))
        return -1;
    oc_scan_params *p = oc_lower_params(out, sizeof *p + sizeof(int) * (size_t)(body->n_inputs + 1), d);
    if (!p)
        return -1;
    p->n_state = L.N;
    p->n_scan_in = L.M;
    p->n_scan_out = L.K;
    p->first_in = L.first;
    p->batch = L.batch;
    p->len = L.len;
    for (int k = 0; k < L.N; k++) {
        const oc_value *s = &g->values[n->in[L.first + k]];
        p->state_bytes[k] = bytes_of(s, L.v8, s->rank);
    }
    size_t scratch = 0;
    for (int i = 0; i < L.M; i++) {
        const oc_value *x = &g->values[n->in[L.first + L.N + i]];
        int a = L.in_axis[i];
        p->in_pre[i] = bytes_of(x, L.v8, a) / (int64_t)oc_dtype_size(x->dtype);
        p->in_post[i] = bytes_of(x, a + 1, x->rank);
        p->in_rev[i] = L.in_rev[i];
        p->slice_off[i] = scratch;
        scratch += ((size_t)(p->in_pre[i] * p->in_post[i]) + 63) & ~(size_t)63;
    }
    for (int j = 0; j < L.K; j++) {
        if (n->out[L.N + j] < 0)
            continue;
        const oc_value *y = &g->values[n->out[L.N + j]];
        int a = L.v8 ? 1 : -1;
        if (!L.v8) {
            a = L.out_axis[j];
            if (a < 0)
                a += y->rank;
        }
        p->out_pre[j] = bytes_of(y, L.v8, a) / (int64_t)oc_dtype_size(y->dtype);
        p->out_post[j] = bytes_of(y, a + 1, y->rank);
        p->out_rev[j] = L.out_rev[j];
    }
    p->n_body_in = body->n_inputs;
    body_slots(body, p->slot);
    out->scratch = scratch;
    if (!(out->sub = calloc(1, sizeof *out->sub)))
        return oc_fail(d, "out of memory");
    out->n_sub = 1;
    oc_plan_opts po = {0};
    po.threads = 1;
    if (!(out->sub[0] = oc_plan_build(body, &po, d))) {
        oc_diag_prefix(d, "%s body: ", oc_node_label(n, lb, sizeof lb));
        return -1;
    }
    out->fn = oc_scan_forward;
    return 0;
}

/* Loop: the trip count when known (planning needs it for scan outputs). */
static int64_t loop_trip(const oc_graph *g, const oc_node *n)
{
    if (n->n_in < 1 || n->in[0] < 0)
        return -1;
    const oc_value *m = &g->values[n->in[0]];
    if (!m->constant || m->constant->numel != 1)
        return -1;
    int64_t t = (int64_t)oc_const_f64(m->constant, 0);
    if (n->n_in >= 2 && n->in[1] >= 0) { /* a condition known false runs nothing */
        const oc_value *c = &g->values[n->in[1]];
        if (c->constant && c->constant->numel == 1 && oc_const_f64(c->constant, 0) == 0.0)
            t = 0;
    }
    return t < 0 ? 0 : t;
}

static int infer_loop(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_graph *body = subgraph_attr(n, "body");
    int n_exp = n->n_in - n->n_implicit;
    int N = n_exp - 2, K = n->n_out - N;
    int64_t dims[OC_MAX_RANK];
    if (!body)
        return oc_infer_fail(cx, "attribute 'body' (a graph) is missing");
    if (N < 0 || N > OC_SCAN_MAX || K < 0 || K > OC_SCAN_MAX)
        return oc_infer_fail(cx, "takes %d loop-carried values and gives %d scan outputs; onnxc supports up to %d",
                             N, K, OC_SCAN_MAX);
    if (body->n_inputs - body->n_captured != 2 + N || body->n_outputs != 1 + N + K)
        return oc_infer_fail(cx, "the body takes %d inputs and gives %d outputs; expected %d and %d",
                             body->n_inputs - body->n_captured, body->n_outputs, 2 + N, 1 + N + K);
    const oc_value *m = oc_infer_in(cx, 0), *c = oc_infer_in(cx, 1);
    if (m && (m->dtype != OC_INT64 || (m->rank > 0 && oc_value_numel(m) != 1)))
        return oc_infer_fail(cx, "the trip count M must be one int64");
    if (c && (c->dtype != OC_BOOL || (c->rank > 0 && oc_value_numel(c) != 1)))
        return oc_infer_fail(cx, "the condition must be one bool");
    set_formal(body, 0, OC_INT64, 0, NULL);
    set_formal(body, 1, OC_BOOL, 0, NULL);
    const oc_value *st[OC_SCAN_MAX];
    for (int k = 0; k < N; k++) {
        if (!(st[k] = oc_infer_in_ranked(cx, 2 + k)))
            return -1;
        set_formal(body, 2 + k, st[k]->dtype, st[k]->rank, st[k]->dims);
    }
    int rc = infer_subgraph(cx, body, "body");
    if (rc)
        return rc < 0 ? -1 : unknown_outputs(cx);
    const oc_value *co = body_out(body, 0);
    if (co->dtype != OC_BOOL)
        return oc_infer_fail(cx, "the body's condition output must be bool");
    for (int k = 0; k < N; k++) {
        if (check_state(cx, body, 1 + k, st[k], k))
            return -1;
        if (n->out[k] >= 0 && oc_infer_set_out(cx, k, st[k]->dtype, st[k]->rank, st[k]->dims))
            return -1;
    }
    /* M may become known later (the fold pass); if not, the stacked
     * outputs keep an unknown extent, which the planner refuses naming
     * this node */
    int64_t trip = loop_trip(cx->g, n);
    for (int j = 0; j < K; j++) {
        const oc_value *o = body_out(body, 1 + N + j);
        if (o->rank < 0 || o->rank + 1 > OC_MAX_RANK)
            return oc_infer_fail(cx, "scan output %d has an unknown or too large rank", j);
        dims[0] = trip;
        for (int a = 0; a < o->rank; a++)
            dims[a + 1] = o->dims[a];
        if (n->out[N + j] >= 0 && oc_infer_set_out(cx, N + j, o->dtype, o->rank + 1, dims))
            return -1;
    }
    return 0;
}

static int lower_loop(const oc_graph *g, const oc_node *n, oc_lowered *out, oc_diag *d)
{
    char lb[300];
    const oc_graph *body = subgraph_attr(n, "body");
    int N = n->n_in - n->n_implicit - 2, K = n->n_out - N;
    if (!body || N < 0 || N > OC_SCAN_MAX || K < 0 || K > OC_SCAN_MAX)
        return oc_fail(d, "%s: malformed Loop", oc_node_label(n, lb, sizeof lb));
    oc_loop_params *p = oc_lower_params(out, sizeof *p + sizeof(int) * (size_t)(body->n_inputs + 1), d);
    if (!p)
        return -1;
    p->n_state = N;
    p->n_scan_out = K;
    /* planned iterations: M when known, else the extent the model
     * declares for the stacked outputs (checked against M at run time) */
    p->trip = K > 0 ? loop_trip(g, n) : -1;
    for (int j = 0; j < K; j++) {
        const oc_value *y = n->out[N + j] >= 0 ? &g->values[n->out[N + j]] : NULL;
        if (!y)
            continue;
        if (p->trip < 0)
            p->trip = y->dims[0];
        if (y->rank < 1 || y->dims[0] != p->trip)
            return oc_fail(d, "%s: scan output %d does not stack %lld iterations", oc_node_label(n, lb, sizeof lb), j,
                           (long long)p->trip);
    }
    if (K > 0 && p->trip < 0)
        return oc_fail(d, "%s: its trip count is only known at run time", oc_node_label(n, lb, sizeof lb));
    for (int k = 0; k < N; k++) {
        const oc_value *s = &g->values[n->in[2 + k]];
        p->state_bytes[k] = bytes_of(s, 0, s->rank);
        if (n->out[k] < 0)
            return oc_fail(d, "%s: an omitted loop-carried output is not supported", oc_node_label(n, lb, sizeof lb));
    }
    for (int j = 0; j < K; j++) {
        const oc_value *o = body_out(body, 1 + N + j);
        p->scan_bytes[j] = bytes_of(o, 0, o->rank);
    }
    p->n_body_in = body->n_inputs;
    body_slots(body, p->slot);
    out->scratch = 64; /* the iteration number and the condition the body reads */
    if (!(out->sub = calloc(1, sizeof *out->sub)))
        return oc_fail(d, "out of memory");
    out->n_sub = 1;
    oc_plan_opts po = {0};
    po.threads = 1;
    if (!(out->sub[0] = oc_plan_build(body, &po, d))) {
        oc_diag_prefix(d, "%s body: ", oc_node_label(n, lb, sizeof lb));
        return -1;
    }
    out->fn = oc_loop_forward;
    return 0;
}

const oc_op oc_ops_controlflow[] = {
    {"If", 1, 1, 1, 4096, infer_if, NULL, 0, 0, lower_if},
    {"Scan", 1, 2 * OC_SCAN_MAX + 1, 1, 2 * OC_SCAN_MAX, infer_scan, NULL, 0, 0, lower_scan},
    {"Loop", 2, OC_SCAN_MAX + 2, 1, 2 * OC_SCAN_MAX, infer_loop, NULL, 0, 0, lower_loop},
    {0},
};
