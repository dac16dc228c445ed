/* shape.h: binding symbolic dims and running every op's shape rule over
 * the graph in topological order. */
#ifndef ONNXC_SHAPE_H
#define ONNXC_SHAPE_H

#include "graph.h"

typedef struct oc_dim_binding {
    const char *name; /* symbolic dim name, e.g. "batch_size" */
    int64_t value;
} oc_dim_binding;

/* batch >= 0 sets dim 0 of every run-time input (a fixed batch is
 * overridden, and shapes derived from it are recomputed); bindings set
 * every dim carrying that symbolic name. A name that matches nothing is
 * an error, so typos do not pass silently. */
int oc_graph_bind_dims(oc_graph *g, int64_t batch, int n, const oc_dim_binding *b, oc_diag *d);

/* Run shape inference. Ops onnxc lacks keep their declared output types
 * and add a warning (one per op type); their absence is an error only at
 * plan time. */
int oc_graph_infer_shapes(oc_graph *g, oc_diag *d);

/* The same walk, calling `after` once the shape rule of node nid has run
 * (trainable values stay hidden during the call). The constant-folding
 * pass folds from there, so shapes downstream of a folded value resolve
 * in the same walk. A nonzero return from the hook stops inference. */
typedef int (*oc_infer_hook)(oc_graph *g, int nid, void *ctx, oc_diag *d);
int oc_graph_infer_shapes_hook(oc_graph *g, oc_infer_hook after, void *ctx, oc_diag *d);

#endif
