/* loss.c: the training losses of the default domain,
 * SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss (opset 12, 13, 22),
 * and onnxc's own (domain ai.onnxc): CrossEntropyLoss (label smoothing,
 * class weights) and the elementwise MSE/L1/Huber/SmoothL1/BCE/
 * BCEWithLogits losses. Shape rules, lowering and gradient rules.
 *
 * Both take scores/log-probabilities [N, C, d1..dk] and int labels
 * [N, d1..dk], plus optional per-class weights [C]. The loss has the label
 * shape for reduction "none" and is a scalar for "sum" and "mean";
 * SoftmaxCrossEntropyLoss's optional second output (log_prob) has the
 * scores' shape. The kernel is runtime/kernels/loss.c. */
#include "op.h"

#include <stdio.h>
#include <string.h>

#include "../../runtime/kernels/loss.h"

static int infer_loss(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0), *t = oc_infer_in_ranked(cx, 1), *w = oc_infer_in(cx, 2);
    if (!x || !t)
        return -1;
    char a[256], b[256];
    if (x->rank < 2)
        return oc_infer_fail(cx, "input must have rank >= 2 (N, C, ...), got %s",
                             oc_format_dims(a, sizeof a, x->dims, x->rank));
    if (t->rank != x->rank - 1)
        return oc_infer_fail(cx, "labels %s must have rank %d (the input %s without C)",
                             oc_format_dims(a, sizeof a, t->dims, t->rank), x->rank - 1,
                             oc_format_dims(b, sizeof b, x->dims, x->rank));
    for (int i = 0; i < t->rank; i++) {
        int64_t want = x->dims[i == 0 ? 0 : i + 1];
        if (want >= 0 && t->dims[i] >= 0 && want != t->dims[i])
            return oc_infer_fail(cx, "labels %s do not match input %s (N, C, d1, ...)",
                                 oc_format_dims(a, sizeof a, t->dims, t->rank),
                                 oc_format_dims(b, sizeof b, x->dims, x->rank));
    }
    if (t->dtype && t->dtype != OC_INT64 && t->dtype != OC_INT32)
        return oc_infer_fail(cx, "labels must be int32 or int64, got %s", oc_dtype_name(t->dtype));
    if (w && w->rank >= 0 &&
        (w->rank != 1 || (w->dims[0] >= 0 && x->dims[1] >= 0 && w->dims[0] != x->dims[1])))
        return oc_infer_fail(cx, "weights %s must be 1-D of length C = %lld",
                             oc_format_dims(a, sizeof a, w->dims, w->rank), (long long)x->dims[1]);
    const char *red = oc_attr_string(n, "reduction", "mean");
    int rc;
    if (strcmp(red, "none") == 0)
        rc = oc_infer_set_out(cx, 0, x->dtype, t->rank, t->dims);
    else if (strcmp(red, "sum") == 0 || strcmp(red, "mean") == 0)
        rc = oc_infer_set_out(cx, 0, x->dtype, 0, NULL);
    else
        return oc_infer_fail(cx, "reduction must be none, sum or mean, got '%s'", red);
    if (rc)
        return -1;
    return oc_infer_set_out(cx, 1, x->dtype, x->rank, x->dims);
}

/* The kernels' view of a class-index loss: scores [N, C, D] (D = d1 *
 * ... * dk), reduction, ignore_index; shared by the losses and their
 * gradient op. */
static oc_loss_params *loss_params(const oc_node *n, const oc_value *x, const oc_value *t, int softmax, oc_lowered *lw,
                                   oc_diag *d)
{
    oc_loss_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return NULL;
    const char *red = oc_attr_string(n, "reduction", "mean");
    p->reduction = !strcmp(red, "none") ? OC_LOSS_NONE : !strcmp(red, "sum") ? OC_LOSS_SUM : OC_LOSS_MEAN;
    p->softmax = softmax;
    p->has_ignore = oc_node_attr(n, "ignore_index") != NULL;
    p->ignore_index = oc_attr_int(n, "ignore_index", 0);
    p->dtype = x->dtype;
    p->label_dtype = t->dtype;
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->d = 1;
    for (int i = 2; i < x->rank; i++)
        p->d *= x->dims[i];
    return p;
}

