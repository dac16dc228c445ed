/* pass.h: the pass manager. Graph rewrites between shape inference and
 * planning are an ordered table of named passes (manager.c):
 *
 *   fold      constant folding with the runtime kernels (passes/fold.c)
 *   widen     float16/bfloat16 nodes run in float32 between Casts (widen.c)
 *   identity  Identity / inference Dropout removal, reshapes as views (identity.c)
 *   bn_fold   BatchNormalization folded into the Conv before it (bn_fold.c)
 *   fuse      Conv/Gemm + activation (+ residual Add), MatMul + Add (fuse.c)
 *   dce       dead-node removal, unread constants dropped (dce.c)
 *   slice     conv chains with a grouped conv run one image at a time
 *             (slice.c; the graph is unchanged, the planner does it)
 *
 * Each pass returns how many changes it made (or -1 on error) and notes
 * each change in one short line ("folded BatchNormalization 'bn1' into
 * Conv 'conv1'"). After a pass that changed something the manager
 * validates the graph and runs shape inference again (sorting it first
 * only if a pass left a node before its inputs' producers), so a pass
 * need not fix types it did not change. Passes keep the node order they
 * found where they can: the order decides liveness and so the arena size.
 *
 * Switches: every pass is on by default; `only` runs exactly the listed
 * ones; `off` turns some off; `no_fuse` turns off every rewrite of the
 * groups "cleanup" and "fuse", so the plan runs every BatchNormalization,
 * activation, Add and Reshape as its own step with the same kernels.
 * Folding (group "fold") stays on under no_fuse: planning needs the static
 * shapes it resolves, and the nodes it removes are ones the planner would
 * drop anyway (all outputs known). So does widening (group "types"):
 * without it a float16 node whose kernels take float32 only cannot run. `training` skips inference-only passes
 * (a BatchNormalization that trains cannot be folded). */
#ifndef ONNXC_PASSES_PASS_H
#define ONNXC_PASSES_PASS_H

#include "../graph.h"

#define OC_PASS_MAX 16       /* entries in the pass table */
#define OC_PASS_NAME_MAX 32  /* longest pass name + 1 */
#define OC_PASS_MAX_NOTES 4096 /* change lines kept per pass (the count is exact) */

typedef struct oc_pass_opts {
    int no_fuse;  /* no rewrites: every pass of groups cleanup and fuse off */
    int training; /* skip inference_only passes */
    int only_set; /* run exactly the passes in only[] (none when n_only is 0) */
    int n_only, n_off;
    char only[OC_PASS_MAX][OC_PASS_NAME_MAX];
    char off[OC_PASS_MAX][OC_PASS_NAME_MAX];
} oc_pass_opts;

/* All passes on, inference. */
void oc_pass_opts_default(oc_pass_opts *o);
/* Adds a comma-separated list of pass names to o->only (only = 1, sets
 * only_set even for an empty list) or to o->off. An unknown name is an
 * error listing the valid ones. */
int oc_pass_opts_add(oc_pass_opts *o, int only, const char *list, oc_diag *d);

enum { OC_PASS_NOT_RUN = 0, OC_PASS_RAN = 1, OC_PASS_SKIPPED = 2 };

typedef struct oc_pass_result {
    const char *name;
    int state;        /* OC_PASS_* */
    char why[96];     /* why it was skipped */
    int changes;      /* what the pass returned */
    int n_notes;      /* change lines kept (at most OC_PASS_MAX_NOTES) */
    char **notes;
} oc_pass_result;

typedef struct oc_pass_report {
    int n;                          /* entries, one per table pass, in order */
    oc_pass_result r[OC_PASS_MAX];
    int views; /* the identity pass ran: the planner may run byte-copy
                * reshapes as views of their input (oc_plan_opts.views) */
    int batch_slice; /* the slice pass ran (oc_plan_opts.batch_slice) */
    int c8;          /* the c8 pass ran (oc_plan_opts.c8) */
} oc_pass_report;

void oc_pass_report_free(oc_pass_report *r);

typedef struct oc_pass_ctx {
    const oc_pass_opts *opts;
    oc_pass_result *res;    /* this pass's entry, for oc_pass_note */
    oc_pass_report *report;
} oc_pass_ctx;

typedef int (*oc_pass_fn)(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d);

typedef struct oc_pass {
    const char *name;
    oc_pass_fn run;
    const char *group;  /* "fold", "types", "cleanup" or "fuse" */
    int inference_only; /* skipped when training */
    const char *desc;   /* one line */
} oc_pass;

/* The table, in run order. */
const oc_pass *oc_pass_table(int *n);
/* Index in the table, or -1. */
int oc_pass_find(const char *name);
/* "fold, identity, ..." into buf. */
const char *oc_pass_names(char *buf, size_t cap);

/* Runs the enabled passes in order over g (shapes inferred already) and
 * fills report (zeroed here; free it with oc_pass_report_free even on
 * failure). Errors name the pass. */
int oc_passes_run(oc_graph *g, const oc_pass_opts *o, oc_pass_report *report, oc_diag *d);

/* Whether pass `name` runs under o (1), is switched off (0), or is no
 * pass (-1). */
int oc_pass_enabled(const oc_pass_opts *o, const char *name);

/* The evaluation half of the fold pass, for callers that need folded
 * shapes but keep every node (info's layer table, autodiff's input graph):
 * infers shapes and gives each foldable node's outputs known data.
 * Returns how many nodes a kernel evaluated, or -1. */
int oc_fold_constants(oc_graph *g, oc_diag *d);

/* ---- for passes ---- */

/* Records one change line of the running pass. */
void oc_pass_note(const oc_pass_ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds t (ownership taken) as a new initializer named after `base` plus
 * `suffix`, made unique; the value id, or -1. */
int oc_pass_add_const(oc_graph *g, const char *base, const char *suffix, oc_tensor *t, oc_diag *d);
/* Value v has data a pass may compute from: constant and not trainable. */
static inline int oc_pass_is_const(const oc_graph *g, int v)
{
    return v >= 0 && g->values[v].constant && !(g->values[v].flags & OC_VALUE_VARIABLE);
}
/* Node n is op `op` of the default ONNX domain. */
int oc_pass_is_op(const oc_node *n, const char *op);
/* Replaces node n's op type and domain (and registry entry). */
int oc_pass_set_op(oc_graph *g, oc_node *n, const char *domain, const char *op, oc_diag *d);
/* Grows node n's input list to `count` entries (new ones omitted, -1). */
int oc_pass_grow_inputs(oc_node *n, int count, oc_diag *d);

/* The passes (see the files named above). */
int oc_pass_fold(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d);
int oc_pass_widen(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d);
int oc_pass_identity(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d);
int oc_pass_bn_fold(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d);
int oc_pass_fuse(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d);
int oc_pass_dce(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d);
int oc_pass_slice(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d);
int oc_pass_c8(oc_graph *g, const oc_pass_ctx *cx, oc_diag *d);

/* slice.c: chain[s] = length of the image-by-image conv chain starting at
 * node s (0: none), over the nodes with keep[s]; uses[v]: how many kept
 * nodes read value v. The planner calls it with its own keep. */
#define OC_SLICE_MAX_LEN 3
void oc_slice_chains(const oc_graph *g, const unsigned char *keep, const int *uses, int *chain);

#endif
