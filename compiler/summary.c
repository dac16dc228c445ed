/* summary.c: see summary.h. */
#include "summary.h"

#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

/* The initializer behind value v, looking through Identity nodes
 * (PyTorch's exporter shares one initializer among equal-valued weights
 * and gives each user an Identity of it), or -1. */
static int param_source(const oc_graph *g, int v)
{
    for (int hops = 0; v >= 0 && hops < 64; hops++) {
        const oc_value *val = &g->values[v];
        if (val->flags & OC_VALUE_INITIALIZER)
            return v;
        if (val->producer < 0 || strcmp(g->nodes[val->producer].op_type, "Identity") != 0)
            return -1;
        v = g->nodes[val->producer].in[0];
    }
    return -1;
}

static int is_float(int dt) { return dt == OC_FLOAT || dt == OC_DOUBLE || dt == OC_FLOAT16 || dt == OC_BFLOAT16; }

int oc_summarize(const oc_graph *g, oc_summary *s, oc_diag *d)
{
    s->params = s->state = s->macs = s->param_bytes = 0;
    s->macs_unknown = s->n_unsupported = 0;
    s->nodes = calloc((size_t)g->n_nodes + 1, sizeof *s->nodes);
    unsigned char *seen = calloc((size_t)g->n_values + 1, 1);
    if (!s->nodes || !seen) {
        free(seen);
        free(s->nodes);
        s->nodes = NULL;
        return oc_fail(d, "out of memory");
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const oc_node *n = &g->nodes[i];
        oc_node_stat *st = &s->nodes[i];
        if (!n->op)
            s->n_unsupported++;
        int is_identity = strcmp(n->op_type, "Identity") == 0;
        for (int k = 0; k < n->n_in && !is_identity; k++) {
            int v = param_source(g, n->in[k]);
            if (v < 0)
                continue;
            const oc_value *val = &g->values[v];
            if (!is_float(val->dtype) || !val->constant)
                continue; /* shape constants, indices */
            if (n->op && k < 32 && (n->op->config_inputs & (1u << k)))
                continue;
            if (n->op && k < 32 && (n->op->state_inputs & (1u << k))) {
                st->state += val->constant->numel;
            } else {
                st->params += val->constant->numel;
                if (!seen[v])
                    s->param_bytes += (int64_t)oc_tensor_nbytes(val->constant);
            }
            seen[v] = 1;
        }
        st->macs = n->op && n->op->macs ? n->op->macs(g, n) : 0;
        if (st->macs < 0)
            s->macs_unknown++;
        else
            s->macs += st->macs;
        s->params += st->params;
        s->state += st->state;
    }
    free(seen);
    return 0;
}

void oc_summary_free(oc_summary *s)
{
    free(s->nodes);
    s->nodes = NULL;
}
