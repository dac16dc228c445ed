/* autodiff.c: see autodiff.h.
 *
 * 1. Mark values that depend on a parameter (forward sweep) and values the
 *    loss depends on (backward sweep); a gradient is needed exactly for
 *    values marked both ways.
 * 2. Seed d loss / d loss = 1 and visit the original nodes in reverse
 *    order; each node's output gradients are the sum of the contributions
 *    its consumers made, and its rule adds contributions for its inputs.
 * 3. Each parameter's contributions are summed into grad_<name>, which is
 *    marked as a graph output. */
#include "autodiff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "shape.h"
#include "train.h"

int oc_grad_add(oc_grad_ctx *cx, const char *op, int internal, int n_in, const int *in, int n_out, int *outs)
{
    oc_graph *g = cx->g;
    const char *in_names[16];
    char out_buf[8][96];
    const char *out_names[8];
    char name[96];
    if (n_in > 16 || n_out > 8)
        return oc_fail(cx->d, "gradient node %s has %d inputs and %d outputs; at most 16 and 8 are supported", op,
                       n_in, n_out);
    for (int k = 0; k < n_in; k++)
        in_names[k] = in[k] >= 0 ? g->values[in[k]].name : "";
    int id = cx->counter++;
    snprintf(name, sizeof name, "grad/%s_%d", op, id);
    for (int k = 0; k < n_out; k++) {
        snprintf(out_buf[k], sizeof out_buf[k], "grad/%s_%d:%d", op, id, k);
        out_names[k] = out_buf[k];
    }
    int nid = oc_graph_add_node_in(g, internal ? OC_DOMAIN_ONNXC : "", op, name, n_in, in_names, n_out, out_names,
                                   cx->d);
    if (nid < 0)
        return -1;
    for (int k = 0; k < n_out; k++)
        outs[k] = g->nodes[nid].out[k];
    return nid;
}

int oc_grad_unbroadcast(oc_grad_ctx *cx, int dy, int like)
{
    const oc_value *a = &cx->g->values[dy], *b = &cx->g->values[like];
    int same = a->rank == b->rank;
    for (int i = 0; same && i < a->rank; i++)
        same = a->dims[i] == b->dims[i];
    if (same)
        return dy;
    int in[2] = {dy, like}, out;
    return oc_grad_add(cx, "SumToShape", 1, 2, in, 1, &out) < 0 ? -1 : out;
}

/* A parameter's only gradient contribution v becomes the named gradient
 * itself: v is renamed `final_name`, so the node that computes it writes
 * the gradient where the planner puts it (the gradients block). A
 * one-input Sum would copy it there instead: for ResNet-18 at batch 8,
 * 62 copies of 11.7M floats in all, 14-20 ms of a 450 ms training step
 * on one thread (Zen 5). Returns -2 when v is not a node's private
 * result (an input, a constant, already an output, e.g. the gradient of
 * another parameter that shares it): the caller then copies. */
static int direct_gradient(oc_grad_ctx *cx, int v, const char *final_name)
{
    const oc_value *val = &cx->g->values[v];
    if (val->producer < 0 || val->constant || (val->flags & (OC_VALUE_INPUT | OC_VALUE_OUTPUT | OC_VALUE_INITIALIZER)))
        return -2;
    return oc_graph_rename_value(cx->g, v, final_name, cx->d) ? -1 : v;
}

/* Sum of a value's gradient contributions (one node when several). */
static int accumulate(oc_grad_ctx *cx, int *list, int n, const char *final_name)
{
    if (n == 1 && !final_name)
        return list[0];
    oc_graph *g = cx->g;
    if (n == 1) {
        int direct = direct_gradient(cx, list[0], final_name);
        if (direct != -2)
            return direct;
    }
    const char *in_names[64];
    int total = list[0];
    /* Sum takes up to 64 inputs per node: chain for more */
    for (int start = 0; start < n;) {
        int m = 0;
        if (start > 0)
            in_names[m++] = g->values[total].name;
        while (start < n && m < 64)
            in_names[m++] = g->values[list[start++]].name;
        char name[300], out[300];
        int id = cx->counter++;
        snprintf(name, sizeof name, "grad/Sum_%d", id);
        if (start >= n && final_name)
            snprintf(out, sizeof out, "%s", final_name);
        else
            snprintf(out, sizeof out, "grad/Sum_%d:0", id);
        const char *outs[1] = {out};
        int nid = oc_graph_add_node(g, "Sum", name, m, in_names, 1, outs, cx->d);
        if (nid < 0)
            return -1;
        total = g->nodes[nid].out[0];
    }
    return total;
}

