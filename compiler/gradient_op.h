/* gradient_op.h: the Gradient op of ai.onnx.preview.training (opset 1),
 * served by onnxc's own autodiff (compiler/autodiff.h). */
#ifndef ONNXC_GRADIENT_OP_H
#define ONNXC_GRADIENT_OP_H

#include "graph.h"

/* Replaces every Gradient node of an imported graph by the nodes
 * computing its outputs: d y / d x for each name in its `xs`, through
 * oc_autodiff with y (a float32 scalar) as the loss, then an Identity per
 * output. Runs shape inference on the forward graph first. Refused: the
 * `zs` attribute, xs that are not graph inputs or initializers, and
 * Gradient outputs that other nodes read. 0 when the graph has none. */
int oc_expand_gradient_ops(oc_graph *g, oc_diag *d);

#endif
