/* optional.h: ONNX optionals, lowered at import.
 *
 * onnxc's IR has tensor values only, and whether an optional holds a
 * tensor is known when the model is loaded, so the optional ops vanish
 * at import (as sequences do, sequence.h):
 *   Optional(x)             Identity(x): a present optional is its tensor
 *   Optional()              an empty optional: no value, a name the
 *                           importer remembers per graph (oc_opt_table)
 *   OptionalHasElement(x)   Constant bool: true for a tensor or a
 *                           sequence, false for an empty optional or
 *                           when the input is omitted (opset 18)
 *   OptionalGetElement(x)   Identity(x) for a tensor; refused for an
 *                           empty optional (an error in ONNX too)
 * A graph input of type optional(tensor) is a tensor input that must be
 * fed: OptionalHasElement of it is true, and `onnxc check` refuses data
 * that is an empty optional. Refused with a message: optionals of
 * sequences, an empty optional fed to any other op or made a graph
 * output. */
#ifndef ONNXC_OPS_OPTIONAL_H
#define ONNXC_OPS_OPTIONAL_H

#include "sequence.h"

typedef struct oc_opt_table oc_opt_table;

/* 1 when (default-domain) op_type is one of the optional ops above. */
int oc_opt_op_kind(const char *op_type);

/* 1 when a node of op_type with these inputs makes an empty optional (no
 * tensor value): Optional without an input. */
int oc_opt_makes_empty(const char *op_type, int n_in, const char *const *in);

/* 1 when `name`, read in g, is an empty optional: made in g, or in an
 * enclosing graph and not shadowed by a value of that name in between. */
int oc_opt_is_empty(const oc_opt_table *tab, const oc_graph *g, const char *name);

/* Lowers node `name` (op_type, inputs and outputs by name) into g; empty
 * optionals go to *tab (created on first use), sequences are looked up in
 * seqs. A tensor input must already resolve in g (captured from an
 * enclosing graph if need be); OptionalHasElement's input need only be
 * defined. */
int oc_opt_lower(oc_graph *g, oc_opt_table **tab, const oc_seq_table *seqs, const char *op_type, const char *name,
                 int n_in, const char *const *in, int n_out, const char *const *out, oc_diag *d);

void oc_opt_table_free(oc_opt_table *tab);

#endif
