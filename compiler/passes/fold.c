/* fold.c: constant folding as a pass.
 *
 * Shape inference runs again over the graph; after each node's shape rule
 * a node whose inputs are all known data and whose (small, at most
 * OC_FOLD_MAX elements) outputs have known types is run once with its own
 * kernel, and its outputs become known data. Because this happens inside
 * the inference walk, shapes downstream of a folded value (a Reshape whose
 * shape came from Range, Cast, Sqrt of a dimension, Where on shapes...)
 * resolve in the same walk, with the same kernels the runtime uses. Then
 * every node whose outputs are all known (folded here, or computed by a
 * shape rule such as Shape or Gather of a shape) is removed; its outputs
 * stay in the graph as constants.
 *
 * Never folded: random ops, and anything reading a value flagged
 * OC_VALUE_VARIABLE (trainable: shape inference hides their data while
 * the hook runs). A fold that fails is left to run time.
 *
 * Threat model: folding executes kernels on constants from the model file
 * at compile time (`onnxc info --plan`, `run`, `check`). The kernels check
 * their inputs at run time as they do in a plan, and the size cap bounds
 * the work. */
#include "pass.h"

#include <stdlib.h>
#include <string.h>

#include "../ops/op.h"
#include "../shape.h"

static const char *const never_fold[] = {"Dropout", "RandomNormal", "RandomUniform", "RandomNormalLike",
                                         "RandomUniformLike", "Bernoulli", "Multinomial"};

/* 1 when node nid was folded, 0 when not (a failed fold is not an error). */
static int try_fold(oc_graph *g, int nid)
{
    oc_node *n = &g->nodes[nid];
    if (!n->op || !n->op->lower || n->n_in == 0 || n->n_in > 64 || n->n_out > 16)
        return 0;
    for (int k = 0; k < n->n_attrs; k++)
        if (n->attrs[k].g) /* control flow: its shape rule folds what is constant */
            return 0;
    for (size_t k = 0; k < sizeof never_fold / sizeof never_fold[0]; k++)
        if (!strcmp(n->op_type, never_fold[k]))
            return 0;
    int any_out = 0;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && (!g->values[n->in[k]].constant || g->values[n->in[k]].dtype == OC_STRING))
            return 0;
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        const oc_value *v = &g->values[n->out[k]];
        int64_t numel = oc_value_numel(v);
        if (!v->constant)
            any_out = 1;
        /* string results would point into a kernel's string pool */
        if (numel < 0 || numel > OC_FOLD_MAX || !oc_dtype_size(v->dtype) || v->dtype == OC_STRING)
            return 0;
    }
    if (!any_out)
        return 0;
    int folded = 0;
    oc_diag tmp;
    oc_diag_init(&tmp);
    oc_lowered lw = {0};
    oc_tensor *outs[16] = {0};
    const oc_tensor *ins[64];
    oc_tensor *outp[16];
    void *scratch = NULL;
    if (n->op->lower(g, n, &lw, &tmp) || !lw.fn)
        goto done;
    /* kernels are promised 64-byte-aligned scratch: shared part, then one
     * per-thread slice (folding runs on one thread) */
    size_t sh = (lw.scratch + 63) & ~(size_t)63, per = (lw.tscratch + 63) & ~(size_t)63;
    if (sh + per && !(scratch = aligned_alloc(64, sh + per)))
        goto done;
    for (int k = 0; k < n->n_in; k++)
        ins[k] = n->in[k] >= 0 ? g->values[n->in[k]].constant : NULL;
    for (int k = 0; k < n->n_out; k++) {
        outp[k] = NULL;
        if (n->out[k] < 0)
            continue;
        const oc_value *v = &g->values[n->out[k]];
        if (!(outs[k] = oc_tensor_new(v->dtype, v->rank, v->dims, &tmp)))
            goto done;
        outp[k] = outs[k];
    }
    oc_kargs a = {.p = lw.params, .n_in = n->n_in, .n_out = n->n_out, .in = ins, .out = outp, .scratch = scratch,
                  .threads = 1, .d = &tmp, .tscratch = scratch ? (unsigned char *)scratch + sh : NULL,
                  .tscratch_stride = per};
    if (lw.fn(&a))
        goto done;
    for (int k = 0; k < n->n_out; k++)
        if (outs[k] && !g->values[n->out[k]].constant) {
            g->values[n->out[k]].constant = outs[k];
            outs[k] = NULL;
        }
    folded = 1;
done:
    for (int k = 0; k < 16; k++)
        oc_tensor_free(outs[k]);
    free(lw.params);
    free(scratch);
    return folded;
}

static int fold_hook(oc_graph *g, int nid, void *ctx, oc_diag *d)
{
    (void)d;
    unsigned char *by_kernel = ctx;
    by_kernel[nid] = (unsigned char)try_fold(g, nid);
    return 0;
}

int oc_fold_constants(oc_graph *g, oc_diag *d)
{
    unsigned char *by_kernel = calloc((size_t)g->n_nodes + 1, 1);
    if (!by_kernel)
        return oc_fail(d, "out of memory");
    int rc = oc_graph_infer_shapes_hook(g, fold_hook, by_kernel, d), count = 0;
    for (int i = 0; i < g->n_nodes; i++)
        count += by_kernel[i];
    free(by_kernel);
    return rc ? -1 : count;
}

int oc_pass_fold(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d)
{
    unsigned char *by_kernel = calloc((size_t)g->n_nodes + 1, 1);
    if (!by_kernel)
        return oc_fail(d, "out of memory");
    if (oc_graph_infer_shapes_hook(g, fold_hook, by_kernel, d)) {
        free(by_kernel);
        return -1;
    }
    /* nodes whose outputs are all known: folded here or by their shape rule */
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const oc_node *n = &g->nodes[i];
        int any = 0, all = 1;
        for (int k = 0; k < n->n_out; k++) {
            if (n->out[k] < 0)
                continue;
            any = 1;
            all &= g->values[n->out[k]].constant != NULL;
        }
        if (!any || !all) {
            by_kernel[i] = 0;
            continue;
        }
        by_kernel[i] = 1; /* now: dead */
        count++;
        oc_pass_note(cx, "folded %s '%s' into constant '%s'", n->op_type, n->name,
                     n->n_out > 0 && n->out[0] >= 0 ? g->values[n->out[0]].name : "?");
    }
    int rc = count ? oc_graph_remove_nodes(g, by_kernel, d) : 0;
    free(by_kernel);
    return rc ? -1 : count;
}
