/* table.h: the kernel table. Every kernel a plan step can run has one
 * entry: the C function's name (what generated code calls and profiles
 * print), the function, the C type of its parameter block, and its naive
 * reference twin (`--kernel ref` runs that instead). Lowering still hands
 * the planner a function pointer; the planner looks it up here and a
 * step records the entry's id, so kernels are named and chosen as plain
 * data. A kernel missing from the table cannot be planned.
 *
 * A kernel may also prepare data once from constant inputs (packed
 * weights): prep_bytes says how much for a step (0: nothing), prep fills
 * it; the planner runs it when every input in prep_inputs is a constant
 * and hands the result to each run as oc_kargs.prep. */
#ifndef ONNXC_KERNELS_TABLE_H
#define ONNXC_KERNELS_TABLE_H

#include "../plan.h"

typedef struct oc_kernel_info {
    const char *name;        /* C function name */
    oc_kernel_fn fn;
    const char *params_type; /* "" when the kernel takes no parameters */
    oc_kernel_fn ref;        /* naive reference; NULL: the kernel is its own reference */
    size_t (*prep_bytes)(const oc_kargs *a);
    int (*prep)(const oc_kargs *a, void *dst);
    unsigned prep_inputs;    /* bit k: input k must be constant for prep */
    const char *variant;     /* short path name for profiles ("im2col+gemm", "direct", ...) */
} oc_kernel_info;

/* Entry by id (0 <= id < oc_kernel_count()), by function, by name; NULL
 * when unknown. */
int oc_kernel_count(void);
const oc_kernel_info *oc_kernel_get(int id);
int oc_kernel_id_of(oc_kernel_fn fn);
int oc_kernel_find(const char *name);

/* 1 when the kernel may run one image at a time (oc_step.slice_len): its
 * parameters are oc_conv_params, whose batch the executor sets to 1, its
 * batched tensors (X = input 0, the residual = input 3, Y = output 0)
 * hold the images outermost, and its prepared data and scratch do not
 * depend on the batch. The conv forward kernels. */
int oc_kernel_slices_batch(int id);

/* Family tables (NULL-name terminated), defined beside the kernels. */
extern const oc_kernel_info oc_kernels_elementwise_unary[];
extern const oc_kernel_info oc_kernels_bitcast[]; /* bitcast.c */
extern const oc_kernel_info oc_kernels_quant[];   /* quant.c */
extern const oc_kernel_info oc_kernels_sequence[]; /* sequence.c */
/* controlflow.c: If (steps with sub-plans) */
extern const oc_kernel_info oc_kernels_controlflow[];
extern const oc_kernel_info oc_kernels_strings[]; /* string_ops.c */

#endif
