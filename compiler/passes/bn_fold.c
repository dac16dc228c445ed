/* bn_fold.c: BatchNormalization folded into the Conv before it.
 *
 * At inference BN is per output channel m an affine map,
 *   y = (x - mean[m]) * s[m] + beta[m],   s = scale / sqrt(var + eps),
 * so Conv(X, W, B) followed by it equals Conv(X, W', B') with
 *   W'[m, ...] = W[m, ...] * s[m],   B'[m] = (B[m] - mean[m]) * s[m] + beta[m]
 * (B = 0 when the Conv has none). Computed in double, stored as float32.
 *
 * Conditions: the BN has the inference form (one output, no training_mode,
 * spatial statistics) and constant scale/B/mean/var; its input is output
 * 0 of a Conv with constant W (and B, if any), read by nothing else and
 * not a graph output; none of these values is trainable
 * (OC_VALUE_VARIABLE). W' replaces W's data in place when this Conv is
 * W's only reader, else it is a new initializer (W shared with another
 * Conv stays as it was); B' is a new initializer. The Conv then writes the
 * BN's output value, so a BN output that is a graph output keeps its
 * name. A BN that follows anything else stays a node. */
#include "pass.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Constant float32 1-D [m] input k of node n, or NULL. */
static const float *channel_vec(const oc_graph *g, const oc_node *n, int k, int64_t m)
{
    if (k >= n->n_in || !oc_pass_is_const(g, n->in[k]))
        return NULL;
    const oc_tensor *t = g->values[n->in[k]].constant;
    return t->dtype == OC_FLOAT && t->rank == 1 && t->dims[0] == m ? t->data : NULL;
}

static int inference_bn(const oc_node *bn)
{
    for (int k = 1; k < bn->n_out; k++)
        if (bn->out[k] >= 0)
            return 0;
    const oc_attr *tm = oc_node_attr(bn, "training_mode");
    if (tm && tm->i != 0)
        return 0;
    return !oc_node_attr(bn, "spatial") || oc_attr_int(bn, "spatial", 1) != 0;
}

/* Folds BN node b into Conv node c; 1 done, 0 conditions not met. */
static int fold_one(oc_graph *g, int c, int b, const int *uses, const oc_pass_ctx *cx, oc_diag *d)
{
    oc_node *conv = &g->nodes[c], *bn = &g->nodes[b];
    int x = bn->in[0];
    if (conv->out[0] != x || uses[x] != 1 || (g->values[x].flags & OC_VALUE_OUTPUT))
        return 0;
    if (conv->n_in < 2 || !oc_pass_is_const(g, conv->in[1]))
        return 0;
    const oc_tensor *w = g->values[conv->in[1]].constant;
    if (w->dtype != OC_FLOAT || w->rank < 3 || w->dims[0] < 1)
        return 0;
    int64_t m = w->dims[0], per = w->numel / m;
    const float *bias = NULL;
    if (conv->n_in > 2 && conv->in[2] >= 0 && !(bias = channel_vec(g, conv, 2, m)))
        return 0;
    const float *scale = channel_vec(g, bn, 1, m), *beta = channel_vec(g, bn, 2, m);
    const float *mean = channel_vec(g, bn, 3, m), *var = channel_vec(g, bn, 4, m);
    if (!scale || !beta || !mean || !var)
        return 0;
    double eps = oc_attr_float(bn, "epsilon", 1e-5f);
    /* W read by this Conv alone is scaled in place (no second copy of the
     * weights); a shared W gets a new initializer */
    int in_place = uses[conv->in[1]] == 1 && !(g->values[conv->in[1]].flags & (OC_VALUE_OUTPUT | OC_VALUE_INPUT));
    oc_tensor *nw = in_place ? g->values[conv->in[1]].constant : oc_tensor_new(OC_FLOAT, w->rank, w->dims, d);
    oc_tensor *nb = oc_tensor_new(OC_FLOAT, 1, &m, d);
    if (!nw || !nb) {
        if (!in_place)
            oc_tensor_free(nw);
        oc_tensor_free(nb);
        return -1;
    }
    const float *wd = w->data;
    float *nwd = nw->data, *nbd = nb->data;
    for (int64_t o = 0; o < m; o++) {
        double s = scale[o] / sqrt((double)var[o] + eps);
        for (int64_t i = 0; i < per; i++)
            nwd[o * per + i] = (float)(wd[o * per + i] * s);
        nbd[o] = (float)(((bias ? bias[o] : 0.0) - mean[o]) * s + beta[o]);
    }
    char cname[256], bname[256];
    snprintf(cname, sizeof cname, "%s", conv->name);
    snprintf(bname, sizeof bname, "%s", bn->name);
    int wid = in_place ? conv->in[1] : oc_pass_add_const(g, g->values[conv->in[1]].name, "_bnfold", nw, d);
    if (wid < 0) {
        oc_tensor_free(nb);
        return -1;
    }
    int bid = oc_pass_add_const(g, cname, "_bias_bnfold", nb, d);
    if (bid < 0)
        return -1;
    conv = &g->nodes[c]; /* adding values does not move nodes, but stay safe */
    bn = &g->nodes[b];
    if (oc_pass_grow_inputs(conv, 3, d))
        return -1;
    conv->in[1] = wid;
    conv->in[2] = bid;
    int y = bn->out[0];
    conv->out[0] = y;
    g->values[y].producer = c;
    g->values[x].producer = -1;
    bn->out[0] = -1; /* the node is removed by the caller */
    oc_pass_note(cx, "folded BatchNormalization '%s' into Conv '%s'", bname, cname);
    return 1;
}

int oc_pass_bn_fold(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d)
{
    int *uses = oc_graph_use_counts(g, d);
    unsigned char *dead = calloc((size_t)g->n_nodes + 1, 1);
    if (!uses || !dead) {
        free(uses);
        free(dead);
        return oc_fail(d, "out of memory");
    }
    int count = 0, rc = 0;
    for (int b = 0; b < g->n_nodes && !rc; b++) {
        const oc_node *bn = &g->nodes[b];
        if (!oc_pass_is_op(bn, "BatchNormalization") || bn->n_in != 5 || bn->in[0] < 0 || bn->out[0] < 0 ||
            !inference_bn(bn))
            continue;
        int c = g->values[bn->in[0]].producer;
        if (c < 0 || !oc_pass_is_op(&g->nodes[c], "Conv") || g->nodes[c].n_out != 1)
            continue;
        int r = fold_one(g, c, b, uses, cx, d);
        if (r < 0)
            rc = -1;
        else if (r) {
            dead[b] = 1;
            count++;
        }
    }
    if (!rc && count)
        rc = oc_graph_remove_nodes(g, dead, d);
    free(uses);
    free(dead);
    return rc ? -1 : count;
}
