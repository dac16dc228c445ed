/* fuse.c: operator fusion for inference.
 *
 * 1. MatMul(A, B) + Add(bias) -> Gemm(A, B, bias), when A is 2-D, B is a
 *    2-D constant, the bias a constant that broadcasts to [M, N] one way
 *    (Gemm's C rule) and the Add's output keeps the MatMul's shape.
 * 2. Conv or Gemm, then optionally an Add with a second operand R of
 *    exactly the same shape (no broadcasting: ResNet's skip path), then
 *    optionally an activation, -> one node of onnxc's own domain
 *    "ai.onnxc": FusedConv(X, W, B, R) or FusedGemm(A, B, C, R), with the
 *    original attributes plus `activation` (the ONNX op name),
 *    `activation_alpha` and `activation_beta`. Its kernel applies
 *    act(Y + R) to each output tile while it is in cache
 *    (runtime/kernels/epilogue.h) instead of separate passes over memory.
 *
 * 3. A training-mode BatchNormalization, then optionally an Add of a
 *    same-shape R, then optionally an activation, -> one "ai.onnxc"
 *    FusedBatchNormalization(X, scale, B, mean, var[, R]) with the same
 *    attributes (fused.h); the BN kernel applies act(y + R) to each plane
 *    it has just written (training graphs: the pass runs after autodiff,
 *    and nothing but the pattern's next node reads each value).
 *
 * Activations: Relu, LeakyRelu (alpha), Clip with constant bounds
 * (alpha = min, beta = max; Relu6 is Clip(0, 6)), Sigmoid, HardSigmoid
 * (alpha, beta), HardSwish, Tanh, Gelu (beta = 1 for approximate=tanh).
 * Every value absorbed into a fused node is read exactly once (by the next
 * node of the pattern) and is not a graph output; the fused node writes
 * the last value of the pattern, so graph output names are kept. R is
 * computed before the fused node in any valid order, since it cannot
 * depend on the Conv's only consumer; the fused node takes the place of the
 * last node it absorbs, which keeps the graph in order. */
#include "pass.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct act_spec {
    const char *op;
    float alpha, beta;
} act_spec;

static int scalar_bound(const oc_graph *g, const oc_node *n, int k, float dflt, float *out)
{
    if (k >= n->n_in || n->in[k] < 0) {
        *out = dflt;
        return 1;
    }
    if (!oc_pass_is_const(g, n->in[k]))
        return 0;
    const oc_tensor *t = g->values[n->in[k]].constant;
    if (t->numel != 1 || t->dtype != OC_FLOAT)
        return 0;
    *out = ((const float *)t->data)[0];
    return 1;
}

/* Node n is an activation the epilogue can apply, reading value x. */
static int act_of(const oc_graph *g, const oc_node *n, int x, act_spec *a)
{
    if (n->n_in < 1 || n->in[0] != x || n->n_out != 1 || n->out[0] < 0)
        return 0;
    static const char *const simple[] = {"Relu", "Sigmoid", "Tanh", "HardSwish"};
    a->alpha = a->beta = 0;
    for (size_t k = 0; k < sizeof simple / sizeof simple[0]; k++)
        if (oc_pass_is_op(n, simple[k])) {
            a->op = simple[k];
            return n->n_in == 1;
        }
    if (oc_pass_is_op(n, "LeakyRelu")) {
        a->op = "LeakyRelu";
        a->alpha = oc_attr_float(n, "alpha", 0.01f);
        return 1;
    }
    if (oc_pass_is_op(n, "HardSigmoid")) {
        a->op = "HardSigmoid";
        a->alpha = oc_attr_float(n, "alpha", 0.2f);
        a->beta = oc_attr_float(n, "beta", 0.5f);
        return 1;
    }
    if (oc_pass_is_op(n, "Gelu")) {
        const char *ap = oc_attr_string(n, "approximate", "none");
        a->op = "Gelu";
        a->beta = !strcmp(ap, "tanh");
        return !strcmp(ap, "none") || !strcmp(ap, "tanh");
    }
    if (oc_pass_is_op(n, "Clip")) {
        a->op = "Clip";
        if (g->opset < 11) {
            a->alpha = oc_attr_float(n, "min", -INFINITY);
            a->beta = oc_attr_float(n, "max", INFINITY);
            return 1;
        }
        return scalar_bound(g, n, 1, -INFINITY, &a->alpha) && scalar_bound(g, n, 2, INFINITY, &a->beta);
    }
    return 0;
}

