/* cmd_compile.c: `onnxc compile MODEL.onnx -o DIR [--name NAME] [--batch N] [--dim NAME=N]
 *                [--portable] [--embed-weights] [--threads N] [--bake-from DIR]
 *                [--no-fuse] [--passes LIST] [--no-pass NAME]
 *                [--train [--loss cross_entropy] [--optim NAME] [--momentum M] [--nesterov]
 *                 [--weight-decay W] [--bn auto|train|eval|model] [--freeze none|backbone]]`
 * Loads the model, runs the same shape inference, graph passes and planner
 * as `onnxc run`, and hands the plan to the code generator
 * (compiler/codegen.h), which writes NAME.h, NAME.c, NAME.weights, main.c,
 * a Makefile and a CMakeLists.txt into DIR. --bake-from reads an ONNX
 * backend-test data set (DIR/input_K.pb): the model's input shapes are
 * bound to the data's and inputs whose value defines a shape are compiled
 * in as constants, as `onnxc check` does.
 * --train also writes the training module NAME_train (compiler/trainer.h's
 * training plan: forward, cross-entropy loss, backward, optimizer update)
 * with its harness NAME_train_main.c; the build files build both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../compiler/codegen.h"
#include "../compiler/onnx_import.h"
#include "../compiler/head.h"
#include "../compiler/planner.h"
#include "../compiler/trainer.h"
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
            "input shapes follow the data and inputs that define a shape become constants.\n"
            "--train also writes the training module NAME_train: NAME_train_step(ctx, inputs, labels, lr, &loss,\n"
            "logits) runs forward, softmax cross-entropy against int64 labels, backward and the optimizer update\n"
            "(--optim sgd|adam|adamw|adagrad|rmsprop, --momentum M, --nesterov, --weight-decay W); --freeze\n"
            "backbone trains only the classifier head (the last Gemm/MatMul), none (default) everything;\n"
            "--bn auto|train|eval|model as onnxc train. NAME_train_save_weights writes the trained tensors;\n"
            "`onnxc export MODEL.onnx --trained FILE -o OUT.onnx` puts them back into the model.\n");
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
    int threads = 1, train = 0, nesterov = 0;
    const char *loss = "cross_entropy", *optim = "sgd", *bn = "auto", *freeze = "none";
    double momentum = 0, weight_decay = 0;
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
        } else if (!strcmp(a, "--train")) {
            train = 1;
        } else if (!strcmp(a, "--nesterov")) {
            nesterov = 1;
        } else if (!strcmp(a, "--loss") || !strcmp(a, "--optim") || !strcmp(a, "--bn") || !strcmp(a, "--freeze")) {
            if (!(v = cli_value("compile", argc, argv, &i)))
                return 2;
            *(a[2] == 'l' ? &loss : a[2] == 'o' ? &optim : a[2] == 'b' ? &bn : &freeze) = v;
        } else if (!strcmp(a, "--momentum") || !strcmp(a, "--weight-decay")) {
            char *end;
            if (!(v = cli_value("compile", argc, argv, &i)))
                return 2;
            double x = strtod(v, &end);
            if (*end || !(x >= 0 && x < 1e6)) {
                fprintf(stderr, "onnxc compile: %s takes a number >= 0, got '%s'\n", a, v);
                return 2;
            }
            *(a[2] == 'm' ? &momentum : &weight_decay) = x;
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
    oc_train_config tc;
    oc_train_config_default(&tc);
    int train_flag_given = nesterov || momentum > 0 || weight_decay > 0 || strcmp(loss, "cross_entropy") ||
                           strcmp(optim, "sgd") || strcmp(bn, "auto") || strcmp(freeze, "none");
    if (!train && train_flag_given) {
        fprintf(stderr, "onnxc compile: --loss, --optim, --momentum, --nesterov, --weight-decay, --bn and --freeze "
                        "need --train\n");
        return 2;
    }
    if (train) {
        oc_diag d0;
        oc_diag_init(&d0);
        if (co.portable) {
            fprintf(stderr, "onnxc compile: --train and --portable: the training step needs onnxc's runtime library "
                            "(its backward kernels and optimizers have no portable twin yet)\n");
            return 2;
        }
        if (strcmp(loss, "cross_entropy")) {
            fprintf(stderr, "onnxc compile: --loss %s: the training module supports cross_entropy (softmax "
                            "cross-entropy on the first output against int64 class labels)\n", loss);
            return 2;
        }
        if (strcmp(freeze, "none") && strcmp(freeze, "backbone")) {
            fprintf(stderr, "onnxc compile: --freeze must be none or backbone, got '%s'\n", freeze);
            return 2;
        }
        if (oc_optim_kind_parse(optim, &tc.optim.kind)) {
            fprintf(stderr, "onnxc compile: --optim must be sgd, adam, adamw, adagrad or rmsprop, got '%s'\n", optim);
            return 2;
        }
        oc_optim_config_default(&tc.optim, tc.optim.kind);
        tc.optim.momentum = momentum;
        tc.optim.nesterov = nesterov;
        if (weight_decay > 0 || tc.optim.kind != OC_OPTIM_ADAMW)
            tc.optim.weight_decay = weight_decay;
        if (oc_bn_policy_parse(bn, &tc.bn)) {
            fprintf(stderr, "onnxc compile: --bn must be auto, train, eval or model, got '%s'\n", bn);
            return 2;
        }
        tc.threads = threads;
        tc.no_fuse = popts.no_fuse;
        tc.weights_block = 1;
        (void)d0;
    }
    double t0 = seconds();
    oc_diag d;
    oc_diag_init(&d);
    oc_graph *g = NULL;
    oc_plan *p = NULL;
    oc_pass_report rep = {0};
    oc_trainer *trainer = NULL;
    char train_name[96] = "";
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
    if (oc_graph_infer_shapes(g, &d))
        goto fail;
    if (train) { /* the trainer plans its own copy of the model, before the inference passes */
        unsigned char *flags = NULL;
        if (!strcmp(freeze, "backbone")) {
            oc_head h;
            if (oc_head_find(g, NULL, &h, &d) || !(flags = oc_head_trainable(g, &h, &d)))
                goto fail;
        }
        tc.trainable = flags;
        trainer = oc_trainer_new(g, &tc, &d);
        free(flags);
        if (!trainer) {
            oc_diag_prefix(&d, "--train: ");
            goto fail;
        }
        snprintf(train_name, sizeof train_name, "%s_train", co.name);
        co.with_train = train_name;
    }
    if (oc_passes_run(g, &popts, &rep, &d))
        goto fail;
    oc_plan_opts po = {threads, 0};
    po.max_memory = ma.max_memory;
    po.views = rep.views;
    /* po.batch_slice stays 0: the generated C runs every step on the whole
     * batch, so a chain's tensors must be whole too (the planner holds them
     * per thread only for plan.c's image-by-image chains) */
    /* po.c8 stays 0: the generated C may run on another CPU, where the
     * pairs the c8 pass allows (AVX2 only) could differ */
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
    if (trainer) {
        oc_trainer_layout l;
        oc_trainer_get_layout(trainer, &l);
        oc_codegen_train cgt = {.t_loss = l.t_loss, .t_logits = l.t_logits, .t_labels = l.t_labels,
                                .n_stats = l.n_stats, .stat_out = l.stat_out, .stat = l.stat, .optim = *l.optim};
        oc_codegen_opts ct = co;
        ct.name = train_name;
        ct.train = &cgt;
        ct.with_train = NULL;
        ct.embed_weights = 0;
        if (oc_codegen_write(g, l.plan, &ct, &d)) {
            oc_diag_prefix(&d, "--train: ");
            goto fail;
        }
        char pb[32];
        printf("training module %s: %d steps (forward, loss, backward), %zu trained parameters (%s), %d BatchNorm(s) "
               "in training mode, optimizer %s -> %s/%s.{h,c,weights}, %s_main.c\n",
               train_name, l.plan->n_steps, l.plan->train_floats,
               oc_format_bytes(pb, sizeof pb, 4.0 * (double)l.plan->train_floats), oc_trainer_bn_training(trainer),
               oc_optim_kind_name(l.optim->kind), co.dir, train_name, train_name);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "onnxc compile: error: %s: %s\n", src, d.msg);
done:
    oc_trainer_free(trainer);
    oc_plan_free(p);
    oc_pass_report_free(&rep);
    oc_graph_free(g);
    return rc;
}