/* Views the scores as [N, C, D] (D = d1 * ... * dk) for the kernel. */
static int lower_loss(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]], *t = &g->values[n->in[1]];
    if (x->dtype != OC_FLOAT && x->dtype != OC_DOUBLE)
        return oc_fail(d, "scores must be float32 or float64, got %s", oc_dtype_name(x->dtype));
    if (n->n_in > 2 && n->in[2] >= 0 && g->values[n->in[2]].dtype != x->dtype)
        return oc_fail(d, "weights must have the scores' type %s", oc_dtype_name(x->dtype));
    oc_loss_params *p = loss_params(n, x, t, strcmp(n->op_type, "SoftmaxCrossEntropyLoss") == 0, lw, d);
    if (!p)
        return -1;
    lw->fn = oc_loss_forward;
    return 0;
}

/* ---- gradient rule: scores only (labels and weights are data) ---- */
static int grad_loss(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    if (!need[0])
        return 0;
    if (dy[0] < 0)
        return 0; /* only the log_prob output is used: not differentiated yet */
    int in[4] = {dy[0], n->in[0], n->in[1], n->n_in > 2 ? n->in[2] : -1};
    int g = oc_grad_add(cx, "LossGrad", 1, n->n_in > 2 && n->in[2] >= 0 ? 4 : 3, in, 1, &dx[0]);
    if (g < 0)
        return -1;
    n = &cx->g->nodes[nid];
    const char *red = oc_attr_string(n, "reduction", "mean");
    if (oc_node_set_string(cx->g, g, "reduction", red, cx->d) ||
        oc_node_set_int(cx->g, g, "softmax", strcmp(n->op_type, "SoftmaxCrossEntropyLoss") == 0, cx->d))
        return -1;
    if (oc_node_attr(n, "ignore_index") &&
        oc_node_set_int(cx->g, g, "ignore_index", oc_attr_int(n, "ignore_index", 0), cx->d))
        return -1;
    return 0;
}

static int infer_loss_grad(oc_infer *cx)
{
    if (!oc_infer_in(cx, 1))
        return oc_infer_fail(cx, "needs the scores");
    return oc_infer_same_as(cx, 0, 1);
}

static int lower_loss_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[1]], *t = &g->values[n->in[2]];
    if (x->dtype != OC_FLOAT && x->dtype != OC_DOUBLE)
        return oc_fail(d, "scores must be float32 or float64");
    if (!loss_params(n, x, t, (int)oc_attr_int(n, "softmax", 1), lw, d))
        return -1;
    lw->fn = oc_loss_backward;
    return 0;
}

/* ---- onnxc's own losses (domain ai.onnxc), built by `onnxc grad --loss` ----
 * CrossEntropyLoss(scores [N, C, d..], labels [N, d..][, weights [C]]),
 * attributes label_smoothing (float, default 0), reduction (default
 * "mean"), optional ignore_index: torch.nn.functional.cross_entropy. Same
 * shape rule as SoftmaxCrossEntropyLoss (single output).
 * MSELoss, L1Loss, HuberLoss (delta), SmoothL1Loss (beta), BCELoss,
 * BCEWithLogitsLoss (prediction, float target of the same shape),
 * attribute reduction: torch.nn.functional's losses of the same names. */

static int read_reduction(const oc_node *n, int *out, oc_diag *d)
{
    const char *red = oc_attr_string(n, "reduction", "mean");
    if (!strcmp(red, "none"))
        *out = OC_LOSS_NONE;
    else if (!strcmp(red, "sum"))
        *out = OC_LOSS_SUM;
    else if (!strcmp(red, "mean"))
        *out = OC_LOSS_MEAN;
    else
        return oc_fail(d, "reduction must be none, sum or mean, got '%s'", red);
    return 0;
}

static int fill_xent(const oc_graph *g, const oc_node *n, int xin, int win, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[xin]], *t = &g->values[n->in[xin + 1]];
    if (x->dtype != OC_FLOAT && x->dtype != OC_DOUBLE)
        return oc_fail(d, "scores must be float32 or float64, got %s", oc_dtype_name(x->dtype));
    if (n->n_in > win && n->in[win] >= 0 && g->values[n->in[win]].dtype != x->dtype)
        return oc_fail(d, "weights must have the scores' type %s", oc_dtype_name(x->dtype));
    oc_xent_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || read_reduction(n, &p->reduction, d))
        return -1;
    p->smoothing = oc_attr_float(n, "label_smoothing", 0.0f);
    if (!(p->smoothing >= 0 && p->smoothing <= 1))
        return oc_fail(d, "label_smoothing must be in [0, 1], got %g", p->smoothing);
    p->has_ignore = oc_node_attr(n, "ignore_index") != NULL;
    p->ignore_index = oc_attr_int(n, "ignore_index", 0);
    p->dtype = x->dtype;
    p->label_dtype = t->dtype;
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->d = 1;
    for (int i = 2; i < x->rank; i++)
        p->d *= x->dims[i];
    return 0;
}

