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
    int views;    /* byte-copy reshapes (Reshape, Flatten, Squeeze, Unsqueeze, Identity)
                   * of an arena tensor become views: no step, the output
                   * aliases the input's block (the identity pass's switch) */
    /* Training: parameter value ids and their gradient value ids; they get
     * the plan's contiguous params/grads blocks (see runtime/plan.h). */
    int n_train;
    const int *train_params, *train_grads;
} oc_plan_opts;

oc_plan *oc_plan_build(const oc_graph *g, const oc_plan_opts *o, oc_diag *d);

#endif
