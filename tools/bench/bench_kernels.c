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
 *   BatchNormalization (inference) [8,64,56,56]: oc_batchnorm_ref vs oc_batchnorm_forward;
 *   3x3 stride-1 pad-1 convs of ResNet-18/50 and VGG (batch 1 and 8, one
 *     thread, fused residual + Relu): oc_conv_forward (im2col / implicit
 *     im2col + SGEMM, packed W) vs Winograd F(2x2, 3x3) and F(4x4, 3x3),
 *     the three timed in turn within each repetition (so load bursts hit
 *     all of them), in thread CPU time; `bench_kernels [reps] conv` runs
 *     only this part;
 *   strided and stem convs (ResNet, MobileNet) on the implicit im2col path:
 *     B gathered straight from X vs from the staged copy (conv.c
 *     conv_stage), alternating; `bench_kernels [reps] strided` runs only this;
 *   stem convs (3 input channels; fused Clip or Relu): oc_conv_forward
 *     (im2col + SGEMM, packed W) vs oc_conv_direct_forward, alternating
 *     within each repetition, on 1 and 2 threads (wall time);
 *     `bench_kernels [reps] stem` runs only this.
 * Each time is the best of several runs, in milliseconds.
 * Usage: bench_kernels [reps] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../runtime/kernels/conv_depthwise.h"
#include "../../runtime/kernels/conv_direct.h"
#include "../../runtime/kernels/conv_winograd.h"
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

/* CPU time of the calling thread: the conv comparison runs on one thread,
 * and on a shared machine this leaves out the time other processes hold
 * the core (wall time there is mostly their load). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* best time in ms of fn(a) over reps runs (after one warm-up); a kernel
 * that fails (missing scratch, say) ends the program instead of being
 * timed at the microseconds it takes to return its error */