static int lower_xent(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (fill_xent(g, n, 0, 2, lw, d))
        return -1;
    lw->fn = oc_xent_forward;
    return 0;
}

static int lower_xent_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (fill_xent(g, n, 1, 3, lw, d))
        return -1;
    lw->fn = oc_xent_backward;
    return 0;
}

/* copies reduction and the loss's parameter attributes to gradient node gn */
static int copy_loss_attrs(oc_grad_ctx *cx, int nid, int gn)
{
    const oc_node *n = &cx->g->nodes[nid];
    const char *red = oc_attr_string(n, "reduction", "mean");
    const char *fattr[3] = {"label_smoothing", "delta", "beta"};
    if (oc_node_set_string(cx->g, gn, "reduction", red, cx->d))
        return -1;
    for (int k = 0; k < 3; k++) {
        n = &cx->g->nodes[nid];
        if (oc_node_attr(n, fattr[k]) &&
            oc_node_set_float(cx->g, gn, fattr[k], oc_attr_float(n, fattr[k], 0.0f), cx->d))
            return -1;
    }
    n = &cx->g->nodes[nid];
    if (oc_node_attr(n, "ignore_index") &&
        oc_node_set_int(cx->g, gn, "ignore_index", oc_attr_int(n, "ignore_index", 0), cx->d))
        return -1;
    return 0;
}

/* scores only: labels and class weights are data */
static int grad_xent(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    if (!need[0] || dy[0] < 0)
        return 0;
    int has_w = n->n_in > 2 && n->in[2] >= 0;
    int in[4] = {dy[0], n->in[0], n->in[1], has_w ? n->in[2] : -1};
    int gn = oc_grad_add(cx, "CrossEntropyLossGrad", 1, has_w ? 4 : 3, in, 1, &dx[0]);
    return gn < 0 ? -1 : copy_loss_attrs(cx, nid, gn);
}

static int pw_kind(const char *op)
{
    static const char *const names[] = {"MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss"};
    for (int k = 0; k < 6; k++)
        if (!strcmp(op, names[k]))
            return k; /* the order of enum oc_pw_loss_kind */
    return -1;
}

static int infer_pw_loss(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_value *x = oc_infer_in_ranked(cx, 0), *t = oc_infer_in_ranked(cx, 1);
    if (!x || !t)
        return -1;
    char a[256], b[256];
    int same = x->rank == t->rank;
    for (int i = 0; same && i < x->rank; i++)
        same = x->dims[i] < 0 || t->dims[i] < 0 || x->dims[i] == t->dims[i];
    if (!same)
        return oc_infer_fail(cx, "target %s must have the prediction's shape %s",
                             oc_format_dims(a, sizeof a, t->dims, t->rank), oc_format_dims(b, sizeof b, x->dims, x->rank));
    if (t->dtype && x->dtype && t->dtype != x->dtype)
        return oc_infer_fail(cx, "target type %s differs from the prediction's %s", oc_dtype_name(t->dtype),
                             oc_dtype_name(x->dtype));
    const char *red = oc_attr_string(n, "reduction", "mean");
    if (!strcmp(red, "none"))
        return oc_infer_set_out(cx, 0, x->dtype, x->rank, x->dims);
    if (!strcmp(red, "sum") || !strcmp(red, "mean"))
        return oc_infer_set_out(cx, 0, x->dtype, 0, NULL);
    return oc_infer_fail(cx, "reduction must be none, sum or mean, got '%s'", red);
}

