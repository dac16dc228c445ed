/* slice.c: the slice pass. It changes nothing in the graph: it lets the
 * planner run chains of convolutions one image at a time
 * (oc_plan_opts.batch_slice, oc_step.slice_len) and notes the chains it
 * sees. A chain is a run of consecutive (planned) Conv/FusedConv nodes, at
 * most OC_SLICE_MAX_LEN, each feeding the next as its only use, over a
 * batch of two or more, at least one of them grouped: MobileNet's 1x1
 * expand -> depthwise -> 1x1 project. Run for the whole batch, the
 * expanded tensor (38.5 MB in MobileNet-v2's second block at batch 8) goes
 * to memory between the convs; one image at a time (4.8 MB) it stays in
 * L3. ResNet and VGG have no grouped convs and keep running layer by
 * layer. Training plans never slice. */
#include "pass.h"

#include <stdlib.h>
#include <string.h>

static int slice_conv(const oc_node *n)
{
    return n->op_type && (!strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "FusedConv")) && n->n_out >= 1 &&
           n->out[0] >= 0 && n->n_in >= 1 && n->in[0] >= 0;
}

void oc_slice_chains(const oc_graph *g, const unsigned char *keep, const int *uses, int *chain)
{
    int *next = malloc(sizeof(int) * ((size_t)g->n_nodes + 1));
    if (!next)
        return; /* no chains: only speed is lost */
    for (int s = 0, last = -1; s <= g->n_nodes; s++)
        if (s == g->n_nodes || keep[s]) {
            if (last >= 0)
                next[last] = s < g->n_nodes ? s : -1;
            last = s;
        }
    for (int s = 0; s < g->n_nodes; s++)
        chain[s] = 0;
    for (int s = 0; s < g->n_nodes; s++) {
        if (!keep[s] || !slice_conv(&g->nodes[s]))
            continue;
        const oc_value *x = &g->values[g->nodes[s].in[0]];
        if (x->rank != 4 || x->dims[0] < 2)
            continue;
        int len = 1, grouped = oc_attr_int(&g->nodes[s], "group", 1) > 1, at = s;
        while (len < OC_SLICE_MAX_LEN) {
            int nx = next[at], y = g->nodes[at].out[0];
            if (nx < 0 || !slice_conv(&g->nodes[nx]) || g->nodes[nx].in[0] != y || uses[y] != 1 ||
                (g->values[y].flags & OC_VALUE_OUTPUT) || g->values[y].rank != 4 ||
                g->values[y].dims[0] != x->dims[0])
                break;
            for (int k = 1; k < g->nodes[nx].n_in; k++) /* the chain's value feeds only X */
                if (g->nodes[nx].in[k] == y)
                    goto done;
            grouped |= oc_attr_int(&g->nodes[nx], "group", 1) > 1;
            at = nx;
            len++;
        }
    done:
        if (len >= 2 && grouped) {
            chain[s] = len;
            s = at; /* chains do not overlap */
        }
    }
    free(next);
}

int oc_pass_slice(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d)
{
    unsigned char *keep = calloc((size_t)g->n_nodes + 1, 1);
    int *uses = calloc((size_t)g->n_values + 1, sizeof(int)), *chain = calloc((size_t)g->n_nodes + 1, sizeof(int));
    if (!keep || !uses || !chain) {
        free(keep);
        free(uses);
        free(chain);
        return oc_fail(d, "out of memory");
    }
    for (int s = 0; s < g->n_nodes; s++) {
        keep[s] = 1;
        for (int k = 0; k < g->nodes[s].n_in; k++)
            if (g->nodes[s].in[k] >= 0)
                uses[g->nodes[s].in[k]]++;
    }
    oc_slice_chains(g, keep, uses, chain);
    for (int s = 0; s < g->n_nodes; s++)
        if (chain[s] >= 2)
            oc_pass_note(cx, "%d convs from '%s' run one image at a time (batch %lld)", chain[s], g->nodes[s].name,
                         (long long)g->values[g->nodes[s].in[0]].dims[0]);
    cx->report->batch_slice = 1;
    free(keep);
    free(uses);
    free(chain);
    return 0;
}
