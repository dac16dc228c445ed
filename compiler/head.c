/* head.c: finding and replacing the classifier head (head.h). */
#include "head.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/init.h"

static int is_const(const oc_graph *g, int v) { return v >= 0 && g->values[v].constant != NULL; }

static int64_t value_numel(const oc_graph *g, int v)
{
    const oc_value *x = &g->values[v];
    int64_t n = 1;
    for (int i = 0; i < x->rank; i++)
        n *= x->dims[i];
    return x->rank < 0 ? -1 : n;
}

/* A Gemm / MatMul(+Add) node with a constant 2-D weight as a head. */
static int head_at(const oc_graph *g, int nid, oc_head *h)
{
    const oc_node *n = &g->nodes[nid];
    memset(h, 0, sizeof *h);
    h->add = h->bias = -1;
    if (!strcmp(n->op_type, "Add")) {
        for (int k = 0; k < 2 && n->n_in == 2; k++) {
            int p = g->values[n->in[k]].producer;
            if (p >= 0 && !strcmp(g->nodes[p].op_type, "MatMul") && is_const(g, n->in[1 - k])) {
                if (head_at(g, p, h))
                    return -1;
                h->add = nid;
                h->bias = n->in[1 - k];
                h->output = n->out[0];
                return 0;
            }
        }
        return -1;
    }
    int gemm = !strcmp(n->op_type, "Gemm");
    if (!gemm && strcmp(n->op_type, "MatMul"))
        return -1;
    if (n->n_in < 2 || !is_const(g, n->in[1]) || g->values[n->in[1]].rank != 2 || is_const(g, n->in[0]))
        return -1;
    if (gemm && (oc_attr_int(n, "transA", 0) || oc_attr_float(n, "alpha", 1.0f) != 1.0f ||
                 oc_attr_float(n, "beta", 1.0f) != 1.0f))
        return -1;
    h->node = nid;
    h->weight = n->in[1];
    h->input = n->in[0];
    h->output = n->out[0];
    h->trans_b = gemm ? (int)oc_attr_int(n, "transB", 0) : 0;
    const int64_t *wd = g->values[h->weight].dims;
    h->k = h->trans_b ? wd[1] : wd[0];
    h->n = h->trans_b ? wd[0] : wd[1];
    if (gemm && n->n_in > 2 && n->in[2] >= 0) {
        if (!is_const(g, n->in[2]) || value_numel(g, n->in[2]) != h->n)
            return -1;
        h->bias = n->in[2];
    }
    return 0;
}

/* Candidates for an error message: every Gemm / MatMul(+Add) head. */
void oc_head_candidates(const oc_graph *g, char *buf, size_t cap)
{
    size_t o = 0;
    int cnt = 0;
    buf[0] = 0;
    for (int i = 0; i < g->n_nodes && o + 64 < cap; i++) {
        oc_head h;
        if (strcmp(g->nodes[i].op_type, "Add") && !head_at(g, i, &h))
            o += (size_t)snprintf(buf + o, cap - o, "%s'%s' (%s, %lld -> %lld)", cnt++ ? ", " : "", g->nodes[i].name,
                                  g->nodes[i].op_type, (long long)h.k, (long long)h.n);
    }
    if (!cnt)
        snprintf(buf, cap, "none (no Gemm or MatMul with a constant 2-D weight)");
}

/* The head feeding the first output, through shape-only and activation-free
 * ops (Flatten, Reshape, Identity, Softmax, LogSoftmax). */
int oc_head_find(const oc_graph *g, const char *name, oc_head *h, oc_diag *d)
{
    char cands[2048];
    if (name) {
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i].name && !strcmp(g->nodes[i].name, name)) {
                if (head_at(g, i, h) == 0)
                    return 0;
                oc_head_candidates(g, cands, sizeof cands);
                return oc_fail(d, "the head '%s' is a %s, not a Gemm or MatMul(+Add) with a constant weight; candidates: %s",
                               name, g->nodes[i].op_type, cands);
            }
        oc_head_candidates(g, cands, sizeof cands);
        return oc_fail(d, "the model has no node named '%s' for the head; candidates: %s", name, cands);
    }
    int v = g->outputs[0];
    for (int hop = 0; hop < 16 && v >= 0; hop++) {
        int p = g->values[v].producer;
        if (p < 0)
            break;
        if (head_at(g, p, h) == 0)
            return 0;
        const char *op = g->nodes[p].op_type;
        if (strcmp(op, "Flatten") && strcmp(op, "Reshape") && strcmp(op, "Identity") && strcmp(op, "Softmax") &&
            strcmp(op, "LogSoftmax"))
            break;
        v = g->nodes[p].in[0];
    }
    oc_head_candidates(g, cands, sizeof cands);
    return oc_fail(d, "%s: no classifier head (Gemm, or MatMul(+Add)) feeds the output '%s'; name one (--head NODE); "
                      "candidates: %s", g->source, g->values[g->outputs[0]].name, cands);
}

unsigned char *oc_head_trainable(const oc_graph *g, const oc_head *h, oc_diag *d)
{
    unsigned char *flags = calloc((size_t)g->n_values + 1, 1);
    if (!flags) {
        oc_fail(d, "out of memory");
        return NULL;
    }
    flags[h->weight] = 1;
    if (h->bias >= 0)
        flags[h->bias] = 1;
    return flags;
}

/* A fresh head with n outputs: Xavier-uniform weight, zero bias. */
int oc_head_replace(oc_graph *g, oc_head *h, int64_t n, uint64_t seed, oc_diag *d)
{
    int64_t wd[2] = {h->trans_b ? n : h->k, h->trans_b ? h->k : n}, bd[1] = {n};
    oc_tensor *w = oc_tensor_new(OC_FLOAT, 2, wd, d), *b = NULL;
    if (!w)
        return -1;
    oc_init ic;
    oc_init_default(&ic, OC_INIT_XAVIER_UNIFORM);
    oc_rng r;
    oc_rng_seed(&r, seed);
    /* fans are those of the [out, in] layout in both cases */
    int64_t fd[2] = {n, h->k};
    if (oc_init_fill(w->data, fd, 2, &ic, &r, d)) {
        oc_tensor_free(w);
        return -1;
    }
    if (!h->trans_b) { /* [K, N]: transpose the [N, K] draw */
        float *tmp = malloc(sizeof(float) * (size_t)(n * h->k));
        if (!tmp) {
            oc_tensor_free(w);
            return oc_fail(d, "out of memory");
        }
        memcpy(tmp, w->data, sizeof(float) * (size_t)(n * h->k));
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < h->k; j++)
                ((float *)w->data)[j * n + i] = tmp[i * h->k + j];
        free(tmp);
    }
    oc_value *wv = &g->values[h->weight];
    oc_tensor_free(wv->constant);
    wv->constant = w;
    wv->dims[0] = wd[0];
    wv->dims[1] = wd[1];
    if (h->bias >= 0) {
        if (!(b = oc_tensor_new(OC_FLOAT, 1, bd, d)))
            return -1;
        oc_value *bv = &g->values[h->bias];
        oc_tensor_free(bv->constant);
        bv->constant = b;
        bv->rank = 1;
        bv->dims[0] = n;
    }
    h->n = n;
    return 0;
}

/* Forget every shape a node computed (after the input or the head changed). */
void oc_graph_reset_shapes(oc_graph *g)
{
    for (int v = 0; v < g->n_values; v++) {
        oc_value *x = &g->values[v];
        if (x->producer >= 0) {
            if (x->constant) {
                oc_tensor_free(x->constant);
                x->constant = NULL;
            }
            x->rank = -1;
        }
    }
}
