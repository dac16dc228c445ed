/* dce.c: dead-code removal. A node is live when a graph output depends on
 * one of its outputs; walking the (sorted) nodes backwards from the graph
 * outputs marks them, everything else is removed. Then constants no node
 * reads lose their data (inference only); their values stay in the
 * graph's value table (ids are stable) and never reach the plan, which
 * holds only values that a step or the graph's inputs and outputs use.
 * Graph inputs stay: callers feed them whether or not anything reads them. */
#include "pass.h"

#include <stdlib.h>

/* Frees the data of constants no node reads (weights replaced by bn_fold,
 * copies fold made of shared parameters): the graph need not hold them
 * twice. Graph inputs and outputs keep theirs. Training graphs keep every
 * initializer (each is a parameter with a gradient). Returns the count. */
static int drop_unused_constants(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d)
{
    int *uses = oc_graph_use_counts(g, d);
    if (!uses)
        return -1;
    int n = 0;
    size_t bytes = 0;
    for (int v = 0; v < g->n_values; v++) {
        oc_value *val = &g->values[v];
        if (!val->constant || uses[v] || val->producer >= 0 || (val->flags & (OC_VALUE_INPUT | OC_VALUE_OUTPUT)))
            continue;
        bytes += oc_tensor_nbytes(val->constant);
        oc_tensor_free(val->constant);
        val->constant = NULL;
        val->flags &= ~(unsigned)(OC_VALUE_INITIALIZER | OC_VALUE_VARIABLE);
        n++;
    }
    free(uses);
    if (n)
        oc_pass_note(cx, "dropped %d constants no node reads (%.2f MB)", n, (double)bytes / 1e6);
    return n;
}

int oc_pass_dce(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d)
{
    unsigned char *live_v = calloc((size_t)g->n_values + 1, 1);
    unsigned char *dead = calloc((size_t)g->n_nodes + 1, 1);
    if (!live_v || !dead) {
        free(live_v);
        free(dead);
        return oc_fail(d, "out of memory");
    }
    for (int k = 0; k < g->n_outputs; k++)
        live_v[g->outputs[k]] = 1;
    /* nodes are in topological order: consumers come after producers */
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        const oc_node *n = &g->nodes[i];
        int live = 0;
        for (int k = 0; k < n->n_out && !live; k++)
            live = n->out[k] >= 0 && live_v[n->out[k]];
        if (!live) {
            dead[i] = 1;
            continue;
        }
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0)
                live_v[n->in[k]] = 1;
    }
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (dead[i]) {
            count++;
            oc_pass_note(cx, "removed %s '%s': no graph output depends on it", g->nodes[i].op_type,
                         g->nodes[i].name);
        }
    int rc = count ? oc_graph_remove_nodes(g, dead, d) : 0;
    free(live_v);
    free(dead);
    if (rc)
        return -1;
    /* dropped constants are noted but not counted: the graph's structure
     * (and so its shapes) did not change */
    int dropped = cx->opts && cx->opts->training ? 0 : drop_unused_constants(g, cx, d);
    return dropped < 0 ? -1 : count;
}
