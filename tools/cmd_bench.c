/* cmd_bench.c: `onnxc bench MODEL.onnx [--batch B] [--threads T] [--runs N]
 *              [--warmup N] [--compare fused,unfused] [--profile] [--json]
 *              [--kernel fast|ref]`
 *
 * Times the compiled plan of a model: loading, shape inference, passes and
 * planning are timed once and reported (load_ms), then each variant runs
 * `warmup` times untimed and `runs` times timed. With several variants
 * (--compare) the timed runs alternate between them, so machine noise
 * (another process, frequency changes) hits each variant alike; the ratio
 * of medians is what to read. Inputs are seeded random data.
 *
 * Variants: `fused` = every pass on (the default plan), `unfused` = no
 * graph rewrites at all (every BatchNormalization, activation and Add runs
 * as its own node) with the same kernels, `ref` = the default graph on the
 * naive reference kernels.
 *
 * --profile adds per-node and per-op-type times (averaged over the timed
 * runs) with the kernel each step ran and its GFLOP/s, for every variant,
 * so all variants carry the same timing overhead and the unfused profile
 * shows where a fused plan's gain comes from. --json prints one JSON
 * object on stdout and nothing else (top-level "layers": the first
 * variant's; each variant object carries its own "layers"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../compiler/planner.h"
#include "../runtime/cpu.h"
#include "../runtime/kernels/table.h"
#include "../runtime/threads.h"
#include "cli.h"

#define MAX_VARIANTS 4

typedef struct variant {
    char name[16];
    oc_graph *g;
    oc_plan *p;
    double *times;   /* ms per timed run */
    double *profile; /* summed seconds per step (--profile) */
    double median, min;
} variant;

static void usage(FILE *f)
{
    fprintf(f, "usage: onnxc bench MODEL.onnx|--model NAME [--batch B (default: the model's, else 1)] [--dim NAME=N] [--threads T] [--runs N]\n"
               "                   [--warmup N] [--compare fused,unfused,ref] [--profile] [--json] [--kernel fast|ref]\n"
               "       onnxc bench MODEL.onnx --train full|head [--batch B] [--classes N] ...: one training step (--train --help)\n"
               "Times the compiled plan (load and planning reported, not timed); variants alternate.\n");
}

/* Random inputs (seeded xorshift; floats in [-1, 1), integers 0), owned by
 * the caller. */
static int make_inputs(oc_plan *p, oc_tensor **ins, oc_diag *d)
{
    uint32_t st = 12345u;
    for (int k = 0; k < p->n_inputs; k++) {
        const oc_tensor *t = &p->tensors[p->inputs[k]];
        if (!(ins[k] = oc_tensor_new(t->dtype, t->rank, t->dims, d)))
            return -1;
        if (t->dtype == OC_FLOAT) {
            float *x = ins[k]->data;
            for (int64_t i = 0; i < t->numel; i++) {
                st ^= st << 13, st ^= st >> 17, st ^= st << 5;
                x[i] = (float)(st >> 8) / 8388608.0f - 1.0f;
            }
        }
    }
    return 0;
}

/* The step's kernel as "name" or "name (variant)". */
static const char *kernel_label(const oc_step *st, char *buf, size_t cap)
{
    const oc_kernel_info *k = oc_kernel_get(st->kernel);
    if (!k)
        return "?";
    if (k->variant && *k->variant)
        snprintf(buf, cap, "%s (%s)", k->name, k->variant);
    else
        snprintf(buf, cap, "%s", k->name);
    return buf;
}

static long peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru))
        return -1;
    return ru.ru_maxrss * 1024L;
}

typedef struct op_total {
    const char *op;
    double s;
    int64_t flops;
    int count;
} op_total;

