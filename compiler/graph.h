/* graph.h: the onnxc intermediate representation.
 *
 * One graph type serves every stage: the ONNX importer and the builder API
 * fill it, shape inference annotates it, passes rewrite it, autodiff extends
 * it, and the planner and code generator read it.
 *
 * Values and nodes live in growable arrays and refer to each other by index
 * (int ids), so ids stay valid while the graph grows. A value has one
 * producer (a node, or none for graph inputs and initializers), a static
 * type (dtype + shape; a dim may be unknown (-1) and carry a symbolic name
 * such as "batch"), and optionally constant data (initializers and folded
 * constants). Node input id -1 stands for an omitted optional input (the
 * empty name "" in ONNX). The graph owns all strings, tensors and arrays. */
#ifndef ONNXC_GRAPH_H
#define ONNXC_GRAPH_H

#include <stdint.h>

#include "../runtime/diag.h"
#include "../runtime/tensor.h"

struct oc_op;

enum {
    OC_VALUE_INPUT = 1u << 0,       /* a graph input fed at run time */
    OC_VALUE_OUTPUT = 1u << 1,      /* a graph output */
    OC_VALUE_INITIALIZER = 1u << 2, /* constant data from the model (a weight) */
    OC_VALUE_VARIABLE = 1u << 3,    /* trainable: its data changes between runs, so
                                     * nothing may be folded from it */
    OC_VALUE_CAPTURED = 1u << 4,    /* in a subgraph: an outer-scope value it reads
                                     * (also OC_VALUE_INPUT; see oc_graph.n_captured) */
    OC_VALUE_OPTIONAL = 1u << 5,    /* a graph input declared optional(tensor): fed a
                                     * tensor, whose data files are OptionalProtos */
};

typedef struct oc_value {
    char *name;
    int dtype;                 /* oc_dtype; OC_UNDEFINED while unknown */
    int rank;                  /* -1 while unknown */
    int64_t dims[OC_MAX_RANK]; /* -1 = unknown extent */
    char *sym[OC_MAX_RANK];    /* symbolic name of a dim, or NULL */
    int producer;              /* node id, or -1 */
    unsigned flags;
    oc_tensor *constant;       /* known data, or NULL */
} oc_value;

/* ONNX AttributeProto.AttributeType numbers. */
typedef enum oc_attr_type {
    OC_ATTR_UNDEFINED = 0,
    OC_ATTR_FLOAT = 1,
    OC_ATTR_INT = 2,
    OC_ATTR_STRING = 3,
    OC_ATTR_TENSOR = 4,
    OC_ATTR_GRAPH = 5,
    OC_ATTR_FLOATS = 6,
    OC_ATTR_INTS = 7,
    OC_ATTR_STRINGS = 8,
    OC_ATTR_TENSORS = 9,
    OC_ATTR_GRAPHS = 10,
    OC_ATTR_SPARSE_TENSOR = 11,
    OC_ATTR_SPARSE_TENSORS = 12,
    OC_ATTR_TYPE_PROTO = 13,
    OC_ATTR_TYPE_PROTOS = 14,
} oc_attr_type;

typedef struct oc_attr {
    char *name;
    oc_attr_type type;
    float f;
    int64_t i;
    char *s; /* NUL-terminated copy of the bytes (s_len excludes the NUL) */
    size_t s_len;
    int n;          /* element count of floats / ints / strings / tensors */
    float *floats;
    int64_t *ints;
    char **strings;
    oc_tensor *t;
    oc_tensor **tensors;
    /* OC_ATTR_GRAPH: the subgraph (If branches, Loop/Scan bodies), owned.
     * GRAPHS, sparse tensors and type protos are recorded by type only. */
    struct oc_graph *g;
} oc_attr;

/* Operator domain of onnxc's own ops (gradient ops, onnxc-only losses).
 * Model files cannot use it; exported files import it at version 1. */
#define OC_DOMAIN_ONNXC "ai.onnxc"
/* ONNX's preview domain (opset 1): its ops that onnxc registers
 * (FlexAttention) are imported from files and exported with it. */
#define OC_DOMAIN_PREVIEW "ai.onnx.preview"
/* ONNX's classical-ML domain (ArrayFeatureExtractor, Binarizer,
 * LabelEncoder, TreeEnsemble) and its training-preview domain (Adagrad,
 * Adam, Momentum): imported from files, exported at the graph's
 * opset_ml (ML) and version 1 (training). */
#define OC_DOMAIN_ML "ai.onnx.ml"
#define OC_DOMAIN_TRAINING "ai.onnx.preview.training"

typedef struct oc_node {
    char *name;
    char *op_type;
    char *domain;           /* "" for the default ONNX domain */
    const struct oc_op *op; /* registry entry; NULL when onnxc lacks the op */
    int n_in, n_out;
    int *in;                /* value ids, -1 = omitted optional input */
    int *out;               /* value ids, -1 = omitted optional output */
    int n_attrs;
    oc_attr *attrs;
    /* The last n_implicit inputs are no ONNX inputs: they are the outer
     * values the node's subgraphs read (captured by name at import), so
     * that ordering, liveness and dead-code removal see those reads. */
    int n_implicit;
} oc_node;

