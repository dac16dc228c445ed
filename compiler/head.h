/* head.h: the classifier head of an imported model, for transfer learning.
 *
 * A head is the last Gemm, or MatMul (+ Add), with a constant 2-D weight
 * that feeds a model output through shape-only or normalizing ops
 * (Flatten, Reshape, Identity, Softmax, LogSoftmax). Finetuning finds it,
 * replaces its weight and bias by a fresh layer with the new class count,
 * and trains it (alone, or with more of the model). `onnxc finetune`,
 * `onnxc bench --train head` and the C API share this. */
#ifndef ONNXC_HEAD_H
#define ONNXC_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

typedef struct oc_head {
    int node;     /* the Gemm or MatMul */
    int add;      /* the Add after a MatMul, or -1 */
    int weight;   /* value ids */
    int bias;     /* -1 when absent */
    int input;    /* the value the head reads (features) */
    int output;   /* the value the head produces */
    int64_t k, n; /* features in, classes out */
    int trans_b;  /* Gemm's transB */
} oc_head;

/* The head feeding the first output, or the node named `name` (NULL: search).
 * On failure the message lists the candidate heads. */
int oc_head_find(const oc_graph *g, const char *name, oc_head *h, oc_diag *d);

/* Every Gemm / MatMul(+Add) that could be a head, "'name' (op, k -> n), ...". */
void oc_head_candidates(const oc_graph *g, char *buf, size_t cap);

/* Replaces the head's weight (and bias) by a fresh layer with n outputs:
 * Xavier-uniform weight from `seed`, zero bias. Shapes downstream are stale
 * afterwards (oc_graph_reset_shapes + oc_graph_infer_shapes). */
int oc_head_replace(oc_graph *g, oc_head *h, int64_t n, uint64_t seed, oc_diag *d);

/* Trainable flags for the head alone (its weight and bias), one per value
 * of g, calloc'd (the caller frees); NULL with d set when out of memory. */
unsigned char *oc_head_trainable(const oc_graph *g, const oc_head *h, oc_diag *d);

/* Forgets every shape and folded constant a node computed (after an input
 * shape or the head changed), so shape inference starts over. */
void oc_graph_reset_shapes(oc_graph *g);

#endif
