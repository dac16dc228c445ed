/* shape.c: see shape.h. Shape inference only infers: the small shape
 * arithmetic a rule does itself (Shape, Gather of a shape, Concat...,
 * oc_infer_set_const) stays here because planning needs static shapes;
 * evaluating nodes with kernels is the fold pass (passes/fold.c). */
#include "shape.h"

#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

static void forget_derived_shapes(oc_graph *g)
{
    for (int i = 0; i < g->n_values; i++) {
        oc_value *v = &g->values[i];
        if (v->flags & (OC_VALUE_INPUT | OC_VALUE_INITIALIZER))
            continue;
        v->rank = -1;
        for (int k = 0; k < OC_MAX_RANK; k++)
            v->dims[k] = -1;
        oc_tensor_free(v->constant);
        v->constant = NULL;
    }
}

int oc_graph_bind_dims(oc_graph *g, int64_t batch, int n, const oc_dim_binding *b, oc_diag *d)
{
    int changed_fixed = 0;
    if (batch >= 0) {
        if (batch == 0 || batch > (1 << 24))
            return oc_fail(d, "--batch %lld is outside 1..%d", (long long)batch, 1 << 24);
        for (int i = 0; i < g->n_inputs; i++) {
            oc_value *v = &g->values[g->inputs[i]];
            if (v->rank < 1)
                return oc_fail(d, "input '%s' has no batch dimension to bind", v->name);
            if (v->dims[0] >= 0 && v->dims[0] != batch)
                changed_fixed = 1;
            v->dims[0] = batch;
        }
    }
    for (int k = 0; k < n; k++) {
        if (b[k].value < 0)
            return oc_fail(d, "--dim %s=%lld: size must be >= 0", b[k].name, (long long)b[k].value);
        int hit = 0;
        for (int i = 0; i < g->n_values; i++) {
            oc_value *v = &g->values[i];
            for (int j = 0; j < v->rank; j++)
                if (v->sym[j] && strcmp(v->sym[j], b[k].name) == 0) {
                    v->dims[j] = b[k].value;
                    hit = 1;
                }
        }
        if (!hit)
            return oc_fail(d, "--dim %s: no dimension of the model is named '%s'", b[k].name, b[k].name);
    }
    if (changed_fixed)
        forget_derived_shapes(g);
    return 0;
}

/* Control flow (If, Loop, Scan): its output shapes may stay unknown until
 * a condition or trip count is folded (the fold pass infers again). */
static int holds_subgraph(const oc_node *n)
{
    for (int k = 0; k < n->n_attrs; k++)
        if (n->attrs[k].g)
            return 1;
    return 0;
}

/* The first of ids[0..min(n, lim)) that is absent (-1), or -1. */
static int first_empty(const int *ids, int n, int lim)
{
    for (int k = 0; k < lim && k < n; k++)
        if (ids[k] < 0)
            return k;
    return -1;
}

/* Input of node i whose shape is unknown because an op onnxc lacks (or a
 * node skipped for that reason, or control flow whose shapes are not
 * known yet) produced it without a declared type: id of that value, or -1. */
static int blocked_input(const oc_graph *g, const oc_node *n, const unsigned char *skipped)
{
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0)
            continue;
        const oc_value *v = &g->values[n->in[k]];
        if (v->rank < 0 && v->producer >= 0 &&
            (!g->nodes[v->producer].op || skipped[v->producer] || holds_subgraph(&g->nodes[v->producer])))
            return n->in[k];
    }
    return -1;
}