static double best_ms(oc_kernel_fn fn, const oc_kargs *a)
{
    double best = 1e30;
    oc_diag d;
    oc_diag_init(&d);
    oc_kargs k = *a;
    if (!k.d)
        k.d = &d;
    if (fn(&k)) {
        fprintf(stderr, "bench_kernels: a kernel failed: %s\n", k.d->msg);
        exit(1);
    }
    /* and warm up for 100 ms: right after the pool (re)started, a 0.1 ms
     * depthwise kernel took 0.6-1 ms per call on 2 threads (VM, Zen 5) for
     * the first tens of ms, and 5 timed runs after a 20 ms warm-up still
     * read 0.57 ms */
    for (double w0 = now(); now() - w0 < 0.1;)
        fn(&k);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        fn(&k);
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
    /* old: the im2col + SGEMM path depthwise convs took before their direct kernel */
    size_t sc = oc_conv_scratch(&p), ts = oc_conv_depthwise_tscratch(&p), ots = oc_conv_thread_scratch(&p);
    void *scratch = malloc(sc), *tscr = malloc(2 * ts), *otscr = malloc(ots);
    oc_kargs old = {.p = &p, .n_in = 3, .n_out = 1, .in = in, .out = out, .scratch = scratch, .threads = 1,
                    .tscratch = otscr, .tscratch_stride = ots};
    oc_kargs a = {.p = &p, .n_in = 3, .n_out = 1, .in = in, .out = out, .tscratch = tscr, .tscratch_stride = ts};
    oc_set_threads(1);
    double o = best_ms(oc_conv_forward, &old), t1, t2;
    run_new(oc_conv_depthwise_forward, &a, &t1, &t2);
    report(name, o, t1, t2);
    free(x.data), free(w.data), free(b.data), free(y.data), free(scratch), free(tscr), free(otscr);
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
    /* its gradient: dX from dY and X; old = the general (reference) loop */
    oc_tensor dx;
    tinit(&dx, 4, xd);
    const oc_tensor *gin[2] = {&y, &x};
    oc_tensor *gout[1] = {&dx};
    oc_kargs gold = {.p = &p, .n_in = 2, .n_out = 1, .in = gin, .out = gout, .threads = 1};
    oc_kargs ga = {.p = &p, .n_in = 2, .n_out = 1, .in = gin, .out = gout};
    o = best_ms(oc_pool_backward_ref, &gold);
    run_new(oc_pool_backward, &ga, &t1, &t2);
    report("MaxPoolGrad 3x3 s2 p1 [8,64,112,112]", o, t1, t2);
    free(x.data), free(y.data), free(dx.data), free(tscr);
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


/* 3x3 s1 p1 conv [n, c, hw, hw] -> [n, m, hw, hw] with residual + Relu:
 * im2col+gemm vs F(2x2) vs F(4x4), one thread, interleaved repetitions. */
static void bench_conv3x3(const char *name, int64_t n, int64_t c, int64_t m, int64_t hw)
{
    oc_conv_params p = {.nsp = 2, .batch = n, .cin = c, .cout = m, .group = 1, .in = {hw, hw}, .out = {hw, hw},
                        .k = {3, 3}, .s = {1, 1}, .dil = {1, 1}, .pb = {1, 1}};
    p.ep.act = OC_ACT_RELU;
    p.ep.has_residual = 1;
    int64_t xd[4] = {n, c, hw, hw}, wd[4] = {m, c, 3, 3}, bd[1] = {m}, yd[4] = {n, m, hw, hw};
    oc_tensor x, w, b, y, r;
    tinit(&x, 4, xd), tinit(&w, 4, wd), tinit(&b, 1, bd), tinit(&y, 4, yd), tinit(&r, 4, yd);
    const oc_tensor *in[4] = {&x, &w, &b, &r};
    oc_tensor *out[1] = {&y};
    oc_kargs a[3];
    void *bufs[3][3] = {{0}};
    oc_kernel_fn fns[3] = {oc_conv_forward, oc_conv_winograd_forward, oc_conv_winograd4_forward};
    for (int v = 0; v < 3; v++) {
        a[v] = (oc_kargs){.p = &p, .n_in = 4, .n_out = 1, .in = in, .out = out, .threads = 1};
        size_t ts = v == 0 ? oc_conv_thread_scratch(&p) : oc_conv_winograd_tscratch(&p, 2 * v);
        size_t pb = v == 0 ? oc_conv_prep_bytes(&a[v]) : v == 1 ? oc_conv_winograd_prep_bytes(&a[v])
                                                                 : oc_conv_winograd4_prep_bytes(&a[v]);
        bufs[v][0] = aligned_alloc(64, (ts + 63) & ~(size_t)63);
        bufs[v][1] = aligned_alloc(64, (pb + 63) & ~(size_t)63);
        a[v].tscratch = bufs[v][0];
        a[v].tscratch_stride = ts;
        if (v == 0) {
            oc_conv_prep(&a[v], bufs[v][1]);
            size_t sc = oc_conv_scratch(&p);
            if (sc <= OC_CONV_SHARED_COL_MAX)
                a[v].scratch = bufs[v][2] = aligned_alloc(64, (sc + 63) & ~(size_t)63);
        } else if (v == 1) {
            oc_conv_winograd_prep(&a[v], bufs[v][1]);
        } else {
            oc_conv_winograd4_prep(&a[v], bufs[v][1]);
        }
        a[v].prep = bufs[v][1];
    }
    oc_set_threads(1);
    double best[3] = {1e30, 1e30, 1e30};
    for (int v = 0; v < 3; v++)
        fns[v](&a[v]);
    for (int rep = 0; rep < reps; rep++)
        for (int v = 0; v < 3; v++) {
            double t0 = cpu_now();
            fns[v](&a[v]);
            double t = cpu_now() - t0;
            best[v] = t < best[v] ? t : best[v];
        }
    double gf = 2.0 * (double)(n * m * hw * hw) * (double)(c * 9) * 1e-9;
    printf("%-34s %8.3f %8.3f %8.3f %6.2fx %6.2fx %6.0f\n", name, best[0] * 1e3, best[1] * 1e3, best[2] * 1e3,
           best[0] / best[1], best[0] / best[2], gf / best[0]);
    for (int v = 0; v < 3; v++)
        free(bufs[v][0]), free(bufs[v][1]), free(bufs[v][2]);
    free(x.data), free(w.data), free(b.data), free(y.data), free(r.data);
}

static void bench_convs(void)
{
    printf("\n%-34s %8s %8s %8s %7s %7s %6s\n", "3x3 s1 conv, 1 thread (best, ms)", "im2col", "F(2x2)", "F(4x4)",
           "x F2", "x F4", "GF/s");
    static const struct {
        const char *name;
        int64_t c, m, hw;
    } layers[] = {
        {"resnet layer1 64->64 56x56", 64, 64, 56},     {"resnet layer2 128->128 28x28", 128, 128, 28},
        {"resnet layer3 256->256 14x14", 256, 256, 14}, {"resnet layer4 512->512 7x7", 512, 512, 7},
        {"vgg 64->128 112x112", 64, 128, 112},          {"vgg 128->256 56x56", 128, 256, 56},
        {"vgg 256->256 56x56", 256, 256, 56},           {"vgg 256->512 28x28", 256, 512, 28},
        {"vgg 512->512 28x28", 512, 512, 28},           {"vgg 512->512 14x14", 512, 512, 14},
        {"vgg 3->64 224x224", 3, 64, 224},              {"vgg 64->64 224x224", 64, 64, 224},
        {"16->16 112x112", 16, 16, 112},                {"32->32 56x56", 32, 32, 56},
        {"32->64 28x28", 32, 64, 28},
    };
    for (int n = 1; n <= 8; n += 7)
        for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
            char name[64];
            snprintf(name, sizeof name, "b%d %s", n, layers[i].name);
            if (n == 8 && layers[i].hw >= 224)
                continue;
            bench_conv3x3(name, n, layers[i].c, layers[i].m, layers[i].hw);
        }
}

