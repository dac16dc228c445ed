/* rnn.c: the recurrent ops RNN, GRU and LSTM (opsets 7, 14, 22): attribute
 * checks, shape rules and lowering. The kernels and the equations are in
 * runtime/kernels/rnn.{c,h}.
 *
 * Attributes: hidden_size (else taken from R), direction (forward,
 * reverse, bidirectional), layout (opset 14: 0 sequence first, 1 batch
 * first), activations with activation_alpha / activation_beta (per
 * direction; the alpha and beta lists are consumed in order by the
 * activations that take them, as ONNX Runtime reads them, and defaults are
 * those of the ONNX ops of the same name), clip, linear_before_reset (GRU)
 * and input_forget (LSTM). */
#include "op.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../../runtime/kernels/rnn.h"

static const struct {
    const char *name;
    int act;
    int needs_alpha, needs_beta;
    float alpha, beta; /* defaults */
} acts[] = {
    {"Relu", OC_RNN_ACT_RELU, 0, 0, 0, 0},
    {"Tanh", OC_RNN_ACT_TANH, 0, 0, 0, 0},
    {"Sigmoid", OC_RNN_ACT_SIGMOID, 0, 0, 0, 0},
    {"Affine", OC_RNN_ACT_AFFINE, 1, 1, 1.0f, 0.0f},
    {"LeakyRelu", OC_RNN_ACT_LEAKY_RELU, 1, 0, 0.01f, 0},
    {"ThresholdedRelu", OC_RNN_ACT_THRESHOLDED_RELU, 1, 0, 1.0f, 0},
    {"ScaledTanh", OC_RNN_ACT_SCALED_TANH, 1, 1, 1.0f, 1.0f},
    {"HardSigmoid", OC_RNN_ACT_HARD_SIGMOID, 1, 1, 0.2f, 0.5f},
    {"Elu", OC_RNN_ACT_ELU, 1, 0, 1.0f, 0},
    {"Softsign", OC_RNN_ACT_SOFTSIGN, 0, 0, 0, 0},
    {"Softplus", OC_RNN_ACT_SOFTPLUS, 0, 0, 0, 0},
};

static int kind_of(const oc_node *n)
{
    return strcmp(n->op_type, "LSTM") == 0 ? OC_RNN_LSTM : strcmp(n->op_type, "GRU") == 0 ? OC_RNN_GRU : OC_RNN_SIMPLE;
}

/* Fills p from n's attributes (sizes are left to the caller); on error
 * writes a message to err and returns -1. */
