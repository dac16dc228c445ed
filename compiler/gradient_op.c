/* gradient_op.c: see gradient_op.h. A Gradient node names the tensors it
 * differentiates (attributes y and xs) rather than reading them, so it is
 * no kernel: it is the same backward pass `onnxc grad` builds, spliced in
 * where the node was. The node is registered (compiler/ops/optim_ops.c)
 * only so that the importer accepts it; it never reaches shape inference. */
#include "gradient_op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "shape.h"

static int is_gradient(const oc_node *n)
{
    return strcmp(n->op_type, "Gradient") == 0 && n->domain && strcmp(n->domain, OC_DOMAIN_TRAINING) == 0;
}

typedef struct grad_spec {
    char *name;  /* the node's name, for the Identity nodes and messages */
    int y;
    int n;       /* xs and outputs */
    int *xs, *outs;
} grad_spec;

/* Reads node nid's attributes into s; -1 with a message. */
static int read_spec(const oc_graph *g, int nid, grad_spec *s, oc_diag *d)
{
    const oc_node *n = &g->nodes[nid];
    const oc_attr *xs = oc_node_attr(n, "xs"), *y = oc_node_attr(n, "y");
    if (oc_node_attr(n, "zs"))
        return oc_fail(d, "attribute 'zs' (inputs held constant) is not supported");
    if (!xs || xs->type != OC_ATTR_STRINGS || xs->n < 1 || !y || y->type != OC_ATTR_STRING)
        return oc_fail(d, "needs attributes 'xs' (strings) and 'y' (string)");
    if (n->n_out != xs->n)
        return oc_fail(d, "has %d outputs for %d names in 'xs'", n->n_out, xs->n);
    if ((s->y = oc_graph_find(g, y->s)) < 0)
        return oc_fail(d, "y '%s' is no value of the graph", y->s);
    s->n = xs->n;
    s->xs = malloc(sizeof(int) * (size_t)s->n);
    s->outs = malloc(sizeof(int) * (size_t)s->n);
    s->name = oc_strdup(n->name);
    if (!s->xs || !s->outs || !s->name)
        return oc_fail(d, "out of memory");
    for (int i = 0; i < s->n; i++) {
        int x = oc_graph_find(g, xs->strings[i]);
        if (x < 0)
            return oc_fail(d, "xs names '%s', which is no value of the graph", xs->strings[i]);
        if (!(g->values[x].flags & (OC_VALUE_INPUT | OC_VALUE_INITIALIZER)))
            return oc_fail(d, "xs names '%s', which is neither a graph input nor an initializer (not supported)",
                           xs->strings[i]);
        if (n->out[i] < 0)
            return oc_fail(d, "output %d is omitted", i);
        s->xs[i] = x;
        s->outs[i] = n->out[i];
    }
    /* the outputs are produced after the whole forward graph: nothing in
     * it may read them */
    for (int j = 0; j < g->n_nodes; j++)
        for (int k = 0; k < g->nodes[j].n_in; k++)
            for (int i = 0; i < s->n; i++)
                if (g->nodes[j].in[k] == s->outs[i])
                    return oc_fail(d, "output '%s' is read by another node (not supported)",
                                   g->values[s->outs[i]].name);
    return 0;
}

/* Drops value v from the graph outputs (autodiff marks every gradient
 * one; here the Gradient node's own outputs are the graph's). */
static void unmark_output(oc_graph *g, int v)
{
    int k = 0;
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] != v)
            g->outputs[k++] = g->outputs[i];
    g->n_outputs = k;
    g->values[v].flags &= ~OC_VALUE_OUTPUT;
}

int oc_expand_gradient_ops(oc_graph *g, oc_diag *d)
{
    int count = 0, rc = -1;
    char lb[300];
    for (int i = 0; i < g->n_nodes; i++)
        count += is_gradient(&g->nodes[i]);
    if (!count)
        return 0;
    grad_spec *specs = calloc((size_t)count, sizeof *specs);
    unsigned char *dead = calloc((size_t)g->n_nodes + 1, 1);
    int *grads = NULL;
    if (!specs || !dead) {
        oc_fail(d, "out of memory");
        goto out;
    }
    for (int i = 0, k = 0; i < g->n_nodes; i++) {
        if (!is_gradient(&g->nodes[i]))
            continue;
        dead[i] = 1;
        if (read_spec(g, i, &specs[k++], d)) {
            oc_diag_prefix(d, "%s: ", oc_node_label(&g->nodes[i], lb, sizeof lb));
            goto out;
        }
    }
    if (oc_graph_remove_nodes(g, dead, d) || oc_graph_infer_shapes(g, d))
        goto out;
    for (int k = 0; k < count; k++) {
        grad_spec *s = &specs[k];
        free(grads);
        if (!(grads = malloc(sizeof(int) * (size_t)s->n))) {
            oc_fail(d, "out of memory");
            goto out;
        }
        if (oc_autodiff(g, s->y, s->n, s->xs, NULL, grads, d)) {
            oc_diag_prefix(d, "node '%s' (Gradient): ", s->name);
            goto out;
        }
        for (int i = 0; i < s->n; i++) {
            unmark_output(g, grads[i]);
            char name[320];
            snprintf(name, sizeof name, "%s_%d", s->name, i);
            const char *in = g->values[grads[i]].name, *o = g->values[s->outs[i]].name;
            if (oc_graph_add_node(g, "Identity", name, 1, &in, 1, &o, d) < 0)
                goto out;
        }
    }
    rc = oc_graph_toposort(g, d) || oc_graph_validate(g, d) ? -1 : 0;
out:
    for (int k = 0; specs && k < count; k++) {
        free(specs[k].name);
        free(specs[k].xs);
        free(specs[k].outs);
    }
    free(specs);
    free(dead);
    free(grads);
    return rc;
}