typedef struct oc_graph {
    char *name;
    char *producer;   /* producer_name + version, "" when absent */
    int64_t ir_version;
    int64_t opset;    /* opset of the default domain */
    int64_t opset_ml; /* opset of ai.onnx.ml the file imports (0: none) */
    char *source;     /* file the graph came from ("" when built in C) */

    oc_value *values;
    int n_values, cap_values;
    oc_node *nodes;
    int n_nodes, cap_nodes;
    int *inputs, n_inputs, cap_inputs;    /* graph inputs fed at run time */
    int *outputs, n_outputs, cap_outputs; /* graph outputs */

    /* name -> value id, open addressing */
    int *index;
    int index_cap;

    /* Subgraphs (a node attribute of the enclosing graph `parent`): the
     * last n_captured graph inputs are outer-scope values the subgraph
     * reads (flag OC_VALUE_CAPTURED, same name as outside); captured input
     * c is input capture_slot[c] of the node holding the subgraph (one of
     * its implicit inputs). depth is 0 for a model's main graph. */
    struct oc_graph *parent;
    int depth;
    int n_captured;
    int *capture_slot;
} oc_graph;

/* Deepest subgraph nesting onnxc imports (a main graph is depth 0). */
#define OC_MAX_SUBGRAPH_DEPTH 8

oc_graph *oc_graph_new(const char *name, int64_t opset, oc_diag *d);
void oc_graph_free(oc_graph *g);

/* Value lookup by name: id or -1. */
int oc_graph_find(const oc_graph *g, const char *name);

/* New value with unknown type; fails if the name exists already. */
int oc_graph_add_value(oc_graph *g, const char *name, oc_diag *d);
/* Gives value v the name `name` (which must be free). Its id, producer
 * and readers stay; its old name goes to a new value that nothing
 * produces or reads. */
int oc_graph_rename_value(oc_graph *g, int v, const char *name, oc_diag *d);
/* Existing value by name, or a new one. */
int oc_graph_get_or_add_value(oc_graph *g, const char *name, oc_diag *d);

/* Set a value's type. dims may be NULL when rank is -1. */
void oc_value_set_type(oc_value *v, int dtype, int rank, const int64_t *dims);

/* Builder API: graph input with a static type (dims < 0 unknown; sym[i]
 * may name a dim, sym itself may be NULL). Returns the value id or -1. */
int oc_graph_add_input(oc_graph *g, const char *name, int dtype, int rank, const int64_t *dims,
                       const char *const *sym, oc_diag *d);
/* Initializer taking ownership of t (freed on failure too). */
int oc_graph_add_initializer(oc_graph *g, const char *name, oc_tensor *t, oc_diag *d);
int oc_graph_mark_output(oc_graph *g, int value_id, oc_diag *d);

/* New node; input names may be "" or NULL for omitted optional inputs and
 * must already exist; output values are created, or claimed when declared
 * before without a producer (oc_graph_add_value).
 * Returns node id or -1. */
int oc_graph_add_node(oc_graph *g, const char *op_type, const char *name, int n_in,
                      const char *const *in_names, int n_out, const char *const *out_names,
                      oc_diag *d);
/* The same in operator domain `domain` ("" = default ONNX domain, "ai.onnxc"
 * for onnxc's own ops); the registry entry is looked up by (domain, op_type). */
int oc_graph_add_node_in(oc_graph *g, const char *domain, const char *op_type, const char *name, int n_in,
                         const char *const *in_names, int n_out, const char *const *out_names, oc_diag *d);

/* Attributes on node `nid` (copied). */
int oc_node_set_int(oc_graph *g, int nid, const char *name, int64_t v, oc_diag *d);
int oc_node_set_float(oc_graph *g, int nid, const char *name, float v, oc_diag *d);
int oc_node_set_string(oc_graph *g, int nid, const char *name, const char *v, oc_diag *d);
int oc_node_set_ints(oc_graph *g, int nid, const char *name, int n, const int64_t *v, oc_diag *d);
int oc_node_set_floats(oc_graph *g, int nid, const char *name, int n, const float *v, oc_diag *d);
/* Takes ownership of t. */
int oc_node_set_tensor(oc_graph *g, int nid, const char *name, oc_tensor *t, oc_diag *d);
/* A blank attribute slot appended to the node (for the importer). */
oc_attr *oc_node_add_attr(oc_graph *g, int nid, const char *name, oc_diag *d);

/* Attribute lookup: NULL when absent. */
const oc_attr *oc_node_attr(const oc_node *n, const char *name);
int64_t oc_attr_int(const oc_node *n, const char *name, int64_t dflt);
float oc_attr_float(const oc_node *n, const char *name, float dflt);
const char *oc_attr_string(const oc_node *n, const char *name, const char *dflt);
/* INTS attribute: element count (or -1 when absent) and pointer. */
int oc_attr_ints(const oc_node *n, const char *name, const int64_t **v);

/* Sort nodes so every producer comes before its consumers; reports a cycle
 * naming one node on it. Node ids change; value producers are updated. */
int oc_graph_toposort(oc_graph *g, oc_diag *d);

/* Structural checks: every node input defined, every value produced once,
 * outputs reachable. Used after import and after each pass. */
int oc_graph_validate(const oc_graph *g, oc_diag *d);

/* Deletes the nodes with dead[i] set (their outputs lose their producer);
 * node ids change, value producers are updated. */
int oc_graph_remove_nodes(oc_graph *g, const unsigned char *dead, oc_diag *d);

/* Use-def: uses[v] = how many node input slots read value v (a node
 * reading v twice counts twice; graph outputs are not counted, test
 * OC_VALUE_OUTPUT for those). Returns a calloc'd array of n_values
 * entries the caller frees, or NULL with a diagnostic. */
int *oc_graph_use_counts(const oc_graph *g, oc_diag *d);
/* Points every node input reading value `old` at value `repl` instead;
 * returns how many inputs changed. Graph outputs are left alone. */
int oc_graph_replace_uses(oc_graph *g, int old, int repl);

/* "node 'conv1' (Conv)" into buf, for messages. */
const char *oc_node_label(const oc_node *n, char *buf, size_t cap);

char *oc_strdup(const char *s);

#endif
