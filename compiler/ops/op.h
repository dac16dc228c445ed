/* op.h: the operator registry.
 *
 * One descriptor per ONNX operator, read by shape inference, `onnxc info`
 * and (as they land) the planner, autodiff and code generator: tables, not
 * switch forests. Each op family has one file here (conv.c, pool.c, ...)
 * holding its attribute handling and shape rule; the kernels with the same
 * stem live in runtime/kernels/, the tests in tests/ops/.
 *
 * A shape rule reads its node's input types (and constant data, for inputs
 * such as Reshape's shape) and sets the output types with oc_infer_set_out,
 * which also checks them against any type the model declared. It may give
 * an output known constant data (Shape, and small shape arithmetic), so
 * Shape -> Gather -> Concat -> Reshape chains resolve statically. */
#ifndef ONNXC_OPS_OP_H
#define ONNXC_OPS_OP_H

#include "../graph.h"
#include "../../runtime/plan.h"

/* What lowering a node gives the planner: the kernel to call, its
 * parameter block (malloc'd, owned by the plan afterwards) and the
 * scratch bytes it needs. */
typedef struct oc_lowered {
    oc_kernel_fn fn;      /* must be listed in runtime/kernels/table.c */
    void *params;
    size_t params_size;
    size_t scratch;       /* shared by the step's threads */
    size_t tscratch;      /* per thread (oc_kargs.tscratch) */
    int64_t flops;        /* 2 x MACs of one run, for profiles (0: not counted) */
    /* Control flow: sub-plans (branches, bodies) the step owns afterwards
     * and hands its kernel (oc_kargs.sub); malloc'd array. */
    oc_plan **sub;
    int n_sub;
} oc_lowered;

typedef struct oc_grad_ctx oc_grad_ctx;

typedef struct oc_infer {
    oc_graph *g;
    int nid;
    oc_diag *d;
} oc_infer;

typedef struct oc_op {
    const char *name;
    int min_in, max_in;   /* input count range */
    int min_out, max_out; /* output count range */
    int (*infer)(oc_infer *cx);
    /* Multiply-accumulates of one run (0 for ops counted as free), or -1
     * when a shape is unknown. FLOPs are reported as 2 x MACs. */
    int64_t (*macs)(const oc_graph *g, const oc_node *n);
    /* Inputs that are model state rather than trainable parameters (bit k
     * for input k), e.g. BatchNormalization's running mean and variance. */
    unsigned state_inputs;
    /* Inputs that configure the op (Dropout's ratio, Clip's bounds, Pad's
     * value): never parameters, whatever their type. */
    unsigned config_inputs;
    /* Pick the kernel for node n (all shapes known) and fill its
     * parameters; NULL while onnxc has no kernel for the op. */
    int (*lower)(const oc_graph *g, const oc_node *n, oc_lowered *out, oc_diag *d);
    /* Gradient rule (compiler/autodiff.c): given dy[k], the gradient value
     * of output k (-1 when none flows), append nodes computing the
     * gradient of every input k with need[k] set and store its value id
     * in dx[k] (-1 for "zero"). NULL: the op is not differentiable yet. */
    int (*grad)(oc_grad_ctx *cx, int nid, const int *dy, const unsigned char *need, int *dx);
    /* NULL (or "") for the default ONNX domain; OC_DOMAIN_ONNXC for onnxc's
     * own ops (gradient ops, onnxc-only losses), which the importer refuses
     * in model files. Last, so that positional tables need not spell it. */
    const char *domain;
} oc_op;

/* ---- helpers for gradient rules (compiler/autodiff.c) ---- */
struct oc_grad_ctx {
    oc_graph *g;
    oc_diag *d;
    int counter;      /* for fresh value names */
    int train_mode;   /* Dropout without a training_mode input trains */
};
/* Adds node `op` (domain "ai.onnxc" for onnxc's own gradient ops when
 * internal is set) reading value ids in[] (-1 = omitted) with n_out fresh
 * outputs whose ids go to outs[]. Returns the node id or -1. */
int oc_grad_add(oc_grad_ctx *cx, const char *op, int internal, int n_in, const int *in, int n_out, int *outs);
/* dy summed down to the shape of value `like` (undoes broadcasting); dy
 * itself when the shapes already match. -1 on error. */
