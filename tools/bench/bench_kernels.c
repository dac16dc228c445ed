/* bench_kernels.c: times the fast kernels against the paths they replaced,
 * on 1 and 2 threads (STYLE §13: every fast path keeps its measurement).
 *
 *   depthwise 3x3 s1 [1,144,56,56], s2 [1,96,112,112]: oc_conv_forward
 *     (im2col + sgemm per channel) vs oc_conv_depthwise_forward;
 *   MaxPool 3x3 s2 p1 [8,64,112,112]: oc_pool_forward (general) vs oc_pool2d_forward;
 *   Sigmoid [8,96,112,112]: the former kernel's loop (libm expf, one
 *     thread; reproduced here) vs the vmath kernel;
 *   Mul [8,96,112,112] same shape, and by a per-image, per-channel
 *     [8,96,1,1] (EfficientNet's squeeze-excite): the former loops (same
 *     shape: one plain loop; broadcast: the per-element odometer with a
 *     type switch per element, reproduced here) vs oc_binary_forward;
 *   BatchNormalization (inference) [8,64,56,56]: oc_batchnorm_ref vs oc_batchnorm_forward.
 * Each time is the best of several runs, in milliseconds.
 * Usage: bench_kernels [reps] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../runtime/kernels/conv_depthwise.h"
#include "../../runtime/kernels/elementwise.h"
#include "../../runtime/kernels/norm.h"
#include "../../runtime/kernels/pool.h"
#include "../../runtime/threads.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int reps = 5;

/* best time in ms of fn(a) over reps runs (after one warm-up) */
static double best_ms(oc_kernel_fn fn, const oc_kargs *a)
{
    double best = 1e30;
    fn(a);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        fn(a);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    return best * 1e3;
}

static void tinit(oc_tensor *t, int rank, const int64_t *dims)
{
    memset(t, 0, sizeof *t);
    t->dtype = OC_FLOAT;
    t->rank = rank;
    t->numel = 1;
    for (int i = 0; i < rank; i++)
        t->numel *= (t->dims[i] = dims[i]);
    t->data = malloc(sizeof(float) * (size_t)t->numel);
    unsigned st = 1u + (unsigned)t->numel;
    for (int64_t i = 0; i < t->numel; i++) {
        st = st * 1664525u + 1013904223u;
        ((float *)t->data)[i] = (float)((st >> 8) & 0xffff) / 8192.0f - 4.0f;
    }
}

static void report(const char *name, double old_ms, double t1, double t2)
{
    printf("%-44s %9.2f %9.2f %9.2f %7.1fx %7.1fx\n", name, old_ms, t1, t2, old_ms / t1, old_ms / t2);
}

/* new kernel on 1 and 2 threads */
static void run_new(oc_kernel_fn fn, oc_kargs *a, double *t1, double *t2)
{
    oc_set_threads(1);
    a->threads = 1;
    *t1 = best_ms(fn, a);
    oc_set_threads(2);
    a->threads = 2;
    *t2 = best_ms(fn, a);
}

static void bench_dw(const char *name, int64_t c, int64_t hw, int64_t s)
{
    oc_conv_params p = {.nsp = 2, .batch = 1, .cin = c, .cout = c, .group = c, .in = {hw, hw},
                        .out = {(hw + 2 - 3) / s + 1, (hw + 2 - 3) / s + 1}, .k = {3, 3}, .s = {s, s},
                        .dil = {1, 1}, .pb = {1, 1}};
    int64_t xd[4] = {1, c, hw, hw}, wd[4] = {c, 1, 3, 3}, bd[1] = {c}, yd[4] = {1, c, p.out[0], p.out[1]};
    oc_tensor x, w, b, y;
    tinit(&x, 4, xd);
    tinit(&w, 4, wd);
    tinit(&b, 1, bd);
    tinit(&y, 4, yd);
    const oc_tensor *in[3] = {&x, &w, &b};
    oc_tensor *out[1] = {&y};
    size_t sc = oc_conv_scratch(&p), ts = oc_conv_depthwise_tscratch(&p);
    void *scratch = malloc(sc), *tscr = malloc(2 * ts);
    oc_kargs old = {.p = &p, .n_in = 3, .n_out = 1, .in = in, .out = out, .scratch = scratch, .threads = 1};
    oc_kargs a = {.p = &p, .n_in = 3, .n_out = 1, .in = in, .out = out, .tscratch = tscr, .tscratch_stride = ts};
    oc_set_threads(1);
    double o = best_ms(oc_conv_forward, &old), t1, t2;
    run_new(oc_conv_depthwise_forward, &a, &t1, &t2);
    report(name, o, t1, t2);
    free(x.data), free(w.data), free(b.data), free(y.data), free(scratch), free(tscr);
}

