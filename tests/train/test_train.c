/* test_train.c: the C side of tests/train/test_train.py. It runs onnxc's
 * optimizers, LR schedules and weight initializers on inputs the Python
 * script wrote and writes the results as .npy files; the script compares
 * them with torch.optim, torch.optim.lr_scheduler and torch.nn.init.
 *
 *   test_train optim DIR   DIR/params.npy [n], DIR/grads.npy [steps, n] and
 *                          DIR/optim.txt (one case a line) -> DIR/optim_<name>.npy
 *                          [steps, n]: the parameters after each step
 *   test_train sched DIR   DIR/sched.txt -> DIR/sched_<name>.npy [steps] (double)
 *   test_train unit        API checks that need no reference (argument errors,
 *                          no-decay range merging, small hand-computed cases)
 *   test_train init DIR    DIR/init.txt -> DIR/init_<name>.npy; also checks here
 *                          that the same seed gives identical bytes and another
 *                          seed different ones; DIR/rng.npy: raw generator output
 *
 * A case line is `name kind key=value ...`; the keys are the fields of
 * oc_optim_config / oc_schedule / oc_init (see parse_* below). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"
#include "io.h"
#include "optim.h"
#include "schedule.h"
#include "threads.h"

#define MAX_LINE 1024
#define MAX_RANGES 32

static int failures;

/* Splits a case line into name, kind and key=value pairs (in place). */
typedef struct kv_line {
    char *name, *kind;
    int n;
    char *key[32], *val[32];
} kv_line;

static int split_line(char *line, kv_line *kv)
{
    memset(kv, 0, sizeof(*kv));
    char *save = NULL;
    kv->name = strtok_r(line, " \t\r\n", &save);
    kv->kind = kv->name ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    if (!kv->name || !kv->kind || kv->name[0] == '#')
        return -1;
    char *tok;
    while ((tok = strtok_r(NULL, " \t\r\n", &save)) && kv->n < 32) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = 0;
        kv->key[kv->n] = tok;
        kv->val[kv->n] = eq + 1;
        kv->n++;
    }
    return 0;
}

/* "a,b,c" -> up to cap int64 values. */
static int parse_ints(const char *s, int64_t *out, int cap)
{
    int n = 0;
    while (*s && n < cap) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s)
            break;
        out[n++] = v;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

static FILE *open_cases(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f)
        fprintf(stderr, "cannot open %s\n", path);
    return f;
}

static int write_npy(const char *dir, const char *prefix, const char *name, int dtype, int rank, const int64_t *dims,
                     const void *data)
{
    oc_diag d;
    oc_diag_init(&d);
    oc_tensor *t = oc_tensor_new(dtype, rank, dims, &d);
    if (!t) {
        fprintf(stderr, "%s\n", d.msg);
        return -1;
    }
    memcpy(t->data, data, oc_tensor_nbytes(t));
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s.npy", dir, prefix, name);
    int rc = oc_npy_write(path, t, &d);
    if (rc)
        fprintf(stderr, "%s\n", d.msg);
    oc_tensor_free(t);
    return rc;
}

/* ---- optimizers ---- */