/* Strided and stem convs on the implicit im2col path (packed W, one
 * thread): B gathered straight from X against the staged copy
 * (conv.c conv_stage; ONNXC_CONV_STAGE=0 turns it off), alternating
 * within each repetition. */
static void bench_strided(const char *name, int64_t n, int64_t c, int64_t m, int64_t hw, int64_t k, int64_t s,
                          int64_t pad)
{
    int64_t o = (hw + 2 * pad - k) / s + 1;
    oc_conv_params p = {.nsp = 2, .batch = n, .cin = c, .cout = m, .group = 1, .in = {hw, hw}, .out = {o, o},
                        .k = {k, k}, .s = {s, s}, .dil = {1, 1}, .pb = {pad, pad}};
    p.ep.act = OC_ACT_RELU;
    int64_t xd[4] = {n, c, hw, hw}, wd[4] = {m, c, k, k}, bd[1] = {m}, yd[4] = {n, m, o, o};
    oc_tensor x, w, b, y;
    tinit(&x, 4, xd), tinit(&w, 4, wd), tinit(&b, 1, bd), tinit(&y, 4, yd);
    const oc_tensor *in[3] = {&x, &w, &b};
    oc_tensor *out[1] = {&y};
    oc_kargs a = {.p = &p, .n_in = 3, .n_out = 1, .in = in, .out = out, .threads = 1};
    size_t ts = oc_conv_thread_scratch(&p), pb = oc_conv_prep_bytes(&a);
    void *tsb = aligned_alloc(64, (ts + 63) & ~(size_t)63), *pbuf = aligned_alloc(64, (pb + 63) & ~(size_t)63);
    a.tscratch = tsb;
    a.tscratch_stride = ts;
    oc_conv_prep(&a, pbuf);
    a.prep = pbuf;
    oc_set_threads(1);
    double best[2] = {1e30, 1e30};
    for (int rep = 0; rep < 3 * reps; rep++)
        for (int v = 0; v < 2; v++) {
            setenv("ONNXC_CONV_STAGE", v ? "1" : "0", 1);
            double t0 = cpu_now();
            oc_conv_forward(&a);
            double t = cpu_now() - t0;
            best[v] = t < best[v] ? t : best[v];
        }
    unsetenv("ONNXC_CONV_STAGE");
    double gf = 2.0 * (double)(n * m * o * o) * (double)(c * k * k) * 1e-9;
    printf("%-34s %8.3f %8.3f %6.2fx %6.0f %6.0f\n", name, best[0] * 1e3, best[1] * 1e3, best[0] / best[1],
           gf / best[0], gf / best[1]);
    free(tsb), free(pbuf), free(x.data), free(w.data), free(b.data), free(y.data);
}

static void bench_strideds(void)
{
    printf("\n%-34s %8s %8s %7s %6s %6s\n", "implicit conv, 1 thread (best, ms)", "from X", "staged", "x", "GF/s",
           "GF/s");
    bench_strided("b8 resnet stem 3->64 7x7/2 224", 8, 3, 64, 224, 7, 2, 3);
    bench_strided("b8 resnet 64->128 3x3/2 56", 8, 64, 128, 56, 3, 2, 1);
    bench_strided("b8 resnet 256->512 3x3/2 14", 8, 256, 512, 14, 3, 2, 1);
    bench_strided("b8 resnet 64->128 1x1/2 56", 8, 64, 128, 56, 1, 2, 0);
    bench_strided("b8 resnet50 256->512 1x1/2 56", 8, 256, 512, 56, 1, 2, 0);
    bench_strided("b8 64->64 3x3/1 56", 8, 64, 64, 56, 3, 1, 1);
    bench_strided("b1 resnet stem 3->64 7x7/2 224", 1, 3, 64, 224, 7, 2, 3);
    bench_strided("b1 mobilenet stem 3->32 3x3/2 224", 1, 3, 32, 224, 3, 2, 1);
}

/* A stem conv: im2col + SGEMM (packed W) against the small-Cin direct
 * kernel, alternating within each repetition. */
