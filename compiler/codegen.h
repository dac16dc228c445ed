/* codegen.h: the C code generator behind `onnxc compile`.
 *
 * It prints the plan the runtime would execute (same graph passes, same
 * planner, same kernel table) as C: NAME.h (the API and the memory
 * contract), NAME.c (one block per plan step calling the step's kernel
 * with its parameter block printed as a named static const initializer and
 * arena offsets fixed at generation time), NAME.weights (the constants
 * with a checked header), main.c (a command-line harness), a Makefile and
 * a CMakeLists.txt.
 *
 * Default mode calls onnxc's runtime library; portable mode writes
 * self-contained C99 with plain kernels (onnxc_portable.{h,c}) for a clear
 * subset of ops, and refuses other ops naming the node.
 *
 * The emitters live in codegen_model.c (NAME.c and NAME.h), codegen_params.c
 * (parameter blocks), codegen_files.c (weights, harness, build files) and
 * codegen_portable.c (the portable kernel subset). */
#ifndef ONNXC_CODEGEN_H
#define ONNXC_CODEGEN_H

#include <stdint.h>
#include <stdio.h>

#include "../runtime/io.h" /* oc_fnv1a */
#include "../runtime/optim.h"
#include "../runtime/plan.h"
#include "graph.h"

/* A training module (onnxc compile --train): the plan is a trainer's
 * training plan (compiler/trainer.h: forward, loss, backward; parameters
 * and gradients in its two blocks) and the module's step runs it, then the
 * optimizer update and the running-statistics copies, as oc_trainer_step
 * does. */
typedef struct oc_codegen_train {
    int t_loss, t_logits, t_labels; /* tensors of the plan */
    int n_stats;                    /* after the update: stat_out[k] copied over stat[k] */
    const int *stat_out, *stat;
    oc_optim_config optim;
} oc_codegen_train;

typedef struct oc_codegen_opts {
    const char *name;     /* C prefix and file stem ("model") */
    const char *dir;      /* output folder (created when missing) */
    const char *source;   /* model file, for comments */
    int portable;         /* self-contained C99 */
    int embed_weights;    /* also NAME_weights.c: the weights image as a C array */
    const char *uppercase_name; /* NAME in capitals, for macros (oc_codegen_write fills it) */
    /* Training: train set writes the training module NAME (its files and
     * NAME_main.c, no build files); with_train names the training module
     * the inference module's Makefile and CMakeLists.txt also build. */
    const oc_codegen_train *train;
    const char *with_train;
} oc_codegen_opts;

/* Writes every file for plan p (built from graph g with mutable_constants
 * set, so every constant is in p->weights). Fails naming the node and op
 * when portable mode has no kernel for a step. */
int oc_codegen_write(const oc_graph *g, const oc_plan *p, const oc_codegen_opts *o, oc_diag *d);

/* ---- shared by the codegen_*.c files ---- */

/* Weights file format (NAME.weights): a 64-byte little-endian header
 *   0  magic "ONNXCWTS"      8 bytes
 *   8  version               u32 (OC_WEIGHTS_VERSION)
 *  12  header bytes          u32 (64)
 *  16  data bytes            u64
 *  24  checksum of the data  u64 (FNV-1a 64)
 *  32  model hash            u64 (FNV-1a 64 of the plan's layout)
 *  40  reserved, zero        24 bytes
 * then the weights block, laid out at the plan's offsets. */
#define OC_WEIGHTS_MAGIC "ONNXCWTS"
#define OC_WEIGHTS_VERSION 1
#define OC_WEIGHTS_HEADER 64


/* A C identifier from any name: other characters become '_', a leading
 * digit gets a '_' before it. */
void oc_cg_ident(char *dst, size_t cap, const char *name);

/* Prints `static const TYPE NAME = {.field = ..., ...};` for a parameter
 * block of the kernel-table type `type`; fails when onnxc has no printer
 * for the type or the block holds data the printer does not cover. */
int oc_cg_print_params(FILE *f, const char *type, const char *var, const void *params, size_t size, oc_diag *d);

/* Portable mode: the portable kernel for a runtime kernel name, or NULL
 * when portable mode has none. */
const char *oc_cg_portable_kernel(const char *runtime_name);
/* Whether portable mode can emit step st of p (its kernel, element types
 * and parameters); *why says what is missing when not. */
int oc_cg_portable_accepts(const oc_plan *p, const oc_step *st, const char **why);
/* The portable kernel library's text (header and source). */
extern const char oc_cg_text_portable_h[];
extern const char oc_cg_text_portable_c[];
extern const char oc_cg_text_harness_c[];

/* NAME.c and NAME.h (codegen_model.c). */
int oc_cg_write_model_c(FILE *f, const oc_graph *g, const oc_plan *p, const oc_codegen_opts *o, uint64_t model_hash,
                        oc_diag *d);
int oc_cg_write_model_h(FILE *f, const oc_plan *p, const oc_codegen_opts *o);
/* The weights block of the generated code: the plan's constants, then for
 * a training module its parameter block at oc_cg_params_offset. */
size_t oc_cg_params_offset(const oc_plan *p);
size_t oc_cg_weights_bytes(const oc_plan *p, const oc_codegen_opts *o);
/* The hash that ties a weights file to a plan's layout. */
uint64_t oc_cg_model_hash(const oc_plan *p);

#endif