static int read_attrs(const oc_node *n, oc_rnn_params *p, char *err, size_t cap)
{
    static const char *const defaults[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    p->kind = kind_of(n);
    p->gates = p->kind == OC_RNN_LSTM ? 4 : p->kind == OC_RNN_GRU ? 3 : 1;
    p->n_act = p->kind == OC_RNN_LSTM ? 3 : p->kind == OC_RNN_GRU ? 2 : 1;
    const char *dir = oc_attr_string(n, "direction", "forward");
    if (strcmp(dir, "forward") == 0)
        p->direction = OC_RNN_FORWARD;
    else if (strcmp(dir, "reverse") == 0)
        p->direction = OC_RNN_REVERSE;
    else if (strcmp(dir, "bidirectional") == 0)
        p->direction = OC_RNN_BIDIRECTIONAL;
    else
        return snprintf(err, cap, "unknown direction '%s'", dir), -1;
    p->dirs = p->direction == OC_RNN_BIDIRECTIONAL ? 2 : 1;
    int64_t layout = oc_attr_int(n, "layout", 0);
    if (layout != 0 && layout != 1)
        return snprintf(err, cap, "layout must be 0 or 1, got %lld", (long long)layout), -1;
    p->layout = (int)layout;
    const oc_attr *cl = oc_node_attr(n, "clip");
    if (cl) {
        if (cl->type != OC_ATTR_FLOAT || !(cl->f >= 0) || isinf(cl->f))
            return snprintf(err, cap, "clip must be a finite float >= 0"), -1;
        p->has_clip = 1;
        p->clip = cl->f;
    }
    p->linear_before_reset = p->kind == OC_RNN_GRU && oc_attr_int(n, "linear_before_reset", 0) != 0;
    p->input_forget = p->kind == OC_RNN_LSTM && oc_attr_int(n, "input_forget", 0) != 0;

    const oc_attr *an = oc_node_attr(n, "activations"), *aa = oc_node_attr(n, "activation_alpha"),
                  *ab = oc_node_attr(n, "activation_beta");
    int total = p->n_act * p->dirs;
    if (an && (an->type != OC_ATTR_STRINGS || (an->n != total && an->n != p->n_act)))
        return snprintf(err, cap, "'activations' must list %d names (%d per direction)", total, p->n_act), -1;
    if ((aa && aa->type != OC_ATTR_FLOATS) || (ab && ab->type != OC_ATTR_FLOATS))
        return snprintf(err, cap, "activation_alpha and activation_beta must be float lists"), -1;
    int na = aa ? aa->n : 0, nb = ab ? ab->n : 0, ia = 0, ib = 0;
    int listed = an ? an->n : p->n_act;
    for (int i = 0; i < total; i++) {
        const char *name = an ? an->strings[i % listed] : defaults[p->kind][i % p->n_act];
        size_t k = 0;
        while (k < sizeof acts / sizeof acts[0] && strcasecmp(name, acts[k].name) != 0)
            k++;
        if (k == sizeof acts / sizeof acts[0])
            return snprintf(err, cap, "unknown activation '%s'", name), -1;
        p->act[i] = acts[k].act;
        p->alpha[i] = acts[k].alpha;
        p->beta[i] = acts[k].beta;
        if (i >= listed) { /* one list for both directions: the same parameters */
            p->alpha[i] = p->alpha[i - listed];
            p->beta[i] = p->beta[i - listed];
            continue;
        }
        if (acts[k].needs_alpha && ia < na)
            p->alpha[i] = aa->floats[ia++];
        if (acts[k].needs_beta && ib < nb)
            p->beta[i] = ab->floats[ib++];
    }
    return 0;
}

/* Checks that value v (if present with a known rank) has rank r and the
 * given dims (-1 in want: any); writes err on mismatch. */
static int check_dims(const oc_value *v, const char *what, int r, const int64_t *want, char *err, size_t cap)
{
    if (!v || v->rank < 0)
        return 0;
    int bad = v->rank != r;
    for (int i = 0; !bad && i < r; i++)
        bad = want[i] >= 0 && v->dims[i] >= 0 && v->dims[i] != want[i];
    if (!bad)
        return 0;
    int o = snprintf(err, cap, "%s must be [", what);
    for (int i = 0; i < r && o > 0 && (size_t)o < cap; i++)
        o += want[i] >= 0 ? snprintf(err + o, cap - (size_t)o, "%s%lld", i ? ", " : "", (long long)want[i])
                          : snprintf(err + o, cap - (size_t)o, "%s?", i ? ", " : "");
    if (o > 0 && (size_t)o < cap)
        snprintf(err + o, cap - (size_t)o, "], got rank %d", v->rank);
    return -1;
}

/* Attributes plus sizes from the node's input types; -1 with err set. The
 * sizes may be -1 when a dim is unknown. */
static int resolve(const oc_graph *g, const oc_node *n, oc_rnn_params *p, char *err, size_t cap)
{
    memset(p, 0, sizeof *p);
    if (read_attrs(n, p, err, cap))
        return -1;
    const oc_value *in[8] = {0};
    for (int k = 0; k < n->n_in && k < 8; k++)
        in[k] = n->in[k] >= 0 ? &g->values[n->in[k]] : NULL;
    const oc_value *x = in[0], *w = in[1], *r = in[2];
    if (!x || !w || !r)
        return snprintf(err, cap, "needs inputs X, W and R"), -1;
    if (x->rank != 3 || w->rank != 3 || r->rank != 3)
        return snprintf(err, cap, "X, W and R must be 3-D"), -1;
    p->seq = x->dims[p->layout ? 1 : 0];
    p->batch = x->dims[p->layout ? 0 : 1];
    p->input = x->dims[2];
    const oc_attr *hs = oc_node_attr(n, "hidden_size");
    p->hidden = hs ? hs->i : r->dims[2];
    if (hs && (hs->type != OC_ATTR_INT || hs->i < 1 || hs->i > (1 << 24)))
        return snprintf(err, cap, "hidden_size must be an int in [1, 2^24]"), -1;
    int64_t H = p->hidden, G = p->gates, D = p->dirs;
    int64_t gh = H >= 0 ? G * H : -1;
    int64_t wd[3] = {D, gh, p->input}, rd[3] = {D, gh, H}, bd[2] = {D, gh >= 0 ? 2 * gh : -1};
    int64_t sd[3] = {D, p->batch, H};
    if (p->layout)
        sd[0] = p->batch, sd[1] = D;
    int64_t ld[1] = {p->batch}, pd[2] = {D, H >= 0 ? 3 * H : -1};
    if (check_dims(w, "W", 3, wd, err, cap) || check_dims(r, "R", 3, rd, err, cap) ||
        check_dims(in[3], "B", 2, bd, err, cap) || check_dims(in[4], "sequence_lens", 1, ld, err, cap) ||
        check_dims(in[5], "initial_h", 3, sd, err, cap))
        return -1;
    if (p->kind == OC_RNN_LSTM &&
        (check_dims(in[6], "initial_c", 3, sd, err, cap) || check_dims(in[7], "P", 2, pd, err, cap)))
        return -1;
    if (in[4] && in[4]->dtype && in[4]->dtype != OC_INT32)
        return snprintf(err, cap, "sequence_lens must be int32, got %s", oc_dtype_name(in[4]->dtype)), -1;
    for (int k = 1; k < 8; k++)
        if (k != 4 && in[k] && in[k]->dtype && x->dtype && in[k]->dtype != x->dtype)
            return snprintf(err, cap, "input %d is %s, X is %s", k, oc_dtype_name(in[k]->dtype),
                            oc_dtype_name(x->dtype)), -1;
    return 0;
}

static int infer_rnn(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0);
    if (!x || !oc_infer_in_ranked(cx, 1) || !oc_infer_in_ranked(cx, 2))
        return -1;
    oc_rnn_params p;
    char err[256];
    if (resolve(cx->g, n, &p, err, sizeof err))
        return oc_infer_fail(cx, "%s", err);
    if (n->n_out > (p.kind == OC_RNN_LSTM ? 3 : 2))
        return oc_infer_fail(cx, "has %d outputs; %s has at most %d", n->n_out, n->op_type,
                             p.kind == OC_RNN_LSTM ? 3 : 2);
    int64_t y[4], s[3];
    if (p.layout) {
        y[0] = p.batch, y[1] = p.seq, y[2] = p.dirs, y[3] = p.hidden;
        s[0] = p.batch, s[1] = p.dirs, s[2] = p.hidden;
    } else {
        y[0] = p.seq, y[1] = p.dirs, y[2] = p.batch, y[3] = p.hidden;
        s[0] = p.dirs, s[1] = p.batch, s[2] = p.hidden;
    }
    if (oc_infer_set_out(cx, 0, x->dtype, 4, y) || oc_infer_set_out(cx, 1, x->dtype, 3, s))
        return -1;
    return p.kind == OC_RNN_LSTM ? oc_infer_set_out(cx, 2, x->dtype, 3, s) : 0;
}