static void bench_maxpool(void)
{
    oc_pool_params p = {.kind = OC_POOL_MAX, .dtype = OC_FLOAT, .planes = 8 * 64, .in = {1, 112, 112},
                        .out = {1, 56, 56}, .k = {1, 3, 3}, .s = {1, 2, 2}, .dil = {1, 1, 1}, .pb = {0, 1, 1},
                        .pe = {0, 1, 1}};
    int64_t xd[4] = {8, 64, 112, 112}, yd[4] = {8, 64, 56, 56};
    oc_tensor x, y;
    tinit(&x, 4, xd);
    tinit(&y, 4, yd);
    const oc_tensor *in[1] = {&x};
    oc_tensor *out[1] = {&y};
    size_t ts = oc_pool2d_tscratch(&p);
    void *tscr = malloc(2 * ts);
    oc_kargs old = {.p = &p, .n_in = 1, .n_out = 1, .in = in, .out = out, .threads = 1};
    oc_kargs a = {.p = &p, .n_in = 1, .n_out = 1, .in = in, .out = out, .tscratch = tscr, .tscratch_stride = ts};
    oc_set_threads(1);
    double o = best_ms(oc_pool_forward, &old), t1, t2;
    run_new(oc_pool2d_forward, &a, &t1, &t2);
    report("MaxPool 3x3 s2 p1 [8,64,112,112]", o, t1, t2);
    free(x.data), free(y.data), free(tscr);
}

/* The former Sigmoid kernel: one thread, libm expf per element. */
static int old_sigmoid(const oc_kargs *a)
{
    const float *x = a->in[0]->data;
    float *y = a->out[0]->data;
    for (int64_t i = 0; i < a->out[0]->numel; i++)
        y[i] = x[i] >= 0 ? 1.0f / (1.0f + expf(-x[i])) : expf(x[i]) / (1.0f + expf(x[i]));
    return 0;
}

static int old_mul_same(const oc_kargs *a)
{
    const float *x0 = a->in[0]->data, *x1 = a->in[1]->data;
    float *o = a->out[0]->data;
    for (int64_t i = 0; i < a->out[0]->numel; i++)
        o[i] = x0[i] * x1[i];
    return 0;
}

/* The former broadcasting loop: an odometer over the output, each
 * element loaded through a type switch and combined in double. */
static double old_load(const void *p, int dt, int64_t i)
{
    switch (dt) {
    case OC_FLOAT: return ((const float *)p)[i];
    case OC_DOUBLE: return ((const double *)p)[i];
    case OC_INT64: return (double)((const int64_t *)p)[i];
    default: return 0;
    }
}

static int old_mul_bcast(const oc_kargs *a)
{
    const oc_tensor *y = a->out[0];
    int64_t str[2][OC_MAX_RANK], idx[OC_MAX_RANK] = {0}, off[2] = {0};
    for (int k = 0; k < 2; k++)
        oc_bcast_strides(a->in[k], y->rank, y->dims, str[k]);
    for (int64_t i = 0; i < y->numel; i++) {
        double acc = old_load(a->in[0]->data, a->in[0]->dtype, off[0]);
        acc = acc * old_load(a->in[1]->data, a->in[1]->dtype, off[1]);
        ((float *)y->data)[i] = (float)acc;
        for (int d = y->rank - 1; d >= 0; d--) {
            idx[d]++;
            for (int k = 0; k < 2; k++)
                off[k] += str[k][d];
            if (idx[d] < y->dims[d])
                break;
            for (int k = 0; k < 2; k++)
                off[k] -= str[k][d] * idx[d];
            idx[d] = 0;
        }
    }
    return 0;
}