void cli_print_profile(const oc_plan *p, const double *profile, const char *name, int runs, int json)
{
    double total = 0;
    for (int s = 0; s < p->n_steps; s++)
        total += profile[s];
    char kb[160];
    if (json) {
        printf(", \"layers\": [");
        for (int s = 0; s < p->n_steps; s++) {
            const oc_step *st = &p->steps[s];
            double ms = 1e3 * profile[s] / runs;
            printf("%s{\"node\": ", s ? ", " : "");
            cli_json_string(stdout, st->name);
            printf(", \"op\": ");
            cli_json_string(stdout, st->op);
            printf(", \"kernel\": ");
            cli_json_string(stdout, kernel_label(st, kb, sizeof kb));
            printf(", \"ms\": %.4f, \"gflops\": %.2f, \"flops\": %lld}", ms,
                   ms > 0 ? (double)st->flops / (ms * 1e6) : 0.0, (long long)st->flops);
        }
        printf("]");
        return;
    }
    printf("\nprofile (%s, mean of %d runs):\n", name, runs);
    printf("  %-34s %-18s %-44s %9s %8s %6s\n", "node", "op", "kernel", "ms", "GFLOP/s", "%");
    for (int s = 0; s < p->n_steps; s++) {
        const oc_step *st = &p->steps[s];
        double ms = 1e3 * profile[s] / runs;
        printf("  %-34.34s %-18.18s %-44.44s %9.3f %8.1f %5.1f%%\n", st->name, st->op, kernel_label(st, kb, sizeof kb),
               ms, ms > 0 && st->flops ? (double)st->flops / (ms * 1e6) : 0.0,
               total > 0 ? 100.0 * profile[s] / total : 0.0);
    }
    op_total *ops = calloc((size_t)p->n_steps + 1, sizeof *ops);
    int n_ops = 0;
    for (int s = 0; ops && s < p->n_steps; s++) {
        int k = 0;
        while (k < n_ops && strcmp(ops[k].op, p->steps[s].op))
            k++;
        if (k == n_ops)
            ops[n_ops++].op = p->steps[s].op;
        ops[k].s += profile[s];
        ops[k].flops += p->steps[s].flops;
        ops[k].count++;
    }
    for (int i = 1; i < n_ops; i++) /* by time, descending */
        for (int j = i; j > 0 && ops[j].s > ops[j - 1].s; j--) {
            op_total t = ops[j];
            ops[j] = ops[j - 1];
            ops[j - 1] = t;
        }
    printf("\nby op type:\n  %-20s %6s %9s %8s %6s\n", "op", "nodes", "ms", "GFLOP/s", "%");
    for (int i = 0; i < n_ops; i++) {
        double ms = 1e3 * ops[i].s / runs;
        printf("  %-20.20s %6d %9.3f %8.1f %5.1f%%\n", ops[i].op, ops[i].count, ms,
               ms > 0 && ops[i].flops ? (double)ops[i].flops / (ms * 1e6) : 0.0, total > 0 ? 100.0 * ops[i].s / total : 0.0);
    }
    free(ops);
}

/* Some run-time input has an unknown first dim (a dynamic batch). */
static int batch_unknown(const oc_graph *g)
{
    for (int i = 0; i < g->n_inputs; i++) {
        const oc_value *v = &g->values[g->inputs[i]];
        if (v->rank > 0 && v->dims[0] < 0)
            return 1;
    }
    return 0;
}

