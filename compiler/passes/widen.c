/* widen.c: float16 and bfloat16 arithmetic computed in float32.
 *
 * Most kernels take float32 (and float64) only. A node with a float16 or
 * bfloat16 input whose lowering fails (oc_op.lower: the planner's own
 * test, so ops that handle these types natively, such as Cast, the data
 * movement ops and the Attention family, are never touched) is run in
 * float32 instead:
 *
 *   x (f16) -> Cast(to=float) -> op -> y' (f32) -> Cast(to=f16) -> y (f16)
 *
 * Only float16/bfloat16 inputs are cast; integer and bool inputs (shapes,
 * axes, indices) stay as they are. Only outputs that were float16/bfloat16
 * get a Cast back; other outputs (ArgMax's int64, Equal's bool, a
 * LayerNormalization statistic in float32) keep their value. The value
 * that was the node's output keeps its name, type and graph-output role;
 * the node writes a fresh float32 value. One Cast per value and wrapped
 * consumer group: a float16 value read by several wrapped nodes is widened
 * once, just before its first such reader. A constant input (a weight) is
 * widened here instead, into a float32 initializer (float16 and bfloat16
 * values are exact in float32), so no run pays for converting it; the
 * float16 original stays for other readers, or dce drops it.
 *
 * Rounding: the reference (numpy) computes a float16 op in float32 and
 * rounds its result to float16 to nearest even, once per op output; the
 * Cast back does exactly that (runtime/dtype.c). For + - * / and sqrt a
 * float32 result rounded to float16 is the correctly rounded float16
 * result, as float32 has more than 2 x 11 + 2 significand bits.
 *
 * Runs after fold (a wrapped node with constant inputs is then left to
 * run time; fold keeps what it could not evaluate) and before the
 * rewrites, so fuse sees the float32 node. Only nodes whose shapes are
 * all known are examined: lowering needs them, and the planner refuses
 * the others anyway. Nodes with subgraph attributes are left alone. */
#include "pass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/dtype.h"
#include "../ops/op.h"

static int is_half(int dtype) { return dtype == OC_FLOAT16 || dtype == OC_BFLOAT16; }

static int known_shape(const oc_value *v)
{
    if (v->rank < 0 || v->dtype == OC_UNDEFINED)
        return 0;
    for (int i = 0; i < v->rank; i++)
        if (v->dims[i] < 0)
            return 0;
    return 1;
}

/* Node n reads float16/bfloat16, has static types throughout, and its
 * lowering refuses it. */
static int wants_widening(const oc_graph *g, const oc_node *n)
{
    if (!n->op || !n->op->lower)
        return 0;
    int any = 0;
    for (int k = 0; k < n->n_attrs; k++)
        if (n->attrs[k].type == OC_ATTR_GRAPH || n->attrs[k].type == OC_ATTR_GRAPHS)
            return 0;
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0)
            continue;
        const oc_value *v = &g->values[n->in[k]];
        if (!known_shape(v))
            return 0;
        any |= is_half(v->dtype);
    }
    if (!any)
        return 0;
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        const oc_value *v = &g->values[n->out[k]];
        /* an output with known data is not this node's to rewrite */
        if (!known_shape(v) || v->constant)
            return 0;
    }
    oc_diag tmp;
    oc_diag_init(&tmp);
    oc_lowered lw = {0};
    int rc = n->op->lower(g, n, &lw, &tmp);
    int ok = rc == 0 && lw.fn;
    free(lw.params);
    return !ok;
}

/* A fresh value named base + suffix (made unique); its id or -1. */
static int fresh_value(oc_graph *g, const char *base, const char *suffix, oc_diag *d)
{
    char name[512];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    for (int k = 2; oc_graph_find(g, name) >= 0; k++) {
        if (k > 1000000)
            return oc_fail(d, "no free name for a value derived from '%s'", base);
        snprintf(name, sizeof name, "%s%s_%d", base, suffix, k);
    }
    return oc_graph_add_value(g, name, d);
}

/* Appends Cast(to) reading value `in` and writing value `out` (a value
 * without producer); the node id or -1. */
static int add_cast(oc_graph *g, const char *base, int in, int out, int to, oc_diag *d)
{
    char name[512];
    snprintf(name, sizeof name, "%s_widen_cast", base);
    /* the name lookups copy the strings: values may move as the graph grows */
    char in_name[512], out_name[512];
    snprintf(in_name, sizeof in_name, "%s", g->values[in].name);
    snprintf(out_name, sizeof out_name, "%s", g->values[out].name);
    const char *ins[1] = {in_name}, *outs[1] = {out_name};
    int nid = oc_graph_add_node(g, "Cast", name, 1, ins, 1, outs, d);
    if (nid < 0 || oc_node_set_int(g, nid, "to", to, d))
        return -1;
    return nid;
}

/* A float32 initializer holding the float16/bfloat16 constant t (every
 * such value is exact in float32); its value id or -1. */