static int same_shape(const oc_value *a, const oc_value *b)
{
    if (a->rank < 0 || a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] < 0 || a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

/* Value v can be absorbed: read once, by node cons[v], and not a graph output. */
static int absorbable(const oc_graph *g, int v, const int *uses)
{
    return v >= 0 && uses[v] == 1 && !(g->values[v].flags & OC_VALUE_OUTPUT);
}

typedef struct fuse_state {
    int *uses, *cons;       /* per value: read count, sole reader (or -1) */
    unsigned char *dead;    /* per node */
} fuse_state;

/* Node i now writes value `out` instead of its output 0. */
static void retarget(oc_graph *g, int i, int out)
{
    oc_node *n = &g->nodes[i];
    g->values[n->out[0]].producer = -1;
    n->out[0] = out;
    g->values[out].producer = i;
}

/* The fused node at slot i takes the slot of the last node it absorbed
 * (dead, at slot j > i), so the graph stays sorted: every input of the
 * pattern (the residual included) is produced before that node, and
 * every reader of its output comes after it. */
static void move_to(oc_graph *g, int i, int j, fuse_state *st)
{
    oc_node tmp = g->nodes[i];
    g->nodes[i] = g->nodes[j];
    g->nodes[j] = tmp;
    st->dead[i] = 1;
    st->dead[j] = 0;
    const oc_node *n = &g->nodes[j];
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0)
            g->values[n->out[k]].producer = j;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && st->cons[n->in[k]] == i)
            st->cons[n->in[k]] = j;
}

/* Gemm's C rule: bias broadcasts to [m, n] one way. */
static int gemm_bias_fits(const oc_value *c, int64_t m, int64_t n)
{
    if (c->rank == 0)
        return 1;
    if (c->rank == 1)
        return c->dims[0] == 1 || c->dims[0] == n;
    return c->rank == 2 && (c->dims[0] == 1 || c->dims[0] == m) && (c->dims[1] == 1 || c->dims[1] == n);
}

static int matmul_to_gemm(oc_graph *g, int i, fuse_state *st, const oc_pass_ctx *cx, oc_diag *d)
{
    oc_node *n = &g->nodes[i];
    if (!oc_pass_is_op(n, "MatMul") || n->n_in != 2 || n->n_out != 1 || n->in[0] < 0 || n->out[0] < 0)
        return 0;
    const oc_value *a = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    if (a->rank != 2 || a->dtype != OC_FLOAT || !oc_pass_is_const(g, n->in[1]))
        return 0;
    const oc_tensor *b = g->values[n->in[1]].constant;
    if (b->rank != 2 || b->dtype != OC_FLOAT || !absorbable(g, n->out[0], st->uses) || y->rank != 2)
        return 0;
    int ai = st->cons[n->out[0]];
    const oc_node *add = &g->nodes[ai];
    if (!oc_pass_is_op(add, "Add") || add->n_in != 2 || add->n_out != 1 || add->out[0] < 0)
        return 0;
    int bias = add->in[0] == n->out[0] ? add->in[1] : add->in[0];
    if (bias < 0 || bias == n->out[0] || !oc_pass_is_const(g, bias) || g->values[bias].dtype != OC_FLOAT ||
        !gemm_bias_fits(&g->values[bias], y->dims[0], y->dims[1]) || !same_shape(y, &g->values[add->out[0]]))
        return 0;
    char before[300];
    snprintf(before, sizeof before, "MatMul '%s' + Add '%s' (bias '%s') -> Gemm", n->name, add->name,
             g->values[bias].name);
    int out = add->out[0];
    if (oc_pass_set_op(g, n, "", "Gemm", d) || oc_pass_grow_inputs(n, 3, d))
        return -1;
    n->in[2] = bias;
    retarget(g, i, out);
    st->dead[ai] = 1;
    g->nodes[ai].out[0] = -1;
    if (st->uses[bias] == 1)
        st->cons[bias] = i;
    oc_pass_note(cx, "%s", before);
    return 1;
}