static int run_optim(const char *dir)
{
    oc_diag d;
    oc_diag_init(&d);
    char path[4096];
    snprintf(path, sizeof path, "%s/params.npy", dir);
    oc_tensor *p0 = oc_npy_read(path, &d);
    snprintf(path, sizeof path, "%s/grads.npy", dir);
    oc_tensor *gs = p0 ? oc_npy_read(path, &d) : NULL;
    if (!p0 || !gs || p0->dtype != OC_FLOAT || gs->dtype != OC_FLOAT || p0->rank != 1 || gs->rank != 2 ||
        gs->dims[1] != p0->numel) {
        fprintf(stderr, "bad params/grads: %s\n", d.msg);
        oc_tensor_free(p0);
        oc_tensor_free(gs);
        return 1;
    }
    size_t n = (size_t)p0->numel;
    int64_t steps = gs->dims[0];
    float *p = malloc(sizeof(float) * n), *g = malloc(sizeof(float) * n);
    float *hist = malloc(sizeof(float) * n * (size_t)steps);
    FILE *f = open_cases(dir, "optim.txt");
    if (!p || !g || !hist || !f) {
        free(p), free(g), free(hist);
        if (f)
            fclose(f);
        oc_tensor_free(p0);
        oc_tensor_free(gs);
        return 1;
    }
    char line[MAX_LINE];
    int n_cases = 0;
    while (fgets(line, sizeof line, f)) {
        kv_line kv;
        if (split_line(line, &kv))
            continue;
        oc_optim_config c;
        oc_optim_kind kind;
        if (oc_optim_kind_parse(kv.kind, &kind)) {
            printf("FAIL %s: unknown optimizer %s\n", kv.name, kv.kind);
            failures++;
            continue;
        }
        oc_optim_config_default(&c, kind);
        double lr = 0.01, lr_gamma = 1.0;
        int64_t ranges[2 * MAX_RANGES];
        int n_ranges = 0;
        for (int i = 0; i < kv.n; i++) {
            const char *k = kv.key[i];
            double v = strtod(kv.val[i], NULL);
            if (!strcmp(k, "lr"))
                lr = v;
            else if (!strcmp(k, "lr_gamma"))
                lr_gamma = v;
            else if (!strcmp(k, "weight_decay"))
                c.weight_decay = v;
            else if (!strcmp(k, "momentum"))
                c.momentum = v;
            else if (!strcmp(k, "dampening"))
                c.dampening = v;
            else if (!strcmp(k, "nesterov"))
                c.nesterov = (int)v;
            else if (!strcmp(k, "beta1"))
                c.beta1 = v;
            else if (!strcmp(k, "beta2"))
                c.beta2 = v;
            else if (!strcmp(k, "eps"))
                c.eps = v;
            else if (!strcmp(k, "amsgrad"))
                c.amsgrad = (int)v;
            else if (!strcmp(k, "alpha"))
                c.alpha = v;
            else if (!strcmp(k, "centered"))
                c.centered = (int)v;
            else if (!strcmp(k, "lr_decay"))
                c.lr_decay = v;
            else if (!strcmp(k, "initial_accumulator_value"))
                c.initial_accumulator_value = v;
            else if (!strcmp(k, "max_grad_norm"))
                c.max_grad_norm = v;
            else if (!strcmp(k, "norm_type"))
                c.norm_type = !strcmp(kv.val[i], "inf") ? INFINITY : v;
            else if (!strcmp(k, "no_decay"))
                n_ranges = parse_ints(kv.val[i], ranges, 2 * MAX_RANGES) / 2;
            else
                printf("WARN %s: unknown key %s\n", kv.name, k);
        }
        oc_optim o;
        if (oc_optim_init(&o, &c, n, &d)) {
            printf("FAIL %s: %s\n", kv.name, d.msg);
            failures++;
            oc_diag_init(&d);
            continue;
        }
        for (int r = 0; r < n_ranges; r++)
            if (oc_optim_exclude_decay(&o, (size_t)ranges[2 * r], (size_t)ranges[2 * r + 1], &d)) {
                printf("FAIL %s: %s\n", kv.name, d.msg);
                failures++;
                oc_diag_init(&d);
            }
        memcpy(p, p0->data, sizeof(float) * n);
        double lr_t = lr;
        for (int64_t s = 0; s < steps; s++) {
            /* The gradient buffer is consumed (clipping scales it), as .grad is in PyTorch. */
            memcpy(g, (const float *)gs->data + (size_t)s * n, sizeof(float) * n);
            oc_optim_step(&o, p, g, lr_t);
            memcpy(hist + (size_t)s * n, p, sizeof(float) * n);
            lr_t *= lr_gamma;
        }
        oc_optim_free(&o);
        int64_t dims[2] = {steps, (int64_t)n};
        if (write_npy(dir, "optim_", kv.name, OC_FLOAT, 2, dims, hist))
            failures++;
        n_cases++;
    }
    fclose(f);
    printf("optim: %d cases run\n", n_cases);
    free(p), free(g), free(hist);
    oc_tensor_free(p0);
    oc_tensor_free(gs);
    return failures ? 1 : 0;
}

