/* cmd_compile.c: `onnxc compile MODEL.onnx -o DIR [--name NAME] [--batch N] [--dim NAME=N]
 *                [--portable] [--embed-weights] [--threads N] [--bake-from DIR]
 *                [--no-fuse] [--passes LIST] [--no-pass NAME]`
 * Loads the model, runs the same shape inference, graph passes and planner
 * as `onnxc run`, and hands the plan to the code generator
 * (compiler/codegen.h), which writes NAME.h, NAME.c, NAME.weights, main.c,
 * a Makefile and a CMakeLists.txt into DIR. --bake-from reads an ONNX
 * backend-test data set (DIR/input_K.pb): the model's input shapes are
 * bound to the data's and inputs whose value defines a shape are compiled
 * in as constants, as `onnxc check` does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../compiler/codegen.h"
#include "../compiler/onnx_import.h"
#include "../compiler/planner.h"
#include "../models/models.h"
#include "cli.h"

#define MAX_BAKE 64

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Binds input shapes to DIR/input_K.pb and bakes shape-defining inputs;
 * baked[k] is set for those. */
static int bake_from(oc_graph *g, const char *dir, unsigned char *baked, oc_diag *d)
{
    for (int k = 0; k < g->n_inputs && k < MAX_BAKE; k++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/input_%d.pb", dir, k);
        if (stat(path, &st) != 0)
            return oc_fail(d, "%s: missing (the model has %d inputs)", path, g->n_inputs);
        oc_value *v = &g->values[g->inputs[k]];
        /* an optional input's test data is an OptionalProto holding the tensor */
        oc_tensor *t = v->flags & OC_VALUE_OPTIONAL ? oc_onnx_load_optional_tensor(path, NULL, d)
                                                   : oc_onnx_load_tensor(path, NULL, d);
        if (!t)
            return -1;
        if (v->rank == t->rank && (!v->dtype || v->dtype == t->dtype))
            for (int i = 0; i < v->rank; i++)
                v->dims[i] = t->dims[i];
        int shape_like = t->numel <= 64 ? cli_defines_shape(g, g->inputs[k], d) : 0;
        if (shape_like < 0) {
            oc_tensor_free(t);
            return -1;
        }
        if (shape_like && !v->constant) {
            v->constant = t;
            baked[k] = 1;
        } else {
            oc_tensor_free(t);
        }
    }
    return 0;
}

static int usage(FILE *f)
{
    fprintf(f,
            "usage: onnxc compile MODEL.onnx -o DIR [--name NAME] [--batch N] [--dim NAME=N] [--portable]\n"
            "       [--embed-weights] [--threads N] [--bake-from DATASET_DIR] [--max-memory BYTES[K|M|G]]\n"
            "       [--no-fuse] [--passes LIST] [--no-pass NAME]\n"
            "Writes DIR/NAME.h (API and memory contract), DIR/NAME.c (one kernel call per plan step),\n"
            "DIR/NAME.weights (checked header + constants), DIR/main.c (harness NAME_run -i [INPUT=]FILE ...\n"
            "-o OUTDIR), DIR/Makefile and DIR/CMakeLists.txt. NAME defaults to 'model'.\n"
            "Default mode links onnxc's runtime library (pkg-config onnxc-runtime, or CMake find_package(onnxc));\n"
            "--portable writes self-contained C99 (libm only) for Conv/Gemm/MatMul/pool/BN/activation/Softmax nets.\n"
            "--threads N sizes kernel scratch for N threads (default 1). --bake-from reads input_K.pb files:\n"
            "input shapes follow the data and inputs that define a shape become constants.\n");
    return f == stdout ? 0 : 2;
}

