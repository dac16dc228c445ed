/* cli.h: shared pieces of the onnxc command-line program: subcommand entry
 * points and strict flag parsing (a flag value that is not a number is an
 * error naming the flag, never silently 0). */
#ifndef ONNXC_TOOLS_CLI_H
#define ONNXC_TOOLS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "../compiler/graph.h"
#include "../compiler/passes/pass.h"
#include "../compiler/shape.h"

int oc_cmd_info(int argc, char **argv);
int oc_cmd_export(int argc, char **argv);
int oc_cmd_check(int argc, char **argv);
int oc_cmd_run(int argc, char **argv);
int oc_cmd_grad(int argc, char **argv);
int oc_cmd_train(int argc, char **argv);
int oc_cmd_finetune(int argc, char **argv);
int oc_cmd_bench(int argc, char **argv);
int oc_cmd_bench_train(int argc, char **argv); /* bench --train */

/* Monotonic clock in milliseconds, and a qsort comparator for doubles
 * (bench and bench --train time their runs with these). */
double cli_now_ms(void);
int cli_cmp_double(const void *a, const void *b);

/* bench --profile: per step (node, op, kernel, ms, GFLOP/s, %) and per op
 * type, from summed seconds per step over `runs` runs; json: a "layers" key. */
struct oc_plan;
void cli_print_profile(const struct oc_plan *p, const double *profile, const char *name, int runs, int json);
int oc_cmd_compile(int argc, char **argv);

/* Parse a decimal integer in [lo, hi] for flag `flag`; prints an error and
 * returns -1 when it is not one. */
int cli_int(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out);
/* A byte count with an optional binary suffix: 4096, 512K, 64M, 2G.
 * Prints an error and returns -1 when it is not one (or is 0). */
int cli_bytes(const char *flag, const char *s, size_t *out);
/* A flag that takes a value, for table-driven parsing: `int64_t`
 * (a non-negative integer), `double` (a non-negative finite number) or a
 * string, stored at dst. */
typedef enum { CLI_INT, CLI_NUM, CLI_STR } cli_flag_kind;
typedef struct cli_flag {
    const char *name;
    cli_flag_kind kind;
    void *dst;
} cli_flag;
/* Stores value v of flag f by the table (terminated by a NULL name):
 * 0 done, 1 f is not in the table, -1 a bad value (printed). */
int cli_set_flag(const char *cmd, const cli_flag *table, const char *f, const char *v);

/* Value of a flag that needs one: argv[++*i], or an error (NULL). */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);

/* Options common to commands that load a model. */
typedef struct cli_model_args {
    const char *path;       /* ONNX file, or NULL with --model */
    const char *model;      /* builder model name (--model) */
    int64_t batch;          /* --batch, -1 if unset */
    int n_dims;
    oc_dim_binding dims[16]; /* --dim name=N */
    char dim_names[16][128];
    size_t max_memory;      /* --max-memory BYTES[K|M|G] for the plan, 0 = default */
} cli_model_args;

/* Try to consume a model option at argv[*i]; 1 consumed, 0 not a model
 * option, -1 error (printed). */
int cli_model_arg(const char *cmd, cli_model_args *a, int argc, char **argv, int *i);
/* Load or build the model, bind dims and infer shapes; prints warnings.
 * NULL on error (printed). */
oc_graph *cli_load_model(const char *cmd, const cli_model_args *a);

void cli_json_string(FILE *f, const char *s);

/* Pass switches shared by info, run and check (applied after shape
 * inference, before planning): --no-fuse, --passes LIST (exactly these;
 * also --passes=LIST), --no-pass NAME[,NAME] (repeatable). When `show` is
 * non-NULL a bare --passes (no list after it) sets *show (info prints the
 * report); elsewhere it needs a list. 1 consumed, 0 not a pass option,
 * -1 error (printed). */
int cli_pass_arg(const char *cmd, oc_pass_opts *o, int *show, int argc, char **argv, int *i);
/* Runs the passes on g; on error prints "onnxc CMD: error: SRC: ..." and
 * returns -1. The report is filled either way (free it). */
int cli_run_passes(const char *cmd, const char *src, oc_graph *g, const oc_pass_opts *o, oc_pass_report *r);
/* The pass table with each pass's state and what it changed. */
void cli_print_passes(FILE *f, const oc_pass_report *r);
void cli_json_passes(FILE *f, const oc_pass_report *r);

/* A tensor file by extension: .npy, or .pb (ONNX TensorProto); anything
 * else is an error naming the file. */
oc_tensor *cli_load_tensor(const char *file, oc_diag *d);

/* Whether the value of v defines a shape (Reshape's shape, Range's bounds,
 * Slice's starts, ... or a value computed from v that reaches one), so a
 * static-shape deployment fixes it: 1 yes, 0 no, -1 error. Shared by
 * check and compile --bake-from. */
int cli_defines_shape(const oc_graph *g, int v, oc_diag *d);

#endif
