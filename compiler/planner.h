/* planner.h: IR graph -> oc_plan (runtime/plan.h). Needs every shape
 * known (bind symbolic dims first). Constants (initializers and values
 * shape inference computed) go to one weights block; intermediates get
 * offsets in one arena assigned by liveness, so tensors whose lifetimes
 * do not overlap share memory. */
#ifndef ONNXC_PLANNER_H
#define ONNXC_PLANNER_H

#include "../runtime/plan.h"
#include "graph.h"

typedef struct oc_plan_opts {
    int threads;
    int no_reuse; /* give every intermediate its own memory (for checks) */
    int kernel_ref; /* run each kernel's naive reference twin where it has one (--kernel ref) */
    /* Constants may be rewritten between runs (followed by oc_plan_prepare):
     * keep every constant in the weights block even when a kernel only
     * reads its prepared (packed) form. */
    int mutable_constants;
    int views;    /* byte-copy reshapes (Reshape, Flatten, Squeeze, Unsqueeze, Identity)
                   * of an arena tensor become views: no step, the output
                   * aliases the input's block (the identity pass's switch) */
    /* Training: parameter value ids and their gradient value ids; they get
     * the plan's contiguous params/grads blocks (see runtime/plan.h). */
    int n_train;
    const int *train_params, *train_grads;
    /* Bytes the plan may allocate (arena, weights, training blocks,
     * scratch); 0 = half of the physical RAM. Building fails beyond it,
     * naming the largest tensor. */
    size_t max_memory;
    /* The caller frees the graph right after building and reads nothing
     * from it before: a constant the plan keeps only in prepared (packed)
     * form has its data freed in the graph as soon as it is prepared, and
     * its kernel may give back the pages it has packed while packing
     * (oc_kargs.prep_consume). Peak memory then holds such weights about
     * once, not twice (VGG's 411 MB classifier weight). */
    int release_constants;
    /* Run conv chains with a grouped conv one image at a time
     * (oc_step.slice_len; the slice pass's switch, compiler/passes/slice.c).
     * Training plans never do. The tensors a chain alone writes and reads
     * are then held for one image per thread (planner.c chain_slots), so
     * only oc_plan_run's chains may run such steps: the code generator,
     * which runs every step on the whole batch, plans without it. */
    int batch_slice;
    /* Hand 1x1 conv outputs to the depthwise conv that alone reads them in
     * 8-channel blocks (oc_conv_params.out_c8 / in_c8; the c8 pass's
     * switch, compiler/passes/c8.c). Training plans never do. */
    int c8;
} oc_plan_opts;

oc_plan *oc_plan_build(const oc_graph *g, const oc_plan_opts *o, oc_diag *d);

#endif