static int64_t macs_rnn(const oc_graph *g, const oc_node *n)
{
    oc_rnn_params p;
    char err[256];
    if (resolve(g, n, &p, err, sizeof err) || p.seq < 0 || p.batch < 0 || p.input < 0 || p.hidden < 0)
        return -1;
    double m = (double)p.seq * (double)p.batch * p.dirs * p.gates * (double)p.hidden * (double)(p.input + p.hidden);
    return m < 9e18 ? (int64_t)m : -1;
}

static int lower_rnn(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    oc_rnn_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    char err[256];
    if (resolve(g, n, p, err, sizeof err))
        return oc_fail(d, "%s", err);
    if (g->values[n->in[0]].dtype != OC_FLOAT)
        return oc_fail(d, "%s supports float32 only, got %s", n->op_type,
                       oc_dtype_name(g->values[n->in[0]].dtype));
    if (p->seq < 0 || p->batch < 0 || p->input < 0 || p->hidden < 1)
        return oc_fail(d, "needs known sizes");
    p->scratch = oc_rnn_scratch(p);
    if (!p->scratch || p->scratch > (size_t)OC_MAX_TENSOR_BYTES)
        return oc_fail(d, "would need too much scratch memory (seq %lld, batch %lld, hidden %lld)",
                       (long long)p->seq, (long long)p->batch, (long long)p->hidden);
    lw->scratch = p->scratch;
    int64_t macs = macs_rnn(g, n);
    lw->flops = macs > 0 ? 2 * macs : 0;
    lw->fn = oc_rnn_forward;
    return 0;
}

