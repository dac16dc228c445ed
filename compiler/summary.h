/* summary.h: per-node parameter and FLOP counts for `onnxc info`.
 * Parameters are trainable initializer elements counted at every node
 * that uses them: exporters merge equal-valued tensors (PyTorch stores one
 * zero bias for all same-sized biases), so counting storage would
 * undercount the model's parameters; param_bytes is the unique storage.
 * Model state such as BatchNorm running statistics
 * is counted apart, as PyTorch counts buffers apart from parameters.
 * FLOPs are 2 x multiply-accumulates of Conv, ConvTranspose, Gemm and
 * MatMul, the convention of published model figures. */
#ifndef ONNXC_SUMMARY_H
#define ONNXC_SUMMARY_H

#include "graph.h"

typedef struct oc_node_stat {
    int64_t params; /* trainable elements used here */
    int64_t state;  /* non-trainable state elements used here */
    int64_t macs;   /* -1 when a shape is unknown */
} oc_node_stat;

typedef struct oc_summary {
    oc_node_stat *nodes; /* one per graph node */
    int64_t params, state, macs;
    int64_t param_bytes; /* unique parameter storage */
    int macs_unknown;    /* nodes whose MACs could not be counted */
    int n_unsupported;   /* nodes whose op onnxc lacks */
} oc_summary;

int oc_summarize(const oc_graph *g, oc_summary *s, oc_diag *d);
void oc_summary_free(oc_summary *s);

#endif
