/* controlflow.h: kernels of the control-flow ops (If; Loop and Scan to
 * come). Their subgraphs are planned ahead like any graph: each branch or
 * body is a sub-plan (runtime/plan.h) with its own arena and scratch,
 * owned by the step and handed to the kernel in oc_kargs.sub. A kernel
 * points the sub-plan's inputs at its own input tensors, runs it, and
 * copies the sub-plan's outputs into its outputs. The compiler side
 * (shape rules, planning the subgraphs) is compiler/ops/controlflow.c. */
#ifndef ONNXC_KERNELS_CONTROLFLOW_H
#define ONNXC_KERNELS_CONTROLFLOW_H

#include "../plan.h"

/* If: sub[0] is then_branch, sub[1] else_branch (NULL when the condition
 * was known when planning and chose the other). Input 0 is the condition;
 * the others are the outer values the branches read. Input k of branch b's
 * plan is the kernel's input slot[off_b + k], off_0 = 0, off_1 = n_in[0]. */
typedef struct oc_if_params {
    int n_in[2];
    int slot[]; /* n_in[0] + n_in[1] entries */
} oc_if_params;

int oc_if_forward(const oc_kargs *a);

/* Most state variables / scan inputs / scan outputs a Scan or Loop takes. */
#define OC_SCAN_MAX 32

/* Scan (sub[0] the body). Node inputs: [sequence_lens (Scan-8, omitted)]
 * at first_in - 1, then n_state initial states, then n_scan_in scan
 * inputs, then the captured values. Outputs: n_state final states, then
 * n_scan_out stacked outputs. Each scan input is viewed as [pre, len,
 * post-bytes] around its scan axis (Scan-8: pre = the batch, scan axis 1,
 * and each batch element is scanned on its own; Scan-9+: batch = 1), each
 * scan output likewise around its stacking axis. The body's inputs are
 * the states, the slices (gathered into scratch at slice_off), then the
 * captured values: body input k reads node input slot[k] (-1: formal). */
typedef struct oc_scan_params {
    int n_state, n_scan_in, n_scan_out, first_in;
    int64_t batch, len;
    int64_t state_bytes[OC_SCAN_MAX];                     /* per batch element */
    int64_t in_pre[OC_SCAN_MAX], in_post[OC_SCAN_MAX];    /* pre: rows per batch element; post: bytes */
    int in_rev[OC_SCAN_MAX];
    size_t slice_off[OC_SCAN_MAX];                         /* gathered slice in scratch */
    int64_t out_pre[OC_SCAN_MAX], out_post[OC_SCAN_MAX];
    int out_rev[OC_SCAN_MAX];
    int n_body_in;
    int slot[]; /* n_body_in entries */
} oc_scan_params;

int oc_scan_forward(const oc_kargs *a);

/* Loop (sub[0] the body). Node inputs: M (trip count, may be omitted),
 * cond (may be omitted), n_state initial values, then the captured
 * values. Outputs: n_state final values, n_scan_out outputs stacked over
 * the iterations: their extent `trip` was fixed when planning (M known),
 * and a loop its condition ends early fails clearly at run time. Body
 * inputs: iteration number (int64, scratch offset 0), condition (bool,
 * scratch offset 8), the states, the captured values (slot[] as Scan). */
typedef struct oc_loop_params {
    int n_state, n_scan_out;
    int64_t trip;            /* planned iterations; -1: no scan outputs, run M times */
    int64_t state_bytes[OC_SCAN_MAX];
    int64_t scan_bytes[OC_SCAN_MAX]; /* one iteration's slice */
    int n_body_in;
    int slot[];
} oc_loop_params;

int oc_loop_forward(const oc_kargs *a);

#endif