/* ---- gradient: one onnxc op for the three kinds ---- */

/* RNN / GRU / LSTM: dX, dW, dR, dB, d initial_h, d initial_c, dP =
 * RNNGrad(dY, dY_h, dY_c, X, W, R, B, sequence_lens, initial_h, initial_c,
 * P) (back-propagation through time, runtime/kernels/rnn.c). The resolved
 * attributes travel as plain ints and floats (activation codes, not
 * names). sequence_lens is data: no gradient. */
static int grad_rnn(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    int lstm = kind_of(n) == OC_RNN_LSTM, g_y[3], n_in = n->n_in;
    for (int k = 0; k < 3; k++) /* dy has one entry per output the node has */
        g_y[k] = k < n->n_out && (k < 2 || lstm) ? dy[k] : -1;
    if (g_y[0] < 0 && g_y[1] < 0 && g_y[2] < 0)
        return 0;
    oc_rnn_params p;
    char err[256];
    if (resolve(cx->g, n, &p, err, sizeof err))
        return oc_fail(cx->d, "%s", err);
    int in[11], out[7];
    for (int k = 0; k < 3; k++)
        in[k] = g_y[k];
    for (int k = 0; k < 8; k++)
        in[3 + k] = k < n->n_in ? n->in[k] : -1;
    int gid = oc_grad_add(cx, "RNNGrad", 1, 11, in, 7, out);
    if (gid < 0)
        return -1;
    int total = p.n_act * p.dirs;
    int64_t acts[OC_RNN_MAX_ACTS];
    for (int i = 0; i < total; i++)
        acts[i] = p.act[i];
    if (oc_node_set_int(cx->g, gid, "kind", p.kind, cx->d) ||
        oc_node_set_int(cx->g, gid, "direction", p.direction, cx->d) ||
        oc_node_set_int(cx->g, gid, "layout", p.layout, cx->d) ||
        oc_node_set_int(cx->g, gid, "hidden_size", p.hidden, cx->d) ||
        oc_node_set_int(cx->g, gid, "linear_before_reset", p.linear_before_reset, cx->d) ||
        oc_node_set_int(cx->g, gid, "input_forget", p.input_forget, cx->d) ||
        oc_node_set_int(cx->g, gid, "has_clip", p.has_clip, cx->d) ||
        oc_node_set_float(cx->g, gid, "clip", p.clip, cx->d) ||
        oc_node_set_ints(cx->g, gid, "acts", total, acts, cx->d) ||
        oc_node_set_floats(cx->g, gid, "alpha", total, p.alpha, cx->d) ||
        oc_node_set_floats(cx->g, gid, "beta", total, p.beta, cx->d))
        return -1;
    static const int from[8] = {0, 1, 2, 3, -1, 4, 5, 6}; /* forward input -> grad output */
    for (int k = 0; k < n_in && k < 8; k++) /* need and dx have one entry per input */
        if (need[k] && from[k] >= 0)
            dx[k] = out[from[k]];
    return 0;
}