int oc_grad_unbroadcast(oc_grad_ctx *cx, int dy, int like);

/* Allocates a zeroed parameter block of `size` into out (helper for lower
 * functions); NULL with a diagnostic when out of memory. */
void *oc_lower_params(oc_lowered *out, size_t size, oc_diag *d);
/* Equal on string tensors (string_ops.c); elementwise.c's Equal hands over. */
int oc_lower_string_equal(const oc_graph *g, const oc_node *n, oc_lowered *lw, oc_diag *d);
/* Copies a value's static type into a tensor view (no data). */
void oc_value_view(const oc_value *v, oc_tensor *t);

/* Registry lookup by (domain, op_type); domain NULL, "" and "ai.onnx" all
 * mean the default ONNX domain. NULL when unknown. */
const oc_op *oc_op_find(const char *domain, const char *name);
/* Builds the registry (once, thread-safe); fails when its tables are
 * inconsistent (too many ops, a (domain, name) registered twice). */
int oc_ops_init(oc_diag *d);
/* All registered ops, for listings; count in *n. */
const oc_op *const *oc_op_all(int *n);

/* ---- helpers for shape rules (common.c) ---- */
static inline oc_node *oc_infer_node(oc_infer *cx) { return &cx->g->nodes[cx->nid]; }
/* Input k's value, or NULL when omitted / beyond the node's inputs. */
oc_value *oc_infer_in(oc_infer *cx, int k);
/* Input k with a known rank, else an error naming the node (NULL). */
oc_value *oc_infer_in_ranked(oc_infer *cx, int k);
int oc_infer_fail(oc_infer *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set output k's type, checking it against a declared one (declared
 * symbolic names are kept). rank -1 = unknown. */
int oc_infer_set_out(oc_infer *cx, int k, int dtype, int rank, const int64_t *dims);
/* Output k := input j's type. */
int oc_infer_same_as(oc_infer *cx, int k, int j);
/* Give output k known data (ownership taken); sets the type too. */
int oc_infer_set_const(oc_infer *cx, int k, oc_tensor *t);

/* Integer list from constant input k; returns count, -1 when the input is
 * absent, -2 when not constant (no error), or fails (-3) on a bad tensor. */
int oc_infer_const_ints(oc_infer *cx, int k, int64_t *out, int cap);
/* Normalize an axis in [-rank, rank) to [0, rank); error when outside. */
int oc_infer_axis(oc_infer *cx, int64_t axis, int rank, int *out);

/* numpy multidirectional broadcast of a set of shapes. */
int oc_infer_broadcast(oc_infer *cx, int n, const oc_value *const *vals, int *rank, int64_t *dims);

/* Upper limit of elements for which shape inference computes constant data. */
#define OC_FOLD_MAX 4096

/* Element i of known data as double; unlike oc_tensor_get_f64 it also
 * decodes float16 and bfloat16. */
double oc_const_f64(const oc_tensor *t, int64_t i);

/* Element count of a value, -1 while any dim is unknown. */
int64_t oc_value_numel(const oc_value *v);

/* ---- windowed ops (Conv, pools): resolved geometry, shared with the
 * planner so that inference and kernels agree on pads. ---- */
#define OC_MAX_SPATIAL (OC_MAX_RANK - 2)
typedef struct oc_window {
    int nsp;                       /* spatial dims */
    int64_t in[OC_MAX_SPATIAL];    /* input extent */
    int64_t k[OC_MAX_SPATIAL];     /* kernel extent */
    int64_t s[OC_MAX_SPATIAL];     /* stride */
    int64_t dil[OC_MAX_SPATIAL];   /* dilation */
    int64_t pb[OC_MAX_SPATIAL];    /* pad at the start */
    int64_t pe[OC_MAX_SPATIAL];    /* pad at the end */
    int64_t out[OC_MAX_SPATIAL];   /* output extent (-1 when input unknown) */
} oc_window;

/* Resolve strides/dilations/pads/auto_pad of node n for spatial input
 * extents in[] and kernel k[] (ceil_mode for pools). */
int oc_window_resolve(const oc_node *n, int nsp, const int64_t *in, const int64_t *k,
                      int ceil_mode, oc_window *w, oc_diag *d);

#endif
