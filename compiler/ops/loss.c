/* loss.c: the training losses of the default domain,
 * SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss (opset 12, 13, 22).
 * Shape rules and lowering.
 *
 * Both take scores/log-probabilities [N, C, d1..dk] and int labels
 * [N, d1..dk], plus optional per-class weights [C]. The loss has the label
 * shape for reduction "none" and is a scalar for "sum" and "mean";
 * SoftmaxCrossEntropyLoss's optional second output (log_prob) has the
 * scores' shape. The kernel is runtime/kernels/loss.c. */
#include "op.h"

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

/* Views the scores as [N, C, D] (D = d1 * ... * dk) for the kernel. */
static int lower_loss(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    const oc_value *x = &g->values[n->in[0]], *t = &g->values[n->in[1]];
    if (x->dtype != OC_FLOAT && x->dtype != OC_DOUBLE)
        return oc_fail(d, "scores must be float32 or float64, got %s", oc_dtype_name(x->dtype));
    if (n->n_in > 2 && n->in[2] >= 0 && g->values[n->in[2]].dtype != x->dtype)
        return oc_fail(d, "weights must have the scores' type %s", oc_dtype_name(x->dtype));
    oc_loss_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    const char *red = oc_attr_string(n, "reduction", "mean");
    p->reduction = !strcmp(red, "none") ? OC_LOSS_NONE : !strcmp(red, "sum") ? OC_LOSS_SUM : OC_LOSS_MEAN;
    p->softmax = strcmp(n->op_type, "SoftmaxCrossEntropyLoss") == 0;
    p->has_ignore = oc_node_attr(n, "ignore_index") != NULL;
    p->ignore_index = oc_attr_int(n, "ignore_index", 0);
    p->dtype = x->dtype;
    p->label_dtype = t->dtype;
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->d = 1;
    for (int i = 2; i < x->rank; i++)
        p->d *= x->dims[i];
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
    oc_loss_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p)
        return -1;
    if (x->dtype != OC_FLOAT && x->dtype != OC_DOUBLE)
        return oc_fail(d, "scores must be float32 or float64");
    const char *red = oc_attr_string(n, "reduction", "mean");
    p->reduction = !strcmp(red, "none") ? OC_LOSS_NONE : !strcmp(red, "sum") ? OC_LOSS_SUM : OC_LOSS_MEAN;
    p->softmax = (int)oc_attr_int(n, "softmax", 1);
    p->has_ignore = oc_node_attr(n, "ignore_index") != NULL;
    p->ignore_index = oc_attr_int(n, "ignore_index", 0);
    p->dtype = x->dtype;
    p->label_dtype = t->dtype;
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->d = 1;
    for (int i = 2; i < x->rank; i++)
        p->d *= x->dims[i];
    lw->fn = oc_loss_backward;
    return 0;
}

const oc_op oc_ops_loss_grad[] = {
    {"LossGrad", 3, 4, 1, 1, infer_loss_grad, NULL, 0, 0, lower_loss_grad},
    {0},
};

const oc_op oc_ops_loss[] = {
    {"SoftmaxCrossEntropyLoss", 2, 3, 1, 2, infer_loss, NULL, 0, 0, lower_loss, grad_loss},
    {"NegativeLogLikelihoodLoss", 2, 3, 1, 1, infer_loss, NULL, 0, 0, lower_loss, grad_loss},
    {0},
};