/* Whether a node in slots (i, j) reads one of node i's outputs past the
 * first (BatchNormalization's running and batch statistics). */
static int later_outputs_read_between(const oc_graph *g, int i, int j)
{
    const oc_node *n = &g->nodes[i];
    for (int m = i + 1; n->n_out > 1 && m < j; m++)
        for (int k = 0; k < g->nodes[m].n_in; k++)
            for (int o = 1; o < n->n_out; o++)
                if (n->out[o] >= 0 && g->nodes[m].in[k] == n->out[o])
                    return 1;
    return 0;
}

/* What follows node i's output 0 and can join it: optionally an Add with
 * a second operand R of exactly the same shape (no broadcasting: ResNet's
 * skip path), then optionally an activation. Each value absorbed is read
 * only by the next node of the pattern and is no graph output; no node
 * between i and an absorbed node reads node i's other outputs, since the
 * fused node moves to the last absorbed node's slot (move_to). */
typedef struct fuse_tail {
    int residual, add_i, act_i; /* -1: none */
    int out;                    /* the pattern's last value */
    act_spec act;
} fuse_tail;

static int match_tail(const oc_graph *g, int i, const fuse_state *st, fuse_tail *t)
{
    int cur = g->nodes[i].out[0];
    *t = (fuse_tail){.residual = -1, .add_i = -1, .act_i = -1};
    if (absorbable(g, cur, st->uses)) {
        const oc_node *c = &g->nodes[st->cons[cur]];
        if (oc_pass_is_op(c, "Add") && c->n_in == 2 && c->n_out == 1 && c->out[0] >= 0) {
            int other = c->in[0] == cur ? c->in[1] : c->in[0];
            if (other >= 0 && other != cur && same_shape(&g->values[cur], &g->values[other]) &&
                same_shape(&g->values[cur], &g->values[c->out[0]]) && g->values[other].dtype == OC_FLOAT &&
                !later_outputs_read_between(g, i, st->cons[cur])) {
                t->residual = other;
                t->add_i = st->cons[cur];
                cur = c->out[0];
            }
        }
    }
    if (absorbable(g, cur, st->uses) && act_of(g, &g->nodes[st->cons[cur]], cur, &t->act) &&
        !later_outputs_read_between(g, i, st->cons[cur])) {
        t->act_i = st->cons[cur];
        cur = g->nodes[t->act_i].out[0];
    }
    t->out = cur;
    return t->add_i >= 0 || t->act_i >= 0;
}

/* Node i becomes "ai.onnxc" `op`, with R as its input res_in and the
 * activation as attributes (fused.h), writing the pattern's last value
 * from the last absorbed node's slot; the absorbed nodes die. */
