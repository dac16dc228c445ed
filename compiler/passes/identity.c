/* identity.c: nodes that do not change data.
 *
 * Identity, and Dropout in inference form (opset < 7 with is_test, opset
 * 7-11 always, opset >= 12 with training_mode absent or a constant false)
 * whose mask output nothing reads, are removed: their consumers read the
 * input directly. When the removed node's output is a graph output (its
 * name is part of the model's interface), the input's producer is made to
 * write that value instead; when the input has no producer (a graph input
 * or a constant) the node stays.
 *
 * Reshape, Flatten, Squeeze and Unsqueeze keep their nodes (the graph
 * stays valid ONNX), but run with no copy: when this pass has run, the
 * planner (oc_plan_opts.views, compiler/planner.c) lets the output alias
 * the input's arena block and extends that block's lifetime to the
 * output's last use. That choice belongs to the planner because only it
 * knows which values live in the arena (graph inputs and constants are
 * not aliased); this pass notes the nodes it expects to become views.
 *
 * onnxc's own SumToShape (autodiff's undoing of broadcasting, written
 * before the gradients' shapes are known) is an identity too where its
 * input already has the target's shape: ResNet-18's training graph has
 * 17 such copies, one per residual Add and bias.
 *
 * Training graphs keep Dropout (it is random there) and Identity of an
 * initializer (PyTorch ties equal parameters through Identity; see
 * untie.c). */
#include "pass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Dropout that passes its input through unchanged at inference, with the
 * mask output unread. */
static int inference_dropout(const oc_graph *g, const oc_node *n, const int *uses)
{
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0)
        return 0;
    if (n->n_out > 1 && n->out[1] >= 0 &&
        (uses[n->out[1]] || (g->values[n->out[1]].flags & OC_VALUE_OUTPUT)))
        return 0;
    if (g->opset < 7)
        return oc_attr_int(n, "is_test", 0) != 0;
    if (g->opset < 12 || n->n_in < 3 || n->in[2] < 0)
        return 1;
    if (!oc_pass_is_const(g, n->in[2]))
        return 0;
    const oc_tensor *t = g->values[n->in[2]].constant;
    return t->numel == 1 && oc_tensor_get_i64(t, 0) == 0;
}

/* Makes node i's output 0 the same value as its input 0; 1 when the node
 * can go, 0 when it must stay. */
static int bypass(oc_graph *g, int i)
{
    oc_node *n = &g->nodes[i];
    int in = n->in[0], out = n->out[0];
    oc_value *vi = &g->values[in], *vo = &g->values[out];
    if (!(vo->flags & OC_VALUE_OUTPUT)) {
        oc_graph_replace_uses(g, out, in);
        return 1;
    }
    /* the output's name is the interface: let the input's producer write it */
    if (vi->producer < 0 || vi->constant || (vi->flags & (OC_VALUE_OUTPUT | OC_VALUE_INPUT)) ||
        vi->dtype != vo->dtype)
        return 0;
    oc_node *p = &g->nodes[vi->producer];
    for (int k = 0; k < p->n_out; k++)
        if (p->out[k] == in)
            p->out[k] = out;
    vo->producer = vi->producer;
    vi->producer = -1;
    oc_graph_replace_uses(g, in, out);
    return 1;
}

/* SumToShape(dY, like) whose dY already has like's shape and dtype. */
static int noop_sum_to_shape(const oc_graph *g, const oc_node *n)
{
    if (strcmp(n->op_type, "SumToShape") != 0 || !n->domain || strcmp(n->domain, OC_DOMAIN_ONNXC) != 0 ||
        n->n_in != 2 || n->n_out != 1 || n->in[0] < 0 || n->in[1] < 0 || n->out[0] < 0)
        return 0;
    const oc_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    if (x->rank < 0 || x->rank != y->rank || x->dtype != y->dtype)
        return 0;
    for (int k = 0; k < x->rank; k++)
        if (x->dims[k] < 0 || x->dims[k] != y->dims[k])
            return 0;
    return 1;
}

static int is_reshape_like(const oc_node *n)
{
    return oc_pass_is_op(n, "Reshape") || oc_pass_is_op(n, "Flatten") || oc_pass_is_op(n, "Squeeze") ||
           oc_pass_is_op(n, "Unsqueeze");
}

int oc_pass_identity(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d)
{
    int training = cx->opts && cx->opts->training;
    int *uses = oc_graph_use_counts(g, d);
    unsigned char *dead = calloc((size_t)g->n_nodes + 1, 1);
    if (!uses || !dead) {
        free(uses);
        free(dead);
        return oc_fail(d, "out of memory");
    }
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        oc_node *n = &g->nodes[i];
        int is_id = oc_pass_is_op(n, "Identity") && n->n_in == 1 && n->n_out == 1 && n->in[0] >= 0 &&
                    n->out[0] >= 0;
        int is_drop = oc_pass_is_op(n, "Dropout") && inference_dropout(g, n, uses);
        is_id |= noop_sum_to_shape(g, n);
        if (training && (is_drop || (is_id && (g->values[n->in[0]].flags & OC_VALUE_INITIALIZER))))
            continue;
        if (is_id || is_drop) {
            char in_name[256];
            snprintf(in_name, sizeof in_name, "%s", g->values[n->in[0]].name);
            if (!bypass(g, i))
                continue;
            dead[i] = 1;
            count++;
            oc_pass_note(cx, "removed %s '%s' (reads '%s')", n->op_type, n->name, in_name);
            continue;
        }
        if (is_reshape_like(n) && n->n_out == 1 && n->in[0] >= 0 && n->out[0] >= 0) {
            const oc_value *x = &g->values[n->in[0]];
            int config_const = 1;
            for (int k = 1; k < n->n_in; k++)
                config_const &= n->in[k] < 0 || g->values[n->in[k]].constant != NULL;
            if (x->producer >= 0 && !x->constant && config_const) {
                count++;
                oc_pass_note(cx, "%s '%s' runs as a view of '%s' (no copy)", n->op_type, n->name, x->name);
            }
        }
    }
    cx->report->views = 1;
    int rc = 0;
    for (int i = 0; i < g->n_nodes && !rc; i++)
        if (dead[i]) {
            rc = oc_graph_remove_nodes(g, dead, d);
            break;
        }
    free(uses);
    free(dead);
    return rc ? -1 : count;
}