static int add_wide_const(oc_graph *g, const char *base, const oc_tensor *t, oc_diag *d)
{
    oc_tensor *w = oc_tensor_new(OC_FLOAT, t->rank, t->dims, d);
    if (!w)
        return -1;
    const uint16_t *src = t->data;
    float *dst = w->data;
    for (int64_t i = 0; i < t->numel; i++)
        dst[i] = t->dtype == OC_FLOAT16 ? oc_half_to_float(src[i]) : oc_bf16_to_float(src[i]);
    return oc_pass_add_const(g, base, "_f32", w, d);
}

int oc_pass_widen(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d)
{
    int n0 = g->n_nodes, nv0 = g->n_values, count = 0, rc = -1;
    unsigned char *wrap = calloc((size_t)n0 + 1, 1);
    int *wide = malloc(sizeof(int) * ((size_t)nv0 + 1)); /* value -> its float32 twin, or -1 */
    /* Cast node n0 + j belongs to original node owner[j], before it
     * (input cast) or after it (after[j], output cast) */
    int cap = 0, n_new = 0;
    int *owner = NULL;
    unsigned char *after = NULL;
    if (!wrap || !wide) {
        oc_fail(d, "out of memory");
        goto done;
    }
    for (int v = 0; v < nv0; v++)
        wide[v] = -1;
    for (int i = 0; i < n0; i++)
        if ((wrap[i] = (unsigned char)wants_widening(g, &g->nodes[i])))
            count++;
    if (!count) {
        rc = 0;
        goto done;
    }
    for (int i = 0; i < n0; i++) {
        if (!wrap[i])
            continue;
        int n_in = g->nodes[i].n_in, n_out = g->nodes[i].n_out;
        int need = n_new + n_in + n_out;
        if (need > cap) {
            int nc = need + 16;
            int *no = realloc(owner, sizeof(int) * (size_t)nc);
            if (no)
                owner = no;
            unsigned char *na = realloc(after, (size_t)nc);
            if (na)
                after = na;
            if (!no || !na) {
                oc_fail(d, "out of memory");
                goto done;
            }
            cap = nc;
        }
        int casts_in = 0, casts_out = 0, consts = 0;
        for (int k = 0; k < n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v < 0 || !is_half(g->values[v].dtype))
                continue;
            if (wide[v] < 0 && oc_pass_is_const(g, v) && is_half(g->values[v].constant->dtype)) {
                /* a weight: widened once here (exactly) rather than at every run */
                char vname[256];
                snprintf(vname, sizeof vname, "%s", g->values[v].name);
                int w = add_wide_const(g, vname, g->values[v].constant, d);
                if (w < 0)
                    goto done;
                wide[v] = w;
                consts++;
            } else if (wide[v] < 0) {
                char vname[256];
                snprintf(vname, sizeof vname, "%s", g->values[v].name);
                int w = fresh_value(g, vname, "_f32", d);
                if (w < 0 || add_cast(g, vname, v, w, OC_FLOAT, d) < 0)
                    goto done;
                wide[v] = w;
                owner[n_new] = i;
                after[n_new++] = 0;
                casts_in++;
            }
            g->nodes[i].in[k] = wide[v];
        }
        for (int k = 0; k < n_out; k++) {
            int y = g->nodes[i].out[k];
            if (y < 0 || !is_half(g->values[y].dtype))
                continue;
            int dt = g->values[y].dtype;
            char yname[256];
            snprintf(yname, sizeof yname, "%s", g->values[y].name);
            int w = fresh_value(g, yname, "_f32", d);
            if (w < 0)
                goto done;
            g->nodes[i].out[k] = w;
            g->values[w].producer = i;
            g->values[y].producer = -1; /* claimed by the Cast */
            if (add_cast(g, yname, w, y, dt, d) < 0)
                goto done;
            owner[n_new] = i;
            after[n_new++] = 1;
            casts_out++;
        }
        oc_pass_note(cx, "%s '%s' runs in float32: %d input cast%s, %d constant%s widened, %d output cast%s",
                     g->nodes[i].op_type, g->nodes[i].name, casts_in, casts_in == 1 ? "" : "s", consts,
                     consts == 1 ? "" : "s", casts_out, casts_out == 1 ? "" : "s");
    }
    /* place each Cast next to its node: rebuild the node array in order */
    {
        int total = g->n_nodes;
        oc_node *order = malloc(sizeof(oc_node) * (size_t)total);
        if (!order) {
            oc_fail(d, "out of memory");
            goto done;
        }
        int o = 0, j = 0;
        for (int i = 0; i < n0; i++) {
            while (j < n_new && owner[j] == i && !after[j])
                order[o++] = g->nodes[n0 + j++];
            order[o++] = g->nodes[i];
            while (j < n_new && owner[j] == i)
                order[o++] = g->nodes[n0 + j++];
        }
        memcpy(g->nodes, order, sizeof(oc_node) * (size_t)total);
        free(order);
        for (int i = 0; i < total; i++)
            for (int k = 0; k < g->nodes[i].n_out; k++)
                if (g->nodes[i].out[k] >= 0)
                    g->values[g->nodes[i].out[k]].producer = i;
    }
    rc = count;
done:
    free(owner);
    free(after);
    free(wrap);
    free(wide);
    return rc;
}
