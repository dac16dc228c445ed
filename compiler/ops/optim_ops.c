/* optim_ops.c: the optimizer ops of ONNX's training-preview domain
 * ai.onnx.preview.training (opset 1): Adagrad, Adam and Momentum.
 * Attributes, shape rules and lowering; the kernel and the update
 * formulas are in runtime/kernels/optim_ops.h.
 *
 * Inputs are R, T, then n groups of k tensors (X..., G..., and the state:
 * H... for Adagrad, V... for Momentum, V..., H... for Adam); outputs are
 * the updated X... and state, k - 1 groups of n. Tensor i of every group
 * has X_i's shape and type. */
#include "op.h"

#include <math.h>
#include <string.h>

#include "../../runtime/kernels/optim_ops.h"

/* Tensors per optimized tensor among the inputs (X, G and the state). */
static int group_count(const oc_node *n)
{
    return strcmp(n->op_type, "Adam") == 0 ? 4 : 3;
}

/* The attributes as a parameter block, checked; -1 with a message. */
static int read_attrs(const oc_node *n, oc_optim_op_params *p, oc_diag *d)
{
    memset(p, 0, sizeof *p);
    p->norm_coefficient = oc_attr_float(n, "norm_coefficient", 0.0f);
    if (strcmp(n->op_type, "Adagrad") == 0) {
        p->kind = OC_OPTOP_ADAGRAD;
        p->decay_factor = oc_attr_float(n, "decay_factor", 0.0f);
        p->epsilon = oc_attr_float(n, "epsilon", 1e-6f);
    } else if (strcmp(n->op_type, "Adam") == 0) {
        p->kind = OC_OPTOP_ADAM;
        p->alpha = oc_attr_float(n, "alpha", 0.9f);
        p->beta = oc_attr_float(n, "beta", 0.999f);
        p->epsilon = oc_attr_float(n, "epsilon", 1e-6f);
        p->norm_coefficient_post = oc_attr_float(n, "norm_coefficient_post", 0.0f);
    } else {
        static const char *const required[] = {"alpha", "beta", "mode", "norm_coefficient"};
        for (int i = 0; i < 4; i++)
            if (!oc_node_attr(n, required[i]))
                return oc_fail(d, "Momentum needs attribute '%s'", required[i]);
        const char *mode = oc_attr_string(n, "mode", "");
        if (strcmp(mode, "standard") == 0)
            p->kind = OC_OPTOP_MOMENTUM;
        else if (strcmp(mode, "nesterov") == 0)
            p->kind = OC_OPTOP_NESTEROV;
        else
            return oc_fail(d, "mode '%s' is neither 'standard' nor 'nesterov'", mode);
        p->alpha = oc_attr_float(n, "alpha", 0.0f);
        p->beta = oc_attr_float(n, "beta", 0.0f);
    }
    if (!isfinite(p->alpha) || !isfinite(p->beta) || !isfinite(p->epsilon) || !isfinite(p->decay_factor) ||
        !isfinite(p->norm_coefficient) || !isfinite(p->norm_coefficient_post))
        return oc_fail(d, "attributes must be finite numbers");
    int k = group_count(n);
    if (n->n_in < 2 + k || (n->n_in - 2) % k)
        return oc_fail(d, "expects R, T and %d groups of inputs of equal size, got %d inputs", k, n->n_in);
    p->n = (n->n_in - 2) / k;
    if (n->n_out != (k - 1) * p->n)
        return oc_fail(d, "expects %d outputs for %d optimized tensors, got %d", (k - 1) * p->n, p->n, n->n_out);
    return 0;
}

static int infer_optim(oc_infer *cx)
{
    oc_node *n = oc_infer_node(cx);
    oc_optim_op_params p;
    if (read_attrs(n, &p, cx->d)) {
        char lb[300];
        oc_diag_prefix(cx->d, "%s: ", oc_node_label(n, lb, sizeof lb));
        return -1;
    }
    oc_value *r = oc_infer_in_ranked(cx, 0), *t = oc_infer_in_ranked(cx, 1);
    if (!r || !t)
        return -1;
    if (oc_value_numel(r) != 1 || (r->dtype && r->dtype != OC_FLOAT && r->dtype != OC_DOUBLE))
        return oc_infer_fail(cx, "R (input 0) must be one float or double learning rate");
    if (oc_value_numel(t) != 1 || (t->dtype && t->dtype != OC_INT64))
        return oc_infer_fail(cx, "T (input 1) must be one int64 update count");
    int k = group_count(n);
    for (int j = 0; j < n->n_out; j++)
        if (n->out[j] < 0)
            return oc_infer_fail(cx, "output %d is omitted; the kernel writes every output", j);
    for (int i = 0; i < p.n; i++) {
        oc_value *x = oc_infer_in_ranked(cx, 2 + i);
        if (!x)
            return -1;
        if (x->dtype != OC_FLOAT && x->dtype != OC_DOUBLE)
            return oc_infer_fail(cx, "input %d is %s; the optimized tensors must be float or double", 2 + i,
                                 oc_dtype_name(x->dtype));
        for (int j = 1; j < k; j++) {
            int in = 2 + j * p.n + i;
            oc_value *s = oc_infer_in_ranked(cx, in);
            if (!s)
                return -1;
            int same = s->dtype == x->dtype && s->rank == x->rank;
            for (int a = 0; same && a < x->rank; a++)
                same = s->dims[a] < 0 || x->dims[a] < 0 || s->dims[a] == x->dims[a];
            if (!same)
                return oc_infer_fail(cx, "input %d must have the type and shape of input %d (tensor %d to optimize)",
                                     in, 2 + i, i + 1);
        }
        for (int j = 0; j < k - 1; j++)
            if (oc_infer_same_as(cx, j * p.n + i, 2 + i))
                return -1;
    }
    return 0;
}

static int lower_optim(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d)
{
    (void)g;
    oc_optim_op_params *p = oc_lower_params(lw, sizeof *p, d);
    if (!p || read_attrs(n, p, d))
        return -1;
    lw->fn = oc_optim_op_forward;
    return 0;
}

/* Gradient names what it differentiates in attributes; the importer
 * replaces it by autodiff's nodes (compiler/gradient_op.c), so a Gradient
 * node reaching shape inference was built some other way. */
static int infer_gradient(oc_infer *cx)
{
    return oc_infer_fail(cx, "Gradient nodes are expanded when a file is imported; this one was not");
}

/* Input counts: R, T and at least one group; the importer caps them at 4096. */
const oc_op oc_ops_optim[] = {
    {"Adagrad", 5, 4096, 2, 4096, infer_optim, NULL, 0, 3u, lower_optim, .domain = OC_DOMAIN_TRAINING},
    {"Adam", 6, 4096, 3, 4096, infer_optim, NULL, 0, 3u, lower_optim, .domain = OC_DOMAIN_TRAINING},
    {"Gradient", 0, 4096, 1, 4096, infer_gradient, NULL, 0, 0, NULL, .domain = OC_DOMAIN_TRAINING},
    {"Momentum", 5, 4096, 2, 4096, infer_optim, NULL, 0, 3u, lower_optim, .domain = OC_DOMAIN_TRAINING},
    {0},
};