int oc_graph_infer_shapes_hook(oc_graph *g, oc_infer_hook after, void *ctx, oc_diag *d)
{
    char lb[300];
    /* trainable values change between runs: shape rules (and the hook)
     * must not see their data (restored below) */
    oc_tensor **hidden = calloc((size_t)g->n_values + 1, sizeof(oc_tensor *));
    if (!hidden)
        return oc_fail(d, "out of memory");
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].flags & OC_VALUE_VARIABLE) {
            hidden[v] = g->values[v].constant;
            g->values[v].constant = NULL;
        }
    unsigned char *skipped = calloc((size_t)g->n_nodes + 1, 1);
    if (!skipped) {
        for (int v = 0; v < g->n_values; v++)
            if (hidden[v])
                g->values[v].constant = hidden[v];
        free(hidden);
        return oc_fail(d, "out of memory");
    }
    int n_skipped = 0, first_skipped = -1, first_blocker = -1, rc = 0;
    for (int i = 0; i < g->n_nodes && !rc; i++) {
        oc_node *n = &g->nodes[i];
        if (!n->op) {
            int first = 1;
            for (int j = 0; j < i && first; j++)
                first = g->nodes[j].op || strcmp(g->nodes[j].op_type, n->op_type) != 0;
            if (first)
                oc_warn(d, "unsupported op '%s' (first at node '%s'): its outputs keep their declared types",
                        n->op_type, n->name);
            continue;
        }
        const oc_op *op = n->op;
        if (n->n_in - n->n_implicit < op->min_in || n->n_in - n->n_implicit > op->max_in) {
            rc = oc_fail(d, "%s has %d inputs; %s takes %d to %d", oc_node_label(n, lb, sizeof lb), n->n_in - n->n_implicit,
                         op->name, op->min_in, op->max_in);
            break;
        }
        /* The first min_in inputs and min_out outputs are required (an
         * empty name marks an absent optional one), except Loop's trip
         * count and condition, Scan-8's sequence_lens and the recurrent
         * ops' outputs, which the spec lets be empty. onnxc's own ops mark
         * absent inputs -1 and are not checked. */
        int internal = n->domain && !strcmp(n->domain, OC_DOMAIN_ONNXC);
        int in_opt = !strcmp(op->name, "Loop") || !strcmp(op->name, "Scan");
        int out_opt = !strcmp(op->name, "RNN") || !strcmp(op->name, "GRU") || !strcmp(op->name, "LSTM");
        int miss_in = internal || in_opt ? -1 : first_empty(n->in, n->n_in, op->min_in);
        int miss_out = internal || out_opt ? -1 : first_empty(n->out, n->n_out, op->min_out);
        if (miss_in >= 0 || miss_out >= 0) {
            rc = oc_fail(d, "%s: %s %d is required but its name is empty", oc_node_label(n, lb, sizeof lb),
                         miss_in >= 0 ? "input" : "output", miss_in >= 0 ? miss_in : miss_out);
            break;
        }
        if (n->n_out < op->min_out || n->n_out > op->max_out) {
            rc = oc_fail(d, "%s has %d outputs; %s gives %d to %d", oc_node_label(n, lb, sizeof lb), n->n_out,
                         op->name, op->min_out, op->max_out);
            break;
        }
        /* Downstream of an unsupported op without declared types there is
         * nothing to infer from: keep declared types rather than report a
         * missing shape that is not this node's fault. */
        int blocker = blocked_input(g, n, skipped);
        if (blocker >= 0) {
            skipped[i] = 1;
            if (n_skipped++ == 0) {
                first_skipped = i;
                first_blocker = blocker;
            }
            continue;
        }
        oc_infer cx = {g, i, d};
        if (op->infer(&cx) || (after && after(g, i, ctx, d)))
            rc = -1;
    }
    if (!rc && n_skipped)
        oc_warn(d, "%d node(s) after unsupported ops keep their declared types (first: %s, input '%s')", n_skipped,
                oc_node_label(&g->nodes[first_skipped], lb, sizeof lb), g->values[first_blocker].name);
    free(skipped);
    for (int v = 0; v < g->n_values; v++)
        if (hidden[v])
            g->values[v].constant = hidden[v];
    free(hidden);
    return rc;
}

int oc_graph_infer_shapes(oc_graph *g, oc_diag *d) { return oc_graph_infer_shapes_hook(g, NULL, NULL, d); }