/* ---- schedules ---- */

static int run_sched(const char *dir)
{
    FILE *f = open_cases(dir, "sched.txt");
    if (!f)
        return 1;
    oc_diag d;
    oc_diag_init(&d);
    char line[MAX_LINE];
    int n_cases = 0;
    while (fgets(line, sizeof line, f)) {
        kv_line kv;
        if (split_line(line, &kv))
            continue;
        oc_lr_kind kind;
        if (oc_lr_kind_parse(kv.kind, &kind)) {
            printf("FAIL %s: unknown schedule %s\n", kv.name, kv.kind);
            failures++;
            continue;
        }
        oc_schedule s;
        oc_schedule_default(&s, kind, 0.1);
        int64_t steps = 10;
        for (int i = 0; i < kv.n; i++) {
            const char *k = kv.key[i];
            double v = strtod(kv.val[i], NULL);
            if (!strcmp(k, "base_lr"))
                s.base_lr = v;
            else if (!strcmp(k, "gamma"))
                s.gamma = v;
            else if (!strcmp(k, "step_size"))
                s.step_size = (int64_t)v;
            else if (!strcmp(k, "milestones"))
                s.n_milestones = parse_ints(kv.val[i], s.milestones, OC_LR_MAX_MILESTONES);
            else if (!strcmp(k, "t_max"))
                s.t_max = (int64_t)v;
            else if (!strcmp(k, "eta_min"))
                s.eta_min = v;
            else if (!strcmp(k, "power"))
                s.power = v;
            else if (!strcmp(k, "warmup"))
                s.warmup_steps = (int64_t)v;
            else if (!strcmp(k, "warmup_start"))
                s.warmup_start_factor = v;
            else if (!strcmp(k, "steps"))
                steps = (int64_t)v;
            else
                printf("WARN %s: unknown key %s\n", kv.name, k);
        }
        if (oc_schedule_check(&s, &d) || steps <= 0 || steps > 100000) {
            printf("FAIL %s: %s\n", kv.name, d.failed ? d.msg : "bad steps");
            failures++;
            oc_diag_init(&d);
            continue;
        }
        double *lrs = malloc(sizeof(double) * (size_t)steps);
        if (!lrs)
            return 1;
        for (int64_t t = 0; t < steps; t++)
            lrs[t] = oc_lr_at(&s, t);
        if (write_npy(dir, "sched_", kv.name, OC_DOUBLE, 1, &steps, lrs))
            failures++;
        free(lrs);
        n_cases++;
    }
    fclose(f);
    printf("sched: %d cases run\n", n_cases);
    return failures ? 1 : 0;
}

/* ---- initializers ---- */

static int parse_nl(const char *s, oc_nonlinearity *nl)
{
    static const char *names[OC_NL_COUNT] = {"linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"};
    for (int i = 0; i < OC_NL_COUNT; i++)
        if (!strcmp(s, names[i])) {
            *nl = (oc_nonlinearity)i;
            return 0;
        }
    return -1;
}

static int parse_init_kind(const char *s, oc_init_kind *k)
{
    static const char *names[OC_INIT_KIND_COUNT] = {"zeros",          "constant",       "uniform",
                                                    "normal",         "xavier_uniform", "xavier_normal",
                                                    "kaiming_uniform", "kaiming_normal"};
    for (int i = 0; i < OC_INIT_KIND_COUNT; i++)
        if (!strcmp(s, names[i])) {
            *k = (oc_init_kind)i;
            return 0;
        }
    return -1;
}