static void bench_stem(const char *name, int64_t n, int64_t m, int64_t hw, int64_t k, int64_t s, int64_t pad,
                       int act, int threads)
{
    int64_t o = (hw + 2 * pad - k) / s + 1;
    oc_conv_params p = {.nsp = 2, .batch = n, .cin = 3, .cout = m, .group = 1, .in = {hw, hw}, .out = {o, o},
                        .k = {k, k}, .s = {s, s}, .dil = {1, 1}, .pb = {pad, pad}};
    p.ep.act = act;
    p.ep.alpha = 0.0f;
    p.ep.beta = 6.0f;
    int64_t xd[4] = {n, 3, hw, hw}, wd[4] = {m, 3, k, k}, bd[1] = {m}, yd[4] = {n, m, o, o};
    oc_tensor x, w, b, y;
    tinit(&x, 4, xd), tinit(&w, 4, wd), tinit(&b, 1, bd), tinit(&y, 4, yd);
    const oc_tensor *in[3] = {&x, &w, &b};
    oc_tensor *out[1] = {&y};
    oc_kargs a = {.p = &p, .n_in = 3, .n_out = 1, .in = in, .out = out, .threads = threads};
    size_t ts = oc_conv_thread_scratch(&p), td = oc_conv_direct_tscratch(&p), pb = oc_conv_prep_bytes(&a);
    size_t stride = ((ts > td ? ts : td) + 63) & ~(size_t)63;
    void *tsb = aligned_alloc(64, 2 * stride), *pbuf = aligned_alloc(64, (pb + 63) & ~(size_t)63);
    a.tscratch = tsb;
    a.tscratch_stride = stride;
    oc_conv_prep(&a, pbuf);
    oc_kargs ad = a;
    a.prep = pbuf;
    oc_set_threads(threads);
    double best[2] = {1e30, 1e30};
    for (int rep = 0; rep < 10 * reps; rep++)
        for (int v = 0; v < 2; v++) {
            double t0 = now();
            if (v ? oc_conv_direct_forward(&ad) : oc_conv_forward(&a))
                exit(1);
            double t = now() - t0;
            best[v] = t < best[v] ? t : best[v];
        }
    double gf = 2.0 * (double)(n * m * o * o) * (double)(3 * k * k) * 1e-9;
    printf("%-38s %d %8.3f %8.3f %6.2fx %6.1f %6.1f\n", name, threads, best[0] * 1e3, best[1] * 1e3,
           best[0] / best[1], gf / best[0], gf / best[1]);
    free(tsb), free(pbuf), free(x.data), free(w.data), free(b.data), free(y.data);
}

static void bench_stems(void)
{
    printf("\n%-38s %s %8s %8s %7s %6s %6s\n", "stem conv (best, ms)", "T", "im2col", "direct", "x", "GF/s", "GF/s");
    for (int t = 1; t <= 2; t++) {
        bench_stem("b1 mobilenet 3->32 3x3/2 224 clip", 1, 32, 224, 3, 2, 1, OC_ACT_CLIP, t);
        bench_stem("b8 mobilenet 3->32 3x3/2 224 clip", 8, 32, 224, 3, 2, 1, OC_ACT_CLIP, t);
        bench_stem("b1 resnet 3->64 7x7/2 224 relu", 1, 64, 224, 7, 2, 3, OC_ACT_RELU, t);
        bench_stem("b8 resnet 3->64 7x7/2 224 relu", 8, 64, 224, 7, 2, 3, OC_ACT_RELU, t);
    }
}

/* The header of the old-vs-new kernel table. */
static void print_header(void)
{
    printf("%-44s %9s %9s %9s %8s %8s\n", "kernel (best of runs, ms)", "old", "new 1T", "new 2T", "x 1T", "x 2T");
}

int main(int argc, char **argv)
{
    if (argc > 1)
        reps = atoi(argv[1]) > 0 ? atoi(argv[1]) : reps;
    if (argc > 2 && !strcmp(argv[2], "strided")) {
        bench_strideds();
        oc_threads_shutdown();
        return 0;
    }
    if (argc > 2 && !strcmp(argv[2], "stem")) {
        bench_stems();
        oc_threads_shutdown();
        return 0;
    }
    if (argc > 2 && !strcmp(argv[2], "pool")) {
        print_header();
        bench_maxpool();
        oc_threads_shutdown();
        return 0;
    }
    if (argc > 2 && !strcmp(argv[2], "conv")) {
        bench_convs();
        oc_threads_shutdown();
        return 0;
    }
    print_header();
    bench_dw("depthwise 3x3 s1 p1 [1,144,56,56]", 144, 56, 1);
    bench_dw("depthwise 3x3 s2 p1 [1,96,112,112]", 96, 112, 2);
    bench_maxpool();
    bench_elementwise();
    bench_bn();
    bench_convs();
    bench_strideds();
    bench_stems();
    oc_threads_shutdown();
    return 0;
}