static void bench_elementwise(void)
{
    int64_t d[4] = {8, 96, 112, 112}, sd[4] = {8, 96, 1, 1};
    oc_tensor x, x2, s, y;
    tinit(&x, 4, d);
    tinit(&x2, 4, d);
    tinit(&s, 4, sd);
    tinit(&y, 4, d);
    oc_unary_params up = {0};
    const oc_tensor *in1[1] = {&x};
    oc_tensor *out[1] = {&y};
    oc_kargs ua = {.p = &up, .n_in = 1, .n_out = 1, .in = in1, .out = out, .threads = 1};
    oc_set_threads(1);
    double o = best_ms(old_sigmoid, &ua), t1, t2;
    run_new(oc_unary_kernel("Sigmoid"), &ua, &t1, &t2);
    report("Sigmoid [8,96,112,112]", o, t1, t2);

    oc_bcast_params bp = {.op = OC_BIN_MUL, .dtype = OC_FLOAT, .rank = 4, .dims = {8, 96, 112, 112}, .n_in = 2};
    const oc_tensor *in2[2] = {&x, &x2};
    oc_kargs ba = {.p = &bp, .n_in = 2, .n_out = 1, .in = in2, .out = out, .threads = 1};
    oc_set_threads(1);
    o = best_ms(old_mul_same, &ba);
    run_new(oc_binary_forward, &ba, &t1, &t2);
    report("Mul [8,96,112,112] same shape", o, t1, t2);

    const oc_tensor *in3[2] = {&x, &s};
    oc_kargs ca = {.p = &bp, .n_in = 2, .n_out = 1, .in = in3, .out = out, .threads = 1};
    oc_set_threads(1);
    o = best_ms(old_mul_bcast, &ca);
    run_new(oc_binary_forward, &ca, &t1, &t2);
    report("Mul [8,96,112,112] x [8,96,1,1]", o, t1, t2);
    free(x.data), free(x2.data), free(s.data), free(y.data);
}

static void bench_bn(void)
{
    oc_batchnorm_params p = {.epsilon = 1e-5f, .n = 8, .c = 64, .spatial = 56 * 56};
    int64_t d[4] = {8, 64, 56, 56}, cd[1] = {64};
    oc_tensor x, sc, b, m, v, y;
    tinit(&x, 4, d);
    tinit(&y, 4, d);
    tinit(&sc, 1, cd);
    tinit(&b, 1, cd);
    tinit(&m, 1, cd);
    tinit(&v, 1, cd);
    for (int i = 0; i < 64; i++)
        ((float *)v.data)[i] = fabsf(((float *)v.data)[i]) + 0.1f;
    const oc_tensor *in[5] = {&x, &sc, &b, &m, &v};
    oc_tensor *out[1] = {&y};
    oc_kargs a = {.p = &p, .n_in = 5, .n_out = 1, .in = in, .out = out, .threads = 1};
    oc_set_threads(1);
    double o = best_ms(oc_batchnorm_ref, &a), t1, t2;
    run_new(oc_batchnorm_forward, &a, &t1, &t2);
    report("BatchNormalization [8,64,56,56]", o, t1, t2);
    free(x.data), free(y.data), free(sc.data), free(b.data), free(m.data), free(v.data);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        reps = atoi(argv[1]) > 0 ? atoi(argv[1]) : reps;
    printf("%-44s %9s %9s %9s %8s %8s\n", "kernel (best of runs, ms)", "old", "new 1T", "new 2T", "x 1T", "x 2T");
    bench_dw("depthwise 3x3 s1 p1 [1,144,56,56]", 144, 56, 1);
    bench_dw("depthwise 3x3 s2 p1 [1,96,112,112]", 96, 112, 2);
    bench_maxpool();
    bench_elementwise();
    bench_bn();
    oc_threads_shutdown();
    return 0;
}
