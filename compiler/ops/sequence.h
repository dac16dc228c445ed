/* sequence.h: ONNX sequences, lowered to tensors at import.
 *
 * onnxc's IR has tensor values only. A sequence whose length is known when
 * the model is loaded is a list of tensor values, kept by the importer per
 * graph (oc_seq_table); the sequence ops become tensor ops on that list
 * (see sequence.c for each op) and, where a position is only known at run
 * time, ai.onnxc SequenceSelect nodes (runtime/kernels/sequence.h).
 * Sequences as graph inputs or outputs, inside subgraphs that capture
 * them, or of a length that depends on data are refused with a message. */
#ifndef ONNXC_OPS_SEQUENCE_H
#define ONNXC_OPS_SEQUENCE_H

#include "../graph.h"

typedef struct oc_seq_table oc_seq_table;

/* 1 when (default-domain) op_type is a sequence op the importer lowers;
 * 2 when it is one that makes a sequence (its output is no tensor). */
int oc_seq_op_kind(const char *op_type);

/* The attributes the sequence ops read (absent: has_* 0). */
typedef struct oc_seq_attrs {
    int has_axis;
    int64_t axis;
    int64_t new_axis; /* ConcatFromSequence, default 0 */
    int64_t keepdims; /* SplitToSequence, default 1 */
} oc_seq_attrs;

/* Lowers node `name` (op_type, inputs and outputs by name) into g, whose
 * sequences *tab holds (created on first use). Tensor inputs must already
 * resolve in g. */
int oc_seq_lower(oc_graph *g, oc_seq_table **tab, const char *op_type, const char *name, int n_in,
                 const char *const *in, int n_out, const char *const *out, const oc_seq_attrs *at, oc_diag *d);

/* 1 when `name` is a sequence of g in tab. */
int oc_seq_has(const oc_seq_table *tab, const oc_graph *g, const char *name);

void oc_seq_table_free(oc_seq_table *tab);

#endif
