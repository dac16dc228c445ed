/* cli.h: shared pieces of the onnxc command-line program: subcommand entry
 * points and strict flag parsing (a flag value that is not a number is an
 * error naming the flag, never silently 0). */
#ifndef ONNXC_TOOLS_CLI_H
#define ONNXC_TOOLS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "../compiler/graph.h"
#include "../compiler/shape.h"

int oc_cmd_info(int argc, char **argv);
int oc_cmd_export(int argc, char **argv);
int oc_cmd_check(int argc, char **argv);
int oc_cmd_run(int argc, char **argv);
int oc_cmd_grad(int argc, char **argv);
int oc_cmd_train(int argc, char **argv);
int oc_cmd_finetune(int argc, char **argv);
int oc_cmd_bench(int argc, char **argv);

/* Parse a decimal integer in [lo, hi] for flag `flag`; prints an error and
 * returns -1 when it is not one. */
int cli_int(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out);
/* A byte count with an optional binary suffix: 4096, 512K, 64M, 2G.
 * Prints an error and returns -1 when it is not one (or is 0). */
int cli_bytes(const char *flag, const char *s, size_t *out);
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

/* A tensor file by extension: .npy, or .pb (ONNX TensorProto); anything
 * else is an error naming the file. */
oc_tensor *cli_load_tensor(const char *file, oc_diag *d);

#endif