int oc_cmd_bench(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) /* a training step is timed by cmd_bench_train.c */
        if (!strcmp(argv[i], "--train"))
            return oc_cmd_bench_train(argc, argv);
    cli_model_args ma = {.batch = -1};
    oc_pass_opts popts; /* the passes of the default / fused variant (--no-fuse, --passes, --no-pass) */
    oc_pass_opts_default(&popts);
    int64_t threads = 0, runs = 20, warmup = 3;
    int profile = 0, json = 0, kernel_ref = 0;
    const char *compare = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int r = cli_model_arg("bench", &ma, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if ((r = cli_pass_arg("bench", &popts, NULL, argc, argv, &i)) < 0)
            return 2;
        if (r > 0)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value("bench", argc, argv, &i)) || cli_int("--threads", v, 0, 1024, &threads))
                return 2;
        } else if (!strcmp(a, "--runs")) {
            if (!(v = cli_value("bench", argc, argv, &i)) || cli_int("--runs", v, 1, 1000000, &runs))
                return 2;
        } else if (!strcmp(a, "--warmup")) {
            if (!(v = cli_value("bench", argc, argv, &i)) || cli_int("--warmup", v, 0, 1000000, &warmup))
                return 2;
        } else if (!strcmp(a, "--compare")) {
            if (!(compare = cli_value("bench", argc, argv, &i)))
                return 2;
        } else if (!strcmp(a, "--kernel")) {
            if (!(v = cli_value("bench", argc, argv, &i)))
                return 2;
            if (strcmp(v, "fast") && strcmp(v, "ref")) {
                fprintf(stderr, "onnxc bench: --kernel expects fast or ref, got '%s'\n", v);
                return 2;
            }
            kernel_ref = !strcmp(v, "ref");
        } else if (!strcmp(a, "--profile")) {
            profile = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            fprintf(stderr, "onnxc bench: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    /* variant names */
    variant vs[MAX_VARIANTS];
    int nv = 0;
    memset(vs, 0, sizeof vs);
    if (!compare) {
        strcpy(vs[nv++].name, "default");
    } else {
        const char *c = compare;
        while (*c) {
            size_t len = strcspn(c, ",");
            int known = (len == 5 && !strncmp(c, "fused", 5)) || (len == 7 && !strncmp(c, "unfused", 7)) ||
                        (len == 3 && !strncmp(c, "ref", 3));
            if (!known || nv == MAX_VARIANTS) {
                fprintf(stderr, "onnxc bench: --compare expects up to %d of fused, unfused, ref separated by commas, got '%s'\n",
                        MAX_VARIANTS, compare);
                return 2;
            }
            memcpy(vs[nv].name, c, len);
            vs[nv++].name[len] = 0;
            c += len;
            if (*c == ',')
                c++;
        }
    }
    int nthreads = oc_set_threads((int)threads);
    int rc = 1;
    oc_diag d;
    oc_diag_init(&d);
    oc_tensor *ins[64] = {0};
    int n_in = 0;
    double t0 = cli_now_ms();
    for (int k = 0; k < nv; k++) {
        vs[k].g = cli_load_model("bench", &ma);
        if (!vs[k].g)
            goto done;
        if (ma.batch < 0 && batch_unknown(vs[k].g)) { /* a dynamic batch without --batch: 1 */
            if (oc_graph_bind_dims(vs[k].g, 1, 0, NULL, &d) || oc_graph_infer_shapes(vs[k].g, &d)) {
                fprintf(stderr, "onnxc bench: error: %s\n", d.msg);
                goto done;
            }
        }
        /* unfused: no graph rewrite at all (every BatchNormalization,
         * activation and Add its own step), same kernels */
        oc_pass_opts vo = popts;
        if (!strcmp(vs[k].name, "unfused"))
            vo.no_fuse = 1;
        oc_pass_report rep = {0};
        int prc = cli_run_passes("bench", ma.path ? ma.path : ma.model, vs[k].g, &vo, &rep);
        int views = rep.views, slice = rep.batch_slice, c8 = rep.c8;
        oc_pass_report_free(&rep);
        if (prc)
            goto done;
        oc_plan_opts po = {.threads = nthreads, .kernel_ref = kernel_ref || !strcmp(vs[k].name, "ref"),
                           .views = views, .batch_slice = slice, .c8 = c8, .max_memory = ma.max_memory,
                           .release_constants = 1};
        if (!(vs[k].p = oc_plan_build(vs[k].g, &po, &d))) {
            fprintf(stderr, "onnxc bench: error: %s\n", d.msg);
            goto done;
        }
        oc_graph_free(vs[k].g); /* the plan owns copies of everything it needs */
        vs[k].g = NULL;
        vs[k].times = calloc((size_t)runs, sizeof(double));
        vs[k].profile = calloc((size_t)vs[k].p->n_steps + 1, sizeof(double));
        if (!vs[k].times || !vs[k].profile) {
            fprintf(stderr, "onnxc bench: out of memory\n");
            goto done;
        }
    }
    double load_ms = (cli_now_ms() - t0) / nv;
    if (vs[0].p->n_inputs > 64) {
        fprintf(stderr, "onnxc bench: models with more than 64 inputs are not supported\n");
        goto done;
    }
    n_in = vs[0].p->n_inputs;
    if (make_inputs(vs[0].p, ins, &d)) {
        fprintf(stderr, "onnxc bench: error: %s\n", d.msg);
        goto done;
    }
    for (int k = 0; k < nv; k++) {
        for (int i = 0; i < n_in; i++)
            if (oc_plan_set_input(vs[k].p, i, ins[i], &d)) {
                fprintf(stderr, "onnxc bench: error: %s\n", d.msg);
                goto done;
            }
    }
    int max_steps = 0;
    for (int k = 0; k < nv; k++)
        max_steps = vs[k].p->n_steps > max_steps ? vs[k].p->n_steps : max_steps;
    double *step_s = calloc((size_t)max_steps + 1, sizeof(double));
    if (!step_s)
        goto done;
    for (int64_t r = -warmup; r < runs; r++) {
        for (int k = 0; k < nv; k++) {
            double a = cli_now_ms();
            int e = profile && r >= 0 ? oc_plan_run_profiled(vs[k].p, step_s, &d) : oc_plan_run(vs[k].p, &d);
            double b = cli_now_ms();
            if (e) {
                fprintf(stderr, "onnxc bench: error: %s\n", d.msg);
                free(step_s);
                goto done;
            }
            if (r >= 0) {
                vs[k].times[r] = b - a;
                if (profile)
                    for (int s = 0; s < vs[k].p->n_steps; s++)
                        vs[k].profile[s] += step_s[s];
            }
        }
    }
    free(step_s);
    for (int k = 0; k < nv; k++) {
        qsort(vs[k].times, (size_t)runs, sizeof(double), cli_cmp_double);
        vs[k].min = vs[k].times[0];
        vs[k].median = runs % 2 ? vs[k].times[runs / 2] : 0.5 * (vs[k].times[runs / 2 - 1] + vs[k].times[runs / 2]);
    }
    const oc_tensor *x0 = n_in ? &vs[0].p->tensors[vs[0].p->inputs[0]] : NULL;
    int64_t batch = x0 && x0->rank > 0 ? x0->dims[0] : 1;
    const char *model = ma.path ? ma.path : ma.model;
    const char *isa = oc_isa_name(oc_cpu_isa());
    long rss = peak_rss_bytes();
    if (json) {
        printf("{\"model\": ");
        cli_json_string(stdout, model);
        printf(", \"batch\": %lld, \"threads\": %d, \"isa\": \"%s\", \"runs\": %lld, \"warmup\": %lld, \"load_ms\": %.3f, "
               "\"peak_rss_bytes\": %ld, \"variants\": [",
               (long long)batch, nthreads, isa, (long long)runs, (long long)warmup, load_ms, rss);
        for (int k = 0; k < nv; k++) {
            const oc_plan *p = vs[k].p;
            printf("%s{\"name\": \"%s\", \"median_ms\": %.4f, \"min_ms\": %.4f, \"images_per_s\": %.2f, "
                   "\"arena_bytes\": %zu, \"weight_bytes\": %zu, \"packed_bytes\": %zu, \"scratch_bytes\": %zu, \"steps\": %d",
                   k ? ", " : "", vs[k].name, vs[k].median, vs[k].min, 1e3 * (double)batch / vs[k].median, p->arena_bytes,
                   p->weight_bytes + p->prep_bytes, p->prep_bytes, p->scratch_bytes, p->n_steps);
            if (profile) /* inside the variant object: `, "layers": [...]` */
                cli_print_profile(p, vs[k].profile, vs[k].name, (int)runs, 1);
            printf("}");
        }
        printf("]");
        if (profile)
            cli_print_profile(vs[0].p, vs[0].profile, vs[0].name, (int)runs, 1);
        printf("}\n");
    } else {
        printf("model %s, batch %lld, %d thread%s, ISA %s, %lld runs after %lld warm-up\n", model, (long long)batch,
               nthreads, nthreads == 1 ? "" : "s", isa, (long long)runs, (long long)warmup);
        printf("load + passes + plan: %.1f ms per variant; peak RSS %.1f MB\n", load_ms, rss / 1048576.0);
        printf("  %-8s %10s %10s %10s %9s %10s %10s %6s\n", "variant", "median ms", "min ms", "images/s", "arena MB",
               "weights MB", "(packed)", "steps");
        for (int k = 0; k < nv; k++) {
            const oc_plan *p = vs[k].p;
            printf("  %-8s %10.3f %10.3f %10.1f %9.2f %10.2f %10.2f %6d\n", vs[k].name, vs[k].median, vs[k].min,
                   1e3 * (double)batch / vs[k].median, p->arena_bytes / 1048576.0,
                   (p->weight_bytes + p->prep_bytes) / 1048576.0, p->prep_bytes / 1048576.0, p->n_steps);
        }
        for (int k = 1; k < nv; k++)
            printf("%s / %s median: %.3f\n", vs[k].name, vs[0].name, vs[k].median / vs[0].median);
        for (int k = 0; profile && k < nv; k++)
            cli_print_profile(vs[k].p, vs[k].profile, vs[k].name, (int)runs, 0);
    }
    rc = 0;
done:
    for (int i = 0; i < n_in; i++)
        oc_tensor_free(ins[i]);
    for (int k = 0; k < nv; k++) {
        oc_plan_free(vs[k].p);
        oc_graph_free(vs[k].g);
        free(vs[k].times);
        free(vs[k].profile);
    }
    return rc;
}