/* RNNGrad's parameters: its own attributes, sizes from X, W, R (inputs 3-5). */
static int grad_resolve(const oc_graph *g, const oc_node *n, oc_rnn_params *p, char *err, size_t cap)
{
    memset(p, 0, sizeof *p);
    p->kind = (int)oc_attr_int(n, "kind", -1);
    p->direction = (int)oc_attr_int(n, "direction", -1);
    p->layout = (int)oc_attr_int(n, "layout", 0);
    p->hidden = oc_attr_int(n, "hidden_size", 0);
    if (p->kind < 0 || p->kind > 2 || p->direction < 0 || p->direction > 2 || (p->layout & ~1) || p->hidden < 1 ||
        p->hidden > (1 << 24))
        return snprintf(err, cap, "bad RNNGrad attributes"), -1;
    p->gates = p->kind == OC_RNN_LSTM ? 4 : p->kind == OC_RNN_GRU ? 3 : 1;
    p->n_act = p->kind == OC_RNN_LSTM ? 3 : p->kind == OC_RNN_GRU ? 2 : 1;
    p->dirs = p->direction == OC_RNN_BIDIRECTIONAL ? 2 : 1;
    p->linear_before_reset = oc_attr_int(n, "linear_before_reset", 0) != 0;
    p->input_forget = oc_attr_int(n, "input_forget", 0) != 0;
    p->has_clip = oc_attr_int(n, "has_clip", 0) != 0;
    p->clip = oc_attr_float(n, "clip", 0.0f);
    int total = p->n_act * p->dirs;
    const int64_t *acts;
    const oc_attr *al = oc_node_attr(n, "alpha"), *be = oc_node_attr(n, "beta");
    if (oc_attr_ints(n, "acts", &acts) != total || !al || !be || al->type != OC_ATTR_FLOATS ||
        be->type != OC_ATTR_FLOATS || al->n != total || be->n != total)
        return snprintf(err, cap, "bad RNNGrad activation attributes"), -1;
    for (int i = 0; i < total; i++) {
        if (acts[i] < 0 || acts[i] >= OC_RNN_ACT_COUNT)
            return snprintf(err, cap, "bad RNNGrad activation code"), -1;
        p->act[i] = (int)acts[i];
        p->alpha[i] = al->floats[i];
        p->beta[i] = be->floats[i];
    }
    if (n->n_in < 6 || n->in[3] < 0 || n->in[4] < 0 || n->in[5] < 0)
        return snprintf(err, cap, "RNNGrad needs X, W and R"), -1;
    const oc_value *x = &g->values[n->in[3]];
    if (x->rank != 3)
        return snprintf(err, cap, "X must be 3-D"), -1;
    p->seq = x->dims[p->layout ? 1 : 0];
    p->batch = x->dims[p->layout ? 0 : 1];
    p->input = x->dims[2];
    return 0;
}

static int infer_rnn_grad(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_rnn_params p;
    char err[256];
    if (grad_resolve(cx->g, n, &p, err, sizeof err))
        return oc_infer_fail(cx, "%s", err);
    int dt = cx->g->values[n->in[3]].dtype;
    int64_t H = p.hidden, GH = p.gates * H, s[3] = {p.dirs, p.batch, H}, b[2] = {p.dirs, 2 * GH},
            pd[2] = {p.dirs, 3 * H};
    if (p.layout)
        s[0] = p.batch, s[1] = p.dirs;
    if (oc_infer_same_as(cx, 0, 3) || oc_infer_same_as(cx, 1, 4) || oc_infer_same_as(cx, 2, 5) ||
        oc_infer_set_out(cx, 3, dt, 2, b) || oc_infer_set_out(cx, 4, dt, 3, s) || oc_infer_set_out(cx, 5, dt, 3, s))
        return -1;
    return oc_infer_set_out(cx, 6, dt, 2, pd);
}

static int lower_rnn_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    oc_rnn_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    char err[256];
    if (grad_resolve(g, n, p, err, sizeof err))
        return oc_fail(d, "%s", err);
    if (g->values[n->in[3]].dtype != OC_FLOAT)
        return oc_fail(d, "RNN gradients support float32 only");
    if (p->seq < 0 || p->batch < 0 || p->input < 0)
        return oc_fail(d, "needs known sizes");
    size_t bytes = oc_rnn_backward_scratch(p);
    if (!bytes || bytes > (size_t)OC_MAX_TENSOR_BYTES)
        return oc_fail(d, "would need too much scratch memory");
    p->scratch = bytes;
    lw->scratch = bytes;
    lw->fn = oc_rnn_backward;
    return 0;
}

const oc_op oc_ops_rnn[] = {
    {.name = "RNNGrad", .min_in = 6, .max_in = 11, .min_out = 7, .max_out = 7, .infer = infer_rnn_grad,
     .lower = lower_rnn_grad, .domain = OC_DOMAIN_ONNXC},
    {"RNN", 3, 6, 0, 2, infer_rnn, macs_rnn, 0, 1u << 4, lower_rnn, grad_rnn},
    {"GRU", 3, 6, 0, 2, infer_rnn, macs_rnn, 0, 1u << 4, lower_rnn, grad_rnn},
    {"LSTM", 3, 8, 0, 3, infer_rnn, macs_rnn, 0, 1u << 4, lower_rnn, grad_rnn},
    {0},
};