int oc_cmd_compile(int argc, char **argv)
{
    cli_model_args ma = {0};
    ma.batch = -1;
    oc_pass_opts popts;
    oc_pass_opts_default(&popts);
    oc_codegen_opts co = {.name = "model"};
    const char *bake_dir = NULL;
    int threads = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int r = cli_pass_arg("compile", &popts, NULL, argc, argv, &i);
        if (!r)
            r = cli_model_arg("compile", &ma, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            return usage(stdout);
        } else if (!strcmp(a, "-o")) {
            if (!(co.dir = cli_value("compile", argc, argv, &i)))
                return 2;
        } else if (!strcmp(a, "--name")) {
            if (!(co.name = cli_value("compile", argc, argv, &i)))
                return 2;
        } else if (!strcmp(a, "--bake-from")) {
            if (!(bake_dir = cli_value("compile", argc, argv, &i)))
                return 2;
        } else if (!strcmp(a, "--threads")) {
            int64_t x;
            if (!(v = cli_value("compile", argc, argv, &i)) || cli_int(a, v, 1, 1024, &x))
                return 2;
            threads = (int)x;
        } else if (!strcmp(a, "--portable")) {
            co.portable = 1;
        } else if (!strcmp(a, "--embed-weights")) {
            co.embed_weights = 1;
        } else {
            fprintf(stderr, "onnxc compile: unknown argument '%s' (see onnxc compile --help)\n", a);
            return 2;
        }
    }
    if (!ma.path && !ma.model) {
        fprintf(stderr, "onnxc compile: no model given\n");
        return 2;
    }
    if (!co.dir) {
        fprintf(stderr, "onnxc compile: no output folder given (-o DIR)\n");
        return 2;
    }
    if (co.portable)
        threads = 1;
    double t0 = seconds();
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = NULL;
    oc_plan *p = NULL;
    oc_pass_report rep = {0};
    unsigned char baked[MAX_BAKE] = {0};
    int rc = 1;
    const char *src = ma.path ? ma.path : ma.model;
    if (ma.model && !ma.path) {
        oc_model_opts mo;
        oc_model_opts_default(ma.model, &mo);
        g = oc_model_build(ma.model, &mo, &d);
    } else {
        g = oc_onnx_load(ma.path, &d);
    }
    if (!g)
        goto fail;
    if (oc_graph_bind_dims(g, ma.batch, ma.n_dims, ma.dims, &d))
        goto fail;
    if (bake_dir && bake_from(g, bake_dir, baked, &d))
        goto fail;
    if (oc_graph_infer_shapes(g, &d) || oc_passes_run(g, &popts, &rep, &d))
        goto fail;
    oc_plan_opts po = {threads, 0};
    po.max_memory = ma.max_memory;
    po.views = rep.views;
    po.mutable_constants = 1; /* the weights file holds every constant; packing happens at init */
    if (!(p = oc_plan_build(g, &po, &d)))
        goto fail;
    co.source = src;
    if (oc_codegen_write(g, p, &co, &d))
        goto fail;
    char ab[32], wb[32], sb[32];
    printf("compiled %s: %d steps, arena %s, weights %s, scratch %s%s -> %s/%s.{h,c,weights}, main.c, Makefile, "
           "CMakeLists.txt (%.2f s)\n",
           src, p->n_steps, oc_format_bytes(ab, sizeof ab, (double)p->arena_bytes),
           oc_format_bytes(wb, sizeof wb, (double)p->weight_bytes), oc_format_bytes(sb, sizeof sb, (double)p->scratch_bytes),
           co.portable ? " (portable C99)" : "", co.dir, co.name, seconds() - t0);
    for (int k = 0, fed = 0; k < g->n_inputs; k++) {
        const oc_value *v = &g->values[g->inputs[k]];
        char sh[256];
        if (k < MAX_BAKE && baked[k])
            printf("input %d '%s': compiled in (constant)\n", k, v->name);
        else
            printf("input %d '%s': %s %s (argument %d)\n", k, v->name, oc_dtype_name(v->dtype),
                   oc_format_dims(sh, sizeof sh, v->dims, v->rank), fed++);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "onnxc compile: error: %s: %s\n", src, d.msg);
done:
    oc_plan_free(p);
    oc_pass_report_free(&rep);
    oc_graph_free(g);
    return rc;
}