static int absorb_tail(oc_graph *g, int i, const char *op, int res_in, const fuse_tail *t, fuse_state *st,
                       const oc_pass_ctx *cx, oc_diag *d)
{
    oc_node *n = &g->nodes[i];
    char msg[600];
    int o = snprintf(msg, sizeof msg, "%s '%s'", n->op_type, n->name);
    if (t->add_i >= 0)
        o += snprintf(msg + o, sizeof msg - (size_t)o, " + Add '%s' (residual '%s')", g->nodes[t->add_i].name,
                      g->values[t->residual].name);
    if (t->act_i >= 0)
        o += snprintf(msg + o, sizeof msg - (size_t)o, " + %s '%s'", t->act.op, g->nodes[t->act_i].name);
    snprintf(msg + o, sizeof msg - (size_t)o, " -> %s", op);
    if (oc_pass_set_op(g, n, "ai.onnxc", op, d))
        return -1;
    if (t->residual >= 0) {
        if (oc_pass_grow_inputs(n, res_in + 1, d))
            return -1;
        n->in[res_in] = t->residual;
        if (st->uses[t->residual] == 1)
            st->cons[t->residual] = i;
    }
    if (t->act_i >= 0 && (oc_node_set_string(g, i, "activation", t->act.op, d) ||
                          oc_node_set_float(g, i, "activation_alpha", t->act.alpha, d) ||
                          oc_node_set_float(g, i, "activation_beta", t->act.beta, d)))
        return -1;
    retarget(g, i, t->out);
    for (int k = 0; k < 2; k++) {
        int j = k ? t->act_i : t->add_i;
        if (j >= 0) {
            st->dead[j] = 1;
            g->nodes[j].out[0] = -1;
        }
    }
    move_to(g, i, t->act_i >= 0 ? t->act_i : t->add_i, st);
    oc_pass_note(cx, "%s", msg);
    return 1;
}

static int fuse_epilogue(oc_graph *g, int i, fuse_state *st, const oc_pass_ctx *cx, oc_diag *d)
{
    const oc_node *n = &g->nodes[i];
    int is_conv = oc_pass_is_op(n, "Conv");
    fuse_tail t;
    if ((!is_conv && !oc_pass_is_op(n, "Gemm")) || n->n_out != 1 || n->out[0] < 0 || n->n_in < 2 ||
        g->values[n->out[0]].dtype != OC_FLOAT || !match_tail(g, i, st, &t))
        return 0;
    return absorb_tail(g, i, is_conv ? "FusedConv" : "FusedGemm", 3, &t, st, cx, d);
}

/* A training-mode BatchNormalization and what follows it (match_tail) ->
 * FusedBatchNormalization(X, scale, B, mean, var[, R]). In a training
 * graph (the pass runs after autodiff) nothing else reads the normalized
 * value or the sum: BatchNormGrad reads X, the Add's gradient passes dY
 * through, and the activation's gradient reads the activation's output.
 * (Inference BatchNorms are folded into the conv before them, or run
 * alone.) */
static int fuse_bn_act(oc_graph *g, int i, fuse_state *st, const oc_pass_ctx *cx, oc_diag *d)
{
    const oc_node *n = &g->nodes[i];
    fuse_tail t;
    if (!oc_pass_is_op(n, "BatchNormalization") || n->n_in != 5 || n->n_out < 1 || n->out[0] < 0 ||
        !oc_attr_int(n, "training_mode", 0) || g->values[n->out[0]].dtype != OC_FLOAT || !match_tail(g, i, st, &t))
        return 0;
    return absorb_tail(g, i, "FusedBatchNormalization", 5, &t, st, cx, d);
}

int oc_pass_fuse(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d)
{
    fuse_state st = {0};
    st.uses = oc_graph_use_counts(g, d);
    st.cons = malloc(sizeof(int) * ((size_t)g->n_values + 1));
    st.dead = calloc((size_t)g->n_nodes + 1, 1);
    int count = 0, rc = 0;
    if (!st.uses || !st.cons || !st.dead) {
        rc = oc_fail(d, "out of memory");
        goto done;
    }
    for (int v = 0; v < g->n_values; v++)
        st.cons[v] = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && st.uses[v] == 1)
                st.cons[v] = i;
        }
    for (int pass = 0; pass < 2 && !rc; pass++)
        for (int i = 0; i < g->n_nodes && !rc; i++) {
            if (st.dead[i])
                continue;
            int r = pass == 0 ? matmul_to_gemm(g, i, &st, cx, d) : fuse_epilogue(g, i, &st, cx, d);
            if (r == 0 && pass == 1)
                r = fuse_bn_act(g, i, &st, cx, d);
            if (r < 0)
                rc = -1;
            else
                count += r;
        }
    if (!rc && count)
        rc = oc_graph_remove_nodes(g, st.dead, d);
done:
    free(st.uses);
    free(st.cons);
    free(st.dead);
    return rc ? -1 : count;
}