static int run_init(const char *dir)
{
    FILE *f = open_cases(dir, "init.txt");
    if (!f)
        return 1;
    oc_diag d;
    oc_diag_init(&d);

    /* Raw generator output for the script's independent xoshiro256** model. */
    {
        uint64_t raw[3][8];
        const uint64_t seeds[3] = {0, 42, 0xDEADBEEFCAFEF00Dull};
        for (int s = 0; s < 3; s++) {
            oc_rng r;
            oc_rng_seed(&r, seeds[s]);
            for (int i = 0; i < 8; i++)
                raw[s][i] = oc_rng_next(&r);
        }
        int64_t dims[2] = {3, 8};
        if (write_npy(dir, "", "rng", OC_UINT64, 2, dims, raw))
            failures++;
    }

    char line[MAX_LINE];
    int n_cases = 0;
    while (fgets(line, sizeof line, f)) {
        kv_line kv;
        if (split_line(line, &kv))
            continue;
        oc_init c;
        oc_init_kind kind;
        if (parse_init_kind(kv.kind, &kind)) {
            printf("FAIL %s: unknown initializer %s\n", kv.name, kv.kind);
            failures++;
            continue;
        }
        oc_init_default(&c, kind);
        int64_t dims[OC_MAX_RANK];
        int rank = 0;
        uint64_t seed = 0;
        for (int i = 0; i < kv.n; i++) {
            const char *k = kv.key[i];
            double v = strtod(kv.val[i], NULL);
            if (!strcmp(k, "dims"))
                rank = parse_ints(kv.val[i], dims, OC_MAX_RANK);
            else if (!strcmp(k, "seed"))
                seed = strtoull(kv.val[i], NULL, 10);
            else if (!strcmp(k, "a"))
                c.a = v;
            else if (!strcmp(k, "b"))
                c.b = v;
            else if (!strcmp(k, "gain"))
                c.gain = v;
            else if (!strcmp(k, "slope"))
                c.negative_slope = v;
            else if (!strcmp(k, "mode"))
                c.mode = !strcmp(kv.val[i], "fan_out") ? OC_FAN_OUT : OC_FAN_IN;
            else if (!strcmp(k, "nl")) {
                if (parse_nl(kv.val[i], &c.nonlinearity))
                    printf("WARN %s: unknown nonlinearity %s\n", kv.name, kv.val[i]);
            } else
                printf("WARN %s: unknown key %s\n", kv.name, k);
        }
        int64_t n = 0;
        if (oc_shape_numel(dims, rank, &n, &d) || n <= 0) {
            printf("FAIL %s: bad dims\n", kv.name);
            failures++;
            continue;
        }
        float *w1 = malloc(sizeof(float) * (size_t)n), *w2 = malloc(sizeof(float) * (size_t)n);
        float *w3 = malloc(sizeof(float) * (size_t)n);
        if (!w1 || !w2 || !w3)
            return 1;
        oc_rng r1, r2, r3;
        oc_rng_seed(&r1, seed);
        oc_rng_seed(&r2, seed);
        oc_rng_seed(&r3, seed + 1);
        if (oc_init_fill(w1, dims, rank, &c, &r1, &d) || oc_init_fill(w2, dims, rank, &c, &r2, &d) ||
            oc_init_fill(w3, dims, rank, &c, &r3, &d)) {
            printf("FAIL %s: %s\n", kv.name, d.msg);
            failures++;
            oc_diag_init(&d);
        } else {
            /* Determinism: same seed -> same bytes; seed + 1 -> different
             * values (all but CONSTANT/ZEROS draw from the generator). */
            int same = memcmp(w1, w2, sizeof(float) * (size_t)n) == 0;
            int64_t differ = 0;
            for (int64_t i = 0; i < n; i++)
                differ += w1[i] != w3[i];
            int random = kind != OC_INIT_ZEROS && kind != OC_INIT_CONSTANT;
            int ok = same && (!random || differ > n * 9 / 10);
            printf("%s %s: seed %llu twice -> %s bytes; seed %llu -> %lld of %lld values differ\n", ok ? "ok  " : "FAIL",
                   kv.name, (unsigned long long)seed, same ? "identical" : "DIFFERENT", (unsigned long long)seed + 1,
                   (long long)differ, (long long)n);
            if (!ok)
                failures++;
            if (write_npy(dir, "init_", kv.name, OC_FLOAT, rank, dims, w1))
                failures++;
        }
        free(w1), free(w2), free(w3);
        n_cases++;
    }
    fclose(f);
    printf("init: %d cases run\n", n_cases);
    return failures ? 1 : 0;
}