int *oc_trainable_params(const oc_graph *g, int *n, oc_diag *d)
{
    int *out = malloc(sizeof(int) * (size_t)(g->n_values + 1));
    unsigned char *skip = calloc((size_t)g->n_values + 1, 1), *used = calloc((size_t)g->n_values + 1, 1);
    *n = 0;
    if (!out || !skip || !used) {
        free(out);
        free(skip);
        free(used);
        oc_fail(d, "out of memory");
        return NULL;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const oc_node *nd = &g->nodes[i];
        for (int k = 0; k < nd->n_in; k++) {
            int v = nd->in[k];
            if (v < 0)
                continue;
            used[v] = 1;
            if (nd->op && k < 32 && ((nd->op->state_inputs | nd->op->config_inputs) & (1u << k)))
                skip[v] = 1;
        }
    }
    for (int v = 0; v < g->n_values; v++) {
        const oc_value *val = &g->values[v];
        if ((val->flags & OC_VALUE_INITIALIZER) && used[v] && !skip[v] && val->dtype == OC_FLOAT)
            out[(*n)++] = v;
    }
    free(skip);
    free(used);
    return out;
}

int oc_autodiff(oc_graph *g, int loss, int n_params, const int *params, const oc_autodiff_opts *o, int *grads,
                oc_diag *d)
{
    char lb[300];
    /* the shorthand: every BatchNormalization trains (marking adds the
     * running-statistics outputs, so it comes before the counts) */
    if (o && o->bn_train && oc_bn_mark(g, NULL, OC_BN_TRAIN, NULL, d))
        return -1;
    int nv = g->n_values, nn = g->n_nodes, rc = -1;
    if (loss < 0 || loss >= nv)
        return oc_fail(d, "the loss is value id %d, outside the graph's %d values", loss, nv);
    const oc_value *lv = &g->values[loss];
    if (lv->dtype != OC_FLOAT || oc_value_numel(lv) != 1)
        return oc_fail(d, "the loss '%s' must be a float32 scalar", lv->name);
    /* per-node gradient slots, sized for the widest node (Concat takes up
     * to 1024 inputs): no node is ever skipped for its width */
    int max_io = 1;
    for (int i = 0; i < nn; i++) {
        if (g->nodes[i].n_in > max_io)
            max_io = g->nodes[i].n_in;
        if (g->nodes[i].n_out > max_io)
            max_io = g->nodes[i].n_out;
    }
    unsigned char *dep = calloc((size_t)nv + 1, 1), *useful = calloc((size_t)nv + 1, 1);
    int **contrib = calloc((size_t)nv + 1, sizeof(int *));
    int *ncontrib = calloc((size_t)nv + 1, sizeof(int));
    int *dy = malloc(sizeof(int) * (size_t)max_io), *dx = malloc(sizeof(int) * (size_t)max_io);
    unsigned char *need = malloc((size_t)max_io);
    if (!dep || !useful || !contrib || !ncontrib || !dy || !dx || !need) {
        oc_fail(d, "out of memory");
        goto out;
    }
    for (int i = 0; i < n_params; i++) {
        if (params[i] < 0 || params[i] >= nv) {
            oc_fail(d, "parameter %d is value id %d, outside the graph's %d values", i, params[i], nv);
            goto out;
        }
        dep[params[i]] = 1;
    }
    for (int i = 0; i < nn; i++) {
        const oc_node *n = &g->nodes[i];
        int any = 0;
        for (int k = 0; k < n->n_in; k++)
            any |= n->in[k] >= 0 && dep[n->in[k]];
        for (int k = 0; any && k < n->n_out; k++)
            if (n->out[k] >= 0)
                dep[n->out[k]] = 1;
    }
    /* Parameters change between steps: mark them, and forget what shape
     * inference folded from their current values. */
    for (int i = 0; i < n_params; i++)
        g->values[params[i]].flags |= OC_VALUE_VARIABLE;
    for (int v = 0; v < nv; v++)
        if (dep[v] && g->values[v].producer >= 0 && g->values[v].constant) {
            oc_tensor_free(g->values[v].constant);
            g->values[v].constant = NULL;
        }
    useful[loss] = 1;
    for (int i = nn - 1; i >= 0; i--) {
        const oc_node *n = &g->nodes[i];
        int any = 0;
        for (int k = 0; k < n->n_out; k++)
            any |= n->out[k] >= 0 && useful[n->out[k]];
        for (int k = 0; any && k < n->n_in; k++)
            if (n->in[k] >= 0)
                useful[n->in[k]] = 1;
    }
    oc_grad_ctx cx = {g, d, 0, o ? o->bn_train || o->dropout_train : 0};
    /* seed: d loss / d loss = 1 */
    {
        oc_tensor *one = oc_tensor_new(OC_FLOAT, lv->rank, lv->dims, d);
        if (!one)
            goto out;
        *(float *)one->data = 1.0f;
        char name[300];
        snprintf(name, sizeof name, "grad_%s", g->values[loss].name);
        int id = oc_graph_add_initializer(g, name, one, d);
        if (id < 0)
            goto out;
        g->values[id].flags &= ~OC_VALUE_INITIALIZER; /* a constant, not a weight */
        if (!(contrib[loss] = malloc(sizeof(int))))
            goto oom;
        contrib[loss][0] = id;
        ncontrib[loss] = 1;
    }
    for (int i = nn - 1; i >= 0; i--) {
        /* node i is re-read after every call that adds nodes (the array
         * moves), and its counts are taken now: a rule may give the forward
         * node more inputs or outputs (Dropout, BatchNormalization in
         * training mode), which have no slots and no gradients */
        oc_node *n;
        int n_in = g->nodes[i].n_in, n_out = g->nodes[i].n_out, any_dy = 0, any_need = 0;
        for (int k = 0; k < n_out; k++) {
            int v = g->nodes[i].out[k];
            dy[k] = -1;
            if (v >= 0 && ncontrib[v]) {
                if ((dy[k] = accumulate(&cx, contrib[v], ncontrib[v], NULL)) < 0)
                    goto out;
                any_dy = 1;
            }
        }
        for (int k = 0; k < n_in; k++) {
            int v = g->nodes[i].in[k];
            need[k] = v >= 0 && dep[v] && useful[v];
            any_need |= need[k];
            dx[k] = -1;
        }
        if (!any_dy || !any_need)
            continue;
        n = &g->nodes[i];
        if (!n->op || !n->op->grad) {
            oc_fail(d, "%s: onnxc has no gradient rule for %s yet", oc_node_label(n, lb, sizeof lb), n->op_type);
            goto out;
        }
        if (n->op->grad(&cx, i, dy, need, dx)) {
            oc_diag_prefix(d, "gradient of %s: ", oc_node_label(&g->nodes[i], lb, sizeof lb));
            goto out;
        }
        n = &g->nodes[i];
        for (int k = 0; k < n_in; k++) {
            int v = n->in[k];
            if (!need[k] || dx[k] < 0)
                continue;
            int *nl = realloc(contrib[v], sizeof(int) * (size_t)(ncontrib[v] + 1));
            if (!nl)
                goto oom;
            contrib[v] = nl;
            nl[ncontrib[v]++] = dx[k];
        }
    }
    for (int p = 0; p < n_params; p++) {
        int v = params[p];
        char name[300];
        snprintf(name, sizeof name, "grad_%s", g->values[v].name);
        if (!ncontrib[v]) {
            /* the loss does not depend on this parameter: a zero gradient */
            oc_tensor *z = oc_tensor_new(OC_FLOAT, g->values[v].rank, g->values[v].dims, d);
            if (!z)
                goto out;
            int id = oc_graph_add_initializer(g, name, z, d);
            if (id < 0)
                goto out;
            g->values[id].flags &= ~OC_VALUE_INITIALIZER;
            grads[p] = id;
        } else if ((grads[p] = accumulate(&cx, contrib[v], ncontrib[v], name)) < 0) {
            goto out;
        }
        if (oc_graph_mark_output(g, grads[p], d))
            goto out;
    }
    rc = oc_graph_infer_shapes(g, d);
    goto out;
oom:
    oc_fail(d, "out of memory");
out:
    for (int v = 0; contrib && v < nv; v++)
        free(contrib[v]);
    free(contrib);
    free(ncontrib);
    free(dy);
    free(dx);
    free(need);
    free(dep);
    free(useful);
    return rc;
}
