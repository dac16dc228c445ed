/* cmd_bench_train.c: `onnxc bench MODEL.onnx --train full|head [--batch B]
 *                    [--classes N] [--threads T] [--runs N] [--warmup N] [--json]`
 *
 * Times one training step (forward, loss, backward, SGD-momentum update) of
 * the training library's plan (compiler/trainer.h) on seeded random images
 * and labels, the way `onnxc finetune` runs it:
 *   full  every parameter trains, BatchNorms on batch statistics;
 *   head  only the classifier head (compiler/head.h) trains, the frozen
 *         backbone runs BatchNorm on running statistics and computes no
 *         gradients (a finetune without the feature cache: the cost of one
 *         step when the inputs are augmented).
 * --classes N swaps in a fresh head of N classes first, as finetune does.
 * Loading and planning are not timed; the median and minimum step are.
 * tools/bench/train_vs_torch.py runs PyTorch on the same model beside it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../compiler/head.h"
#include "../compiler/passes/passes.h"
#include "../compiler/shape.h"
#include "../compiler/trainer.h"
#include "../runtime/cpu.h"
#include "../runtime/init.h"
#include "../runtime/plan.h"
#include "../runtime/threads.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: onnxc bench MODEL.onnx|--model NAME --train full|head [--batch B (default 8)] [--classes N]\n"
               "                   [--threads T] [--runs N (default 10)] [--warmup N (default 2)] [--profile] [--json]\n"
               "full: every parameter trains (BatchNorms on batch statistics); head: only the classifier head\n"
               "(frozen backbone on running statistics, no backward through it). SGD momentum 0.9, lr 0.01.\n");
}

int oc_cmd_bench_train(int argc, char **argv)
{
    cli_model_args ma = {.batch = -1};
    int64_t threads = 0, runs = 10, warmup = 2, classes = 0;
    int json = 0, profile = 0, head_only = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int r = cli_model_arg("bench", &ma, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--train")) {
            if (!(v = cli_value("bench", argc, argv, &i)))
                return 2;
            if (!strcmp(v, "full") || !strcmp(v, "head")) {
                head_only = !strcmp(v, "head");
            } else {
                fprintf(stderr, "onnxc bench: --train expects full or head, got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value("bench", argc, argv, &i)) || cli_int("--threads", v, 0, 1024, &threads))
                return 2;
        } else if (!strcmp(a, "--runs")) {
            if (!(v = cli_value("bench", argc, argv, &i)) || cli_int("--runs", v, 1, 1000000, &runs))
                return 2;
        } else if (!strcmp(a, "--warmup")) {
            if (!(v = cli_value("bench", argc, argv, &i)) || cli_int("--warmup", v, 0, 1000000, &warmup))
                return 2;
        } else if (!strcmp(a, "--classes")) {
            if (!(v = cli_value("bench", argc, argv, &i)) || cli_int("--classes", v, 1, 1000000, &classes))
                return 2;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--profile")) {
            profile = 1;
        } else {
            fprintf(stderr, "onnxc bench: unknown option '%s' with --train (see --help)\n", a);
            return 2;
        }
    }
    if (!ma.path && !ma.model) {
        usage(stderr);
        return 2;
    }
    int64_t batch = ma.batch > 0 ? ma.batch : 8;
    ma.batch = -1; /* the trainer binds the batch */
    int nthreads = oc_set_threads((int)threads);
    oc_diag d;
    oc_diag_init(&d);
    int rc = 1;
    oc_trainer *t = NULL;
    unsigned char *flags = NULL;
    float *x = NULL;
    int64_t *y = NULL;
    double *times = NULL, *prof = NULL, *step_s = NULL;
    const char *model = ma.path ? ma.path : ma.model;
    double t0 = cli_now_ms();
    oc_graph *g = cli_load_model("bench", &ma);
    if (!g)
        return 1;
    oc_head h; /* parameters tied by the exporter get their own storage first, as in finetune */
    if (oc_pass_untie_params(g, NULL, &d) || oc_graph_infer_shapes(g, &d) || oc_head_find(g, NULL, &h, &d))
        goto fail;
    if (classes && classes != h.n) {
        if (oc_head_replace(g, &h, classes, 1, &d))
            goto fail;
        oc_graph_reset_shapes(g);
        if (oc_graph_infer_shapes(g, &d))
            goto fail;
    }
    classes = h.n;
    const oc_value *in = &g->values[g->inputs[0]];
    if (in->rank < 1 || in->dims[0] > 0) {
        if (in->rank >= 1 && in->dims[0] != batch) {
            oc_fail(&d, "%s: the input '%s' has a fixed batch of %lld; give --batch %lld", model, in->name,
                    (long long)in->dims[0], (long long)in->dims[0]);
            goto fail;
        }
    }
    int64_t sample = 1;
    for (int k = 1; k < in->rank; k++) {
        if (in->dims[k] <= 0) {
            oc_fail(&d, "%s: the input '%s' has a symbolic dim %d; bind it with --dim NAME=N", model, in->name, k);
            goto fail;
        }
        sample *= in->dims[k];
    }
    /* full: every value counts as trainable, so BatchNorm scales reached
     * through an exporter's Identity (shared initializers) train too */
    if (!(flags = calloc((size_t)g->n_values + 1, 1))) {
        oc_fail(&d, "out of memory");
        goto fail;
    }
    if (head_only) {
        flags[h.weight] = 1;
        if (h.bias >= 0)
            flags[h.bias] = 1;
    } else {
        memset(flags, 1, (size_t)g->n_values);
    }
    oc_train_config tc;
    oc_train_config_default(&tc);
    tc.batch = batch;
    tc.trainable = flags;
    tc.bn = OC_BN_AUTO;
    tc.threads = nthreads;
    tc.logits = g->values[h.output].name;
    tc.optim.momentum = 0.9;
    if (!(t = oc_trainer_new(g, &tc, &d)))
        goto fail;
    double load_ms = cli_now_ms() - t0;
    x = malloc(sizeof(float) * (size_t)(batch * sample));
    y = malloc(sizeof(int64_t) * (size_t)batch);
    times = calloc((size_t)runs, sizeof(double));
    if (!x || !y || !times) {
        oc_fail(&d, "out of memory");
        goto fail;
    }
    oc_rng r;
    oc_rng_seed(&r, 7);
    for (int64_t i = 0; i < batch * sample; i++)
        x[i] = oc_rng_normal(&r);
    for (int64_t b = 0; b < batch; b++)
        y[b] = (int64_t)(oc_rng_uniform(&r) * (double)classes) % classes;
    for (int64_t k = -warmup; k < runs; k++) {
        double loss, a = cli_now_ms();
        if (oc_trainer_step(t, x, y, &loss))
            goto fail;
        if (k >= 0)
            times[k] = cli_now_ms() - a;
    }
    if (profile) { /* the training plan's steps alone (the optimizer update is not a step) */
        oc_plan *p = oc_trainer_plan(t);
        if (!(prof = calloc((size_t)p->n_steps + 1, sizeof(double))) ||
            !(step_s = calloc((size_t)p->n_steps + 1, sizeof(double)))) {
            oc_fail(&d, "out of memory");
            goto fail;
        }
        for (int64_t k = 0; k < runs; k++) {
            if (oc_plan_run_profiled(p, step_s, &d))
                goto fail;
            for (int s = 0; s < p->n_steps; s++)
                prof[s] += step_s[s];
        }
    }
    qsort(times, (size_t)runs, sizeof(double), cli_cmp_double);
    double med = runs % 2 ? times[runs / 2] : 0.5 * (times[runs / 2 - 1] + times[runs / 2]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const char *mode = head_only ? "head" : "full";
    if (json) {
        printf("{\"model\": ");
        cli_json_string(stdout, model);
        printf(", \"train\": \"%s\", \"batch\": %lld, \"threads\": %d, \"isa\": \"%s\", \"runs\": %lld, \"load_ms\": %.3f, "
               "\"median_ms\": %.4f, \"min_ms\": %.4f, \"images_per_s\": %.2f, \"param_floats\": %zu, "
               "\"bn_training\": %d, \"peak_rss_bytes\": %ld",
               mode, (long long)batch, nthreads, oc_isa_name(oc_cpu_isa()), (long long)runs, load_ms, med, times[0],
               1e3 * (double)batch / med, oc_trainer_param_floats(t), oc_trainer_bn_training(t), ru.ru_maxrss * 1024L);
        if (profile)
            cli_print_profile(oc_trainer_plan(t), prof, mode, (int)runs, 1);
        printf("}\n");
    } else {
        printf("model %s, training step (%s), batch %lld, %d thread%s, ISA %s, %lld runs after %lld warm-up\n", model,
               mode, (long long)batch, nthreads, nthreads == 1 ? "" : "s", oc_isa_name(oc_cpu_isa()), (long long)runs,
               (long long)warmup);
        printf("load + training plan: %.1f ms; %zu trained floats, %d BatchNorms on batch statistics; peak RSS %.1f MB\n",
               load_ms, oc_trainer_param_floats(t), oc_trainer_bn_training(t), ru.ru_maxrss / 1024.0);
        printf("step: median %.3f ms, min %.3f ms, %.1f images/s\n", med, times[0], 1e3 * (double)batch / med);
        if (profile)
            cli_print_profile(oc_trainer_plan(t), prof, mode, (int)runs, 0);
    }
    rc = 0;
fail:
    if (rc)
        fprintf(stderr, "onnxc bench: error: %s\n", d.msg);
    oc_trainer_free(t);
    oc_graph_free(g);
    free(flags);
    free(x);
    free(y);
    free(times);
    free(prof);
    free(step_s);
    return rc;
}
