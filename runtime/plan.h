/* plan.h: a compiled model: a static list of kernel calls over tensors
 * whose shapes and buffers are all fixed before the first run.
 *
 * The compiler (compiler/planner.c) builds a plan from an IR graph: every
 * node becomes one step (a kernel function and its parameter block), every
 * intermediate tensor an offset in one arena chosen by liveness, every
 * constant a slice of one weights block. A run calls the steps in order
 * and allocates nothing. The runtime links nothing from the compiler, and
 * generated C can call the same kernels. */
#ifndef ONNXC_PLAN_H
#define ONNXC_PLAN_H

#include <stddef.h>

#include "diag.h"
#include "tensor.h"

/* Arguments of one kernel call. in[k] is NULL for an omitted optional
 * input, out[k] NULL for an omitted optional output. Kernels read only
 * these, write only out[] and scratch, and keep no state. */
/* A collective over the processes of a data-parallel run, given by the
 * caller (the runtime links no communication library): allreduce sums
 * buf[0..n) over every process in place and returns nonzero on failure.
 * Training BatchNorm calls it for its per-channel sums when a plan carries
 * one (synchronized BatchNorm); NULL allreduce = one process. */
typedef struct oc_collective {
    int (*allreduce)(void *ctx, double *buf, size_t n);
    void *ctx;
} oc_collective;

struct oc_plan;

typedef struct oc_kargs {
    const void *p;              /* the op's parameter block (kernels/<op>.h) */
    int n_in, n_out;
    const oc_tensor *const *in;
    oc_tensor *const *out;
    void *scratch;              /* step->scratch bytes shared by the step's threads, 64-byte aligned */
    int threads;
    oc_diag *d;                 /* for errors found at run time (bad indices) */
    /* Per-thread scratch: thread t of a parallel region (runtime/threads.h)
     * owns tscratch + t * tscratch_stride, step->tscratch bytes of it. */
    unsigned char *tscratch;
    size_t tscratch_stride;
    const void *prep;           /* data the kernel prepared from constant inputs, or NULL */
    const oc_collective *coll;  /* the plan's collective, or NULL (one process) */
    /* Control flow (If, Loop, Scan): the step's sub-plans (branches,
     * bodies), which the kernel feeds and runs; NULL / 0 for other kernels. */
    struct oc_plan *const *sub;
    int n_sub;
    /* Where kernels that make strings keep their bytes (runtime/strtensor.h):
     * the plan's pool, emptied at the start of each run; NULL when the
     * caller gives none (string-making kernels then fail cleanly). */
    struct oc_strpool *strings;
    /* Preparation only: the inputs being prepared are not read again by
     * anyone, so the prep may give back their pages (oc_release_pages) as
     * it goes. */
    int prep_consume;
} oc_kargs;

typedef int (*oc_kernel_fn)(const oc_kargs *a);

typedef struct oc_step {
    oc_kernel_fn fn;
    int kernel;         /* id in the kernel table (kernels/table.h) */
    void *params;       /* owned */
    size_t params_size;
    int n_in, n_out;
    int *in, *out;      /* tensor ids in the plan, -1 = omitted */
    size_t scratch;     /* bytes of shared scratch this kernel needs */
    size_t tscratch;    /* bytes of scratch per thread */
    size_t prep_offset; /* its prepared data in the plan's prep block */
    size_t prep_bytes;  /* 0: none */
    int prep_consume;   /* the next oc_plan_prepare_step may consume its prepared inputs (then cleared) */
    int64_t flops;      /* 2 x multiply-accumulates of one run (0 when not counted) */
    char *name, *op;    /* node name and op type, for messages and profiles */
    struct oc_plan **sub; /* owned sub-plans of a control-flow step (kernels/controlflow.h) */
    int n_sub;
    /* >= 2: this step and the next slice_len - 1 run one image at a time
     * (each step on image 0, then each on image 1, ...): conv forward
     * kernels (oc_kernel_slices_batch) whose intermediate stays in cache
     * between them. The planner keeps every tensor they touch live to the
     * chain's end. Results are the same bits as step by step. */
    int slice_len;
} oc_step;

enum { OC_T_ARENA = 0, OC_T_CONST = 1, OC_T_INPUT = 2, OC_T_PARAM = 3, OC_T_GRAD = 4 };

typedef struct oc_plan {
    int n_tensors;
    oc_tensor *tensors;       /* views: data points into arena/weights/inputs */
    int *kind;                /* OC_T_* per tensor */
    size_t *offset;           /* byte offset in arena or weights block */
    char **names;
    int n_steps;
    oc_step *steps;
    int n_inputs, n_outputs;
    int *inputs, *outputs;    /* tensor ids */
    unsigned char *arena;     /* intermediates, reused by liveness */
    size_t arena_bytes;
    size_t tensor_bytes;      /* sum of all intermediates, for comparison */
    unsigned char *weights;   /* constants (oc_map_block memory) */
    size_t weight_bytes;
    size_t weights_map;       /* bytes mapped at weights */
    unsigned char *scratch;   /* shared by all steps (they run one at a time): */
    size_t scratch_bytes;     /*   the shared part, then `threads` per-thread slices */
    size_t tscratch_stride;   /* bytes of one per-thread slice */
    unsigned char *prep;      /* data kernels prepared from constants (packed weights) */
    size_t prep_bytes;
    int threads;
    /* Training: the trainable parameters and their gradients, each in one
     * contiguous float block with the same layout (parameter k at
     * train_offset[k], train_numel[k] floats, 64-byte aligned), so one
     * optimizer step or one allreduce covers all of them. */
    int n_train;
    size_t *train_offset;
    int64_t *train_numel;
    size_t train_floats;
    float *params;
    float *grads;
    /* Set by the caller after building (e.g. the trainer for --sync-bn):
     * kernels that reduce over the batch reduce over every process. */
    oc_collective coll;
    /* Bytes of the strings kernels made in the last run (runtime/strtensor.h). */
    struct oc_strpool *strings;
} oc_plan;

/* Point the input tensors at caller memory (checked: dtype and numel must
 * match the plan) and run every step. Outputs live in the arena until the
 * next run. */
int oc_plan_set_input(oc_plan *p, int k, const oc_tensor *t, oc_diag *d);
int oc_plan_run(oc_plan *p, oc_diag *d);
void oc_plan_free(oc_plan *p);

/* Page-backed blocks for large, long-lived buffers (the weights): the
 * tail of one can be returned to the system. NULL when out of memory. */
unsigned char *oc_map_block(size_t bytes);
/* Gives back the whole pages past `keep` bytes; returns the bytes still mapped. */
size_t oc_unmap_tail(unsigned char *block, size_t mapped, size_t keep);
void oc_unmap_block(unsigned char *block, size_t mapped);

/* Per-step timing (seconds) of the last run when profile != NULL. */
int oc_plan_run_profiled(oc_plan *p, double *profile, oc_diag *d);

/* Re-runs every kernel's preparation from constant inputs (after the
 * caller changed constants in place). */
int oc_plan_prepare(oc_plan *p, oc_diag *d);
/* The same for step s alone. */
int oc_plan_prepare_step(oc_plan *p, int s, oc_diag *d);

#endif
