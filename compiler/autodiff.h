/* autodiff.h: backpropagation as a graph transformation.
 *
 * Given a scalar loss value and the trainable values (initializers),
 * oc_autodiff appends to the same graph the nodes that compute d loss /
 * d param for every param, using each op's gradient rule (the `grad` field
 * of its descriptor in compiler/ops/). The result is an ordinary graph:
 * shape inference, the planner, the executor and the code generator run it
 * like any other. Gradients flow only through nodes on a path from a
 * trainable value to the loss, so frozen prefixes cost nothing; a value
 * used by several nodes (a residual branch) gets the sum of their
 * contributions. Each gradient becomes a graph output named
 * "grad_<param name>". */
#ifndef ONNXC_AUTODIFF_H
#define ONNXC_AUTODIFF_H

#include "graph.h"

/* Each BatchNormalization differentiates in the mode its node carries
 * (training_mode, set by oc_bn_mark in compiler/train.h; training = batch
 * statistics and running-statistics outputs). */
typedef struct oc_autodiff_opts {
    int bn_train;      /* shorthand: oc_bn_mark(g, NULL, OC_BN_TRAIN) first; Dropout trains too */
    int dropout_train; /* Dropout without a training_mode input trains */
} oc_autodiff_opts;

/* params: value ids of the trainable values; grads (n_params ids) receives
 * the value id of each gradient. */
int oc_autodiff(oc_graph *g, int loss, int n_params, const int *params, const oc_autodiff_opts *o, int *grads,
                oc_diag *d);

/* The float initializers that are parameters (not BN running statistics,
 * not config inputs such as Dropout's ratio), in graph order; *n gets the
 * count. malloc'd array, NULL with a diagnostic on failure. */
int *oc_trainable_params(const oc_graph *g, int *n, oc_diag *d);

#endif