/* loss_op: the forward op's name (node attribute "loss" on the gradient node) */
static int fill_pw(const oc_graph *g, const oc_node *n, const char *loss_op, int xin, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[xin]];
    if (x->dtype != OC_FLOAT && x->dtype != OC_DOUBLE)
        return oc_fail(d, "prediction must be float32 or float64, got %s", oc_dtype_name(x->dtype));
    oc_pw_loss_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || read_reduction(n, &p->reduction, d))
        return -1;
    if ((p->kind = pw_kind(loss_op)) < 0)
        return oc_fail(d, "unknown loss '%s'", loss_op);
    p->delta = oc_attr_float(n, p->kind == OC_PWL_SMOOTH_L1 ? "beta" : "delta", 1.0f);
    if (p->kind == OC_PWL_HUBER && !(p->delta > 0))
        return oc_fail(d, "HuberLoss delta must be > 0, got %g", p->delta);
    if (p->kind == OC_PWL_SMOOTH_L1 && !(p->delta >= 0))
        return oc_fail(d, "SmoothL1Loss beta must be >= 0, got %g", p->delta);
    p->dtype = x->dtype;
    p->count = 1;
    for (int i = 0; i < x->rank; i++)
        p->count *= x->dims[i];
    return 0;
}

static int lower_pw_loss(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (fill_pw(g, n, n->op_type, 0, lw, d))
        return -1;
    lw->fn = oc_pw_loss_forward;
    return 0;
}

static int lower_pw_loss_grad(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    if (fill_pw(g, n, oc_attr_string(n, "loss", ""), 1, lw, d))
        return -1;
    lw->fn = oc_pw_loss_backward;
    return 0;
}

/* prediction only: the target is data */
static int grad_pw_loss(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx)
{
    const oc_node *n = &cx->g->nodes[nid];
    if (!need[0] || dy[0] < 0)
        return 0;
    int in[3] = {dy[0], n->in[0], n->in[1]};
    int gn = oc_grad_add(cx, "PointwiseLossGrad", 1, 3, in, 1, &dx[0]);
    if (gn < 0)
        return -1;
    char op[32];
    snprintf(op, sizeof op, "%s", cx->g->nodes[nid].op_type);
    if (oc_node_set_string(cx->g, gn, "loss", op, cx->d))
        return -1;
    return copy_loss_attrs(cx, nid, gn);
}

static int infer_pw_loss_grad(oc_infer *cx)
{
    if (!oc_infer_in(cx, 1))
        return oc_infer_fail(cx, "needs the prediction");
    return oc_infer_same_as(cx, 0, 1);
}

const oc_op oc_ops_loss_grad[] = {
    {.name = "LossGrad", .min_in = 3, .max_in = 4, .min_out = 1, .max_out = 1,
     .infer = infer_loss_grad, .lower = lower_loss_grad, .domain = OC_DOMAIN_ONNXC},
    {.name = "CrossEntropyLossGrad", .min_in = 3, .max_in = 4, .min_out = 1, .max_out = 1,
     .infer = infer_loss_grad, .lower = lower_xent_grad, .domain = OC_DOMAIN_ONNXC},
    {.name = "PointwiseLossGrad", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
     .infer = infer_pw_loss_grad, .lower = lower_pw_loss_grad, .domain = OC_DOMAIN_ONNXC},
    {0},
};

const oc_op oc_ops_loss[] = {
    {"SoftmaxCrossEntropyLoss", 2, 3, 1, 2, infer_loss, NULL, 0, 0, lower_loss, grad_loss},
    {"NegativeLogLikelihoodLoss", 2, 3, 1, 1, infer_loss, NULL, 0, 0, lower_loss, grad_loss},
    {.name = "CrossEntropyLoss", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
     .infer = infer_loss, .lower = lower_xent, .grad = grad_xent, .domain = OC_DOMAIN_ONNXC},
    {.name = "MSELoss", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_pw_loss, .lower = lower_pw_loss, .grad = grad_pw_loss, .domain = OC_DOMAIN_ONNXC},
    {.name = "L1Loss", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_pw_loss, .lower = lower_pw_loss, .grad = grad_pw_loss, .domain = OC_DOMAIN_ONNXC},
    {.name = "HuberLoss", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_pw_loss, .lower = lower_pw_loss, .grad = grad_pw_loss, .domain = OC_DOMAIN_ONNXC},
    {.name = "SmoothL1Loss", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_pw_loss, .lower = lower_pw_loss, .grad = grad_pw_loss, .domain = OC_DOMAIN_ONNXC},
    {.name = "BCELoss", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_pw_loss, .lower = lower_pw_loss, .grad = grad_pw_loss, .domain = OC_DOMAIN_ONNXC},
    {.name = "BCEWithLogitsLoss", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
     .infer = infer_pw_loss, .lower = lower_pw_loss, .grad = grad_pw_loss, .domain = OC_DOMAIN_ONNXC},
    {0},
};