/* ---- API checks that need no reference: argument checking, range merging,
 * small hand-computed cases ---- */

#define EXPECT(cond, ...)                                                                                      \
    do {                                                                                                       \
        n_checks++;                                                                                            \
        if (!(cond)) {                                                                                         \
            failures++;                                                                                        \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                             \
            printf(__VA_ARGS__);                                                                               \
            printf("\n");                                                                                      \
        }                                                                                                      \
    } while (0)

static int run_unit(void)
{
    int n_checks = 0;
    oc_diag d;
    oc_optim o;
    oc_optim_config c;

    /* Configuration errors carry a message and leave nothing allocated. */
    oc_optim_config_default(&c, OC_OPTIM_SGD);
    c.nesterov = 1;
    oc_diag_init(&d);
    EXPECT(oc_optim_init(&o, &c, 10, &d) == -1 && strstr(d.msg, "nesterov"), "msg '%s'", d.msg);
    oc_optim_config_default(&c, OC_OPTIM_ADAM);
    c.beta1 = 1.0;
    oc_diag_init(&d);
    EXPECT(oc_optim_init(&o, &c, 10, &d) == -1 && strstr(d.msg, "betas"), "msg '%s'", d.msg);
    oc_optim_config_default(&c, OC_OPTIM_RMSPROP);
    c.weight_decay = -1;
    oc_diag_init(&d);
    EXPECT(oc_optim_init(&o, &c, 10, &d) == -1 && strstr(d.msg, "weight_decay"), "msg '%s'", d.msg);

    /* Kind names round-trip. */
    for (int k = 0; k < OC_OPTIM_KIND_COUNT; k++) {
        oc_optim_kind back;
        EXPECT(oc_optim_kind_parse(oc_optim_kind_name((oc_optim_kind)k), &back) == 0 && back == (oc_optim_kind)k,
               "kind %d", k);
    }
    oc_optim_kind kk;
    EXPECT(oc_optim_kind_parse("AdamW", &kk) == 0 && kk == OC_OPTIM_ADAMW, "AdamW");
    EXPECT(oc_optim_kind_parse("adamx", &kk) == -1, "adamx parsed");

    /* No-decay ranges are sorted and merged; out-of-range ones refused. */
    oc_optim_config_default(&c, OC_OPTIM_SGD);
    c.weight_decay = 0.5;
    oc_diag_init(&d);
    EXPECT(oc_optim_init(&o, &c, 30, &d) == 0, "%s", d.msg);
    oc_optim_exclude_decay(&o, 10, 5, &d);
    oc_optim_exclude_decay(&o, 0, 3, &d);
    oc_optim_exclude_decay(&o, 12, 10, &d);
    oc_optim_exclude_decay(&o, 3, 2, &d);
    EXPECT(o.n_no_decay == 2 && o.no_decay[0].offset == 0 && o.no_decay[0].count == 5 && o.no_decay[1].offset == 10 &&
               o.no_decay[1].count == 12,
           "%d ranges: [%zu,+%zu) [%zu,+%zu)", o.n_no_decay, o.no_decay[0].offset, o.no_decay[0].count,
           o.no_decay[1].offset, o.no_decay[1].count);
    EXPECT(oc_optim_exclude_decay(&o, 25, 6, &d) == -1 && strstr(d.msg, "outside"), "msg '%s'", d.msg);
    /* lr 1, wd 0.5, zero gradient: p -> p - 0.5 p where decayed, unchanged where excluded. */
    float p[30], g[30];
    for (int i = 0; i < 30; i++)
        p[i] = (float)(i + 1), g[i] = 0;
    oc_optim_step(&o, p, g, 1.0);
    int bad = 0;
    for (int i = 0; i < 30; i++) {
        int excluded = i < 5 || (i >= 10 && i < 22);
        bad += p[i] != (excluded ? (float)(i + 1) : 0.5f * (float)(i + 1));
    }
    EXPECT(bad == 0, "%d elements decayed wrongly", bad);
    oc_optim_free(&o);

    /* Threads: each rule is elementwise, so an update split over 2
     * threads (spans long enough to be split, one with weight decay cut
     * by an excluded range) gives the serial update's bits, for every
     * kind, over three steps. */
    oc_set_threads(2);
    for (int kind = 0; kind < OC_OPTIM_KIND_COUNT; kind++) {
        enum { NT = 300007 };
        float *pt[2], *gt = malloc(sizeof(float) * NT);
        oc_optim ot[2];
        oc_optim_config_default(&c, (oc_optim_kind)kind);
        c.weight_decay = 0.01;
        c.momentum = kind == OC_OPTIM_SGD || kind == OC_OPTIM_RMSPROP ? 0.9 : 0;
        for (int k = 0; k < 2; k++) {
            pt[k] = malloc(sizeof(float) * NT);
            EXPECT(oc_optim_init(&ot[k], &c, NT, &d) == 0, "%s", d.msg);
            oc_optim_exclude_decay(&ot[k], 100003, 7, &d);
            ot[k].threads = k ? 2 : 1;
            for (int i = 0; i < NT; i++)
                pt[k][i] = (float)sin(0.001 * i);
        }
        for (int step = 0; step < 3; step++) {
            for (int i = 0; i < NT; i++)
                gt[i] = (float)cos(0.0007 * i + step);
            for (int k = 0; k < 2; k++)
                oc_optim_step(&ot[k], pt[k], gt, 0.01);
        }
        int same = !memcmp(pt[0], pt[1], sizeof(float) * NT);
        for (int st = 0; st < ot[0].n_state; st++)
            same &= !memcmp(ot[0].state[st], ot[1].state[st], sizeof(float) * NT);
        EXPECT(same && pt[0][5] != (float)sin(0.005), "%s: 2 threads differ from 1 (or nothing moved)",
               oc_optim_kind_name((oc_optim_kind)kind));
        for (int k = 0; k < 2; k++) {
            oc_optim_free(&ot[k]);
            free(pt[k]);
        }
        free(gt);
    }
    oc_set_threads(1);

    /* Clipping: ||(3, 4)|| = 5 -> scaled by 1 / (5 + 1e-6); below max_norm untouched. */
    float cg[2] = {3, 4};
    double total = oc_clip_grad_norm(cg, 2, 1.0, 2.0);
    EXPECT(total == 5.0 && fabsf(cg[0] - 0.6f) < 1e-6f && fabsf(cg[1] - 0.8f) < 1e-6f, "total %g -> (%g, %g)", total,
           cg[0], cg[1]);
    float cg2[2] = {3, 4};
    oc_clip_grad_norm(cg2, 2, 10.0, INFINITY);
    EXPECT(cg2[0] == 3 && cg2[1] == 4, "(%g, %g) changed under the limit", cg2[0], cg2[1]);

    /* Adagrad's reset restores the initial accumulator; n = 0 is a no-op. */
    oc_optim_config_default(&c, OC_OPTIM_ADAGRAD);
    c.initial_accumulator_value = 0.25;
    EXPECT(oc_optim_init(&o, &c, 4, &d) == 0, "%s", d.msg);
    float p4[4] = {1, 2, 3, 4}, g4[4] = {1, 1, 1, 1};
    oc_optim_step(&o, p4, g4, 0.1);
    EXPECT(o.t == 1 && o.state[0][0] == 1.25f, "t %lld sum %g", (long long)o.t, o.state[0][0]);
    oc_optim_reset(&o);
    EXPECT(o.t == 0 && o.state[0][3] == 0.25f, "after reset t %lld sum %g", (long long)o.t, o.state[0][3]);
    oc_optim_free(&o);
    oc_optim_config_default(&c, OC_OPTIM_ADAM);
    EXPECT(oc_optim_init(&o, &c, 0, &d) == 0 && o.block == NULL, "n = 0");
    oc_optim_step(&o, NULL, NULL, 1e-3);
    oc_optim_free(&o);

    /* Schedules: argument checks, negative steps, warmup start. */
    oc_schedule s;
    oc_schedule_default(&s, OC_LR_STEP, 0.1);
    s.step_size = 0;
    oc_diag_init(&d);
    EXPECT(oc_schedule_check(&s, &d) == -1 && strstr(d.msg, "step_size"), "msg '%s'", d.msg);
    oc_schedule_default(&s, OC_LR_MULTISTEP, 0.1);
    s.n_milestones = 2;
    s.milestones[0] = 5;
    s.milestones[1] = 5;
    oc_diag_init(&d);
    EXPECT(oc_schedule_check(&s, &d) == -1 && strstr(d.msg, "increase"), "msg '%s'", d.msg);
    oc_schedule_default(&s, OC_LR_COSINE, 0.1);
    s.t_max = 10;
    s.warmup_steps = 4;
    s.warmup_start_factor = 0;
    oc_diag_init(&d);
    EXPECT(oc_schedule_check(&s, &d) == 0, "%s", d.msg);
    EXPECT(oc_lr_at(&s, -3) == 0 && oc_lr_at(&s, 2) == 0.05 && oc_lr_at(&s, 4) == 0.1, "%g %g %g", oc_lr_at(&s, -3),
           oc_lr_at(&s, 2), oc_lr_at(&s, 4));
    oc_lr_kind lk;
    EXPECT(oc_lr_kind_parse("exp", &lk) == 0 && lk == OC_LR_EXPONENTIAL, "exp");

    /* Init: fans need >= 2 dims; torch's fan rule on a conv weight. */
    int64_t fi, fo, wdims[4] = {64, 3, 7, 5}, bdims[1] = {64};
    EXPECT(oc_init_fans(wdims, 4, &fi, &fo, &d) == 0 && fi == 3 * 35 && fo == 64 * 35, "fans %lld %lld",
           (long long)fi, (long long)fo);
    oc_init ic;
    oc_init_default(&ic, OC_INIT_KAIMING_NORMAL);
    float bias[64];
    oc_rng r;
    oc_rng_seed(&r, 1);
    oc_diag_init(&d);
    EXPECT(oc_init_fill(bias, bdims, 1, &ic, &r, &d) == -1 && strstr(d.msg, "fan"), "msg '%s'", d.msg);
    EXPECT(fabs(oc_init_gain(OC_NL_LEAKY_RELU, sqrt(5.0)) - sqrt(1.0 / 3.0)) < 1e-15, "leaky gain");
    /* Streams: same (seed, stream) repeats, another stream does not. */
    oc_rng a, b2, c2;
    oc_rng_seed_stream(&a, 7, 1);
    oc_rng_seed_stream(&b2, 7, 1);
    oc_rng_seed_stream(&c2, 7, 2);
    uint64_t xa = oc_rng_next(&a), xb = oc_rng_next(&b2), xc = oc_rng_next(&c2);
    EXPECT(xa == xb && xa != xc, "streams %llx %llx %llx", (unsigned long long)xa, (unsigned long long)xb,
           (unsigned long long)xc);
    /* Uniform doubles stay in [0, 1); an odd-length normal fill is deterministic. */
    double lo = 1, hi = 0;
    for (int i = 0; i < 100000; i++) {
        double u = oc_rng_uniform(&r);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    EXPECT(lo >= 0 && hi < 1, "uniform range [%g, %g]", lo, hi);
    float n1[7], n2[7];
    oc_rng_seed(&a, 99);
    oc_rng_seed(&b2, 99);
    oc_rng_fill_normal(&a, n1, 7, 0.0, 1.0);
    oc_rng_fill_normal(&b2, n2, 7, 0.0, 1.0);
    EXPECT(memcmp(n1, n2, sizeof n1) == 0 && oc_rng_next(&a) == oc_rng_next(&b2), "odd normal fill");

    printf("unit: %d checks, %d failed\n", n_checks, failures);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "unit"))
        return run_unit();
    if (argc != 3) {
        fprintf(stderr, "usage: test_train unit | optim|sched|init DIR\n");
        return 2;
    }
    if (!strcmp(argv[1], "optim"))
        return run_optim(argv[2]);
    if (!strcmp(argv[1], "sched"))
        return run_sched(argv[2]);
    if (!strcmp(argv[1], "init"))
        return run_init(argv[2]);
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
}
